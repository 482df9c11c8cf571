// Where a dataset's cameras are, for drawing them in the dataset view: each camera's centre and
// the corners of its image at a chosen depth (the frustum), and the box the field will fill.
// Pure functions (no three.js), tested in Node.
import type { PosedView, SceneBox } from '../data/types.ts';
import type { Vec3 } from '../view/view-camera.ts';

export type { SceneBox };

export function cameraCentre(cam: PosedView): Vec3 {
  return [cam.c2w[3]!, cam.c2w[7]!, cam.c2w[11]!];
}

/**
 * The image's corners at distance `depth` along the view axis, in world space, in the order
 * top-left, top-right, bottom-right, bottom-left (pixel corners (0,0), (w,0), (w,h), (0,h)).
 */
export function frustumCorners(cam: PosedView, depth: number): [Vec3, Vec3, Vec3, Vec3] {
  const m = cam.c2w;
  const o = cameraCentre(cam);
  const corner = (px: number, py: number): Vec3 => {
    const x = ((px - cam.cx) / cam.fx) * depth;
    const y = ((py - cam.cy) / cam.fy) * depth;
    return [o[0] + m[0]! * x + m[1]! * y + m[2]! * depth, o[1] + m[4]! * x + m[5]! * y + m[6]! * depth, o[2] + m[8]! * x + m[9]! * y + m[10]! * depth];
  };
  return [corner(0, 0), corner(cam.width, 0), corner(cam.width, cam.height), corner(0, cam.height)];
}

/** Line segments (pairs of points, flattened) drawing each camera's frustum: 8 segments a camera. */
export function frustumLines(cams: readonly PosedView[], depth: number): Float32Array {
  const out = new Float32Array(cams.length * 8 * 2 * 3);
  let k = 0;
  const put = (p: Vec3) => {
    out[k++] = p[0];
    out[k++] = p[1];
    out[k++] = p[2];
  };
  for (const cam of cams) {
    const o = cameraCentre(cam);
    const c = frustumCorners(cam, depth);
    for (let i = 0; i < 4; i++) {
      put(o);
      put(c[i]!);
      put(c[i]!);
      put(c[(i + 1) % 4]!);
    }
  }
  return out;
}

/** Mean distance of the cameras from the box centre: sets the frustum size and the view distance. */
export function cameraSpread(cams: readonly PosedView[], box: SceneBox): number {
  if (cams.length === 0) return 1;
  const c = box[0].map((lo, i) => (lo + box[1][i]!) / 2);
  return cams.reduce((s, cam) => s + Math.hypot(...cameraCentre(cam).map((x, i) => x - c[i]!)), 0) / cams.length;
}
