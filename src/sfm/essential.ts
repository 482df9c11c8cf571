// The essential matrix of two calibrated views from five point pairs (Stewénius, Engels and
// Nistér's Gröbner-basis solver, as COLMAP's EssentialMatrixFivePointEstimator solves the same
// system): E lies in the 4-dimensional null space of the five epipolar constraints,
// E = x X + y Y + z Z + W; det E = 0 and 2 E Eᵀ E − tr(E Eᵀ) E = 0 are ten cubics in (x, y, z),
// reduced by Gauss–Jordan elimination to an action matrix whose real eigenvalues are the solutions
// (at most ten). Then the four rotations and translations one E allows, and the one that puts the
// points in front of both cameras.
import { EigenvalueDecomposition, Matrix, SVD } from 'ml-matrix';
import { axisAngleToRotation, det3, type Mat3, mat3Mul, transpose3 } from '../camera/rotation.ts';
import { cross, unit, type V3 } from '../camera/vec3.ts';
import { levenbergMarquardt } from './least-squares.ts';
import { type Pose, toCamera } from './pose.ts';
import { triangulatePair } from './triangulate.ts';

/** A point pair in normalized coordinates: x1 in the first view, x2 in the second. */
export interface PointPair {
  x1: [number, number];
  x2: [number, number];
}

// Polynomials in (x, y, z) of degree at most 3, as coefficient arrays over MONOMIALS: the ten
// cubics first (eliminated), then the basis of the quotient ring the action matrix acts on.
const MONOMIALS: [number, number, number][] = [
  [3, 0, 0], [2, 1, 0], [2, 0, 1], [1, 2, 0], [1, 1, 1], [1, 0, 2], [0, 3, 0], [0, 2, 1], [0, 1, 2], [0, 0, 3],
  [2, 0, 0], [1, 1, 0], [1, 0, 1], [0, 2, 0], [0, 1, 1], [0, 0, 2], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0],
]; // biome-ignore format: one row per degree
const INDEX = new Map(MONOMIALS.map((m, i) => [m.join(), i]));
type Poly = Float64Array<ArrayBuffer>;

function polyMul(a: Poly, b: Poly): Poly {
  const out = new Float64Array(20);
  for (let i = 0; i < 20; i++) {
    if (a[i] === 0) continue;
    for (let j = 0; j < 20; j++) {
      if (b[j] === 0) continue;
      const m = MONOMIALS[i]!.map((e, k) => e + MONOMIALS[j]![k]!);
      const at = INDEX.get(m.join());
      if (at === undefined) throw new Error('five-point: degree above 3');
      out[at] += a[i]! * b[j]!;
    }
  }
  return out;
}
const polyAdd = (a: Poly, b: Poly, s = 1): Poly => a.map((v, i) => v + s * b[i]!);

/**
 * The essential matrices (row-major, unit Frobenius norm) of five or more pairs whose epipolar
 * constraint x2ᵀ E x1 = 0 they satisfy; with more than five, the least-squares null space is used.
 */
