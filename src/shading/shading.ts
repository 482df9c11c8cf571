// Appearance decoder ("shading module") of TensoRF: turns per-sample appearance features and view
// directions into rgb. Two of the reference's decoders are implemented:
//
// - MLP_Fea: [feat, dir, PE(feat), PE(dir)] -> Linear -> ReLU -> Linear -> ReLU -> Linear -> sigmoid.
//   The three dense layers run on the tiled GEMM; the weights live in the ParamArena as dense
//   segments 'mlp.w0' .. 'mlp.b2' (w_l row-major [out][in], like PyTorch's Linear.weight).
// - SH: the 27 features are 3 channels x 9 degree-2 SH coefficients; no weights.
//
// Buffer conventions (all f32, row-major, one row per sample):
//   feat  n x appDim      dirs  n x 4 (unit xyz + pad)      rgb / dRgb  n x 4 (rgb + pad)
// dirs, rgb and dRgb may start at a row of a larger buffer (a chunk of a batch's shaded list; the
// row a multiple of 16, storage-binding alignment).
//
// The rows are a count the host knows, or rows only the GPU counted (GpuRows: a chunk of the
// shaded samples, whose number is never read back): then every dispatch is sized on the GPU
// (gpu/indirect.ts) and the maximum sizes the buffers.
//
// forward() keeps the activations the backward pass needs in buffers owned by this module, and
// reads its own output (rgb) back, so one backward() must follow its forward() before the next
// forward(), with the same rgb; backward() also reuses one of them as scratch, so it may run only
// once per forward().
import type { GpuContext } from '../gpu/context.ts';
import { Gemm, type Operand } from '../gpu/gemm.ts';
import { dispatchOverRows, type GpuRows } from '../gpu/indirect.ts';
import { type BufferBinding, cachedKernel, type Encoder, grid1d, type Kernel, type ParamValues } from '../gpu/kernel.ts';
import type { ParamArena, Segment } from '../gpu/param-arena.ts';
import { linearInit } from '../gpu/random.ts';
import { encodeBackwardShader, encodeShader, reluMaskShader, shBackwardShader, shForwardShader, sigmoidBackwardShader } from './shading.wgsl.ts';

export type ShadingMode = 'MLP_Fea' | 'SH';

export interface ShadingConfig {
  mode: ShadingMode;
  /** Appearance feature size (27 in every reference config; must be 27 for SH). */
  appDim: number;
  /** PE frequencies of the view direction. */
  viewPe: number;
  /** PE frequencies of the features. */
  feaPe: number;
  /** Hidden width of the MLP. */
  featureC: number;
}

/** Width of the MLP_Fea input row: feat, dir, PE(feat) (sin+cos), PE(dir) (sin+cos). */
export function mlpInputWidth(cfg: Pick<ShadingConfig, 'appDim' | 'viewPe' | 'feaPe'>): number {
  return cfg.appDim + 3 + 2 * cfg.appDim * cfg.feaPe + 2 * 3 * cfg.viewPe;
}

/** Floats per sample row of each activation buffer (see Activations). */
export function activationWidths(cfg: ShadingConfig): Record<string, number> {
  if (cfg.mode === 'SH') return { basis: 9 };
  const W = mlpInputWidth(cfg);
  const C = cfg.featureC;
  return { X: W, H1: C, H2: C, G: C, dX: W, dZ: 3 };
}

/** Bytes of activation storage per shaded row: what the memory estimate and chunk sizes use. */
export function activationBytesPerRow(cfg: ShadingConfig): number {
  return 4 * Object.values(activationWidths(cfg)).reduce((a, b) => a + b, 0);
}

/** MLP_Fea's weight tensors in arena order (none for SH), with the fan-in of their init. */
export function shadingSegments(cfg: ShadingConfig): { name: string; count: number; fanIn: number }[] {
  if (cfg.mode !== 'MLP_Fea') return [];
  const W = mlpInputWidth(cfg);
  const C = cfg.featureC;
  return [
    { name: 'mlp.w0', count: C * W, fanIn: W },
    { name: 'mlp.b0', count: C, fanIn: W },
    { name: 'mlp.w1', count: C * C, fanIn: C },
    { name: 'mlp.b1', count: C, fanIn: C },
    { name: 'mlp.w2', count: 3 * C, fanIn: C },
    { name: 'mlp.b2', count: 3, fanIn: 0 },
  ];
}

