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
 * Forward-facing captures (LLFF's layout): the normalised device coordinates of one reference
 * camera, as TensoRF trains LLFF scenes (its ndc_rays_blender, notes §7.2). With the point in the
 * camera's frame (x right, y down, z forward, z > 0 in front), field space is
 * (ax·x/z, ay·y/z, 1 − 2·near/z): the image plane spans about [-1, 1]² and depth from the near
 * plane to infinity spans z ∈ [-1, 1), linear in disparity. The field's box is NDC_BOX.
 */
export interface NdcFrame {
  /** The reference camera's centre and its axes (unit, orthogonal), in world units. */
  centre: Vec3;
  right: Vec3;
  down: Vec3;
  forward: Vec3;
  /** 2·fx / width and 2·fy / height of the reference camera. */
  ax: number;
  ay: number;
  /** Depth of the near plane (NDC z = −1); nothing nearer is modelled. */
  near: number;
}

/** The box of an NDC field: TensoRF's LLFF scene box (a margin around the image for other cameras). */
export const NDC_BOX: Box = { lo: [-1.5, -1.67, -1], hi: [1.5, 1.67, 1] };

/**
 * How world space maps into a field's box (FieldSettings carries these): the identity for a
 * bounded scene, the L∞ contraction around an inner box for an unbounded one, or a reference
 * camera's NDC for a forward-facing one. Every sampler, depth and export goes through toField,
 * toWorld, marchStart and marchStep; their WGSL twins are `contraction` in gpu/wgsl.ts.
 */
export interface SpaceWarp {
  contraction?: Box;
  ndc?: NdcFrame;
}

const dot3 = (a: ArrayLike<number>, b: ArrayLike<number>) => a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]!;

/** The point in the NDC frame's camera coordinates (x right, y down, z forward). */
function ndcCamera(f: NdcFrame, p: ArrayLike<number>): Vec3 {
  const v = [p[0]! - f.centre[0], p[1]! - f.centre[1], p[2]! - f.centre[2]];
  return [dot3(f.right, v), dot3(f.down, v), dot3(f.forward, v)];
}

/** World to NDC; a point on or behind the camera plane lands outside the box (z = −2). */
export function ndcPoint(f: NdcFrame, p: ArrayLike<number>): Vec3 {
  const [x, y, z] = ndcCamera(f, p);
  if (z <= 1e-6 * f.near) return [0, 0, -2];
  return [(f.ax * x) / z, (f.ay * y) / z, 1 - (2 * f.near) / z];
}

/** NDC back to world, finite at the far edge (z = 1 is infinitely far). */
export function unNdcPoint(f: NdcFrame, q: ArrayLike<number>): Vec3 {
  const z = (2 * f.near) / Math.max(1 - q[2]!, 1e-4);
  const x = (q[0]! * z) / f.ax;
  const y = (q[1]! * z) / f.ay;
  return [0, 1, 2].map((a) => f.centre[a]! + x * f.right[a]! + y * f.down[a]! + z * f.forward[a]!) as Vec3;
}

/** World to field space. */
export function toField(w: SpaceWarp, p: ArrayLike<number>): Vec3 {
  if (w.ndc) return ndcPoint(w.ndc, p);
  if (w.contraction) return contractPoint(w.contraction, p);
  return [p[0]!, p[1]!, p[2]!];
}

/** Field space back to world (depths, exports). */
export function toWorld(w: SpaceWarp, q: ArrayLike<number>): Vec3 {
  if (w.ndc) return unNdcPoint(w.ndc, q);
  if (w.contraction) return uncontractPoint(w.contraction, q);
  return [q[0]!, q[1]!, q[2]!];
}

/** Whether world and field space differ (rays are marched from the near plane, not a box entry). */
export function isWarped(w: SpaceWarp): boolean {
  return !!(w.contraction || w.ndc);
}

/**
 * Where a warped field's march along o + t·d starts: the near plane of the run, and for NDC no
 * nearer than the frame's near plane (Infinity when the ray never gets in front of it).
 */
export function marchStart(w: SpaceWarp, o: ArrayLike<number>, d: ArrayLike<number>, near: number): number {
  if (!w.ndc) return near;
  const dz = dot3(w.ndc.forward, d);
  const z0 = ndcCamera(w.ndc, o)[2];
  if (dz <= 1e-6) return z0 >= w.ndc.near ? near : Infinity;
  return Math.max(near, (w.ndc.near - z0) / dz);
}

/**
 * The world step along a ray at p that moves about `step` in field space. Beyond the inner box the
 * contraction shrinks radial distances by 1/r^2, so steps grow as r^2: samples are evenly spaced
 * in contracted space (spaced in disparity, like mip-NeRF 360's), and a ray reaches the edge of
 * the contracted box in about 1/step samples however far it goes. NDC's depth shrinks by
 * 2·near/z², so its steps grow as z²/(2·near): evenly spaced in NDC depth, as TensoRF's LLFF
 * samples are (rays at an angle to the axis move a little less than `step` in NDC depth).
 */
export function marchStep(w: SpaceWarp | undefined, p: ArrayLike<number>, step: number): number {
  if (w?.ndc) {
    const z = Math.max(ndcCamera(w.ndc, p)[2], w.ndc.near);
    return (step * z * z) / (2 * w.ndc.near);
  }
  const inner = w?.contraction;
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