export function fivePoint(pairs: readonly PointPair[]): Mat3[] {
  // Each pair constrains E's nine entries linearly: (x2 ⊗ x1) · vec(E) = 0.
  const rows = pairs.map(({ x1, x2 }) => {
    const a = [x1[0], x1[1], 1];
    const b = [x2[0], x2[1], 1];
    return b.flatMap((u) => a.map((v) => u * v));
  });
  while (rows.length < 9) rows.push(new Array(9).fill(0));
  const svd = new SVD(new Matrix(rows), { computeLeftSingularVectors: false, autoTranspose: true });
  const V = svd.rightSingularVectors;
  // The null space: the right singular vectors of the four smallest singular values.
  const basis = [5, 6, 7, 8].map((c) => V.getColumn(c));
  // E's entries as linear polynomials x X + y Y + z Z + W.
  const E: Poly[] = Array.from({ length: 9 }, (_, k) => {
    const p = new Float64Array(20);
    p[16] = basis[0]![k]!; // x
    p[17] = basis[1]![k]!; // y
    p[18] = basis[2]![k]!; // z
    p[19] = basis[3]![k]!; // 1
    return p;
  });
  const at = (m: Poly[], r: number, c: number) => m[r * 3 + c]!;
  // det E (cubic).
  const det = [0, 1, 2].reduce((acc, c) => {
    const minor = polyAdd(polyMul(at(E, 1, (c + 1) % 3), at(E, 2, (c + 2) % 3)), polyMul(at(E, 1, (c + 2) % 3), at(E, 2, (c + 1) % 3)), -1);
    return polyAdd(acc, polyMul(at(E, 0, c), minor));
  }, new Float64Array(20) as Poly);
  // E Eᵀ (quadratic), its trace, then 2 E Eᵀ E − tr(E Eᵀ) E (nine cubics).
  const EEt: Poly[] = Array.from({ length: 9 }, (_, k) => {
    const [r, c] = [Math.floor(k / 3), k % 3];
    return [0, 1, 2].reduce((acc, j) => polyAdd(acc, polyMul(at(E, r, j), at(E, c, j))), new Float64Array(20) as Poly);
  });
  const trace = polyAdd(polyAdd(EEt[0]!, EEt[4]!), EEt[8]!);
  const cubics: Poly[] = [det];
  for (let k = 0; k < 9; k++) {
    const [r, c] = [Math.floor(k / 3), k % 3];
    const EEtE = [0, 1, 2].reduce((acc, j) => polyAdd(acc, polyMul(at(EEt, r, j), at(E, j, c))), new Float64Array(20) as Poly);
    cubics.push(
      polyAdd(
        EEtE.map((v) => 2 * v),
        polyMul(trace, at(E, r, c)),
        -1,
      ),
    );
  }
  // Gauss–Jordan on the ten cubics' leading 10×10 block (partial pivoting): each cubic monomial
  // becomes minus a combination of the ten basis monomials.
  const M = cubics.map((p) => Array.from(p));
  for (let col = 0; col < 10; col++) {
    let pivot = col;
    for (let r = col + 1; r < 10; r++) if (Math.abs(M[r]![col]!) > Math.abs(M[pivot]![col]!)) pivot = r;
    if (Math.abs(M[pivot]![col]!) < 1e-14) return []; // a degenerate configuration
    [M[col], M[pivot]] = [M[pivot]!, M[col]!];
    const p = M[col]!;
    const inv = 1 / p[col]!;
    for (let k = 0; k < 20; k++) p[k]! *= inv;
    for (let r = 0; r < 10; r++) {
      if (r === col || M[r]![col] === 0) continue;
      const f = M[r]![col]!;
      for (let k = 0; k < 20; k++) M[r]![k] -= f * p[k]!;
    }
  }
  // The action of multiplication by x on the basis b = (x², xy, xz, y², yz, z², x, y, z, 1):
  // x·b = (x³, x²y, x²z, xy², xyz, xz², x², xy, xz, x).
  const reduced = (cubic: number) => M[cubic]!.slice(10).map((v) => -v); // cubic = −Σ M[10 + j] b_j
  const unit = (j: number) => Array.from({ length: 10 }, (_, k) => (k === j ? 1 : 0));
  const action = new Matrix([reduced(0), reduced(1), reduced(2), reduced(3), reduced(4), reduced(5), unit(0), unit(1), unit(2), unit(6)]);
  const eig = new EigenvalueDecomposition(action, { assumeSymmetric: false });
  const vectors = eig.eigenvectorMatrix;
  const out: Mat3[] = [];
  for (let i = 0; i < 10; i++) {
    if (Math.abs(eig.imaginaryEigenvalues[i]!) > 1e-8 * Math.max(1, Math.abs(eig.realEigenvalues[i]!))) continue;
    const v = vectors.getColumn(i);
    if (Math.abs(v[9]!) < 1e-12) continue;
    const [x, y, z] = [v[6]! / v[9]!, v[7]! / v[9]!, v[8]! / v[9]!];
    const e = Array.from({ length: 9 }, (_, k) => x * basis[0]![k]! + y * basis[1]![k]! + z * basis[2]![k]! + basis[3]![k]!);
    const n = Math.hypot(...e);
    out.push(e.map((a) => a / n));
  }
  return out;
}

