// Camera poses measured against the truth, for pose refinement (notes §5, BARF's protocol): known
// poses perturbed by noise in se(3), and the error of estimated poses after the similarity that
// best aligns their camera centres with the true ones (Umeyama), since a scene refined from its
// photos alone is only defined up to such a transform.
import type { Camera } from '../data/types.ts';
import { axisAngleToRotation, dot, mat3Apply, quaternionToRotation, type V3 } from '../data/vec3.ts';
import { randomNormal } from '../gpu/random.ts';

type Mat3 = number[];

const mul = (a: Mat3, b: Mat3): Mat3 =>
  [0, 1, 2].flatMap((i) => [0, 1, 2].map((j) => a[i * 3]! * b[j]! + a[i * 3 + 1]! * b[3 + j]! + a[i * 3 + 2]! * b[6 + j]!));
const transpose = (a: Mat3): Mat3 => [a[0]!, a[3]!, a[6]!, a[1]!, a[4]!, a[7]!, a[2]!, a[5]!, a[8]!];
const rotationOf = (c2w: ArrayLike<number>): Mat3 => [c2w[0]!, c2w[1]!, c2w[2]!, c2w[4]!, c2w[5]!, c2w[6]!, c2w[8]!, c2w[9]!, c2w[10]!];
const centreOf = (c2w: ArrayLike<number>): V3 => [c2w[3]!, c2w[7]!, c2w[11]!];
const hat = ([x, y, z]: V3): Mat3 => [0, -z, y, z, 0, -x, -y, x, 0];
/** A row-major 3x4 camera-to-world from its rotation and centre. */
const c2wOf = (r: Mat3, c: ArrayLike<number>): Float64Array =>
  Float64Array.from([r[0]!, r[1]!, r[2]!, c[0]!, r[3]!, r[4]!, r[5]!, c[1]!, r[6]!, r[7]!, r[8]!, c[2]!]);

/**
 * The rigid transform exp(ξ) of a twist ξ = (ω, u) (rotation first, as BARF's se3_to_SE3):
 * R = exp([ω]×) by Rodrigues, t = V u with V = I + (1 − cos θ)/θ² [ω]× + (θ − sin θ)/θ³ [ω]×².
 */
export function se3Exp(xi: ArrayLike<number>): { r: Mat3; t: V3 } {
  const w: V3 = [xi[0]!, xi[1]!, xi[2]!];
  const u: V3 = [xi[3]!, xi[4]!, xi[5]!];
  const th = Math.hypot(...w);
  const W = hat(w);
  const W2 = mul(W, W);
  // Taylor series near θ = 0, where the closed forms lose precision.
  const b = th < 1e-4 ? 0.5 - (th * th) / 24 : (1 - Math.cos(th)) / (th * th);
  const c = th < 1e-4 ? 1 / 6 - (th * th) / 120 : (th - Math.sin(th)) / (th * th * th);
  const I = [1, 0, 0, 0, 1, 0, 0, 0, 1];
  const V = I.map((v, k) => v + b * W[k]! + c * W2[k]!);
  return { r: axisAngleToRotation(w), t: mat3Apply(V, u) };
}

/**
 * The cameras with BARF's synthetic pose noise: each world-to-camera pose composed with
 * exp(σ·ξ), ξ ~ N(0, I₆) in se(3), applied in world coordinates before it (noisy w2c = w2c · exp(σξ);
 * BARF uses σ = 0.15 for Blender scenes). Seeded, so runs compare like with like.
 */
export function perturbCameras(cameras: readonly Camera[], sigma: number, seed: number): Camera[] {
  const noise = randomNormal(cameras.length * 6, sigma, seed);
  return cameras.map((cam, i) => {
    const { r, t } = se3Exp(noise.subarray(i * 6, i * 6 + 6));
    // c2w' = exp(σξ)⁻¹ · c2w: rotation rᵀ·R, centre rᵀ·(c − t).
    const rt = transpose(r);
    const rot = mul(rt, rotationOf(cam.c2w));
    const c = mat3Apply(
      rt,
      centreOf(cam.c2w).map((v, k) => v - t[k]!),
    );
    return { ...cam, c2w: c2wOf(rot, c) };
  });
}

/**
 * The similarity (scale s, rotation r, translation t) taking points `from` closest to `to` in the
 * least-squares sense: the rotation by Horn's quaternion method (the eigenvector of the largest
 * eigenvalue of his 4×4 matrix, always a proper rotation), the scale as Umeyama's.
 */
export function similarityAlign(from: readonly V3[], to: readonly V3[]): { s: number; r: Mat3; t: V3 } {
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
  const s = den > 0 ? num / den : 1;
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

/**
 * Pose error of estimated cameras against the truth (matched by index), after aligning the
 * estimates' centres to the truth's by a similarity: the mean rotation error in degrees and the
 * mean distance between camera centres, in the truth's units.
 */
export function poseError(estimated: readonly Camera[], truth: readonly Camera[]): { rotationDeg: number; translation: number } {
  const { s, r, t } = similarityAlign(
    estimated.map((c) => centreOf(c.c2w)),
    truth.map((c) => centreOf(c.c2w)),
  );
  let rot = 0;
  let trans = 0;
  estimated.forEach((cam, i) => {
    const aligned = mul(r, rotationOf(cam.c2w));
    const rel = mul(transpose(aligned), rotationOf(truth[i]!.c2w));
    const cos = Math.min(1, Math.max(-1, (rel[0]! + rel[4]! + rel[8]! - 1) / 2));
    rot += (Math.acos(cos) * 180) / Math.PI;
    const c = mat3Apply(r, centreOf(cam.c2w)).map((v, k) => s * v + t[k]!);
    trans += Math.hypot(...c.map((v, k) => v - centreOf(truth[i]!.c2w)[k]!));
  });
  return { rotationDeg: rot / estimated.length, translation: trans / estimated.length };
}

/**
 * Cameras of the frame `given` lives in, moved into the frame of `refined` (the same cameras after
 * pose refinement): by the similarity that best takes the given centres onto the refined ones.
 * A field trained with refinement may have drifted as a whole (the photos fix the scene only up
 * to such a transform), so held-out views are rendered from their aligned cameras, the alignment
 * half of BARF's evaluation protocol (BARF then also optimises each test pose; we do not).
 */
export function alignToRefined(cameras: readonly Camera[], given: readonly Camera[], refined: readonly Camera[]): Camera[] {
  const { s, r, t } = similarityAlign(
    given.map((c) => centreOf(c.c2w)),
    refined.map((c) => centreOf(c.c2w)),
  );
  return cameras.map((cam) => {
    const rot = mul(r, rotationOf(cam.c2w));
    const c = mat3Apply(r, centreOf(cam.c2w)).map((v, k) => s * v + t[k]!);
    return { ...cam, c2w: c2wOf(rot, c) };
  });
}
