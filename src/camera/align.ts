// Aligning one set of cameras to another and measuring how far apart they are: a scene posed from
// its photos alone (by structure from motion or pose refinement) is defined only up to a
// similarity, so estimated poses are compared with the truth after the similarity that best takes
// their camera centres onto the true ones (Umeyama's least squares, Horn's quaternion rotation).

import { centreOf, type Mat3, mat3Mul, quaternionToRotation, rotationAngle, rotationOf, transpose3 } from './rotation.ts';
import type { PosedView } from './types.ts';
import { dot, mat3Apply, type V3 } from './vec3.ts';

/**
 * The similarity (scale s, rotation r, translation t) taking points `from` closest to `to` in the
 * least-squares sense: the rotation by Horn's quaternion method (the eigenvector of the largest
 * eigenvalue of his 4×4 matrix, always a proper rotation), the scale as Umeyama's; `withScale`
 * false fixes it at 1 (the rigid motion).
 */
export function similarityAlign(from: readonly V3[], to: readonly V3[], withScale = true): { s: number; r: Mat3; t: V3 } {
  const n = from.length;
  const mean = (ps: readonly V3[]) => [0, 1, 2].map((k) => ps.reduce((acc, p) => acc + p[k]!, 0) / n) as V3;
  const mf = mean(from);
  const mt = mean(to);
  const A = from.map((p) => p.map((v, k) => v - mf[k]!) as V3);
  const B = to.map((p) => p.map((v, k) => v - mt[k]!) as V3);
  // S[a][b] = Σ A_a B_b.
  const S = new Array(9).fill(0);
  for (let i = 0; i < n; i++) for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) S[r * 3 + c] += A[i]![r]! * B[i]![c]!;
  const [xx, xy, xz, yx, yy, yz, zx, zy, zz] = S as number[];
  const N = [
    [xx! + yy! + zz!, yz! - zy!, zx! - xz!, xy! - yx!],
    [yz! - zy!, xx! - yy! - zz!, xy! + yx!, zx! + xz!],
    [zx! - xz!, xy! + yx!, -xx! + yy! - zz!, yz! + zy!],
    [xy! - yx!, zx! + xz!, yz! + zy!, -xx! - yy! + zz!],
  ];
  const r = quaternionToRotation(largestEigenvector(N));
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += dot(B[i]!, mat3Apply(r, A[i]!));
    den += dot(A[i]!, A[i]!);
  }
  // Without scale, the rigid motion (the same rotation: Horn's rotation does not depend on it).
  const s = withScale && den > 0 ? num / den : 1;
  const rm = mat3Apply(r, mf);
  return { s, r, t: [0, 1, 2].map((k) => mt[k]! - s * rm[k]!) as V3 };
}

/** The unit eigenvector of a symmetric 4×4 matrix's largest eigenvalue (cyclic Jacobi rotations). */
function largestEigenvector(m0: number[][]): [number, number, number, number] {
  const m = m0.map((row) => [...row]);
  const v: number[][] = [0, 1, 2, 3].map((i) => [0, 1, 2, 3].map((j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < 4; p++) for (let q = p + 1; q < 4; q++) off += m[p]![q]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < 4; p++) {
      for (let q = p + 1; q < 4; q++) {
        const apq = m[p]![q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (m[q]![q]! - m[p]![p]!) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // m ← Jᵀ m J and v ← v J, with J the rotation in the (p, q) plane.
        for (let k = 0; k < 4; k++) {
          const mkp = m[k]![p]!;
          const mkq = m[k]![q]!;
          m[k]![p] = c * mkp - s * mkq;
          m[k]![q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < 4; k++) {
          const mpk = m[p]![k]!;
          const mqk = m[q]![k]!;
          m[p]![k] = c * mpk - s * mqk;
          m[q]![k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < 4; k++) {
          const vkp = v[k]![p]!;
          const vkq = v[k]![q]!;
          v[k]![p] = c * vkp - s * vkq;
          v[k]![q] = s * vkp + c * vkq;
        }
      }
    }
  }
  let best = 0;
  for (let i = 1; i < 4; i++) if (m[i]![i]! > m[best]![best]!) best = i;
  const e = [0, 1, 2, 3].map((k) => v[k]![best]!);
  const l = Math.hypot(...e);
  return e.map((x) => x / l) as [number, number, number, number];
}

/** Pose errors of estimated cameras against the truth after the centres' similarity alignment. */
export interface PoseError {
  /** Mean rotation error, degrees. */
  rotationDeg: number;
  /** Mean distance between camera centres, in the truth's units. */
  translation: number;
  medianRotationDeg: number;
  medianTranslation: number;
  /** Per camera, in the order given. */
  rotationsDeg: number[];
  translations: number[];
}

/**
 * Pose error of estimated cameras against the truth (matched by index), after aligning the
 * estimates' centres to the truth's by a similarity: per camera the angle of the relative rotation
 * and the distance between the aligned centre and the true one, with their means and medians.
 */
export function poseError(estimated: readonly PosedView[], truth: readonly PosedView[]): PoseError {
  const { s, r, t } = similarityAlign(
    estimated.map((c) => centreOf(c.c2w)),
    truth.map((c) => centreOf(c.c2w)),
  );
  const rotationsDeg = estimated.map((cam, i) => {
    const aligned = mat3Mul(r, rotationOf(cam.c2w));
    return (rotationAngle(mat3Mul(transpose3(aligned), rotationOf(truth[i]!.c2w))) * 180) / Math.PI;
  });
  const translations = estimated.map((cam, i) => {
    const c = mat3Apply(r, centreOf(cam.c2w)).map((v, k) => s * v + t[k]!);
    return Math.hypot(...c.map((v, k) => v - centreOf(truth[i]!.c2w)[k]!));
  });
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    rotationDeg: mean(rotationsDeg),
    translation: mean(translations),
    medianRotationDeg: median(rotationsDeg),
    medianTranslation: median(translations),
    rotationsDeg,
    translations,
  };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * For every pair of cameras, the angle between their estimated and their true relative rotation,
 * degrees, ascending: a rotation error no alignment enters (structure from motion's relative error).
 */
export function pairwiseRotationErrors(estimated: readonly PosedView[], truth: readonly PosedView[]): number[] {
  const out: number[] = [];
  for (let a = 0; a < estimated.length; a++)
    for (let b = a + 1; b < estimated.length; b++) {
      const re = mat3Mul(transpose3(rotationOf(estimated[a]!.c2w)), rotationOf(estimated[b]!.c2w));
      const rt = mat3Mul(transpose3(rotationOf(truth[a]!.c2w)), rotationOf(truth[b]!.c2w));
      out.push((rotationAngle(mat3Mul(transpose3(re), rt)) * 180) / Math.PI);
    }
  return out.sort((x, y) => x - y);
}
