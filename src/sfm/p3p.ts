// The pose of a calibrated camera from three world points and their bearings (P3P), Grunert's
// solution as Haralick et al. review it ("Review and analysis of solutions of the three point
// perspective pose estimation problem", 1994): the law of cosines on the three rays gives a
// quartic in the ratio of two depths; each real root fixes the three depths, and the rigid motion
// taking the world points onto the points at those depths is the pose (up to four of them).
import { similarityAlign } from '../camera/align.ts';
import { mat3Apply, type V3 } from '../camera/vec3.ts';
import type { Pose } from './pose.ts';
import { realRoots } from './roots.ts';

const dist2 = (a: V3, b: V3) => (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 + (a[2] - b[2]) ** 2;
const unitOf = (x: readonly [number, number]): V3 => {
  const l = Math.hypot(x[0], x[1], 1);
  return [x[0] / l, x[1] / l, 1 / l];
};

/** The poses (world to camera) that image world points `X[i]` at normalized points `x[i]`, i < 3. */
export function p3p(x: readonly (readonly [number, number])[], X: readonly V3[]): Pose[] {
  const [j1, j2, j3] = [unitOf(x[0]!), unitOf(x[1]!), unitOf(x[2]!)];
  const [P1, P2, P3] = [X[0]!, X[1]!, X[2]!];
  const a2 = dist2(P2, P3);
  const b2 = dist2(P1, P3);
  const c2 = dist2(P1, P2);
  if (!(a2 > 0 && b2 > 0 && c2 > 0)) return [];
  const cosA = j2[0] * j3[0] + j2[1] * j3[1] + j2[2] * j3[2];
  const cosB = j1[0] * j3[0] + j1[1] * j3[1] + j1[2] * j3[2];
  const cosG = j1[0] * j2[0] + j1[1] * j2[1] + j1[2] * j2[2];
  const q = (a2 - c2) / b2;
  const p = (a2 + c2) / b2;
  const A4 = (q - 1) ** 2 - ((4 * c2) / b2) * cosA ** 2;
  const A3 = 4 * (q * (1 - q) * cosB - (1 - p) * cosA * cosG + 2 * (c2 / b2) * cosA ** 2 * cosB);
  const A2 = 2 * (q ** 2 - 1 + 2 * q ** 2 * cosB ** 2 + 2 * ((b2 - c2) / b2) * cosA ** 2 - 4 * p * cosA * cosB * cosG + 2 * ((b2 - a2) / b2) * cosG ** 2);
  const A1 = 4 * (-q * (1 + q) * cosB + ((2 * a2) / b2) * cosG ** 2 * cosB - (1 - p) * cosA * cosG);
  const A0 = (1 + q) ** 2 - ((4 * a2) / b2) * cosG ** 2;
  const poses: Pose[] = [];
  for (const v of realRoots([A0, A1, A2, A3, A4])) {
    const den = 2 * (cosG - v * cosA);
    if (Math.abs(den) < 1e-12) continue;
    const u = ((-1 + q) * v * v - 2 * q * cosB * v + 1 + q) / den;
    const s1sq = b2 / (1 + v * v - 2 * v * cosB);
    if (!(s1sq > 0) || !(u > 0) || !(v > 0)) continue;
    const s1 = Math.sqrt(s1sq);
    const C: V3[] = [j1.map((c) => c * s1) as V3, j2.map((c) => c * u * s1) as V3, j3.map((c) => c * v * s1) as V3];
    // The rigid motion taking the world points to the camera-frame points is the pose.
    const { r, t } = similarityAlign([P1, P2, P3], C, false);
    poses.push({ r, t });
  }
  return poses;
}

/** The squared reprojection error (normalized units²) of a world point under a pose; Infinity behind the camera. */
export function reprojectionError2(pose: Pose, X: V3, x: readonly [number, number]): number {
  const c = mat3Apply(pose.r, X);
  const z = c[2] + pose.t[2];
  if (!(z > 1e-9)) return Infinity;
  return ((c[0] + pose.t[0]) / z - x[0]) ** 2 + ((c[1] + pose.t[1]) / z - x[1]) ** 2;
}
