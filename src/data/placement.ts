// Where a capture sits in the model's world when its files do not say: one rule for every format
// whose coordinates are arbitrary (a COLMAP model, a nerfstudio or instant-ngp transforms.json
// without instant-ngp's scale and offset), so the same photos and poses make the same model
// whichever format they come in. The world is turned so the cameras' mean up is +z, centred on the
// region the capture shows and scaled so that region spans at most [-1.5, 1.5]:
// - with sparse points: their robust box (2nd to 98th percentile per axis, so a stray point or an
//   outlier camera cannot blow it up);
// - without, for a capture that shows its surroundings: the robust box of the camera centres (the
//   region the photos were taken in; the contraction models what lies beyond it);
// - without, for a masked capture (an object on a cleared background): a cube around the point the
//   cameras look at, its half-side 0.375 of their mean distance to it (instant-ngp's convention:
//   colmap2nerf puts the cameras 4 units from that point, the object in [-1.5, 1.5]^3).

import { mat3Apply, sub, type V3 } from '../camera/vec3.ts';
import type { SceneBox } from './types.ts';

type Mat3 = [number, number, number, number, number, number, number, number, number];

/** How a capture's world becomes the model's: p ↦ (turn·p − centre)·scale, and the region's box there. */
export interface Placement {
  turn: Mat3;
  centre: V3;
  scale: number;
  box: SceneBox;
}

/** The box a capture gets when nothing places it (one camera): instant-ngp's and Blender's. */
const DEFAULT_BOX: SceneBox = [
  [-1.5, -1.5, -1.5],
  [1.5, 1.5, 1.5],
];

/** instant-ngp's object half-side over the cameras' mean distance to the point they look at (1.5 / 4). */
const OBJECT_TO_DISTANCE = 0.375;

const IDENTITY: Mat3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];

/** The rotation taking unit vector `u` to +z (Rodrigues; a half turn about x when u is -z). */
function toUp([x, y, z]: V3): Mat3 {
  if (z < -1 + 1e-9) return [1, 0, 0, 0, -1, 0, 0, 0, -1];
  // Axis u × z = (y, -x, 0), angle acos(z): R = I + [k]× + [k]×² / (1 + z).
  const k = 1 / (1 + z);
  return [1 - x * x * k, -x * y * k, -x, -x * y * k, 1 - y * y * k, -y, x, y, z];
}

/** The 2nd and 98th percentiles of a coordinate (or the extremes when there are few values). */
function robustRange(values: number[]): [number, number] {
  const s = [...values].sort((a, b) => a - b);
  if (s.length < 20) return [s[0]!, s.at(-1)!];
  return [s[Math.floor(0.02 * (s.length - 1))]!, s[Math.ceil(0.98 * (s.length - 1))]!];
}

/** Robust per-axis ranges, 5% wider (the percentiles cut the rim too) and at least a tenth of the longest deep. */
function robustBox(points: V3[]): [number, number][] {
  const raw = [0, 1, 2].map((k) => robustRange(points.map((p) => p[k]!)));
  const longest = Math.max(...raw.map(([lo, hi]) => hi - lo), 1e-9);
  return raw.map(([lo, hi]) => {
    const pad = Math.max(0.05 * (hi - lo), (0.1 * longest - (hi - lo)) / 2);
    return [lo - pad, hi + pad];
  });
}

/**
 * The point nearest every camera's optical axis (least squares: Σ(I − d dᵀ) p = Σ(I − d dᵀ) o), or
 * null when the axes are nearly parallel (a forward-facing capture) or it lies behind the cameras.
 */
export function focusPoint(c2ws: readonly ArrayLike<number>[]): V3 | null {
  const a = new Array(9).fill(0) as Mat3;
  const b: V3 = [0, 0, 0];
  for (const m of c2ws) {
    const d = [m[2]!, m[6]!, m[10]!];
    const o = [m[3]!, m[7]!, m[11]!];
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        const p = (i === j ? 1 : 0) - d[i]! * d[j]!;
        a[i * 3 + j] += p;
        b[i] += p * o[j]!;
      }
    }
  }
  const det = a[0] * (a[4] * a[8] - a[5] * a[7]) - a[1] * (a[3] * a[8] - a[5] * a[6]) + a[2] * (a[3] * a[7] - a[4] * a[6]);
  // The system's smallest eigenvalue is ~0 when all axes are parallel; compare det with its scale.
  const n = c2ws.length;
  if (!(Math.abs(det) > 1e-3 * n * n * n)) return null;
  const inv = [
    a[4] * a[8] - a[5] * a[7],
    a[2] * a[7] - a[1] * a[8],
    a[1] * a[5] - a[2] * a[4],
    a[5] * a[6] - a[3] * a[8],
    a[0] * a[8] - a[2] * a[6],
    a[2] * a[3] - a[0] * a[5],
    a[3] * a[7] - a[4] * a[6],
    a[1] * a[6] - a[0] * a[7],
    a[0] * a[4] - a[1] * a[3],
  ].map((v) => v / det) as Mat3;
  const p = mat3Apply(inv, b);
  const ahead = c2ws.filter((m) => (p[0] - m[3]!) * m[2]! + (p[1] - m[7]!) * m[6]! + (p[2] - m[11]!) * m[10]! > 0).length;
  return ahead * 2 > n ? p : null;
}

