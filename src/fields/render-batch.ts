// One batch of rays through the field: sampling, density, compositing, shading and (in training)
// the whole backward pass into the arena's gradient buffer. Used by training, evaluation and the
// viewport alike, so all three run the same kernels.
//
// Sample and shaded-sample counts vary per batch. Each is read back once (two small syncs per
// batch) to size the following dispatches exactly and to grow the buffers when a batch needs
// more than they hold; nothing is ever silently dropped.
import type { GpuContext } from '../gpu/context.ts';
import { Encoder, grid1d } from '../gpu/kernel.ts';
import { Gemm } from './gemm.ts';
import { fieldKernels, type FieldKernels } from './kernels.ts';
import { mlpInputWidth } from './shading.ts';
import { appWidthOf, type ComponentCounts, factorLayout, type FieldSettings, type TensorField } from './tensorf.ts';

export interface BatchOptions {
  train: boolean;
  /** Per-ray random offset of the samples (training). */
  jitter: boolean;
  seed: number;
  /** Background colour composited behind the ray (1 = white, 0 = none). */
  bg: number;
  /** Evaluate only the first components of each slot (rank slimming); default: the trained rank. */
  rank?: ComponentCounts;
  /** Ray range [near, far] for this batch; default: the batch's own (the dataset's). */
  nearFar?: [number, number];
}

export interface BatchStats {
  samples: number;
  shaded: number;
}

// Bytes per ray, sample, shaded sample and chunk row of each buffer RayBatch allocates; the
// memory estimate sums the same tables.
/** Per-ray buffers: the ray (origin, direction, pixel), its sample range, its colour and depth. */
const RAY_BUFFER_BYTES = { rays: 48, rayInfo: 16, out: 32 };
/** Per-sample buffers: position and length, opacity and its derivative, transmittance, density gradient. */
const SAMPLE_BUFFER_BYTES = { samples: 16, sampleAlpha: 8, transmittance: 4, dDensity: 4 };
/** Per-shaded-sample buffers: sample index, direction, colour and its gradient. */
const SHADED_BUFFER_BYTES = { shadedIndex: 4, shadedDirs: 16, rgb: 16, dRgb: 16 };
/** Per-chunk-row buffers: appearance components and features with their gradients, and the
 * chunk's copies of direction, colour and colour gradient. */
function chunkBufferBytes(appWidth: number, appDim: number) {
  return { appComponents: 4 * appWidth, appFeatures: 4 * appDim, dAppFeatures: 4 * appDim, dAppComponents: 4 * appWidth, chunkDirs: 16, chunkRgb: 16, chunkDRgb: 16 };
}
const sumOf = (table: Record<string, number>) => Object.values(table).reduce((a, b) => a + b, 0);
export const PER_RAY_BYTES = sumOf(RAY_BUFFER_BYTES);
export const PER_SAMPLE_BYTES = sumOf(SAMPLE_BUFFER_BYTES);
export const PER_SHADED_BYTES = sumOf(SHADED_BUFFER_BYTES);
export const chunkRowBytes = (appWidth: number, appDim: number) => sumOf(chunkBufferBytes(appWidth, appDim));
/** Buffers grow to this multiple of what a batch needed, so that slightly larger batches fit. */
export const GROWTH_HEADROOM = 1.25;
/**
 * Shaded rows per chunk when rendering (no backward pass, so chunking costs nothing but dispatch
 * size): a render never grows the chunk buffers, or the shading activations the field shares with
 * training, beyond this or what training already holds. Without it the 4096-ray passes of a live
 * view during the density bootstrap (every sample shaded) would hold ~4x a training batch's rows.
 */
export const RENDER_CHUNK_ROWS = 32768;
/** Rays per pass of a rendered image (viewports, evaluation); training batches hold at least as many. */
export const RENDER_RAYS = 4096;

export class RayBatch {
  readonly k: FieldKernels;
  readonly gemm: Gemm;
  readonly rays: GPUBuffer;
  readonly rayInfo: GPUBuffer;
  /** Per ray: (C.rgb, squared error / 3), (accumulation, depth sum, 0, 0). */
  readonly out: GPUBuffer;
  private readonly counter: GPUBuffer;
  private sampleCap = 0;
  private appCap = 0;
  /** Shaded rows per chunk: the widest per-row buffer must fit one binding (see shadeChunkRows). */
  private readonly chunkRows: number;
  private chunkCap = 0;
  private samples!: GPUBuffer;
  private sa!: GPUBuffer;
  private trans!: GPUBuffer;
  private dfeat!: GPUBuffer;
  private appIndex!: GPUBuffer;
  private appDirs!: GPUBuffer;
  private comps!: GPUBuffer;
  private feat!: GPUBuffer;
  private rgb!: GPUBuffer;
  private drgb!: GPUBuffer;
  private dfeat27!: GPUBuffer;
  private dcomps!: GPUBuffer;

