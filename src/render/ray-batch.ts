// One batch of rays through the field: sampling, density, compositing weights, shading and the
// colour (forward); in training, from dL/dC per ray (the loss) the whole backward pass into the
// arena's gradient buffer. Used by training, evaluation and the viewport alike, so all three run
// the same kernels.
//
// Sample and shaded-sample counts vary per batch, and the host never reads them back: the sample
// and shaded buffers hold every sample the rays could take, and every kernel after the sampling is
// sized on the GPU from the counts it left (indirect dispatch, gpu/indirect.ts), in the same
// submissions. The shading runs in chunks of a fixed number of rows (the activations of one chunk
// must fit the binding size and the memory budget): as many chunks as the sample bound could
// need are recorded, and those past the shaded count dispatch no work. Nothing is ever dropped.

import type { TensorField } from '../field/field.ts';
import { fieldKernel } from '../field/kernels.ts';
import { appWidthOf, type ComponentCounts, type FieldSettings } from '../field/settings.ts';
import { formatBytes, type GpuContext, type LimitAdvice, LimitError } from '../gpu/context.ts';
import { Gemm } from '../gpu/gemm.ts';
import { dispatchArgsBuffer, dispatchOverRows, type GpuRows, recordDispatchArgs } from '../gpu/indirect.ts';
import { cachedKernel, Encoder, grid1d, type Kernel, type ParamValues } from '../gpu/kernel.ts';
import { exclusivePrefixSum } from '../gpu/prefix-sum.ts';
import { RAY_BYTES } from '../gpu/wgsl.ts';
import { yieldIfLong } from '../gpu/yield.ts';
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
  /**
   * Renders only: the chunks of the shaded list to shade (the first ones), when the caller has
   * learned how many its passes need; rows past them are left unshaded, so the caller checks the
   * shaded count and renders again with all of them when it was more (ViewRenderer). Default:
   * every chunk the sample bound could need.
   */
  chunks?: number;
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
/** Per-chunk-row buffers: appearance components and features with their gradients. */
function chunkBufferBytes(appWidth: number, appDim: number) {
  return {
    appComponents: 4 * appWidth,
    appFeatures: 4 * appDim,
    dAppFeatures: 4 * appDim,
    dAppComponents: 4 * appWidth,
  };
}
const sumOf = (table: Record<string, number>) => Object.values(table).reduce((a, b) => a + b, 0);
export const PER_RAY_BYTES = sumOf(RAY_BUFFER_BYTES);
export const PER_SAMPLE_BYTES = sumOf(SAMPLE_BUFFER_BYTES);
export const PER_SHADED_BYTES = sumOf(SHADED_BUFFER_BYTES);
export const chunkRowBytes = (appWidth: number, appDim: number) => sumOf(chunkBufferBytes(appWidth, appDim));
/** Chunks hold this multiple of the shaded rows a statistic (training) or a count seen (renders) says a batch needs. */
export const CHUNK_HEADROOM = 1.25;
/** A chunk's first row is a multiple of this: its rows of directions and colours are bound at an aligned offset. */
export const CHUNK_ALIGN = 16;
/** What to lower when the GPU cannot hold a batch's buffers (samples per ray grow with the grid). */
const GROWTH_ADVICE: LimitAdvice[] = [{ change: 'batch' }, { change: 'final-grid' }];
type BufferSet = Record<string, GPUBuffer>;
/**
 * Shaded rows per chunk when rendering (no backward pass, so chunking costs nothing but dispatch
 * size), the default of a RayBatch: the chunk buffers, and the shading activations the field
 * shares with training, stay this small for renders.
 */
export const RENDER_CHUNK_ROWS = 32768;
/**
 * Shaded samples per ray a training batch's chunk holds at most (memory.ts): a trained field shades
 * fewer near its surfaces, the density bootstrap (every sample shaded) more, in several chunks.
 */
export const TRAIN_SHADED_PER_RAY = 64;
/** Rays per pass of a rendered image (viewports, evaluation); training batches hold at least as many. */
export const RENDER_RAYS = 4096;

