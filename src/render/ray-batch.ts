// One batch of rays through the field: sampling, density, compositing weights, shading and the
// colour (forward); in training, from dL/dC per ray (the loss) the whole backward pass into the
// arena's gradient buffer. Used by training, evaluation and the viewport alike, so all three run
// the same kernels.
//
// Sample and shaded-sample counts vary per batch. The sample buffers hold every sample the rays
// could take, so the per-sample kernels are dispatched over the count the sampling left on the
// GPU (indirect dispatch), in the same submission. The shaded count sizes the shading's matrix
// products: it is read back once per batch, and the shaded buffers grow when a batch needs more
// than they hold; nothing is ever silently dropped.

import type { TensorField } from '../field/field.ts';
import { fieldKernel } from '../field/kernels.ts';
import { appWidthOf, type ComponentCounts, type FieldSettings } from '../field/settings.ts';
import { formatBytes, type GpuContext, type LimitAdvice, LimitError } from '../gpu/context.ts';
import { Gemm } from '../gpu/gemm.ts';
import { dispatchArgsBuffer, recordDispatchArgs } from '../gpu/indirect.ts';
import { cachedKernel, Encoder, grid1d, type ParamValues } from '../gpu/kernel.ts';
import { exclusivePrefixSum } from '../gpu/prefix-sum.ts';
import { RAY_BYTES } from '../gpu/wgsl.ts';
import { contractionUniform, sampleRays } from '../rays/sample.ts';
import { mlpInputWidth } from '../shading/shading.ts';
import { RAY_OUT_BYTES, type RayOutputs, readRayOutputs } from './batch-output.ts';
import { compositeBackwardWgsl, compositeColourWgsl, compositeWeightsWgsl, shadedListWgsl } from './composite.wgsl.ts';
import { rayGradWgsl } from './ray-grad.wgsl.ts';

export interface BatchOptions {
  /** Keep what the backward pass needs (training). */
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
  /**
   * The buffer the factor kernels read, laid out as the arena: its params by default, their
   * blurred copy in coarse-to-fine training (train/coarse-to-fine.ts). Backward scatters the
   * factors' gradients for these values; the basis and shading weights always come from the arena.
   */
  factors?: GPUBuffer;
  /** Work recorded before the batch (its rays), submitted with its sampling: one submission fewer. */
  prelude?: Encoder;
  /**
   * The encoder the shading and the colours are recorded into, left for the caller to submit:
   * training records its loss and backward after them, in the same submission.
   */
  finishIn?: Encoder;
}

export interface BatchStats {
  samples: number;
  shaded: number;
}

// Bytes per ray, sample, shaded sample and chunk row of each buffer RayBatch allocates; the
// memory estimate sums the same tables.
/** Per-ray buffers: the ray (origin, direction, pixel), its sample and shaded ranges, its first shaded row, its outputs, dL/dC. */
const RAY_BUFFER_BYTES = { rays: RAY_BYTES, rayInfo: 16, shadedBase: 4, output: RAY_OUT_BYTES, dColour: 16 };
/** Per-sample buffers: position and length, opacity and its derivative, transmittance, density gradient. */
const SAMPLE_BUFFER_BYTES = { samples: 16, sampleAlpha: 8, transmittance: 4, dDensity: 4 };
/** Per-sample and per-ray buffers of the position gradients (pose refinement): dL/du, and dL/do with dL/dd. */
export const POSITION_SAMPLE_BYTES = 16;
/** Bytes per sample of the widest per-sample buffer (positions, and dL/du: a vec4f each). */
export const LARGEST_SAMPLE_BYTES = 16;
export const POSITION_RAY_BYTES = 32;
/** Per-shaded-sample buffers: sample index, direction, colour and its gradient. */
const SHADED_BUFFER_BYTES = { shadedIndex: 4, shadedDirs: 16, rgb: 16, dRgb: 16 };
/** Per-chunk-row buffers: appearance components and features with their gradients, and the
 * chunk's copies of direction, colour and colour gradient. */
