// Rotations and rigid motions, row-major 3×3 matrices as plain arrays: SO(3) and SE(3) exp and log,
// quaternions as COLMAP writes them (w, x, y, z), and the pieces of a row-major 3×4 camera-to-world.
import { mat3Apply, type V3 } from './vec3.ts';

/** A row-major 3×3 matrix. */
export type Mat3 = number[];

export const IDENTITY3: readonly number[] = [1, 0, 0, 0, 1, 0, 0, 0, 1];

export const mat3Mul = (a: ArrayLike<number>, b: ArrayLike<number>): Mat3 =>
  [0, 1, 2].flatMap((i) => [0, 1, 2].map((j) => a[i * 3]! * b[j]! + a[i * 3 + 1]! * b[3 + j]! + a[i * 3 + 2]! * b[6 + j]!));
export const transpose3 = (a: ArrayLike<number>): Mat3 => [a[0]!, a[3]!, a[6]!, a[1]!, a[4]!, a[7]!, a[2]!, a[5]!, a[8]!];
/** [v]×, the cross-product matrix: [v]× u = v × u. */
export const hat = (v: ArrayLike<number>): Mat3 => [0, -v[2]!, v[1]!, v[2]!, 0, -v[0]!, -v[1]!, v[0]!, 0];

/** The rotation of a row-major 3×4 camera-to-world. */
export const rotationOf = (c2w: ArrayLike<number>): Mat3 => [c2w[0]!, c2w[1]!, c2w[2]!, c2w[4]!, c2w[5]!, c2w[6]!, c2w[8]!, c2w[9]!, c2w[10]!];
/** The camera centre of a row-major 3×4 camera-to-world. */
export const centreOf = (c2w: ArrayLike<number>): V3 => [c2w[3]!, c2w[7]!, c2w[11]!];
/** A row-major 3×4 camera-to-world from its rotation and centre. */
export const c2wOf = (r: ArrayLike<number>, c: ArrayLike<number>): Float64Array =>
  Float64Array.from([r[0]!, r[1]!, r[2]!, c[0]!, r[3]!, r[4]!, r[5]!, c[1]!, r[6]!, r[7]!, r[8]!, c[2]!]);

/**
 * Row-major rotation exp([ω]×) of a rotation vector ω (Rodrigues), with Taylor series near θ = 0
 * where the closed forms lose precision.
 */
export function axisAngleToRotation(w: ArrayLike<number>): number[] {
  const [x, y, z] = [w[0]!, w[1]!, w[2]!];
  const t2 = x * x + y * y + z * z;
  const th = Math.sqrt(t2);
  const a = th < 1e-4 ? 1 - t2 / 6 : Math.sin(th) / th;
  const b = th < 1e-4 ? 0.5 - t2 / 24 : (1 - Math.cos(th)) / t2;
  // I + a [ω]× + b [ω]×², with [ω]×² = ω ωᵀ − θ² I.
  return [
    1 + b * (x * x - t2),
    -a * z + b * x * y,
    a * y + b * x * z,
    a * z + b * x * y,
    1 + b * (y * y - t2),
    -a * x + b * y * z,
    -a * y + b * x * z,
    a * x + b * y * z,
    1 + b * (z * z - t2),
  ];
}

/** Row-major rotation of a unit quaternion (w, x, y, z), as COLMAP's QuaternionToRotationMatrix. */
export function quaternionToRotation([w, x, y, z]: readonly [number, number, number, number]): number[] {
  return [
    1 - 2 * (y * y + z * z),
    2 * (x * y - w * z),
    2 * (x * z + w * y),
    2 * (x * y + w * z),
    1 - 2 * (x * x + z * z),
    2 * (y * z - w * x),
    2 * (x * z - w * y),
    2 * (y * z + w * x),
    1 - 2 * (x * x + y * y),
  ];
}

/**
 * The rotation vector ω of a rotation matrix, log(R) with exp([ω]×) = R, θ = |ω| in [0, π]. Near
 * θ = 0 the skew part is used directly; near θ = π, where sin θ vanishes, the axis comes from the
 * symmetric part (R + I)/2 = cos²… through its largest diagonal entry.
 */
export function rotationToAxisAngle(r: ArrayLike<number>): V3 {
  const cos = Math.min(1, Math.max(-1, (r[0]! + r[4]! + r[8]! - 1) / 2));
  const th = Math.acos(cos);
  const skew: V3 = [(r[7]! - r[5]!) / 2, (r[2]! - r[6]!) / 2, (r[3]! - r[1]!) / 2];
  if (th < 1e-6) return skew; // sin θ / θ ≈ 1
  if (Math.PI - th > 1e-4) {
    const k = th / Math.sin(th);
    return [skew[0] * k, skew[1] * k, skew[2] * k];
  }
  // θ ≈ π: R ≈ 2 a aᵀ − I, so a aᵀ = (R + I)/2; take the best-conditioned column.
  const b = [0, 1, 2].map((i) => (r[i * 4]! + 1) / 2);
  const i = b[0]! >= b[1]! && b[0]! >= b[2]! ? 0 : b[1]! >= b[2]! ? 1 : 2;
  const col = [0, 1, 2].map((j) => (j === i ? b[i]! : (r[j * 3 + i]! + r[i * 3 + j]!) / 4));
  const l = Math.hypot(...col);
  // The sign of the axis is fixed by the (small) skew part where it has one.
  const sign = skew[0] * col[0]! + skew[1] * col[1]! + skew[2] * col[2]! < 0 ? -1 : 1;
  return [0, 1, 2].map((j) => (sign * th * col[j]!) / l) as V3;
}