/**
 * The placement of a capture from its cameras (OpenCV camera-to-world, row-major 3x4) and sparse
 * points (xyz per point), for a masked capture (`masked`) or one that shows its surroundings.
 */
export function placeCapture(c2ws: readonly ArrayLike<number>[], points: ArrayLike<number> | undefined, masked: boolean): Placement {
  const centres = c2ws.map((m): V3 => [m[3]!, m[7]!, m[11]!]);
  const spread = centres.length > 0 ? Math.max(...[0, 1, 2].map((k) => Math.max(...centres.map((c) => c[k])) - Math.min(...centres.map((c) => c[k])))) : 0;
  const nPoints = points ? Math.floor(points.length / 3) : 0;
  // One camera (or several at one spot) and no points say nothing about where the scene is.
  if (nPoints === 0 && !(spread > 0)) return { turn: IDENTITY, centre: [0, 0, 0], scale: 1, box: DEFAULT_BOX };
  // A camera's up is its -y axis (OpenCV); their mean is the capture's up.
  const up = c2ws.reduce<V3>((s, m) => [s[0] - m[1]!, s[1] - m[5]!, s[2] - m[9]!], [0, 0, 0]);
  const len = Math.hypot(...up);
  const turn = len > 1e-9 ? toUp([up[0] / len, up[1] / len, up[2] / len]) : IDENTITY;
  let ranges: [number, number][];
  const focus = nPoints === 0 && masked ? focusPoint(c2ws) : null;
  if (nPoints > 0) {
    ranges = robustBox(Array.from({ length: nPoints }, (_, i) => mat3Apply(turn, [points![i * 3]!, points![i * 3 + 1]!, points![i * 3 + 2]!])));
  } else if (focus) {
    const f = mat3Apply(turn, focus);
    const half = OBJECT_TO_DISTANCE * (centres.reduce((s, c) => s + Math.hypot(...sub(c, focus)), 0) / centres.length);
    ranges = [0, 1, 2].map((k) => [f[k]! - half, f[k]! + half]);
  } else {
    ranges = robustBox(centres.map((c) => mat3Apply(turn, c)));
  }
  const centre = ranges.map(([lo, hi]) => (lo + hi) / 2) as V3;
  const scale = 1.5 / Math.max(...ranges.map(([lo, hi]) => (hi - lo) / 2));
  const box = ranges.map(([lo, hi], k) => [(lo - centre[k]) * scale, (hi - centre[k]) * scale]);
  return { turn, centre, scale, box: [box.map((b) => b[0]!), box.map((b) => b[1]!)] as SceneBox };
}

/** A point of the capture's world in the model's. */
export function placePoint(pl: Placement, p: ArrayLike<number>): V3 {
  const q = mat3Apply(pl.turn, p);
  return [(q[0] - pl.centre[0]) * pl.scale, (q[1] - pl.centre[1]) * pl.scale, (q[2] - pl.centre[2]) * pl.scale];
}

/** Points (xyz per point) of the capture's world in the model's. */
export function placePoints(pl: Placement, xyz: Float64Array): Float32Array {
  const out = new Float32Array(xyz.length);
  for (let i = 0; i + 2 < xyz.length; i += 3) out.set(placePoint(pl, xyz.subarray(i, i + 3)), i);
  return out;
}

/** A camera-to-world (row-major 3x4, either axis convention) of the capture's world in the model's. */
export function placePose(pl: Placement, c2w: ArrayLike<number>): Float64Array {
  const out = new Float64Array(12);
  for (let col = 0; col < 3; col++) {
    const v = mat3Apply(pl.turn, [c2w[col]!, c2w[4 + col]!, c2w[8 + col]!]);
    for (let r = 0; r < 3; r++) out[r * 4 + col] = v[r];
  }
  const t = placePoint(pl, [c2w[3]!, c2w[7]!, c2w[11]!]);
  for (let r = 0; r < 3; r++) out[r * 4 + 3] = t[r];
  return out;
}