function chunkBufferBytes(appWidth: number, appDim: number) {
  return {
    appComponents: 4 * appWidth,
    appFeatures: 4 * appDim,
    dAppFeatures: 4 * appDim,
    dAppComponents: 4 * appWidth,
    chunkDirs: 16,
    chunkRgb: 16,
    chunkDRgb: 16,
  };
}
const sumOf = (table: Record<string, number>) => Object.values(table).reduce((a, b) => a + b, 0);
export const PER_RAY_BYTES = sumOf(RAY_BUFFER_BYTES);
export const PER_SAMPLE_BYTES = sumOf(SAMPLE_BUFFER_BYTES);
export const PER_SHADED_BYTES = sumOf(SHADED_BUFFER_BYTES);
export const chunkRowBytes = (appWidth: number, appDim: number) => sumOf(chunkBufferBytes(appWidth, appDim));
/** Buffers grow to this multiple of what a batch needed, so that slightly larger batches fit. */
export const GROWTH_HEADROOM = 1.25;
/** What to lower when the GPU cannot hold a batch's buffers (samples per ray grow with the grid). */
const GROWTH_ADVICE: LimitAdvice[] = [{ change: 'batch' }, { change: 'final-grid' }];
type BufferSet = Record<string, GPUBuffer>;
/**
 * Shaded rows per chunk when rendering (no backward pass, so chunking costs nothing but dispatch
 * size): a render never grows the chunk buffers, or the shading activations the field shares with
 * training, beyond this or what training already holds. Without it the 4096-ray passes of a live
 * view during the density bootstrap (every sample shaded) would hold ~4x a training batch's rows.
 */
export const RENDER_CHUNK_ROWS = 32768;
/** Rays per pass of a rendered image (viewports, evaluation); training batches hold at least as many. */
export const RENDER_RAYS = 4096;

/** What a training forward leaves for its backward. */
interface ForwardState {
  nRays: number;
  nSamples: number;
  nShaded: number;
  chunk: number;
  fieldU: ParamValues;
  bg: number;
  factors: GPUBuffer;
}

export class RayBatch {
  readonly gemm: Gemm;
  /** The rays, written by rays/raygen.ts before forward(). */
  readonly rays: GPUBuffer;
  /** Per ray: the RayOut struct of composite.wgsl.ts, read through readOutputs(). */
  readonly output: GPUBuffer;
  /** Per ray: dL/dC (xyz) from the loss, the start of the backward pass. */
  readonly dColour: GPUBuffer;
  private readonly rayInfo: GPUBuffer;
  private readonly shadedBase: GPUBuffer;
  private readonly counter: GPUBuffer;
  /** Workgroups of the per-sample kernels, written on the GPU from the sample count. */
  private readonly sampleArgs: GPUBuffer;
  private sampleCap = 0;
  private appCap = 0;
  /** Shaded rows per chunk: the widest per-row buffer must fit one binding (see shadeChunkRows). */
  private readonly chunkRows: number;
  private chunkCap = 0;
  private samples!: GPUBuffer;
  private sampleAlpha!: GPUBuffer;
  private transmittance!: GPUBuffer;
  private dDensity!: GPUBuffer;
  private shadedIndex!: GPUBuffer;
  private shadedDirs!: GPUBuffer;
  private rgb!: GPUBuffer;
  private dRgb!: GPUBuffer;
  private appComponents!: GPUBuffer;
  private appFeatures!: GPUBuffer;
  private dAppFeatures!: GPUBuffer;
  private dAppComponents!: GPUBuffer;
  private chunkDirs!: GPUBuffer;
  private chunkRgb!: GPUBuffer;
  private chunkDRgb!: GPUBuffer;
  private pending: ForwardState | null = null;
  /** dL/du per sample, when position gradients are on (enablePositionGrads). */
  private dPosition: GPUBuffer | null = null;
  /**
   * Per ray of the last backward, when position gradients are on: dL/d(origin) then
   * dL/d(direction) (two vec4f), with the samples' depths held fixed (render/ray-grad.wgsl.ts).
   */
  rayGrads: GPUBuffer | null = null;