interface MlpSegments {
  w0: Segment;
  b0: Segment;
  w1: Segment;
  b1: Segment;
  w2: Segment;
  b2: Segment;
}

/** Activation buffers, sized for `capacity` rows. */
interface Activations {
  /** MLP: n x W input rows. */
  X?: GPUBuffer;
  /** MLP: n x C hidden outputs (post-ReLU). H2 doubles as dL/dH1 scratch in backward. */
  H1?: GPUBuffer;
  H2?: GPUBuffer;
  /** MLP: n x C gradient scratch. */
  G?: GPUBuffer;
  /** MLP: n x W gradient of the input rows. */
  dX?: GPUBuffer;
  /** MLP: n x 3 gradient of the output pre-activation. */
  dZ?: GPUBuffer;
  /** SH: n x 9 basis values. */
  basis?: GPUBuffer;
}

/** Rows shaded: a count the host knows, or rows only the GPU counted (at most their `max`). */
export type ShadeRows = number | GpuRows;

/** Rows of 4 floats (a direction, a colour): a whole buffer, or from a row of one. */
export type RowView = GPUBuffer | { buffer: GPUBuffer; row: number };

const maxRows = (rows: ShadeRows) => (typeof rows === 'number' ? rows : rows.max);
const viewOf = (v: RowView) => ('row' in v ? v : { buffer: v, row: 0 });

/** The binding of `n` rows of 4 floats from a view (at least one row, within the buffer). */
function rowBinding(v: RowView, n: number): BufferBinding {
  const { buffer, row } = viewOf(v);
  if (row === 0) return buffer;
  const at = row * 16;
  return [buffer, at, Math.min(Math.max(n, 1) * 16, buffer.size - at)];
}

export class ShadingModule {
  readonly cfg: ShadingConfig;
  /** Input width of the first layer (MLP_Fea only; 0 for SH). */
  readonly inWidth: number;
  private readonly segs: MlpSegments | null;
  private readonly gemm: Gemm | null;
  private readonly kernels: Record<string, Kernel> = {};
  private readonly ones: GPUBuffer | null;
  private acts: Activations | null = null;
  private capacity = 0;
  /** Rows the last forward() ran on; backward() must be asked for the same. */
  private lastN = -1;

  constructor(
    private readonly ctx: GpuContext,
    cfg: ShadingConfig,
    private readonly arena: ParamArena,
    seed: number,
  ) {
    this.cfg = { ...cfg };
    for (const k of ['appDim', 'viewPe', 'feaPe', 'featureC'] as const) {
      if (!Number.isInteger(cfg[k]) || cfg[k] < 0) throw new Error(`ShadingModule: ${k} must be a non-negative integer`);
    }
    if (cfg.mode === 'SH') {
      if (cfg.appDim !== 27) throw new Error(`ShadingModule: SH needs appDim 27 (3 x 9 coefficients), got ${cfg.appDim}`);
      this.inWidth = 0;
      this.segs = null;
      this.gemm = null;
      this.ones = null;
      this.kernels.shForward = cachedKernel(ctx, 'sh-forward', () => shForwardShader);
      this.kernels.shBackward = cachedKernel(ctx, 'sh-backward', () => shBackwardShader);
      return;
    }
    if (cfg.mode !== 'MLP_Fea') throw new Error(`ShadingModule: unsupported mode ${String(cfg.mode)}`);
    if (cfg.appDim < 1 || cfg.featureC < 1) throw new Error('ShadingModule: appDim and featureC must be positive');

    this.inWidth = mlpInputWidth(cfg);
    // PyTorch's Linear default: weight and bias ~ U(±1/sqrt(fan_in)); TensoRF zeroes the last bias.
    const [w0, b0, w1, b1, w2, b2] = shadingSegments(cfg).map((s, i) =>
      arena.add(s.name, s.fanIn > 0 ? linearInit(s.count, s.fanIn, seed * 8 + i + 1) : new Float32Array(s.count), 'dense'),
    );
    this.segs = { w0: w0!, b0: b0!, w1: w1!, b1: b1!, w2: w2!, b2: b2! };
    this.gemm = new Gemm(ctx);
    // A single 1.0 read with zero strides is a ones-vector of any length: 1ᵀ·Δ sums rows (bias grads).
    this.ones = ctx.upload('shading.ones', new Float32Array([1]));
    this.kernels.encode = cachedKernel(ctx, 'shading-encode', () => encodeShader);
    this.kernels.encodeBackward = cachedKernel(ctx, 'shading-encode-backward', () => encodeBackwardShader);
    this.kernels.sigmoidBackward = cachedKernel(ctx, 'shading-sigmoid-backward', () => sigmoidBackwardShader);
    this.kernels.reluMask = cachedKernel(ctx, 'shading-relu-mask', () => reluMaskShader);
  }