/** The angle of a rotation matrix, radians in [0, π]. */
export function rotationAngle(r: ArrayLike<number>): number {
  return Math.acos(Math.min(1, Math.max(-1, (r[0]! + r[4]! + r[8]! - 1) / 2)));
}

/** Unit quaternion (w, x, y, z) of a row-major rotation matrix (Shepperd's method). */
export function quaternionOf(r: ArrayLike<number>): number[] {
  const [m00, m01, m02, m10, m11, m12, m20, m21, m22] = Array.from(r);
  const tr = m00! + m11! + m22!;
  let q: number[];
  if (tr > 0) {
    const s = Math.sqrt(tr + 1) * 2;
    q = [0.25 * s, (m21! - m12!) / s, (m02! - m20!) / s, (m10! - m01!) / s];
  } else if (m00! > m11! && m00! > m22!) {
    const s = Math.sqrt(1 + m00! - m11! - m22!) * 2;
    q = [(m21! - m12!) / s, 0.25 * s, (m01! + m10!) / s, (m02! + m20!) / s];
  } else if (m11! > m22!) {
    const s = Math.sqrt(1 + m11! - m00! - m22!) * 2;
    q = [(m02! - m20!) / s, (m01! + m10!) / s, 0.25 * s, (m12! + m21!) / s];
  } else {
    const s = Math.sqrt(1 + m22! - m00! - m11!) * 2;
    q = [(m10! - m01!) / s, (m02! + m20!) / s, (m12! + m21!) / s, 0.25 * s];
  }
  return q;
}

/** V(ω) = I + (1 − cos θ)/θ² [ω]× + (θ − sin θ)/θ³ [ω]×², the left Jacobian of SO(3) that SE(3)'s exp applies to u. */
function leftJacobian(w: V3): Mat3 {
  const th = Math.hypot(...w);
  const W = hat(w);
  const W2 = mat3Mul(W, W);
  // Taylor series near θ = 0, where the closed forms lose precision.
  const b = th < 1e-4 ? 0.5 - (th * th) / 24 : (1 - Math.cos(th)) / (th * th);
  const c = th < 1e-4 ? 1 / 6 - (th * th) / 120 : (th - Math.sin(th)) / (th * th * th);
  return IDENTITY3.map((v, k) => v + b * W[k]! + c * W2[k]!);
}

/**
 * The rigid transform exp(ξ) of a twist ξ = (ω, u) (rotation first, as BARF's se3_to_SE3):
 * R = exp([ω]×) by Rodrigues, t = V u with V = I + (1 − cos θ)/θ² [ω]× + (θ − sin θ)/θ³ [ω]×².
 */
export function se3Exp(xi: ArrayLike<number>): { r: Mat3; t: V3 } {
  const w: V3 = [xi[0]!, xi[1]!, xi[2]!];
  const u: V3 = [xi[3]!, xi[4]!, xi[5]!];
  return { r: axisAngleToRotation(w), t: mat3Apply(leftJacobian(w), u) };
}

/** The twist ξ = (ω, u) of a rigid transform (R, t): ω = log(R), u = V(ω)⁻¹ t; se3Exp's inverse. */
export function se3Log(r: ArrayLike<number>, t: ArrayLike<number>): number[] {
  const w = rotationToAxisAngle(r);
  const u = solve3(leftJacobian(w), [t[0]!, t[1]!, t[2]!]);
  return [...w, ...u];
}

/** The determinant of a row-major 3×3 matrix. */
export const det3 = (a: ArrayLike<number>): number =>
  a[0]! * (a[4]! * a[8]! - a[5]! * a[7]!) - a[1]! * (a[3]! * a[8]! - a[5]! * a[6]!) + a[2]! * (a[3]! * a[7]! - a[4]! * a[6]!);

/** x with m x = b for a 3×3 matrix m (Cramer's rule; V(ω) is well conditioned for θ < 2π). */
export function solve3(m: ArrayLike<number>, b: V3): V3 {
  const d = det3(m);
  return [0, 1, 2].map((c) => {
    const mc = Array.from(m);
    for (let rw = 0; rw < 3; rw++) mc[rw * 3 + c] = b[rw]!;
    return det3(mc) / d;
  }) as V3;
}