  constructor(
    readonly ctx: GpuContext,
    readonly field: TensorField,
    readonly maxRays: number,
    initialSamplesPerRay = 16,
    /** Upper bound on shaded rows per chunk (below what the limits allow); tests lower it. */
    maxShadeChunk = Infinity,
  ) {
    this.k = fieldKernels(ctx, factorLayout(field.settings));
    this.gemm = new Gemm(ctx);
    this.rays = ctx.buffer('batch.rays', maxRays * RAY_BUFFER_BYTES.rays);
    this.rayInfo = ctx.buffer('batch.rayInfo', maxRays * RAY_BUFFER_BYTES.rayInfo);
    this.out = ctx.buffer('batch.out', maxRays * RAY_BUFFER_BYTES.out);
    this.counter = ctx.buffer('batch.counter', 16);
    this.chunkRows = Math.min(shadeChunkRows(field.settings, ctx.maxBinding), maxShadeChunk);
    this.growSamples(maxRays * initialSamplesPerRay);
    this.growShaded(Math.max(1024, maxRays * 8));
    this.ensureChunk(Math.min(this.appCap, RENDER_CHUNK_ROWS, this.chunkRows));
  }

  private growSamples(n: number): void {
    const ctx = this.ctx;
    for (const b of [this.samples, this.sa, this.trans, this.dfeat]) if (b) ctx.destroy(b);
    this.sampleCap = n;
    this.samples = ctx.buffer('batch.samples', n * SAMPLE_BUFFER_BYTES.samples);
    this.sa = ctx.buffer('batch.sampleAlpha', n * SAMPLE_BUFFER_BYTES.sampleAlpha);
    this.trans = ctx.buffer('batch.transmittance', n * SAMPLE_BUFFER_BYTES.transmittance);
    this.dfeat = ctx.buffer('batch.dDensity', n * SAMPLE_BUFFER_BYTES.dDensity);
  }

  private growShaded(n: number): void {
    const ctx = this.ctx;
    for (const b of [this.appIndex, this.appDirs, this.rgb, this.drgb]) if (b) ctx.destroy(b);
    this.appCap = n;
    this.appIndex = ctx.buffer('batch.shadedIndex', n * SHADED_BUFFER_BYTES.shadedIndex);
    this.appDirs = ctx.buffer('batch.shadedDirs', n * SHADED_BUFFER_BYTES.shadedDirs);
    this.rgb = ctx.buffer('batch.rgb', n * SHADED_BUFFER_BYTES.rgb);
    this.drgb = ctx.buffer('batch.dRgb', n * SHADED_BUFFER_BYTES.dRgb);
  }

  /** Shaded rows per chunk: all that fit the binding size in training, fewer when rendering. */
  private chunkLimit(train: boolean): number {
    return train ? this.chunkRows : Math.min(this.chunkRows, Math.max(this.chunkCap, RENDER_CHUNK_ROWS));
  }

  /** Makes the chunk buffers and the field's shading activations hold `rows` rows. */
  private ensureChunk(rows: number): void {
    if (rows <= this.chunkCap) return;
    const ctx = this.ctx;
    for (const b of [this.comps, this.feat, this.dfeat27, this.dcomps, this.chunkDirs, this.chunkRgb, this.chunkDrgb]) if (b) ctx.destroy(b);
    const bytes = chunkBufferBytes(this.field.appWidth, this.field.settings.shading.appDim);
    this.chunkCap = rows;
    this.comps = ctx.buffer('batch.appComponents', rows * bytes.appComponents);
    this.feat = ctx.buffer('batch.appFeatures', rows * bytes.appFeatures);
    this.dfeat27 = ctx.buffer('batch.dAppFeatures', rows * bytes.dAppFeatures);
    this.dcomps = ctx.buffer('batch.dAppComponents', rows * bytes.dAppComponents);
    // Per-chunk views of the per-shaded-sample buffers, used only when a batch needs several chunks.
    this.chunkDirs = ctx.buffer('batch.chunkDirs', rows * bytes.chunkDirs);
    this.chunkRgb = ctx.buffer('batch.chunkRgb', rows * bytes.chunkRgb);
    this.chunkDrgb = ctx.buffer('batch.chunkDRgb', rows * bytes.chunkDRgb);
    this.field.shading.ensureCapacity(rows);
  }

