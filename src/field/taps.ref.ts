// f64 twins of taps.wgsl.ts: one component of a channels-last line or plane at a continuous
// coordinate (align corners). The layouts' reference evaluations are written with these.

/** A texel of a line or plane (its index, without the component) and its interpolation weight. */
export type Tap = [texel: number, weight: number];

/** The two taps of a line of n texels at x (at the upper edge the base is clamped to n - 2 with fraction 1). */
export function linTaps(x: number, n: number): Tap[] {
  const x0 = Math.min(Math.max(Math.floor(x), 0), n - 2);
  const t = x - x0;
  return [
    [x0, 1 - t],
    [x0 + 1, t],
  ];
}

/** The four taps of a w × h plane at (x, y), row-major texels. */
export function bilinTaps(x: number, y: number, w: number, h: number): Tap[] {
  return linTaps(y, h).flatMap(([ty, wy]) => linTaps(x, w).map(([tx, wx]): Tap => [ty * w + tx, wx * wy]));
}

/** Linear tap of component r of a channels-last line [n][k] starting at `offset`. */
export function lin(v: ArrayLike<number>, x: number, n: number, k: number, r: number, offset = 0): number {
  return linTaps(x, n).reduce((sum, [i, wt]) => sum + wt * v[offset + i * k + r]!, 0);
}

/** Bilinear tap of component r of a channels-last plane [h][w][k]. */
export function bilin(v: ArrayLike<number>, x: number, y: number, w: number, h: number, k: number, r: number): number {
  return bilinTaps(x, y, w, h).reduce((sum, [i, wt]) => sum + wt * v[i * k + r]!, 0);
}
