// Three-vectors as tuples, and rotations, for the camera geometry of the data stage and the stages
// above it (the procedural scene's ray tracer, LLFF's recentring, COLMAP's quaternions, camera
// paths, surface tangents, pose alignment).
export type V3 = [number, number, number];

export const sub = (a: V3, b: V3): V3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
export const dot = (a: V3, b: V3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
export const cross = (a: V3, b: V3): V3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];

/** `a` scaled to unit length (a zero vector stays zero). */
export function unit(a: V3): V3 {
  const l = Math.hypot(a[0], a[1], a[2]) || 1;
  return [a[0] / l, a[1] / l, a[2] / l];
}

/** A row-major 3×3 matrix times a vector. */
export const mat3Apply = (m: ArrayLike<number>, v: ArrayLike<number>): V3 => [
  m[0]! * v[0]! + m[1]! * v[1]! + m[2]! * v[2]!,
  m[3]! * v[0]! + m[4]! * v[1]! + m[5]! * v[2]!,
  m[6]! * v[0]! + m[7]! * v[1]! + m[8]! * v[2]!,
];

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