  private chunkDirs!: GPUBuffer;
  private chunkRgb!: GPUBuffer;
  private chunkDrgb!: GPUBuffer;

  /**
   * Appearance forward of shaded samples [first, first + n): components, basis projection and
   * shading, leaving the colours in `rgb` at `first`.
   */
  private shadeForward(enc: Encoder, first: number, n: number, single: boolean, fieldU: ReturnType<TensorField['fieldUniform']>): void {
    const { ctx, k, field } = this;
    const W = field.appWidth;
    const D = field.settings.shading.appDim;
    const P = field.arena.params!;
    enc.dispatch(k.appForward, {
      params: { field: fieldU, count: n, first },
      buffers: [P, this.samples, this.appIndex, this.counter, this.comps],
      workgroups: grid1d(ctx, n, 64),
    });
    // feat = comps · basisᵀ (basis is [D][W] like PyTorch's Linear weight).
    this.gemm.run(enc, {
      M: n, N: D, K: W,
      a: { buffer: this.comps, offset: 0, rowStride: W, colStride: 1 },
      b: { buffer: P, offset: field.arena.get('basis').offset, rowStride: 1, colStride: W },
      c: { buffer: this.feat, offset: 0, rowStride: D, colStride: 1 },
    });
    if (single) {
      field.shading.forward(enc, n, this.feat, this.appDirs, this.rgb);
    } else {
      enc.copy(this.appDirs, first * 16, this.chunkDirs, 0, n * 16);
      field.shading.forward(enc, n, this.feat, this.chunkDirs, this.chunkRgb);
      enc.copy(this.chunkRgb, 0, this.rgb, first * 16, n * 16);
    }
  }

  /** Appearance backward of shaded samples [first, first + n) after its shadeForward. */
  private shadeBackward(enc: Encoder, first: number, n: number, single: boolean, fieldU: ReturnType<TensorField['fieldUniform']>): void {
    const { ctx, k, field } = this;
    const W = field.appWidth;
    const D = field.settings.shading.appDim;
    const P = field.arena.params!;
    const G = field.arena.grads!;
    const basis = field.arena.get('basis');
    const accumulate = first > 0;
    if (single) {
      field.shading.backward(enc, n, this.drgb, this.dfeat27, accumulate);
    } else {
      enc.copy(this.drgb, first * 16, this.chunkDrgb, 0, n * 16);
      field.shading.backward(enc, n, this.chunkDrgb, this.dfeat27, accumulate);
    }
    // dBasis = dfeatᵀ · comps (summed over chunks), dcomps = dfeat · basis.
    this.gemm.run(enc, {
      M: D, N: W, K: n,
      a: { buffer: this.dfeat27, offset: 0, rowStride: 1, colStride: D },
      b: { buffer: this.comps, offset: 0, rowStride: W, colStride: 1 },
      c: { buffer: G, offset: basis.offset, rowStride: W, colStride: 1 },
      accumulate,
    });
    this.gemm.run(enc, {
      M: n, N: W, K: D,
      a: { buffer: this.dfeat27, offset: 0, rowStride: D, colStride: 1 },
      b: { buffer: P, offset: basis.offset, rowStride: W, colStride: 1 },
      c: { buffer: this.dcomps, offset: 0, rowStride: W, colStride: 1 },
    });
    enc.dispatch(k.appBackward, {
      params: { field: fieldU, count: n, first },
      buffers: [P, G, this.samples, this.appIndex, this.counter, this.dcomps],
      workgroups: grid1d(ctx, n, 64),
    });
  }