/** The four (R, t) an essential matrix allows (|t| = 1): R = U W Vᵀ or U Wᵀ Vᵀ, t = ±u₃. */
export function essentialPoses(e: Mat3): Pose[] {
  const svd = new SVD(new Matrix([e.slice(0, 3), e.slice(3, 6), e.slice(6, 9)]));
  let U = svd.leftSingularVectors;
  let V = svd.rightSingularVectors;
  if (det3(U.to1DArray()) < 0) U = U.mul(-1);
  if (det3(V.to1DArray()) < 0) V = V.mul(-1);
  const W = new Matrix([
    [0, -1, 0],
    [1, 0, 0],
    [0, 0, 1],
  ]);
  const flat = (m: Matrix) => m.to1DArray();
  const r1 = flat(U.mmul(W).mmul(V.transpose()));
  const r2 = flat(U.mmul(W.transpose()).mmul(V.transpose()));
  const t = U.getColumn(2) as V3;
  const neg = t.map((v) => -v) as V3;
  return [
    { r: r1, t },
    { r: r1, t: neg },
    { r: r2, t },
    { r: r2, t: neg },
  ];
}

/**
 * Of the four poses an essential matrix allows, the one that puts the most pairs in front of
 * both cameras (the first camera at the identity), with the count.
 */
export function poseFromEssential(e: Mat3, pairs: readonly PointPair[]): { pose: Pose; inFront: number } {
  let best = { pose: essentialPoses(e)[0]!, inFront: -1 };
  for (const pose of essentialPoses(e)) {
    let inFront = 0;
    for (const p of pairs) {
      const X = triangulatePair(p.x1, p.x2, pose);
      if (!X) continue;
      const z2 = toCamera(pose, X)[2];
      if (X[2] > 0 && z2 > 0) inFront++;
    }
    if (inFront > best.inFront) best = { pose, inFront };
  }
  return best;
}

/** The essential matrix [t]× R of a relative pose (the second camera's, the first at the identity). */
export function essentialOf(pose: Pose): Mat3 {
  const [x, y, z] = pose.t;
  return mat3Mul([0, -z, y, z, 0, -x, -y, x, 0], pose.r);
}

/**
 * The relative pose refined on its inliers: rotation and translation direction (five degrees of
 * freedom: R = exp([ω]×) R₀, t = t₀ moved in its tangent plane and renormalised) minimising the
 * Sampson distances under Huber's loss (`huber` in normalized units), from the pose RANSAC found.
 */
export function refineRelativePose(pose: Pose, pairs: readonly PointPair[], huber: number): Pose {
  const t0 = pose.t;
  // Two unit vectors orthogonal to t₀.
  const a: V3 = Math.abs(t0[0]) < 0.9 ? [1, 0, 0] : [0, 1, 0];
  const b1 = unit(cross(t0, a));
  const b2 = cross(t0, b1);
  const at = (p: readonly number[]): Pose => ({
    r: mat3Mul(axisAngleToRotation([p[0]!, p[1]!, p[2]!]), pose.r),
    t: unit([0, 1, 2].map((k) => t0[k]! + p[3]! * b1[k]! + p[4]! * b2[k]!) as V3),
  });
  const p = levenbergMarquardt(
    [0, 0, 0, 0, 0],
    (q) => {
      const e = essentialOf(at(q));
      return pairs.map((pair) => sampsonResidual(e, pair));
    },
    { huber, iterations: 15 },
  );
  return at(p);
}

/** The squared Sampson distance of a pair to E's epipolar constraint (normalized units²). */
export function sampsonError(e: Mat3, pair: PointPair): number {
  return sampsonResidual(e, pair) ** 2;
}

/** The Sampson distance of a pair to E's epipolar constraint, signed (normalized units). */
function sampsonResidual(e: Mat3, { x1, x2 }: PointPair): number {
  const a: V3 = [x1[0], x1[1], 1];
  const b: V3 = [x2[0], x2[1], 1];
  const Ea = [0, 1, 2].map((r) => e[r * 3]! * a[0] + e[r * 3 + 1]! * a[1] + e[r * 3 + 2]! * a[2]);
  const et = transpose3(e);
  const Etb = [0, 1, 2].map((r) => et[r * 3]! * b[0] + et[r * 3 + 1]! * b[1] + et[r * 3 + 2]! * b[2]);
  const num = b[0] * Ea[0]! + b[1] * Ea[1]! + b[2] * Ea[2]!;
  const den = Ea[0]! ** 2 + Ea[1]! ** 2 + Etb[0]! ** 2 + Etb[1]! ** 2;
  return den > 0 ? num / Math.sqrt(den) : Infinity;
}