  /**
   * Makes the activation buffers hold at least n rows. Reallocation destroys the old buffers, so
   * call this before recording work that uses the module, not between a recorded dispatch and its
   * submit. Throws LimitError (from ctx.assertFits) when a buffer would exceed the device's binding
   * size, leaving the previous buffers in place; the old buffers are released before the new ones
   * are made, so growing never holds both.
   */
  ensureCapacity(n: number): void {
    if (!Number.isInteger(n) || n < 0) throw new Error(`ShadingModule: bad row count ${n}`);
    if (n <= this.capacity && this.acts) return;
    const rows = Math.max(n, 1);
    const widths = activationWidths(this.cfg);
    for (const [label, floats] of Object.entries(widths)) this.ctx.assertFits(`shading.${label}`, rows * floats * 4);
    this.releaseActivations();
    const made: Record<string, GPUBuffer> = {};
    for (const [label, floats] of Object.entries(widths)) made[label] = this.ctx.buffer(`shading.${label}`, rows * floats * 4);
    this.acts = made as unknown as Activations;
    this.capacity = rows;
  }

  /** Activations for exactly `n` rows, made again (after a failed growth left buffers that may be invalid). */
  reallocate(n: number): void {
    this.releaseActivations();
    this.ensureCapacity(n);
  }

  /**
   * A dispatch over rows (`perRow` threads each): sized on the host for a known count, on the GPU
   * for GpuRows, with the rows (`rowsField`) or the threads (`threadsField`) in its params.
   */
  private over(
    enc: Encoder,
    kernel: Kernel,
    rows: ShadeRows,
    shape: { perRow: number; wg: number; rowsField?: string; threadsField?: string },
    args: { params: ParamValues; buffers: Record<string, BufferBinding> },
  ): void {
    if (typeof rows === 'number') {
      const params = { ...args.params };
      if (shape.rowsField) params[shape.rowsField] = rows;
      if (shape.threadsField) params[shape.threadsField] = rows * shape.perRow;
      enc.dispatch(kernel, { params, buffers: args.buffers, workgroups: grid1d(this.ctx, rows * shape.perRow, shape.wg) });
    } else {
      dispatchOverRows(this.ctx, enc, kernel, args, rows, shape);
    }
  }

  forward(enc: Encoder, rows: ShadeRows, feat: GPUBuffer, dirs: RowView, rgb: RowView): void {
    const n = maxRows(rows);
    const acts = this.requireCapacity(n);
    this.lastN = n;
    if (n === 0) return;
    // The colours go straight to the caller's rgb, which backward reads (sigmoid and SH derivatives).
    if (this.cfg.mode === 'SH') {
      this.over(
        enc,
        this.kernels.shForward!,
        rows,
        { perRow: 1, wg: 64, rowsField: 'n' },
        { params: { n }, buffers: { feat, dirs: rowBinding(dirs, n), Y: rowBinding(rgb, n), basis: acts.basis! } },
      );
    } else {
      this.mlpForward(enc, rows, feat, dirs, rgb, acts);
    }
  }

  /**
   * Backward of the last forward. Weight gradients overwrite their arena slots, or add to them
   * with `accumulate` (a batch shaded in several chunks).
   */
  backward(enc: Encoder, rows: ShadeRows, rgb: RowView, dRgb: RowView, dFeat: GPUBuffer, accumulate = false): void {
    const n = maxRows(rows);
    const acts = this.requireCapacity(n);
    if (n !== this.lastN) throw new Error(`ShadingModule: backward on ${n} rows after a forward on ${this.lastN}`);
    this.lastN = -1; // backward overwrites saved activations; a second backward would be wrong
    if (this.cfg.mode === 'SH') {
      if (n === 0) return;
      this.over(
        enc,
        this.kernels.shBackward!,
        rows,
        { perRow: 27, wg: 256, rowsField: 'n' },
        { params: { n }, buffers: { dRgb: rowBinding(dRgb, n), Y: rowBinding(rgb, n), basis: acts.basis!, dFeat } },
      );
      return;
    }
    this.mlpBackward(enc, rows, rgb, dRgb, dFeat, acts, accumulate);
  }