  constructor(
    readonly ctx: GpuContext,
    readonly field: TensorField,
    readonly maxRays: number,
    /** Upper bound on shaded rows per chunk (below what the limits allow); tests lower it. */
    maxShadeChunk = Infinity,
  ) {
    this.gemm = new Gemm(ctx);
    this.rays = ctx.buffer('batch.rays', maxRays * RAY_BUFFER_BYTES.rays);
    this.rayInfo = ctx.buffer('batch.rayInfo', maxRays * RAY_BUFFER_BYTES.rayInfo);
    this.shadedBase = ctx.buffer('batch.shadedBase', maxRays * RAY_BUFFER_BYTES.shadedBase);
    this.output = ctx.buffer('batch.output', maxRays * RAY_BUFFER_BYTES.output);
    this.dColour = ctx.buffer('batch.dColour', maxRays * RAY_BUFFER_BYTES.dColour);
    this.counter = ctx.buffer('batch.counter', 16);
    this.sampleArgs = dispatchArgsBuffer(ctx, 'batch.sampleArgs');
    this.chunkRows = Math.min(shadeChunkRows(field.settings, ctx.maxBinding), maxShadeChunk);
    // The first buffers are made in the caller's out-of-memory scope (the trainer's, the renderer's).
    this.sampleCap = this.sampleBound;
    this.installSet(this.makeSet(SAMPLE_BUFFER_BYTES, this.sampleCap));
    this.appCap = Math.max(1024, maxRays * 8);
    this.installSet(this.makeSet(SHADED_BUFFER_BYTES, this.appCap));
    this.chunkCap = Math.min(this.appCap, RENDER_CHUNK_ROWS, this.chunkRows);
    this.installSet(this.makeSet(this.chunkTable, this.chunkCap));
    field.shading.ensureCapacity(this.chunkCap);
  }

  /** Buffers named after a table's keys (the fields they go in), each `n` times its bytes. */
  private makeSet(table: Record<string, number>, n: number): BufferSet {
    return Object.fromEntries(Object.entries(table).map(([name, bytes]) => [name, this.ctx.buffer(`batch.${name}`, n * bytes)]));
  }

  /** Puts a set of buffers in the fields of their names, destroying the buffers they replace. */
  private installSet(set: BufferSet): void {
    const fields = this as unknown as Record<string, GPUBuffer | undefined>;
    for (const [name, buffer] of Object.entries(set)) {
      this.ctx.destroy(fields[name]);
      fields[name] = buffer;
    }
  }

  /**
   * Larger buffers for a table, made before the old ones go and in an out-of-memory scope: when
   * the GPU cannot hold them, the batch keeps the buffers it has and stays usable.
   */
  private async grow(what: string, table: Record<string, number>, n: number, alsoMake = () => {}): Promise<void> {
    const set = await this.ctx.guardMemory(
      `growing the ray batch to ${n.toLocaleString()} ${what}`,
      GROWTH_ADVICE,
      () => {
        const made = this.makeSet(table, n);
        alsoMake();
        return made;
      },
      (made) => {
        for (const b of Object.values(made)) this.ctx.destroy(b);
      },
    );
    this.installSet(set);
  }

  /**
   * Rays one forward() may take: all it holds, unless the samples they could take at the field's
   * samples per ray would overrun one binding (renders pass fewer rays at a time then).
   */
  get raysPerPass(): number {
    return raysPerPass(this.maxRays, this.field.nSamples, this.ctx.maxBinding);
  }

  /** Samples the sample buffers must hold: every sample a pass's rays could take. */
  private get sampleBound(): number {
    return this.raysPerPass * this.field.nSamples;
  }

  /** The per-sample buffers: with dPosition when position gradients are on. */
  private get sampleTable(): Record<string, number> {
    return this.dPosition ? { ...SAMPLE_BUFFER_BYTES, dPosition: POSITION_SAMPLE_BYTES } : SAMPLE_BUFFER_BYTES;
  }

  /**
   * From now on backward() also takes the loss's gradient back to each ray's origin and direction
   * (rayGrads), through the field's spatial gradient at every sample (VM and CP).
   */
  enablePositionGrads(): void {
    if (this.dPosition) return;
    this.dPosition = this.ctx.buffer('batch.dPosition', this.sampleCap * POSITION_SAMPLE_BYTES);
    this.rayGrads = this.ctx.buffer('batch.rayGrads', this.maxRays * POSITION_RAY_BYTES);
  }

