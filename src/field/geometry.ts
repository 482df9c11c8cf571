// Grid and box arithmetic of the reference (TensoRF utils.N_to_reso, update_stepSize), and the
// channels-last resize/crop of factor tensors used by upsampling and the AABB shrink.

export type Vec3 = [number, number, number];
export interface Box {
  lo: Vec3;
  hi: Vec3;
}

export function boxSize(b: Box): Vec3 {
  return [b.hi[0] - b.lo[0], b.hi[1] - b.lo[1], b.hi[2] - b.lo[2]];
}

export function boxCentre(b: Box): Vec3 {
  return [(b.lo[0] + b.hi[0]) / 2, (b.lo[1] + b.hi[1]) / 2, (b.lo[2] + b.hi[2]) / 2];
}

/** Per-axis resolution for a voxel count over a box: v = (volume / n)^(1/3), R = floor(size / v). */
export function resolutionForVoxels(n: number, box: Box): Vec3 {
  const s = boxSize(box);
  const v = Math.cbrt((s[0] * s[1] * s[2]) / n);
  return s.map((x) => Math.max(2, Math.floor(x / v))) as Vec3;
}

/** World size of one grid cell per axis (align-corners: R samples span the box). */
export function gridUnits(box: Box, grid: Vec3): Vec3 {
  const s = boxSize(box);
  return [s[0] / (grid[0] - 1), s[1] / (grid[1] - 1), s[2] / (grid[2] - 1)];
}

/** Sampling step: mean cell size times the step ratio. */
export function stepSize(box: Box, grid: Vec3, stepRatio: number): number {
  const u = gridUnits(box, grid);
  return ((u[0] + u[1] + u[2]) / 3) * stepRatio;
}

/**
 * Where a ray o + t d enters and leaves the box (slab test; a near-zero direction component is
 * taken as 1e-6, as the sampling kernel does). enter > exit when it misses.
 */
export function rayBoxSpan(o: ArrayLike<number>, d: ArrayLike<number>, box: Box): { enter: number; exit: number } {
  let enter = -Infinity;
  let exit = Infinity;
  for (let a = 0; a < 3; a++) {
    const da = Math.abs(d[a]!) < 1e-6 ? 1e-6 : d[a]!;
    const t0 = (box.lo[a]! - o[a]!) / da;
    const t1 = (box.hi[a]! - o[a]!) / da;
    enter = Math.max(enter, Math.min(t0, t1));
    exit = Math.min(exit, Math.max(t0, t1));
  }
  return { enter, exit };
}

/**
 * Scene contraction (notes: unbounded scenes; docs/ARCHITECTURE.md, "Unbounded scenes"): the L∞
 * contraction of nerfacto and K-Planes, scaled to an inner box. With u = (p - centre) / half-size
 * and r = max |u_i|, points inside the inner box (r <= 1) keep their place, and a point outside
 * moves to radius 2 - 1/r along the same direction, so all of space lands in the inner box
 * doubled about its centre and the field's axis-aligned factors cover it. Field space is world
 * space inside the inner box, so a bounded scene is the same model without the outer shell.
 * The WGSL twin is `contraction` in gpu/wgsl.ts.
 */
export function contractPoint(inner: Box, p: ArrayLike<number>): Vec3 {
  const mid = [0, 1, 2].map((a) => 0.5 * (inner.lo[a]! + inner.hi[a]!));
  const half = [0, 1, 2].map((a) => 0.5 * (inner.hi[a]! - inner.lo[a]!));
  const u = [0, 1, 2].map((a) => (p[a]! - mid[a]!) / half[a]!);
  const r = Math.max(...u.map(Math.abs));
  const k = r <= 1 ? 1 : (2 - 1 / r) / r;
  return [0, 1, 2].map((a) => mid[a]! + half[a]! * u[a]! * k) as Vec3;
}

/** contractPoint's inverse (field space back to world), for depths; finite at the contracted box's edge. */
export function uncontractPoint(inner: Box, q: ArrayLike<number>): Vec3 {
  const mid = [0, 1, 2].map((a) => 0.5 * (inner.lo[a]! + inner.hi[a]!));
  const half = [0, 1, 2].map((a) => 0.5 * (inner.hi[a]! - inner.lo[a]!));
  const u = [0, 1, 2].map((a) => (q[a]! - mid[a]!) / half[a]!);
  const s = Math.max(...u.map(Math.abs));
  const k = s <= 1 ? 1 : 1 / Math.max(2 - s, 1e-4) / s;
  return [0, 1, 2].map((a) => mid[a]! + half[a]! * u[a]! * k) as Vec3;
}

