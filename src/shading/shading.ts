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
//
// forward() keeps the activations the backward pass needs in buffers owned by this module, so one
// backward() must follow its forward() before the next forward(); backward() also reuses one of
// them as scratch, so it may run only once per forward().
import type { GpuContext } from '../gpu/context.ts';
import { Gemm, type Operand } from '../gpu/gemm.ts';
import { cachedKernel, type Encoder, grid1d, type Kernel } from '../gpu/kernel.ts';
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
  if (cfg.mode === 'SH') return { Y: 4, basis: 9 };
  const W = mlpInputWidth(cfg);
  const C = cfg.featureC;
  return { Y: 4, X: W, H1: C, H2: C, G: C, dX: W, dZ: 3 };
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
  /** Both: n x 4 output rows (rgb + zero pad), copied to the caller's rgb buffer. */
  Y: GPUBuffer;
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

  forward(enc: Encoder, n: number, feat: GPUBuffer, dirs: GPUBuffer, rgb: GPUBuffer): void {
    const acts = this.requireCapacity(n);
    this.lastN = n;
    if (n === 0) return;
    if (this.cfg.mode === 'SH') {
      enc.dispatch(this.kernels.shForward!, {
        params: { n },
        buffers: { feat, dirs, Y: acts.Y, basis: acts.basis! },
        workgroups: grid1d(this.ctx, n, 64),
      });
    } else {
      this.mlpForward(enc, n, feat, dirs, acts);
    }
    // Y stays here for the backward (sigmoid / ReLU derivative); the caller gets a copy.
    enc.copy(acts.Y, 0, rgb, 0, n * 16);
  }

  /**
   * Backward of the last forward. Weight gradients overwrite their arena slots, or add to them
   * with `accumulate` (a batch shaded in several chunks).
   */
  backward(enc: Encoder, n: number, dRgb: GPUBuffer, dFeat: GPUBuffer, accumulate = false): void {
    const acts = this.requireCapacity(n);
    if (n !== this.lastN) throw new Error(`ShadingModule: backward on ${n} rows after a forward on ${this.lastN}`);
    this.lastN = -1; // backward overwrites saved activations; a second backward would be wrong
    if (this.cfg.mode === 'SH') {
      if (n === 0) return;
      enc.dispatch(this.kernels.shBackward!, {
        params: { n },
        buffers: { dRgb, Y: acts.Y, basis: acts.basis!, dFeat },
        workgroups: grid1d(this.ctx, n * 27, 256),
      });
      return;
    }
    this.mlpBackward(enc, n, dRgb, dFeat, acts, accumulate);
  }

  private mlpForward(enc: Encoder, n: number, feat: GPUBuffer, dirs: GPUBuffer, acts: Activations): void {
    const { appDim: A, feaPe, viewPe, featureC: C } = this.cfg;
    const W = this.inWidth;
    const s = this.segs!;
    const P = this.arena.params!;
    const gemm = this.gemm!;
    enc.dispatch(this.kernels.encode!, {
      params: { n, app_dim: A, fea_pe: feaPe, view_pe: viewPe, width: W },
      buffers: { feat, dirs, X: acts.X! },
      workgroups: grid1d(this.ctx, n * W, 256),
    });
    // h = act(x · Wᵀ + b): B = Wᵀ is the [out][in] weight read with swapped strides.
    gemm.run(enc, {
      M: n,
      N: C,
      K: W,
      a: rows(acts.X!, W),
      b: transposedWeight(P, s.w0, W),
      c: rows(acts.H1!, C),
      bias: { buffer: P, offset: s.b0.offset },
      act: 'relu',
    });
    gemm.run(enc, {
      M: n,
      N: C,
      K: C,
      a: rows(acts.H1!, C),
      b: transposedWeight(P, s.w1, C),
      c: rows(acts.H2!, C),
      bias: { buffer: P, offset: s.b1.offset },
      act: 'relu',
    });
    gemm.run(enc, {
      M: n,
      N: 3,
      K: C,
      a: rows(acts.H2!, C),
      b: transposedWeight(P, s.w2, C),
      c: rows(acts.Y, 4),
      bias: { buffer: P, offset: s.b2.offset },
      act: 'sigmoid',
    });
  }

  private mlpBackward(enc: Encoder, n: number, dRgb: GPUBuffer, dFeat: GPUBuffer, acts: Activations, accumulate: boolean): void {
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

    if (n === 0) {
      // No samples: the gradients are exactly zero (overwrite semantics), dFeat has no rows.
      if (!accumulate) for (const seg of Object.values(s)) enc.clear(Gr, seg.offset * 4, seg.count * 4);
      return;
    }

    // Layer 2 (sigmoid): dZ = dRgb · y(1 − y); dW2 = dZᵀ·H2, db2 = 1ᵀ·dZ, dH2 = dZ·W2.
    enc.dispatch(this.kernels.sigmoidBackward!, {
      params: { n },
      buffers: { dRgb, Y: acts.Y, dZ },
      workgroups: grid1d(this.ctx, n * 3, 256),
    });
    gemm.run(enc, { M: 3, N: C, K: n, a: cols(dZ, 3), b: rows(H2, C), c: weightGrad(Gr, s.w2, C), accumulate });
    gemm.run(enc, { M: 1, N: 3, K: n, a: ones, b: rows(dZ, 3), c: weightGrad(Gr, s.b2, 3), accumulate });
    gemm.run(enc, { M: n, N: C, K: 3, a: rows(dZ, 3), b: weight(P, s.w2, C), c: rows(G, C) });
    this.reluMask(enc, H2, G, n * C);

    // Layer 1: G = dZ1. H2 is no longer needed, so dH1 = dZ1·W1 is written over it.
    gemm.run(enc, { M: C, N: C, K: n, a: cols(G, C), b: rows(H1, C), c: weightGrad(Gr, s.w1, C), accumulate });
    gemm.run(enc, { M: 1, N: C, K: n, a: ones, b: rows(G, C), c: weightGrad(Gr, s.b1, C), accumulate });
    gemm.run(enc, { M: n, N: C, K: C, a: rows(G, C), b: weight(P, s.w1, C), c: rows(H2, C) });
    this.reluMask(enc, H1, H2, n * C);

    // Layer 0: H2 = dZ0. Only the input columns that lead back to feat (feat, dir, PE(feat)) are
    // formed; the PE(dir) columns at the end of the row have no use (no gradient to dirs).
    gemm.run(enc, { M: C, N: W, K: n, a: cols(H2, C), b: rows(X, W), c: weightGrad(Gr, s.w0, W), accumulate });
    gemm.run(enc, { M: 1, N: C, K: n, a: ones, b: rows(H2, C), c: weightGrad(Gr, s.b0, C), accumulate });
    const needed = W - 6 * viewPe;
    gemm.run(enc, { M: n, N: needed, K: C, a: rows(H2, C), b: weight(P, s.w0, W), c: rows(dX, W) });
    enc.dispatch(this.kernels.encodeBackward!, {
      params: { n, app_dim: A, fea_pe: feaPe, width: W },
      buffers: { dX, X, dFeat },
      workgroups: grid1d(this.ctx, n * A, 256),
    });
  }

  private reluMask(enc: Encoder, act: GPUBuffer, grad: GPUBuffer, count: number): void {
    enc.dispatch(this.kernels.reluMask!, {
      params: { count },
      buffers: { act, grad },
      workgroups: grid1d(this.ctx, count, 256),
    });
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
function rows(buffer: GPUBuffer, width: number): Operand {
  return { buffer, offset: 0, rowStride: width, colStride: 1 };
}

/** Transpose of a row-major matrix with `width` columns (rows of the view walk its columns). */
function cols(buffer: GPUBuffer, width: number): Operand {
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
