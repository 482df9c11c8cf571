// f64 twins of taps.wgsl.ts: one component of a channels-last line or plane at a continuous
// coordinate (align corners). The layouts' reference evaluations are written with these.

/** Linear tap of component r of a channels-last line [n][k] starting at `offset`. */
export function lin(v: ArrayLike<number>, x: number, n: number, k: number, r: number, offset = 0): number {
  const x0 = Math.min(Math.max(Math.floor(x), 0), n - 2);
  const t = x - x0;
  return (1 - t) * v[offset + x0 * k + r]! + t * v[offset + (x0 + 1) * k + r]!;
}

/** Bilinear tap of component r of a channels-last plane [h][w][k]. */
export function bilin(v: ArrayLike<number>, x: number, y: number, w: number, h: number, k: number, r: number): number {
  const x0 = Math.min(Math.max(Math.floor(x), 0), w - 2);
  const y0 = Math.min(Math.max(Math.floor(y), 0), h - 2);
  const tx = x - x0;
  const ty = y - y0;
  const at = (xx: number, yy: number) => v[(yy * w + xx) * k + r]!;
  return (1 - ty) * ((1 - tx) * at(x0, y0) + tx * at(x0 + 1, y0)) + ty * ((1 - tx) * at(x0, y0 + 1) + tx * at(x0 + 1, y0 + 1));
}