  private mlpForward(enc: Encoder, rows: ShadeRows, feat: GPUBuffer, dirs: RowView, rgb: RowView, acts: Activations): void {
    const n = maxRows(rows);
    const overRows = (dim: 'M' | 'K') => (typeof rows === 'number' ? {} : { gpuRows: { dim, rows } });
    const out = viewOf(rgb);
    const { appDim: A, feaPe, viewPe, featureC: C } = this.cfg;
    const W = this.inWidth;
    const s = this.segs!;
    const P = this.arena.params!;
    const gemm = this.gemm!;
    this.over(
      enc,
      this.kernels.encode!,
      rows,
      { perRow: W, wg: 256, rowsField: 'n' },
      { params: { n, app_dim: A, fea_pe: feaPe, view_pe: viewPe, width: W }, buffers: { feat, dirs: rowBinding(dirs, n), X: acts.X! } },
    );
    // h = act(x · Wᵀ + b): B = Wᵀ is the [out][in] weight read with swapped strides.
    gemm.run(enc, {
      M: n,
      N: C,
      K: W,
      a: byRows(acts.X!, W),
      b: transposedWeight(P, s.w0, W),
      c: byRows(acts.H1!, C),
      bias: { buffer: P, offset: s.b0.offset },
      act: 'relu',
      ...overRows('M'),
    });
    gemm.run(enc, {
      M: n,
      N: C,
      K: C,
      a: byRows(acts.H1!, C),
      b: transposedWeight(P, s.w1, C),
      c: byRows(acts.H2!, C),
      bias: { buffer: P, offset: s.b1.offset },
      act: 'relu',
      ...overRows('M'),
    });
    gemm.run(enc, {
      M: n,
      N: 3,
      K: C,
      a: byRows(acts.H2!, C),
      b: transposedWeight(P, s.w2, C),
      c: { buffer: out.buffer, offset: out.row * 4, rowStride: 4, colStride: 1 },
      bias: { buffer: P, offset: s.b2.offset },
      act: 'sigmoid',
      ...overRows('M'),
    });
  }

  private mlpBackward(enc: Encoder, rows: ShadeRows, rgb: RowView, dRgb: RowView, dFeat: GPUBuffer, acts: Activations, accumulate: boolean): void {
    const n = maxRows(rows);
    const { appDim: A, feaPe, viewPe, featureC: C } = this.cfg;
    const W = this.inWidth;
    const s = this.segs!;
    const P = this.arena.params!;
    const Gr = this.arena.grads!;
    const gemm = this.gemm!;
    const ones: Operand = { buffer: this.ones!, offset: 0, rowStride: 0, colStride: 0 };
    const X = acts.X!,
      H1 = acts.H1!,
      H2 = acts.H2!,
      G = acts.G!,
      dX = acts.dX!,
      dZ = acts.dZ!;
    // Products over the rows: M = rows (per-row outputs) or K = rows (weight gradients, summed).
    const overRows = (dim: 'M' | 'K') => (typeof rows === 'number' ? {} : { gpuRows: { dim, rows } });

    if (n === 0) {
      // No samples: the gradients are exactly zero (overwrite semantics), dFeat has no rows.
      if (!accumulate) for (const seg of Object.values(s)) enc.clear(Gr, seg.offset * 4, seg.count * 4);
      return;
    }

    // Layer 2 (sigmoid): dZ = dRgb · y(1 − y); dW2 = dZᵀ·H2, db2 = 1ᵀ·dZ, dH2 = dZ·W2.
    this.over(
      enc,
      this.kernels.sigmoidBackward!,
      rows,
      { perRow: 3, wg: 256, rowsField: 'n' },
      { params: { n }, buffers: { dRgb: rowBinding(dRgb, n), Y: rowBinding(rgb, n), dZ } },
    );
    gemm.run(enc, { M: 3, N: C, K: n, a: byCols(dZ, 3), b: byRows(H2, C), c: weightGrad(Gr, s.w2, C), accumulate, ...overRows('K') });
    gemm.run(enc, { M: 1, N: 3, K: n, a: ones, b: byRows(dZ, 3), c: weightGrad(Gr, s.b2, 3), accumulate, ...overRows('K') });
    gemm.run(enc, { M: n, N: C, K: 3, a: byRows(dZ, 3), b: weight(P, s.w2, C), c: byRows(G, C), ...overRows('M') });
    this.reluMask(enc, H2, G, rows, C);

    // Layer 1: G = dZ1. H2 is no longer needed, so dH1 = dZ1·W1 is written over it.
    gemm.run(enc, { M: C, N: C, K: n, a: byCols(G, C), b: byRows(H1, C), c: weightGrad(Gr, s.w1, C), accumulate, ...overRows('K') });
    gemm.run(enc, { M: 1, N: C, K: n, a: ones, b: byRows(G, C), c: weightGrad(Gr, s.b1, C), accumulate, ...overRows('K') });
    gemm.run(enc, { M: n, N: C, K: C, a: byRows(G, C), b: weight(P, s.w1, C), c: byRows(H2, C), ...overRows('M') });
    this.reluMask(enc, H1, H2, rows, C);

    // Layer 0: H2 = dZ0. Only the input columns that lead back to feat (feat, dir, PE(feat)) are
    // formed; the PE(dir) columns at the end of the row have no use (no gradient to dirs).
    gemm.run(enc, { M: C, N: W, K: n, a: byCols(H2, C), b: byRows(X, W), c: weightGrad(Gr, s.w0, W), accumulate, ...overRows('K') });
    gemm.run(enc, { M: 1, N: C, K: n, a: ones, b: byRows(H2, C), c: weightGrad(Gr, s.b0, C), accumulate, ...overRows('K') });
    const needed = W - 6 * viewPe;
    gemm.run(enc, { M: n, N: needed, K: C, a: byRows(H2, C), b: weight(P, s.w0, W), c: byRows(dX, W), ...overRows('M') });
    this.over(
      enc,
      this.kernels.encodeBackward!,
      rows,
      { perRow: A, wg: 256, rowsField: 'n' },
      { params: { n, app_dim: A, fea_pe: feaPe, width: W }, buffers: { dX, X, dFeat } },
    );
  }

