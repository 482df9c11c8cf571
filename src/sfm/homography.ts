// The homography and the fundamental matrix of point pairs by the normalized direct linear
// transform (Hartley): coordinates moved to their centroid and scaled to a mean distance of √2,
// the linear system's smallest right singular vector, then the normalization undone. Four or
// more pairs fix a homography, eight or more a fundamental matrix (rank 2 enforced).
import { Matrix, SVD } from 'ml-matrix';
import { det3 as det, type Mat3, mat3Mul, transpose3 } from '../camera/rotation.ts';
import type { PointPair } from './essential.ts';

type P2 = readonly [number, number];

/** Hartley's normalization of points: T (row-major 3×3) with T x centred, mean distance √2. */
function normalization(points: readonly P2[]): Mat3 {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  const d = points.reduce((a, p) => a + Math.hypot(p[0] - mx, p[1] - my), 0) / n;
  const s = d > 0 ? Math.SQRT2 / d : 1;
  return [s, 0, -s * mx, 0, s, -s * my, 0, 0, 1];
}
const apply = (T: Mat3, p: P2): [number, number] => [T[0]! * p[0] + T[2]!, T[4]! * p[1] + T[5]!];

/** The smallest right singular vector of the rows (padded to square so the full basis is there). */
function nullVector(rows: number[][]): number[] {
  const cols = rows[0]!.length;
  while (rows.length < cols) rows.push(new Array(cols).fill(0));
  const svd = new SVD(new Matrix(rows), { computeLeftSingularVectors: false, autoTranspose: true });
  return svd.rightSingularVectors.getColumn(cols - 1);
}

/** The homography H with x2 ~ H x1 (row-major, H[8] = 1 where it can be), or null when degenerate. */
export function homography(pairs: readonly PointPair[]): Mat3 | null {
  if (pairs.length < 4) return null;
  const T1 = normalization(pairs.map((p) => p.x1));
  const T2 = normalization(pairs.map((p) => p.x2));
  const rows: number[][] = [];
  for (const p of pairs) {
    const [x, y] = apply(T1, p.x1);
    const [u, v] = apply(T2, p.x2);
    rows.push([-x, -y, -1, 0, 0, 0, u * x, u * y, u]);
    rows.push([0, 0, 0, -x, -y, -1, v * x, v * y, v]);
  }
  const h = nullVector(rows);
  // H = T2⁻¹ Ĥ T1.
  const s = T2[0]!;
  const T2inv = [1 / s, 0, -T2[2]! / s, 0, 1 / s, -T2[5]! / s, 0, 0, 1];
  const H = mat3Mul(mat3Mul(T2inv, h), T1);
  if (Math.abs(H[8]!) < 1e-12) return H.every(Number.isFinite) ? H : null;
  const out = H.map((v) => v / H[8]!);
  return out.every(Number.isFinite) ? out : null;
}

/** The squared transfer error |x2 − H x1|² of a pair. */
export function homographyError(H: Mat3, { x1, x2 }: PointPair): number {
  const w = H[6]! * x1[0] + H[7]! * x1[1] + H[8]!;
  if (Math.abs(w) < 1e-12) return Infinity;
  const u = (H[0]! * x1[0] + H[1]! * x1[1] + H[2]!) / w;
  const v = (H[3]! * x1[0] + H[4]! * x1[1] + H[5]!) / w;
  return (u - x2[0]) ** 2 + (v - x2[1]) ** 2;
}

/** The fundamental matrix F with x2ᵀ F x1 = 0 of eight or more pairs (rank 2, unit Frobenius norm), or null. */
export function fundamental(pairs: readonly PointPair[]): Mat3 | null {
  if (pairs.length < 8) return null;
  const T1 = normalization(pairs.map((p) => p.x1));
  const T2 = normalization(pairs.map((p) => p.x2));
  const rows = pairs.map((p) => {
    const a = [...apply(T1, p.x1), 1];
    const b = [...apply(T2, p.x2), 1];
    return b.flatMap((u) => a.map((v) => u * v));
  });
  const f = nullVector(rows);
  // Rank 2: the smallest singular value set to zero.
  const svd = new SVD(new Matrix([f.slice(0, 3), f.slice(3, 6), f.slice(6, 9)]));
  const S = svd.diagonal;
  const F2 = svd.leftSingularVectors
    .mmul(Matrix.diag([S[0]!, S[1]!, 0]))
    .mmul(svd.rightSingularVectors.transpose())
    .to1DArray();
  // F = T2ᵀ F̂ T1.
  const F = mat3Mul(mat3Mul(transpose3(T2), F2), T1);
  const n = Math.hypot(...F);
  return n > 0 && F.every(Number.isFinite) ? F.map((v) => v / n) : null;
}

