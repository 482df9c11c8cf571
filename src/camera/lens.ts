// The lens models every reader accepts, in f64: OpenCV's radial-tangential model (with
// FULL_OPENCV's rational k3..k6) and OpenCV's fisheye (equidistant) model. `project` takes a point
// in camera coordinates (OpenCV axes: x right, y down, z forward) to continuous image coordinates,
// pixel centres at +0.5 as COLMAP and our ray generation place them, with its Jacobian;
// `unproject` is its inverse on the z = 1 plane, computed as the WGSL `camera_ray` computes it
// (camera-ray.ref.ts is that kernel's twin).
import type { Intrinsics } from './types.ts';
import type { V3 } from './vec3.ts';

/** A lens and its pinhole: the intrinsics without the image's size. */
export type Lens = Omit<Intrinsics, 'width' | 'height'>;

/** A 2×2 Jacobian, row-major: [∂x'/∂x, ∂x'/∂y, ∂y'/∂x, ∂y'/∂y]. */
type Jac2 = [number, number, number, number];

/** The lens applied to a normalized point (x, y) on the z = 1 plane, and its 2×2 Jacobian. */
export function distort(lens: Pick<Intrinsics, 'distortion' | 'fisheye'>, x: number, y: number): { p: [number, number]; J: Jac2 } {
  if (lens.fisheye) {
    const { k1, k2, k3, k4 } = lens.fisheye;
    const r = Math.hypot(x, y);
    if (r < 1e-12) return { p: [x, y], J: [1, 0, 0, 1] };
    const th = Math.atan(r);
    const t2 = th * th;
    const thd = th * (1 + t2 * (k1 + t2 * (k2 + t2 * (k3 + t2 * k4))));
    const dthd = 1 + t2 * (3 * k1 + t2 * (5 * k2 + t2 * (7 * k3 + t2 * 9 * k4)));
    // p' = (θd / r) p: ∂p'/∂p = s I + (ds/dr) p pᵀ / r, s = θd / r, ds/dr = (θd' θ' r − θd) / r².
    const s = thd / r;
    const ds = ((dthd / (1 + r * r)) * r - thd) / (r * r);
    return { p: [s * x, s * y], J: [s + (ds * x * x) / r, (ds * x * y) / r, (ds * x * y) / r, s + (ds * y * y) / r] };
  }
  if (!lens.distortion) return { p: [x, y], J: [1, 0, 0, 1] };
  const { k1, k2, p1, p2, k3 = 0, k4 = 0, k5 = 0, k6 = 0 } = lens.distortion;
  const r2 = x * x + y * y;
  const num = 1 + r2 * (k1 + r2 * (k2 + r2 * k3));
  const den = 1 + r2 * (k4 + r2 * (k5 + r2 * k6));
  const dnum = k1 + r2 * (2 * k2 + r2 * 3 * k3); // d/d(r²)
  const dden = k4 + r2 * (2 * k5 + r2 * 3 * k6);
  const rad = num / den;
  const drad = (dnum * den - num * dden) / (den * den);
  const px = x * rad + 2 * p1 * x * y + p2 * (r2 + 2 * x * x);
  const py = y * rad + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y;
  // ∂(r²)/∂x = 2x, ∂(r²)/∂y = 2y.
  return {
    p: [px, py],
    J: [
      rad + x * drad * 2 * x + 2 * p1 * y + p2 * 6 * x,
      x * drad * 2 * y + 2 * p1 * x + p2 * 2 * y,
      y * drad * 2 * x + p1 * 2 * x + 2 * p2 * y,
      rad + y * drad * 2 * y + p1 * 6 * y + 2 * p2 * x,
    ],
  };
}

/**
 * A camera-space point's continuous image coordinates (pixel (i, j)'s centre is (i + 0.5, j + 0.5))
 * and the 2×3 Jacobian ∂(u, v)/∂p, row-major. Points at or behind the camera's plane have no image:
 * null.
 */
export function project(intr: Lens, p: V3): { uv: [number, number]; J: number[] } | null {
  if (!(p[2] > 0)) return null;
  const iz = 1 / p[2];
  const x = p[0] * iz;
  const y = p[1] * iz;
  const { p: d, J } = distort(intr, x, y);
  // ∂(x, y)/∂p = [[1/z, 0, −x/z], [0, 1/z, −y/z]].
  const row = (a: number, b: number, f: number) => [f * a * iz, f * b * iz, -f * (a * x + b * y) * iz];
  return { uv: [intr.fx * d[0] + intr.cx, intr.fy * d[1] + intr.cy], J: [...row(J[0], J[1], intr.fx), ...row(J[2], J[3], intr.fy)] };
}

/** Fixed-point steps of OpenCV's undistortion and Newton steps of the fisheye's, as the WGSL takes. */
const UNDISTORT_STEPS = 10;

/**
 * The normalized point (x, y) on the z = 1 plane whose image is at continuous coordinates (u, v):
 * the WGSL camera_ray's inverse lens, step for step (OpenCV's fixed-point undistortion, Newton's
 * method for the fisheye's angle).
 */
export function unproject(intr: Lens, u: number, v: number): [number, number] {
  const pd: [number, number] = [(u - intr.cx) / intr.fx, (v - intr.cy) / intr.fy];
  if (intr.fisheye) {
    const { k1, k2, k3, k4 } = intr.fisheye;
    const thd = Math.min(Math.hypot(...pd), Math.PI / 2);
    if (thd < 1e-8) return pd;
    let th = thd;
    for (let i = 0; i < UNDISTORT_STEPS; i++) {
      const t2 = th * th;
      const f = th * (1 + t2 * (k1 + t2 * (k2 + t2 * (k3 + t2 * k4)))) - thd;
      const df = 1 + t2 * (3 * k1 + t2 * (5 * k2 + t2 * (7 * k3 + t2 * 9 * k4)));
      th -= f / df;
    }
    const s = Math.tan(th) / Math.hypot(...pd);
    return [pd[0] * s, pd[1] * s];
  }
  if (!intr.distortion) return pd;
  const { k1, k2, p1, p2, k3 = 0, k4 = 0, k5 = 0, k6 = 0 } = intr.distortion;
  let [x, y] = pd;
  for (let i = 0; i < UNDISTORT_STEPS; i++) {
    const r2 = x * x + y * y;
    const rad = (1 + r2 * (k1 + r2 * (k2 + r2 * k3))) / (1 + r2 * (k4 + r2 * (k5 + r2 * k6)));
    const tx = 2 * p1 * x * y + p2 * (r2 + 2 * x * x);
    const ty = p1 * (r2 + 2 * y * y) + 2 * p2 * x * y;
    [x, y] = [(pd[0] - tx) / rad, (pd[1] - ty) / rad];
  }
  return [x, y];
}
