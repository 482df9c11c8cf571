// The f64 twin of the WGSL `camera_ray` (camera-ray.wgsl.ts): a pixel's ray, from the camera's
// centre along the unit direction through the pixel's centre, undistorted as the kernel does.
import { unproject } from './lens.ts';
import { centreOf, rotationOf } from './rotation.ts';
import type { PosedView } from './types.ts';
import { mat3Apply, type V3 } from './vec3.ts';

/** The ray of pixel (px, py) (its centre at +0.5): origin the camera centre, unit direction in the world. */
export function cameraRayRef(view: PosedView, px: number, py: number): { o: V3; d: V3 } {
  const [x, y] = unproject(view, px + 0.5, py + 0.5);
  const l = Math.hypot(x, y, 1);
  return { o: centreOf(view.c2w), d: mat3Apply(rotationOf(view.c2w), [x / l, y / l, 1 / l]) };
}