  private get chunkTable(): Record<string, number> {
    return chunkBufferBytes(this.field.appWidth, this.field.settings.shading.appDim);
  }

  /** Shaded rows per chunk: all that fit the binding size in training, fewer when rendering. */
  private chunkLimit(train: boolean): number {
    return train ? this.chunkRows : Math.min(this.chunkRows, Math.max(this.chunkCap, RENDER_CHUNK_ROWS));
  }

  /** Makes the chunk buffers and the field's shading activations hold `rows` rows. */
  private async ensureChunk(rows: number): Promise<void> {
    if (rows <= this.chunkCap) return;
    const shading = this.field.shading;
    await this.grow('rows per shading chunk', this.chunkTable, rows, () => shading.ensureCapacity(rows)).catch((e) => {
      // The activations may have been replaced by ones that failed: back to the size that worked.
      shading.reallocate(this.chunkCap);
      throw e;
    });
    this.chunkCap = rows;
  }

  /**
   * Appearance forward of shaded samples [first, first + n): components, basis projection and
   * shading, leaving the colours in `rgb` at `first`.
   */
  private shadeForward(enc: Encoder, first: number, n: number, single: boolean, fieldU: ParamValues, factors: GPUBuffer): void {
    const { ctx, field } = this;
    const W = field.appWidth;
    const D = field.settings.shading.appDim;
    const P = field.arena.params!;
    enc.dispatch(fieldKernel(ctx, field.settings, 'appForward'), {
      params: { field: fieldU, count: n, first },
      buffers: { params_f: factors, samples: this.samples, shaded_index: this.shadedIndex, counter: this.counter, app_components: this.appComponents },
      workgroups: grid1d(ctx, n, 64),
    });
    // features = components · basisᵀ (basis is [D][W] like PyTorch's Linear weight). Below the
    // full rank only the active components of each slot are multiplied, one product per slot
    // summed into the features, so a slimmed render costs in proportion to its rank.
    const basis = field.arena.get('basis').offset;
    const spans = activeSpans(field.settings.appComps, fieldU);
    // (No active component at all: the whole, all-zero width, so the features are zeros.)
    for (const [i, { col, k }] of (spans.length ? spans : [{ col: 0, k: W }]).entries()) {
      this.gemm.run(enc, {
        M: n,
        N: D,
        K: k,
        a: { buffer: this.appComponents, offset: col, rowStride: W, colStride: 1 },
        b: { buffer: P, offset: basis + col, rowStride: 1, colStride: W },
        c: { buffer: this.appFeatures, offset: 0, rowStride: D, colStride: 1 },
        accumulate: i > 0,
      });
    }
    if (single) {
      field.shading.forward(enc, n, this.appFeatures, this.shadedDirs, this.rgb);
    } else {
      enc.copy(this.shadedDirs, first * 16, this.chunkDirs, 0, n * 16);
      field.shading.forward(enc, n, this.appFeatures, this.chunkDirs, this.chunkRgb);
      enc.copy(this.chunkRgb, 0, this.rgb, first * 16, n * 16);
    }
  }