/** What a training forward leaves for its backward. */
interface ForwardState {
  nRays: number;
  /** Chunks of the shaded list the forward shaded. */
  chunks: number;
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
  /** The last forward's counts, on the GPU: samples (word 0) and shaded samples (word 1). */
  readonly counter: GPUBuffer;
  /** Workgroups of the per-sample kernels, written on the GPU from the sample count. */
  private readonly sampleArgs: GPUBuffer;
  private sampleCap = 0;
  /** Rows of the shaded buffers: whole chunks covering the sample bound. */
  private appCap = 0;
  /** Shaded rows per chunk, fixed: a multiple of CHUNK_ALIGN whose widest per-row buffer fits one binding. */
  readonly chunkRows: number;
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
  private pending: ForwardState | null = null;
  /** The last forward's field uniform and factors (what its samples were weighed with). */
  private last: { fieldU: ForwardState['fieldU']; factors: GPUBuffer } | null = null;
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
    /**
     * Shaded rows per chunk (rounded down to CHUNK_ALIGN, and to what one binding holds): the
     * trainer's statistic of a batch's shaded samples (memory.ts); tests lower it to exercise
     * several chunks. Left out, a render's (renderChunkRows).
     */
    shadeChunk?: number,
  ) {
    this.gemm = new Gemm(ctx);
    this.rays = ctx.buffer('batch.rays', maxRays * RAY_BUFFER_BYTES.rays);
    this.rayInfo = ctx.buffer('batch.rayInfo', maxRays * RAY_BUFFER_BYTES.rayInfo);
    this.shadedBase = ctx.buffer('batch.shadedBase', maxRays * RAY_BUFFER_BYTES.shadedBase);
    this.output = ctx.buffer('batch.output', maxRays * RAY_BUFFER_BYTES.output);
    this.dColour = ctx.buffer('batch.dColour', maxRays * RAY_BUFFER_BYTES.dColour);
    this.counter = ctx.buffer('batch.counter', 16);
    this.sampleArgs = dispatchArgsBuffer(ctx, 'batch.sampleArgs');
    this.chunkRows =
      shadeChunk === undefined ? renderChunkRows(field.settings, ctx.maxBinding, this.sampleBound) : chunkRowsOf(field.settings, ctx.maxBinding, shadeChunk);
    // The first buffers are made in the caller's out-of-memory scope (the trainer's, the renderer's).
    this.sampleCap = this.sampleBound;
    this.installSet(this.makeSet(SAMPLE_BUFFER_BYTES, this.sampleCap));
    this.appCap = this.shadedBound;
    this.installSet(this.makeSet(SHADED_BUFFER_BYTES, this.appCap));
    this.installSet(this.makeSet(chunkBufferBytes(field.appWidth, field.settings.shading.appDim), this.chunkRows));
    field.shading.ensureCapacity(this.chunkRows);
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

  /** Rows the shaded buffers must hold: the sample bound in whole chunks. */
  private get shadedBound(): number {
    return Math.ceil(this.sampleBound / this.chunkRows) * this.chunkRows;
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

  /**
   * The rows of chunk `i` of the shaded list (`above`: none unless the list spans several chunks).
   * Only the GPU knows how many there are.
   */
  private chunk(i: number, above?: number): GpuRows {
    return { counts: this.counter, word: 1, first: i * this.chunkRows, max: this.chunkRows, ...(above !== undefined ? { above } : {}) };
  }

  /** A per-row appearance kernel over a chunk's rows (they bound themselves by the count too). */
  private overChunk(enc: Encoder, kernel: Kernel, rows: GpuRows, fieldU: ParamValues, buffers: Record<string, GPUBuffer>): void {
    dispatchOverRows(this.ctx, enc, kernel, { params: { field: fieldU, count: rows.max, first: rows.first! }, buffers }, rows, { wg: 64 });
  }

  /**
   * Appearance forward of a chunk of shaded samples: components, basis projection and shading,
   * leaving the colours in `rgb` at the chunk's first row.
   */
  private shadeForward(enc: Encoder, rows: GpuRows, fieldU: ParamValues, factors: GPUBuffer): void {
    const { ctx, field } = this;
    const W = field.appWidth;
    const D = field.settings.shading.appDim;
    const P = field.arena.params!;
    this.overChunk(enc, fieldKernel(ctx, field.settings, 'appForward'), rows, fieldU, {
      params_f: factors,
      samples: this.samples,
      shaded_index: this.shadedIndex,
      counter: this.counter,
      app_components: this.appComponents,
    });
    // features = components · basisᵀ (basis is [D][W] like PyTorch's Linear weight). Below the
    // full rank only the active components of each slot are multiplied, one product per slot
    // summed into the features, so a slimmed render costs in proportion to its rank.
    const basis = field.arena.get('basis').offset;
    const spans = activeSpans(field.settings.appComps, fieldU);
    // (No active component at all: the whole, all-zero width, so the features are zeros.)
    for (const [i, { col, k }] of (spans.length ? spans : [{ col: 0, k: W }]).entries()) {
      this.gemm.run(enc, {
        M: rows.max,
        N: D,
        K: k,
        a: { buffer: this.appComponents, offset: col, rowStride: W, colStride: 1 },
        b: { buffer: P, offset: basis + col, rowStride: 1, colStride: W },
        c: { buffer: this.appFeatures, offset: 0, rowStride: D, colStride: 1 },
        accumulate: i > 0,
        gpuRows: { dim: 'M', rows },
      });
    }
    const row = rows.first!;
    field.shading.forward(enc, rows, this.appFeatures, { buffer: this.shadedDirs, row }, { buffer: this.rgb, row });
  }

  /** Appearance backward of a chunk of shaded samples after its shadeForward. */
  private shadeBackward(enc: Encoder, rows: GpuRows, fieldU: ParamValues, factors: GPUBuffer): void {
    const { ctx, field } = this;
    const W = field.appWidth;
    const D = field.settings.shading.appDim;
    const P = field.arena.params!;
    const G = field.arena.grads!;
    const basis = field.arena.get('basis');
    const row = rows.first!;
    // The first chunk's weight gradients overwrite their slots, the others add to them.
    const accumulate = row > 0;
    field.shading.backward(enc, rows, { buffer: this.rgb, row }, { buffer: this.dRgb, row }, this.dAppFeatures, accumulate);
    // dBasis = dFeaturesᵀ · components (summed over chunks), dComponents = dFeatures · basis.
    this.gemm.run(enc, {
      M: D,
      N: W,
      K: rows.max,
      a: { buffer: this.dAppFeatures, offset: 0, rowStride: 1, colStride: D },
      b: { buffer: this.appComponents, offset: 0, rowStride: W, colStride: 1 },
      c: { buffer: G, offset: basis.offset, rowStride: W, colStride: 1 },
      accumulate,
      gpuRows: { dim: 'K', rows },
    });
    this.gemm.run(enc, {
      M: rows.max,
      N: W,
      K: D,
      a: { buffer: this.dAppFeatures, offset: 0, rowStride: D, colStride: 1 },
      b: { buffer: P, offset: basis.offset, rowStride: W, colStride: 1 },
      c: { buffer: this.dAppComponents, offset: 0, rowStride: W, colStride: 1 },
      gpuRows: { dim: 'M', rows },
    });
    const common = { params_f: factors, samples: this.samples, shaded_index: this.shadedIndex, counter: this.counter, d_app_components: this.dAppComponents };
    this.overChunk(enc, fieldKernel(ctx, field.settings, 'appBackward'), rows, fieldU, { ...common, grads: G });
    if (this.dPosition) this.overChunk(enc, fieldKernel(ctx, field.settings, 'appPosition'), rows, fieldU, { ...common, d_position: this.dPosition });
  }

  /** Chunks of the shaded list the shaded buffers can hold (most of them empty in a typical batch). */
  get chunks(): number {
    return this.appCap / this.chunkRows;
  }

  /** Chunks the shaded list of `nRays` rays could need: every sample they could take shaded. */
  chunksFor(nRays: number): number {
    return Math.min(this.chunks, Math.ceil((nRays * this.field.nSamples) / this.chunkRows));
  }

  /**
   * The forward pass of the first `nRays` rays already in `rays`: samples, opacities, weights,
   * shading and each ray's colour in `output`. In training it keeps what backward() needs. It never
   * waits for the GPU (it may, rarely, to grow the sample buffers after an upsample); the counts
   * stay in `counter` (readCounts).
   */
  async forward(nRays: number, opt: BatchOptions): Promise<void> {
    const { ctx, field } = this;
    const fieldU = field.fieldUniform(opt.rank);
    const st = field.settings;
    const factors = opt.factors ?? field.arena.params!;
    this.pending = null;
    this.last = { fieldU, factors };

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
    if (this.shadedBound > this.appCap) {
      const rows = this.shadedBound;
      await this.grow('shaded samples', SHADED_BUFFER_BYTES, rows);
      this.appCap = rows;
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
    // (The GPU starts on the sampling; a page gets a chance to handle input before the shading is recorded.)
    await yieldIfLong();

    // 3. Shading, chunk by chunk (those past the shaded count do nothing), then each ray's colour.
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
    if (opt.train && opt.chunks !== undefined) throw new Error('RayBatch.forward: a training batch shades every chunk');
    // Only the chunks this batch's rays could fill (a training batch's 256 rays need far fewer
    // than the 4,096 its buffers hold for evaluation).
    const chunks = Math.min(opt.chunks ?? Infinity, this.chunksFor(nRays));
    for (let i = 0; i < chunks; i++) this.shadeForward(shade, this.chunk(i), fieldU, factors);
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
    if (opt.train) this.pending = { nRays, chunks, fieldU, bg: opt.bg, factors };
  }

  /** The last forward's sample and shaded counts, read back (a blocking wait: tests and diagnostics). */
  async readCounts(): Promise<BatchStats> {
    const [samples, shaded] = await this.ctx.readU32(this.counter, 2);
    return { samples: samples!, shaded: shaded! };
  }

  /**
   * The backward pass of the last training forward, from dL/dC in `dColour` (the loss): the
   * gradients of the per-ray summed loss are accumulated into field.arena.grads (factors as fixed
   * point). When the shaded list spans several chunks each chunk's forward is recomputed first
   * (the shading module keeps the activations of one chunk only); that recomputation is sized on
   * the GPU to nothing when one chunk held them all.
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
    if (this.dPosition) enc.clear(this.dPosition);
    for (let i = 0; i < s.chunks; i++) {
      this.shadeForward(enc, this.chunk(i, this.chunkRows), s.fieldU, s.factors);
      this.shadeBackward(enc, this.chunk(i), s.fieldU, s.factors);
    }
    // The per-sample kernels over the forward's sample count (its dispatch sizes are still there).
    enc.dispatch(fieldKernel(ctx, st, 'densityBackward'), {
      params: { field: s.fieldU, count: this.sampleCap },
      buffers: { params_f: s.factors, grads: field.arena.grads!, samples: this.samples, counter: this.counter, d_density: this.dDensity },
      workgroups: { indirect: this.sampleArgs },
    });
    if (this.dPosition && this.rayGrads) {
      enc.dispatch(fieldKernel(ctx, st, 'densityPosition'), {
        params: { field: s.fieldU, count: this.sampleCap },
        buffers: { params_f: s.factors, samples: this.samples, counter: this.counter, d_density: this.dDensity, d_position: this.dPosition },
        workgroups: { indirect: this.sampleArgs },
      });
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

  /**
   * Each factor texel's share of the last forward's samples, added into `into` (arena-shaped,
   * fixed point): their blend weights times `scale` times the texels' interpolation weights
   * (field.wgsl.ts texelWeightWgsl). A ray adds at most `scale` to any texel, since its blend
   * weights sum to at most 1.
   */
  scatterTexelWeights(enc: Encoder, into: GPUBuffer, scale: number): void {
    if (!this.last) throw new Error('RayBatch.scatterTexelWeights: no forward to weigh');
    const st = this.field.settings;
    this.overSamples(
      enc,
      fieldKernel(this.ctx, st, 'texelWeight'),
      { field: this.last.fieldU, weight_thres: st.rayMarchWeightThres, scale },
      { params_f: this.last.factors, grads: into },
    );
  }

  /**
   * Runs a kernel over the last forward's samples (64 threads a workgroup, as many as there are
   * samples): it declares `samples` (grid coordinates), `counter`, `sample_alpha` and
   * `transmittance` like the texel-weight kernel, and `count` in its params (the sample capacity).
   */
  overSamples(enc: Encoder, kernel: Kernel, params: ParamValues, buffers: Record<string, GPUBuffer>): void {
    if (!this.last) throw new Error('RayBatch.overSamples: no forward to read');
    enc.dispatch(kernel, {
      params: { ...params, count: this.sampleCap },
      buffers: { ...buffers, samples: this.samples, counter: this.counter, sample_alpha: this.sampleAlpha, transmittance: this.transmittance },
      workgroups: { indirect: this.sampleArgs },
    });
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
 * Shaded rows per chunk at most: the widest per-row buffer (component vector, MLP input or hidden
 * layer) must fit one storage binding.
 */
export function shadeChunkRows(settings: FieldSettings, maxBinding: number): number {
  const s = settings.shading;
  const widest = Math.max(appWidthOf(settings), s.mode === 'MLP_Fea' ? mlpInputWidth(s) : 0, s.featureC, s.appDim, 4);
  const byLimit = Math.floor(maxBinding / (4 * widest));
  return Math.max(1, Math.min(byLimit, 1 << 20));
}

/**
 * Rows per chunk of a render's batch: RENDER_CHUNK_ROWS, or fewer when its passes can take fewer
 * samples (`sampleBound`), within what one binding holds.
 */
export function renderChunkRows(settings: FieldSettings, maxBinding: number, sampleBound: number): number {
  return chunkRowsOf(settings, maxBinding, Math.min(RENDER_CHUNK_ROWS, Math.ceil(sampleBound / CHUNK_ALIGN) * CHUNK_ALIGN));
}

/** A batch's rows per chunk: `wanted`, within what one binding holds, in whole CHUNK_ALIGN rows. */
export function chunkRowsOf(settings: FieldSettings, maxBinding: number, wanted: number): number {
  const rows = Math.min(wanted, shadeChunkRows(settings, maxBinding));
  return Math.max(CHUNK_ALIGN, Math.floor(rows / CHUNK_ALIGN) * CHUNK_ALIGN);
}
