// Triangulation of a point seen in several calibrated views: the linear (DLT) solution, the
// smallest right singular vector of the stacked x P₃ − P₁, y P₃ − P₂ rows, as COLMAP's
// TriangulateMultiViewPoint; and the angle between the rays, which says how well depth is fixed.
import { Matrix, SVD } from 'ml-matrix';
import type { V3 } from '../camera/vec3.ts';
import { IDENTITY_POSE, type Pose } from './pose.ts';

/** One view of a point: the view's pose and the point's normalized image coordinates in it. */
export interface Observation {
  pose: Pose;
  x: readonly [number, number];
}

/** The world point best agreeing with the observations (two or more), or null where the rays are parallel or meet at infinity. */
export function triangulate(obs: readonly Observation[]): V3 | null {
  const rows: number[][] = [];
  for (const { pose, x } of obs) {
    const P = [0, 1, 2].map((r) => [pose.r[r * 3]!, pose.r[r * 3 + 1]!, pose.r[r * 3 + 2]!, pose.t[r]!]);
    rows.push(P[2]!.map((v, k) => x[0] * v - P[0]![k]!));
    rows.push(P[2]!.map((v, k) => x[1] * v - P[1]![k]!));
  }
  const svd = new SVD(new Matrix(rows), { computeLeftSingularVectors: false });
  const h = svd.rightSingularVectors.getColumn(3);
  if (Math.abs(h[3]!) < 1e-12 * Math.hypot(...h)) return null;
  const X: V3 = [h[0]! / h[3]!, h[1]! / h[3]!, h[2]! / h[3]!];
  return X.every(Number.isFinite) ? X : null;
}

/** The point seen at x1 by a camera at the identity and at x2 by one at `pose`. */
export const triangulatePair = (x1: readonly [number, number], x2: readonly [number, number], pose: Pose): V3 | null =>
  triangulate([
    { pose: IDENTITY_POSE, x: x1 },
    { pose, x: x2 },
  ]);

/** The largest angle (radians) between the rays from the cameras' centres to X. */
export function triangulationAngle(centres: readonly V3[], X: V3): number {
  let best = 0;
  for (let i = 0; i < centres.length; i++) {
    for (let j = i + 1; j < centres.length; j++) {
      const a = centres[i]!.map((v, k) => X[k]! - v);
      const b = centres[j]!.map((v, k) => X[k]! - v);
      const cos = (a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]!) / (Math.hypot(...a) * Math.hypot(...b));
      best = Math.max(best, Math.acos(Math.min(1, Math.max(-1, cos))));
    }
  }
  return best;
}