  /** Appearance backward of shaded samples [first, first + n) after its shadeForward. */
  private shadeBackward(enc: Encoder, first: number, n: number, single: boolean, fieldU: ParamValues, factors: GPUBuffer): void {
    const { ctx, field } = this;
    const W = field.appWidth;
    const D = field.settings.shading.appDim;
    const P = field.arena.params!;
    const G = field.arena.grads!;
    const basis = field.arena.get('basis');
    const accumulate = first > 0;
    if (single) {
      field.shading.backward(enc, n, this.dRgb, this.dAppFeatures, accumulate);
    } else {
      enc.copy(this.dRgb, first * 16, this.chunkDRgb, 0, n * 16);
      field.shading.backward(enc, n, this.chunkDRgb, this.dAppFeatures, accumulate);
    }
    // dBasis = dFeaturesᵀ · components (summed over chunks), dComponents = dFeatures · basis.
    this.gemm.run(enc, {
      M: D,
      N: W,
      K: n,
      a: { buffer: this.dAppFeatures, offset: 0, rowStride: 1, colStride: D },
      b: { buffer: this.appComponents, offset: 0, rowStride: W, colStride: 1 },
      c: { buffer: G, offset: basis.offset, rowStride: W, colStride: 1 },
      accumulate,
    });
    this.gemm.run(enc, {
      M: n,
      N: W,
      K: D,
      a: { buffer: this.dAppFeatures, offset: 0, rowStride: D, colStride: 1 },
      b: { buffer: P, offset: basis.offset, rowStride: W, colStride: 1 },
      c: { buffer: this.dAppComponents, offset: 0, rowStride: W, colStride: 1 },
    });
    enc.dispatch(fieldKernel(ctx, field.settings, 'appBackward'), {
      params: { field: fieldU, count: n, first },
      buffers: {
        params_f: factors,
        grads: G,
        samples: this.samples,
        shaded_index: this.shadedIndex,
        counter: this.counter,
        d_app_components: this.dAppComponents,
      },
      workgroups: grid1d(ctx, n, 64),
    });
    if (this.dPosition) {
      enc.dispatch(fieldKernel(ctx, field.settings, 'appPosition'), {
        params: { field: fieldU, count: n, first },
        buffers: {
          params_f: factors,
          samples: this.samples,
          shaded_index: this.shadedIndex,
          counter: this.counter,
          d_app_components: this.dAppComponents,
          d_position: this.dPosition,
        },
        workgroups: grid1d(ctx, n, 64),
      });
    }
  }

