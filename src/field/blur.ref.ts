// f64 twins of blur.wgsl.ts: the coarse-to-fine Gaussian of joint pose refinement (notes §5) along
// one axis of a channels-last tensor, and its adjoint (the gradient of the sharp tensor).

/** The most taps either side of the centre: the reference's 64-tap kernel (65 with the centre). */
export const MAX_RADIUS = 32;

/**
 * Taps n = -r..r of the reference's kernel exp(-n²/(2s²)) / (s√(2π)), clamped to at most 1 and
 * normalised analytically, not by their sum, so it becomes an impulse as s → 0; r = ⌈4s⌉ (beyond
 * that the taps are below e⁻⁸ of the centre) up to the reference's 32.
 */
export function gaussianTaps(sigma: number): Float32Array {
  if (!(sigma > 0)) return Float32Array.of(1);
  const r = Math.min(MAX_RADIUS, Math.ceil(4 * sigma));
  return Float32Array.from({ length: 2 * r + 1 }, (_, i) => Math.min(1, Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)) / (sigma * Math.sqrt(2 * Math.PI))));
}

/**
 * A tensor [outer][len][inner] blurred along `len` with replicate padding (the reference's):
 * out[o][j][c] = Σₙ taps[n + r] · x[o][clamp(j + n)][c].
 */
export function blurAxis(x: ArrayLike<number>, outer: number, len: number, inner: number, taps: ArrayLike<number>): Float64Array {
  const r = (taps.length - 1) / 2;
  const out = new Float64Array(outer * len * inner);
  for (let o = 0; o < outer; o++)
    for (let j = 0; j < len; j++)
      for (let c = 0; c < inner; c++) {
        let acc = 0;
        for (let n = -r; n <= r; n++) acc += taps[n + r]! * x[(o * len + Math.min(Math.max(j + n, 0), len - 1)) * inner + c]!;
        out[(o * len + j) * inner + c] = acc;
      }
  return out;
}

/** The adjoint of blurAxis: g_x[o][i][c] = Σⱼ g_out[o][j][c] · Σ_{n : clamp(j + n) = i} taps[n + r]. */
export function blurAxisAdjoint(g: ArrayLike<number>, outer: number, len: number, inner: number, taps: ArrayLike<number>): Float64Array {
  const r = (taps.length - 1) / 2;
  const out = new Float64Array(outer * len * inner);
  for (let o = 0; o < outer; o++)
    for (let j = 0; j < len; j++)
      for (let c = 0; c < inner; c++)
        for (let n = -r; n <= r; n++) out[(o * len + Math.min(Math.max(j + n, 0), len - 1)) * inner + c] += taps[n + r]! * g[(o * len + j) * inner + c]!;
  return out;
}