/** The box all of space contracts into: the inner box doubled about its centre. */
export function contractedBox(inner: Box): Box {
  const at = (a: number, side: -1 | 1) => 0.5 * (inner.lo[a]! + inner.hi[a]!) + side * (inner.hi[a]! - inner.lo[a]!);
  return { lo: [at(0, -1), at(1, -1), at(2, -1)], hi: [at(0, 1), at(1, 1), at(2, 1)] };
}

/**
 * The world step along a ray at p that moves about `step` in field space. Beyond the inner box the
 * contraction shrinks radial distances by 1/r^2, so steps grow as r^2: samples are evenly spaced
 * in contracted space (spaced in disparity, like mip-NeRF 360's), and a ray reaches the edge of
 * the contracted box in about 1/step samples however far it goes.
 */
export function marchStep(inner: Box | undefined, p: ArrayLike<number>, step: number): number {
  if (!inner) return step;
  let r = 1;
  for (let a = 0; a < 3; a++) r = Math.max(r, Math.abs((2 * p[a]! - inner.lo[a]! - inner.hi[a]!) / (inner.hi[a]! - inner.lo[a]!)));
  return step * r * r;
}

/** Samples per ray: int(|R| / step_ratio), capped at 1e6 as in the reference. */
export function samplesPerRay(grid: Vec3, stepRatio: number): number {
  return Math.min(1_000_000, Math.floor(Math.hypot(grid[0], grid[1], grid[2]) / stepRatio));
}

/** Bilinear (align-corners) resize of a channels-last plane [h][w][k]. */
export function resizePlane(src: Float32Array, k: number, w: number, h: number, w2: number, h2: number): Float32Array {
  const out = new Float32Array(w2 * h2 * k);
  for (let y = 0; y < h2; y++) {
    const fy = h2 > 1 ? (y * (h - 1)) / (h2 - 1) : 0;
    const y0 = Math.min(Math.floor(fy), h - 2);
    const ty = fy - y0;
    for (let x = 0; x < w2; x++) {
      const fx = w2 > 1 ? (x * (w - 1)) / (w2 - 1) : 0;
      const x0 = Math.min(Math.floor(fx), w - 2);
      const tx = fx - x0;
      const a = (y0 * w + x0) * k;
      const b = a + k;
      const c = a + w * k;
      const d = c + k;
      const o = (y * w2 + x) * k;
      for (let r = 0; r < k; r++) {
        out[o + r] = (1 - ty) * ((1 - tx) * src[a + r]! + tx * src[b + r]!) + ty * ((1 - tx) * src[c + r]! + tx * src[d + r]!);
      }
    }
  }
  return out;
}

/** Linear (align-corners) resize of a channels-last line [l][k]. */
export function resizeLine(src: Float32Array, k: number, l: number, l2: number): Float32Array {
  const out = new Float32Array(l2 * k);
  for (let i = 0; i < l2; i++) {
    const f = l2 > 1 ? (i * (l - 1)) / (l2 - 1) : 0;
    const i0 = Math.min(Math.floor(f), l - 2);
    const t = f - i0;
    for (let r = 0; r < k; r++) out[i * k + r] = (1 - t) * src[i0 * k + r]! + t * src[(i0 + 1) * k + r]!;
  }
  return out;
}

/** resizeLine on `lines` channels-last lines stored one after another (Strivec's local tensors). */
export function resizeLines(src: Float32Array, k: number, lines: number, l: number, l2: number): Float32Array {
  if (lines === 1 || l === l2) return lines === 1 ? resizeLine(src, k, l, l2) : src.slice();
  const out = new Float32Array(lines * l2 * k);
  for (let i = 0; i < lines; i++) out.set(resizeLine(src.subarray(i * l * k, (i + 1) * l * k), k, l, l2), i * l2 * k);
  return out;
}

/** Crops a channels-last plane to columns [x0, x1) and rows [y0, y1). */
export function cropPlane(src: Float32Array, k: number, w: number, x0: number, x1: number, y0: number, y1: number): Float32Array {
  const w2 = x1 - x0;
  const out = new Float32Array(w2 * (y1 - y0) * k);
  for (let y = y0; y < y1; y++) out.set(src.subarray((y * w + x0) * k, (y * w + x1) * k), (y - y0) * w2 * k);
  return out;
}

/** Crops a channels-last line to entries [i0, i1). */
export function cropLine(src: Float32Array, k: number, i0: number, i1: number): Float32Array {
  return src.slice(i0 * k, i1 * k);
}