  /**
   * The forward pass of the first `nRays` rays already in `rays`: samples, opacities, weights,
   * shading and each ray's colour in `output`. In training it keeps what backward() needs.
   */
  async forward(nRays: number, opt: BatchOptions): Promise<BatchStats> {
    const { ctx, field } = this;
    const fieldU = field.fieldUniform(opt.rank);
    const st = field.settings;
    const factors = opt.factors ?? field.arena.params!;
    this.pending = null;

    // 1. Samples. The buffers hold every sample the rays could take (raysPerPass x samples per
    // ray), so no batch overflows them; they grow only when the samples per ray do (an upsample).
    if (nRays > this.raysPerPass) {
      throw new LimitError(
        `a batch of ${nRays.toLocaleString()} rays may take ${(nRays * field.nSamples).toLocaleString()} samples, ` +
          `more than one ${formatBytes(ctx.maxBinding)} binding holds`,
        GROWTH_ADVICE,
      );
    }
    const bound = this.sampleBound;
    if (bound > this.sampleCap) {
      await this.grow('samples', this.sampleTable, bound);
      this.sampleCap = bound;
    }
    const enc = opt.prelude ?? new Encoder(ctx);
    enc.clear(this.counter);
    sampleRays(
      ctx,
      enc,
      nRays,
      {
        box: field.box,
        grid: field.grid,
        step: field.step,
        samplesPerRay: field.nSamples,
        mask: field.maskUniform(),
        maskBits: field.maskBuffer,
        jitter: opt.jitter,
        seed: opt.seed,
        nearFar: opt.nearFar ?? this.nearFar,
        warp: st,
      },
      { rays: this.rays, counter: this.counter, rayInfo: this.rayInfo, samples: this.samples, capacity: this.sampleCap },
    );
    // The per-sample kernels are dispatched over the count the sampling left on the GPU, without
    // waiting for it (gpu/indirect.ts).
    recordDispatchArgs(ctx, enc, this.counter, 0, this.sampleCap, 64, this.sampleArgs);

    // 2. Opacity and transmittance; which samples to shade: counted per ray, and turned into each
    // ray's first row of the shaded list by a prefix sum, so the list is in ray order whatever
    // order the threads ran in (the weight gradients sum over it: runs reproduce exactly).
    enc.dispatch(fieldKernel(ctx, st, 'densityForward'), {
      params: { field: fieldU, count: this.sampleCap, shift: st.densityShift, dist_scale: st.distanceScale },
      buffers: { params_f: factors, samples: this.samples, counter: this.counter, sample_alpha: this.sampleAlpha },
      workgroups: { indirect: this.sampleArgs },
    });
    enc.dispatch(
      cachedKernel(ctx, 'compositeWeights', () => compositeWeightsWgsl),
      {
        params: { n_rays: nRays, weight_thres: st.rayMarchWeightThres },
        buffers: { ray_info: this.rayInfo, sample_alpha: this.sampleAlpha, transmittance: this.transmittance, shaded_base: this.shadedBase },
        workgroups: grid1d(ctx, nRays, 64),
      },
    );
    exclusivePrefixSum(ctx, enc, this.shadedBase, nRays, this.counter, 1);
    enc.submit();
    // The shaded count sizes the shading's products, so it is read back (with the sample count).
    const [nSamples, nShaded] = await ctx.readU32(this.counter, 2);
    // Never more shaded rows than samples: a batch cannot shade more than it sampled.
    if (nShaded > this.appCap) {
      const n = Math.min(Math.ceil(nShaded * GROWTH_HEADROOM), this.sampleCap);
      await this.grow('shaded samples', SHADED_BUFFER_BYTES, n);
      this.appCap = n;
    }

    // 3. Shading, in chunks that fit the binding size (renders in chunks of at most what training
    // holds, see RENDER_CHUNK_ROWS), then each ray's colour.
    const chunk = this.chunkLimit(opt.train);
    if (Math.min(nShaded, chunk) > this.chunkCap) await this.ensureChunk(Math.min(Math.ceil(nShaded * GROWTH_HEADROOM), chunk, this.appCap));
    const shade = opt.finishIn ?? new Encoder(ctx);
    shade.dispatch(
      cachedKernel(ctx, 'shadedList', () => shadedListWgsl),
      {
        params: { n_rays: nRays, app_capacity: this.appCap, weight_thres: st.rayMarchWeightThres },
        buffers: {
          rays: this.rays,
          sample_alpha: this.sampleAlpha,
          transmittance: this.transmittance,
          shaded_base: this.shadedBase,
          ray_info: this.rayInfo,
          shaded_index: this.shadedIndex,
          shaded_dirs: this.shadedDirs,
        },
        workgroups: grid1d(ctx, nRays, 64),
      },
    );
    for (let first = 0; first < nShaded; first += chunk) {
      this.shadeForward(shade, first, Math.min(chunk, nShaded - first), nShaded <= chunk, fieldU, factors);
    }
    shade.dispatch(
      cachedKernel(ctx, 'compositeColour', () => compositeColourWgsl),
      {
        params: {
          n_rays: nRays,
          bg: opt.bg,
          weight_thres: st.rayMarchWeightThres,
          aabb_lo: [...field.box.lo, 0],
          unit: [...field.units, 0],
          contraction: contractionUniform(st),
        },
        buffers: {
          rays: this.rays,
          ray_info: this.rayInfo,
          sample_alpha: this.sampleAlpha,
          transmittance: this.transmittance,
          rgb: this.rgb,
          samples: this.samples,
          ray_out: this.output,
        },
        workgroups: grid1d(ctx, nRays, 64),
      },
    );
    if (!opt.finishIn) shade.submit();
    if (opt.train) this.pending = { nRays, nSamples, nShaded, chunk, fieldU, bg: opt.bg, factors };
    return { samples: nSamples, shaded: nShaded };
  }