  /**
   * Runs the batch on the first `nRays` rays already in `this.rays`. In training the gradients of
   * the per-ray summed loss are accumulated into field.arena.grads (factors as fixed point).
   */
  async run(nRays: number, opt: BatchOptions): Promise<BatchStats> {
    const { ctx, k, field } = this;
    const fieldU = field.fieldUniform(opt.rank);
    const st = field.settings;

    // 1. Samples (grow and redo when the batch needs more than the buffers hold).
    let nSamples = 0;
    for (;;) {
      const enc = new Encoder(ctx);
      enc.clear(this.counter);
      enc.dispatch(k.sample, {
        params: {
          aabb_lo: [...field.box.lo, field.step],
          aabb_hi: [...field.box.hi, opt.jitter ? 1 : 0],
          grid: [...field.grid, field.nSamples],
          near_far: opt.nearFar ?? this.nearFar,
          n_rays: nRays,
          capacity: this.sampleCap,
          seed: opt.seed,
          mask: field.maskUniform(),
        },
        buffers: [this.rays, field.maskBuffer, this.counter, this.rayInfo, this.samples],
        workgroups: grid1d(ctx, nRays, 64),
      });
      enc.submit();
      nSamples = (await ctx.readU32(this.counter, 1))[0]!;
      if (nSamples <= this.sampleCap) break;
      this.growSamples(Math.ceil(nSamples * GROWTH_HEADROOM));
    }

    // 2. Opacity and transmittance; choose the samples to shade.
    let nShaded = 0;
    for (;;) {
      const enc = new Encoder(ctx);
      enc.clear(this.counter, 4, 4);
      if (nSamples > 0) {
        enc.dispatch(k.densityForward, {
          params: { field: fieldU, count: nSamples, shift: st.densityShift, dist_scale: st.distanceScale },
          buffers: [field.arena.params!, this.samples, this.counter, this.sa],
          workgroups: grid1d(ctx, nSamples, 64),
        });
      }
      enc.dispatch(k.compositeForward, {
        params: { n_rays: nRays, app_capacity: this.appCap, weight_thres: st.rayMarchWeightThres },
        buffers: [this.rays, this.sa, this.counter, this.rayInfo, this.trans, this.appIndex, this.appDirs],
        workgroups: grid1d(ctx, nRays, 64),
      });
      enc.submit();
      nShaded = (await ctx.readU32(this.counter, 1, 1))[0]!;
      if (nShaded <= this.appCap) break;
      // Never more shaded rows than samples: a batch cannot shade more than it sampled.
      this.growShaded(Math.min(Math.ceil(nShaded * GROWTH_HEADROOM), this.sampleCap));
    }

    // 3. Shading (in chunks that fit the binding size; renders in chunks of at most what training
    // holds, see RENDER_CHUNK_ROWS), compositing and (training) the backward pass. With several
    // chunks the backward recomputes each chunk's forward: the shading module keeps the
    // activations of one chunk only.
    const chunk = this.chunkLimit(opt.train);
    if (Math.min(nShaded, chunk) > this.chunkCap) this.ensureChunk(Math.min(Math.ceil(nShaded * GROWTH_HEADROOM), chunk, this.appCap));
    const enc = new Encoder(ctx);
    const P = field.arena.params!;
    const single = nShaded <= chunk;
    for (let first = 0; first < nShaded; first += chunk) {
      this.shadeForward(enc, first, Math.min(chunk, nShaded - first), single, fieldU);
    }
    enc.dispatch(k.compositeBackward, {
      params: {
        n_rays: nRays, train: opt.train ? 1 : 0, bg: opt.bg, weight_thres: st.rayMarchWeightThres,
        aabb_lo: [...field.box.lo, 0], unit: [...field.units, 0],
      },
      buffers: [this.rays, this.rayInfo, this.sa, this.trans, this.rgb, this.out, this.dfeat, this.drgb, this.samples],
      workgroups: grid1d(ctx, nRays, 64),
    });
    if (opt.train) {
      for (let first = 0; first < nShaded; first += chunk) {
        const n = Math.min(chunk, nShaded - first);
        if (!single) this.shadeForward(enc, first, n, single, fieldU);
        this.shadeBackward(enc, first, n, single, fieldU);
      }
      if (nSamples > 0) {
        enc.dispatch(k.densityBackward, {
          params: { field: fieldU, count: nSamples },
          buffers: [P, field.arena.grads!, this.samples, this.counter, this.dfeat],
          workgroups: grid1d(ctx, nSamples, 64),
        });
      }
    }
    enc.submit();
    return { samples: nSamples, shaded: nShaded };
  }

  /** Near and far clamp of the sampling (set by the dataset). */
  nearFar: [number, number] = [2, 6];

  destroy(): void {
    const ctx = this.ctx;
    for (const b of [this.rays, this.rayInfo, this.out, this.counter, this.samples, this.sa, this.trans, this.dfeat,
      this.appIndex, this.appDirs, this.comps, this.feat, this.rgb, this.drgb, this.dfeat27, this.dcomps,
      this.chunkDirs, this.chunkRgb, this.chunkDrgb]) ctx.destroy(b);
    this.gemm.destroy();
  }
}

/**
 * Shaded rows per chunk: the widest per-row buffer (component vector, MLP input or hidden
 * layer) must fit one storage binding.
 */
export function shadeChunkRows(settings: FieldSettings, maxBinding: number): number {
  const s = settings.shading;
  const widest = Math.max(appWidthOf(settings), s.mode === 'MLP_Fea' ? mlpInputWidth(s) : 0, s.featureC, s.appDim, 4);
  const byLimit = Math.floor(maxBinding / (4 * widest));
  return Math.max(1, Math.min(byLimit, 1 << 20));
}
