// A camera pose as structure from motion keeps it: world to camera, x_cam = R X + t (COLMAP's
// image pose), R row-major. Points are in the camera's normalized coordinates (the z = 1 plane,
// lens undone) wherever a solver takes them: the solvers never see pixels.
import { c2wOf, type Mat3, transpose3 } from '../camera/rotation.ts';
import { mat3Apply, type V3 } from '../camera/vec3.ts';

export interface Pose {
  r: Mat3;
  t: V3;
}

export const IDENTITY_POSE: Pose = { r: [1, 0, 0, 0, 1, 0, 0, 0, 1], t: [0, 0, 0] };

/** A world point in the camera's frame. */
export const toCamera = (p: Pose, x: ArrayLike<number>): V3 => {
  const v = mat3Apply(p.r, x);
  return [v[0] + p.t[0], v[1] + p.t[1], v[2] + p.t[2]];
};

/** The camera's centre in the world, −Rᵀ t. */
export const poseCentre = (p: Pose): V3 => mat3Apply(transpose3(p.r), p.t).map((v) => -v) as V3;

/** Our OpenCV camera-to-world of a pose. */
export const poseToC2w = (p: Pose): Float64Array => c2wOf(transpose3(p.r), poseCentre(p));