  /**
   * The backward pass of the last training forward, from dL/dC in `dColour` (the loss): the
   * gradients of the per-ray summed loss are accumulated into field.arena.grads (factors as fixed
   * point). With several shading chunks each chunk's forward is recomputed first: the shading
   * module keeps the activations of one chunk only.
   */
  backward(enc: Encoder): void {
    const s = this.pending;
    if (!s) throw new Error('RayBatch.backward: no training forward to go back through');
    this.pending = null;
    const { ctx, field } = this;
    const st = field.settings;
    enc.dispatch(
      cachedKernel(ctx, 'compositeBackward', () => compositeBackwardWgsl),
      {
        params: { n_rays: s.nRays, bg: s.bg, weight_thres: st.rayMarchWeightThres },
        buffers: {
          ray_info: this.rayInfo,
          sample_alpha: this.sampleAlpha,
          transmittance: this.transmittance,
          rgb: this.rgb,
          ray_out: this.output,
          d_colour: this.dColour,
          d_density: this.dDensity,
          d_rgb: this.dRgb,
        },
        workgroups: grid1d(ctx, s.nRays, 64),
      },
    );
    // The appearance part of the position gradients writes the shaded samples' slots; the others
    // start from zero.
    if (this.dPosition) enc.clear(this.dPosition, 0, s.nSamples * POSITION_SAMPLE_BYTES);
    const single = s.nShaded <= s.chunk;
    for (let first = 0; first < s.nShaded; first += s.chunk) {
      const n = Math.min(s.chunk, s.nShaded - first);
      if (!single) this.shadeForward(enc, first, n, single, s.fieldU, s.factors);
      this.shadeBackward(enc, first, n, single, s.fieldU, s.factors);
    }
    if (s.nSamples > 0) {
      enc.dispatch(fieldKernel(ctx, st, 'densityBackward'), {
        params: { field: s.fieldU, count: s.nSamples },
        buffers: { params_f: s.factors, grads: field.arena.grads!, samples: this.samples, counter: this.counter, d_density: this.dDensity },
        workgroups: grid1d(ctx, s.nSamples, 64),
      });
    }
    if (this.dPosition && this.rayGrads) {
      if (s.nSamples > 0) {
        enc.dispatch(fieldKernel(ctx, st, 'densityPosition'), {
          params: { field: s.fieldU, count: s.nSamples },
          buffers: { params_f: s.factors, samples: this.samples, counter: this.counter, d_density: this.dDensity, d_position: this.dPosition },
          workgroups: grid1d(ctx, s.nSamples, 64),
        });
      }
      enc.dispatch(
        cachedKernel(ctx, 'rayGrad', () => rayGradWgsl),
        {
          params: { aabb_lo: [...field.box.lo, 0], unit: [...field.units, 0], n_rays: s.nRays, contraction: contractionUniform(st) },
          buffers: { rays: this.rays, ray_info: this.rayInfo, samples: this.samples, d_position: this.dPosition, ray_grads: this.rayGrads },
          workgroups: grid1d(ctx, s.nRays, 64),
        },
      );
    }
  }

  /** Colour, accumulation and depth of the first `n` rays of the last forward. */
  readOutputs(n: number): Promise<RayOutputs> {
    return readRayOutputs(this.ctx, this.output, n);
  }

  /** Near and far clamp of the sampling (set by the dataset). */
  nearFar: [number, number] = [2, 6];

  destroy(): void {
    const ctx = this.ctx;
    for (const b of [
      this.rays,
      this.rayInfo,
      this.shadedBase,
      this.output,
      this.dColour,
      this.counter,
      this.sampleArgs,
      this.samples,
      this.sampleAlpha,
      this.transmittance,
      this.dDensity,
      this.shadedIndex,
      this.shadedDirs,
      this.appComponents,
      this.appFeatures,
      this.rgb,
      this.dRgb,
      this.dAppFeatures,
      this.dAppComponents,
      this.chunkDirs,
      this.chunkRgb,
      this.chunkDRgb,
      this.dPosition ?? undefined,
      this.rayGrads ?? undefined,
    ])
      ctx.destroy(b);
    this.gemm.destroy();
  }
}

/**
 * The appearance columns a field uniform evaluates: per slot, from its first column, its active
 * components; adjacent spans merge (at full rank: one span of the whole width).
 */
export function activeSpans(appComps: readonly number[], fieldU: ParamValues): { col: number; k: number }[] {
  const cols = fieldU.a_col as number[];
  const active = fieldU.a_active as number[];
  const spans: { col: number; k: number }[] = [];
  appComps.forEach((full, m) => {
    const k = Math.min(active[m] ?? full, full);
    if (k === 0) return;
    const last = spans.at(-1);
    if (last && last.col + last.k === cols[m]) last.k += k;
    else spans.push({ col: cols[m]!, k });
  });
  return spans;
}

/**
 * Rays one pass may take: at most `maxRays`, and no more than the samples they could take
 * (`samplesPerRay` each) fit the widest per-sample buffer in one binding.
 */
export function raysPerPass(maxRays: number, samplesPerRay: number, maxBinding: number): number {
  return Math.max(1, Math.min(maxRays, Math.floor(maxBinding / (samplesPerRay * LARGEST_SAMPLE_BYTES))));
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