/**
 * The relative poses a calibrated homography of a plane allows (x2 ~ H x1 in normalized
 * coordinates, H = R + t nᵀ / d), by the SVD decomposition of Ma, Soatto, Košecká and Sastry ("An
 * Invitation to 3-D Vision", algorithm 5.2): four (R, t, n), of which those with the plane in front
 * of the first camera (n_z > 0) are returned, |t| the baseline over the plane's distance.
 */
export function homographyPoses(H0: Mat3, pairs: readonly PointPair[]): { r: Mat3; t: [number, number, number]; n: [number, number, number] }[] {
  const Hm = new Matrix([H0.slice(0, 3), H0.slice(3, 6), H0.slice(6, 9)]);
  const sigma2 = new SVD(Hm, { computeLeftSingularVectors: false, computeRightSingularVectors: false }).diagonal[1]!;
  if (!(sigma2 > 0)) return [];
  let H = Hm.div(sigma2).to1DArray();
  // Its sign: the points at positive depth in both views, x2ᵀ H x1 > 0.
  const votes = pairs.reduce((v, { x1, x2 }) => {
    const hx = [0, 1, 2].map((r) => H[r * 3]! * x1[0] + H[r * 3 + 1]! * x1[1] + H[r * 3 + 2]!);
    return v + Math.sign(x2[0] * hx[0]! + x2[1] * hx[1]! + hx[2]!);
  }, 0);
  if (votes < 0) H = H.map((v) => -v);
  const HtH = new Matrix([H.slice(0, 3), H.slice(3, 6), H.slice(6, 9)]).transpose().mmul(new Matrix([H.slice(0, 3), H.slice(3, 6), H.slice(6, 9)]));
  const svd = new SVD(HtH);
  const s = svd.diagonal; // σ1² ≥ σ2² = 1 ≥ σ3²
  let V = svd.rightSingularVectors;
  if (det(V.to1DArray()) < 0) V = V.mul(-1);
  const [v1, v2, v3] = [V.getColumn(0), V.getColumn(1), V.getColumn(2)];
  const [s1, s3] = [s[0]!, s[2]!];
  if (s1 - s3 < 1e-10) return []; // a rotation: no plane to decompose
  const a = Math.sqrt(Math.max(0, 1 - s3));
  const b = Math.sqrt(Math.max(0, s1 - 1));
  const d = Math.sqrt(s1 - s3);
  const u1 = [0, 1, 2].map((k) => (a * v1[k]! + b * v3[k]!) / d);
  const u2 = [0, 1, 2].map((k) => (a * v1[k]! - b * v3[k]!) / d);
  const Hv = (v: number[]) => [0, 1, 2].map((r) => H[r * 3]! * v[0]! + H[r * 3 + 1]! * v[1]! + H[r * 3 + 2]! * v[2]!);
  const crossv = (p: number[], q: number[]) => [p[1]! * q[2]! - p[2]! * q[1]!, p[2]! * q[0]! - p[0]! * q[2]!, p[0]! * q[1]! - p[1]! * q[0]!];
  const out: { r: Mat3; t: [number, number, number]; n: [number, number, number] }[] = [];
  for (const u of [u1, u2]) {
    const U = [v2, u, crossv(v2, u)];
    const W = [Hv(v2), Hv(u), crossv(Hv(v2), Hv(u))];
    // R = W Uᵀ with U and W holding the vectors as columns.
    const R = [0, 1, 2].flatMap((i) => [0, 1, 2].map((j) => W[0]![i]! * U[0]![j]! + W[1]![i]! * U[1]![j]! + W[2]![i]! * U[2]![j]!));
    const N = crossv(v2, u);
    const T = [0, 1, 2].map((i) => [0, 1, 2].reduce((acc, j) => acc + (H[i * 3 + j]! - R[i * 3 + j]!) * N[j]!, 0));
    for (const sign of [1, -1]) {
      const n = N.map((v) => sign * v) as [number, number, number];
      if (n[2] <= 0) continue;
      out.push({ r: R, t: T.map((v) => sign * v) as [number, number, number], n });
    }
  }
  return out;
}