  /** Zeroes the gradient where the ReLU was inactive, over `width` floats of each row. */
  private reluMask(enc: Encoder, act: GPUBuffer, grad: GPUBuffer, rows: ShadeRows, width: number): void {
    this.over(enc, this.kernels.reluMask!, rows, { perRow: width, wg: 256, threadsField: 'count' }, { params: { count: 0 }, buffers: { act, grad } });
  }

  private requireCapacity(n: number): Activations {
    if (!Number.isInteger(n) || n < 0) throw new Error(`ShadingModule: bad row count ${n}`);
    if (!this.acts || n > this.capacity) {
      throw new Error(`ShadingModule: ${n} rows exceed the capacity ${this.capacity}; call ensureCapacity(n) first`);
    }
    if (this.segs && !this.arena.params) throw new Error('ShadingModule: the ParamArena is not allocated');
    return this.acts;
  }

  private releaseActivations(): void {
    if (!this.acts) return;
    for (const b of Object.values(this.acts)) this.ctx.destroy(b as GPUBuffer | undefined);
    this.acts = null;
    this.capacity = 0;
  }

  destroy(): void {
    this.releaseActivations();
    this.ctx.destroy(this.ones);
    this.gemm?.destroy();
  }
}

/** Row-major matrix with `width` columns starting at the buffer's beginning. */
function byRows(buffer: GPUBuffer, width: number): Operand {
  return { buffer, offset: 0, rowStride: width, colStride: 1 };
}

/** Transpose of a row-major matrix with `width` columns (rows of the view walk its columns). */
function byCols(buffer: GPUBuffer, width: number): Operand {
  return { buffer, offset: 0, rowStride: 1, colStride: width };
}

/** A [out][in] weight segment as stored (out x in). */
function weight(buffer: GPUBuffer, seg: Segment, inDim: number): Operand {
  return { buffer, offset: seg.offset, rowStride: inDim, colStride: 1 };
}

/** A [out][in] weight segment viewed as its transpose (in x out), the B of x·Wᵀ. */
function transposedWeight(buffer: GPUBuffer, seg: Segment, inDim: number): Operand {
  return { buffer, offset: seg.offset, rowStride: 1, colStride: inDim };
}

/** Gradient slot of a segment in the grads buffer, laid out like the segment. */
function weightGrad(buffer: GPUBuffer, seg: Segment, inDim: number): Operand {
  return { buffer, offset: seg.offset, rowStride: inDim, colStride: 1 };
}
