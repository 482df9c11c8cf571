// Plain f64 TypeScript reference of the shading module's forward pass (MLP_Fea and SH), written
// straight from TensoRF's models/tensorBase.py and models/sh.py. Tests compare the GPU kernels
// against it and take finite differences of it to check the backward pass.
import type { ShadingConfig } from './shading.ts';

export interface MlpWeights {
  /** [out][in] row-major, like PyTorch's Linear.weight. */
  w0: ArrayLike<number>;
  b0: ArrayLike<number>;
  w1: ArrayLike<number>;
  b1: ArrayLike<number>;
  w2: ArrayLike<number>;
  b2: ArrayLike<number>;
}

/** TensoRF's positional_encoding: [sin(x_d·2^k) for d, for k] ++ [cos(...)]. */
export function positionalEncoding(x: ArrayLike<number>, freqs: number): number[] {
  const pts: number[] = [];
  for (let d = 0; d < x.length; d++) for (let k = 0; k < freqs; k++) pts.push(x[d]! * 2 ** k);
  return [...pts.map(Math.sin), ...pts.map(Math.cos)];
}

/** The MLP_Fea input row for one sample. */
export function mlpInput(cfg: ShadingConfig, feat: ArrayLike<number>, dir: ArrayLike<number>): number[] {
  const f = Array.from(feat);
  const d = Array.from(dir).slice(0, 3);
  const row = [...f, ...d];
  if (cfg.feaPe > 0) row.push(...positionalEncoding(f, cfg.feaPe));
  if (cfg.viewPe > 0) row.push(...positionalEncoding(d, cfg.viewPe));
  return row;
}

function linear(w: ArrayLike<number>, b: ArrayLike<number>, x: number[], out: number): number[] {
  const y: number[] = [];
  for (let o = 0; o < out; o++) {
    let s = b[o]!;
    for (let i = 0; i < x.length; i++) s += w[o * x.length + i]! * x[i]!;
    y.push(s);
  }
  return y;
}

const SH_C0 = 0.28209479177387814;
const SH_C1 = 0.4886025119029199;
const SH_C2 = [1.0925484305920792, -1.0925484305920792, 0.31539156525252005, -1.0925484305920792, 0.5462742152960396];

/** eval_sh_bases(2, dir). */
export function shBasis(x: number, y: number, z: number): number[] {
  return [
    SH_C0,
    -SH_C1 * y,
    SH_C1 * z,
    -SH_C1 * x,
    SH_C2[0]! * x * y,
    SH_C2[1]! * y * z,
    SH_C2[2]! * (2 * z * z - x * x - y * y),
    SH_C2[3]! * x * z,
    SH_C2[4]! * (x * x - y * y),
  ];
}

/**
 * rgb (n x 3) for n samples. feat is n x appDim, dirs n x 4 (xyz + pad). `weights` is required for
 * MLP_Fea and ignored for SH.
 */
export function shadingForwardRef(cfg: ShadingConfig, weights: MlpWeights | null, n: number, feat: ArrayLike<number>, dirs: ArrayLike<number>): Float64Array {
  const A = cfg.appDim;
  const out = new Float64Array(n * 3);
  for (let s = 0; s < n; s++) {
    const f = Array.from({ length: A }, (_, i) => feat[s * A + i]!);
    const d = [dirs[s * 4]!, dirs[s * 4 + 1]!, dirs[s * 4 + 2]!];
    let rgb: number[];
    if (cfg.mode === 'SH') {
      const b = shBasis(d[0]!, d[1]!, d[2]!);
      rgb = [0, 1, 2].map((c) =>
        Math.max(
          0,
          b.reduce((acc, bk, k) => acc + bk * f[c * 9 + k]!, 0.5),
        ),
      );
    } else {
      const w = weights!;
      const C = cfg.featureC;
      const x = mlpInput(cfg, f, d);
      const h1 = linear(w.w0, w.b0, x, C).map((v) => Math.max(v, 0));
      const h2 = linear(w.w1, w.b1, h1, C).map((v) => Math.max(v, 0));
      rgb = linear(w.w2, w.b2, h2, 3).map((v) => 1 / (1 + Math.exp(-v)));
    }
    out.set(rgb, s * 3);
  }
  return out;
}
