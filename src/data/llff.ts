// LLFF captures (Local Light Field Fusion's imgs2poses, and the nerf_llff_data scenes): a
// poses_bounds.npy beside images/ (pre-downscaled images_2, images_4, images_8 are used when the
// downscale matches). Each row of the array is one image, in the sorted order of the image files:
// a 3×5 matrix [R | t | (H, W, f)] with the camera's axes as (down, right, back), then the near
// and far depth bounds of what that image sees.
//
// The poses go through the reference's recentring and scaling (TensoRF's llff.py, notes §7.2):
// axes reordered to (right, up, back), the average pose moved to the origin, and the scene scaled
// so the smallest near bound is 1/0.75. The world is then turned so the capture's up is +z and it
// looks along +y (every format here has z up), and placed like a COLMAP capture: the inner box
// spans the cameras and what they see from the near bound to 2.5 times it, centred and scaled to
// at most [-1.5, 1.5]. Forward-facing captures see far beyond that box, so they train in NDC, as
// the reference does, its near plane at 3/4 of the nearest bound (train/scene-frame.ts). Every 8th
// image is held out, the LLFF protocol.

import { cross, dot, sub, unit, type V3 } from '../camera/vec3.ts';
import { readNpy } from './npy.ts';
import { type DatasetFormat, type DatasetPlan, type FrameSpec, heldOutSplits } from './plan.ts';
import { joinLabel } from './transforms-json.ts';
import { DatasetError } from './types.ts';

const POSES_FILE = 'poses_bounds.npy';
const PRESCALED = [2, 4, 8];
const IMAGE = /\.(jpe?g|png)$/i;
/** The reference scales the scene so the nearest bound is this far from its camera. */
const NEAR_AFTER_SCALING = 1 / 0.75;
/** The inner box reaches this many times the nearest bound in front of the cameras. */
const INNER_DEPTH = 2.5;

interface Row {
  /** Camera axes in world coordinates, LLFF's recentred world: right, up, back. */
  right: V3;
  up: V3;
  back: V3;
  centre: V3;
  h: number;
  w: number;
  f: number;
  near: number;
  far: number;
}

export const llffFormat: DatasetFormat = {
  name: 'the LLFF poses (poses_bounds.npy)',
  detect: (src) => src.exists(POSES_FILE),
  async plan(src, request): Promise<DatasetPlan> {
    const label = joinLabel(src.label, POSES_FILE);
    const { shape, data } = readNpy(await src.readBytes(POSES_FILE), label);
    if (shape.length !== 2 || shape[1] !== 17 || shape[0]! < 1) {
      throw new DatasetError(
        label,
        `expected one row of 17 numbers per image (a 3×5 pose with height, width and focal length, then near and far bounds), got shape (${shape.join(', ')})`,
      );
    }
    const n = shape[0]!;
    const rows = readRows(data, n, label);

    // The images, in sorted name order as LLFF pairs them with the rows: the pre-downscaled
    // folder where it pairs, else images/ downscaled (a partial images_8/ is said, not fatal).
    const downscale = request.downscale ?? 1;
    const imagesIn = async (folder: string) => (await src.list(folder)).filter((f) => IMAGE.test(f));
    let folder = 'images/';
    let preScaled: number | undefined;
    if (PRESCALED.includes(downscale)) {
      const pre = await imagesIn(`images_${downscale}`);
      if (pre.length === n) {
        folder = `images_${downscale}/`;
        preScaled = downscale;
      } else if (pre.length > 0) {
        request.warnings.push(
          `${label} holds ${n} poses but ${joinLabel(src.label, `images_${downscale}/`)} holds ${pre.length} images: read images/ downscaled by ${downscale} instead`,
        );
      }
    }
    const names = await imagesIn(folder);
    if (names.length === 0) throw new DatasetError(joinLabel(src.label, folder), `no .jpg or .png images found beside ${POSES_FILE}`);
    if (names.length !== n) {
      throw new DatasetError(
        label,
        `holds ${n} poses but ${joinLabel(src.label, folder)} holds ${names.length} images; LLFF pairs them one to one in name order`,
      );
    }

    const world = placement(rows);
    const frames: FrameSpec[] = rows.map((r, i) => ({
      index: i,
      filePath: names[i]!,
      imagePath: folder + names[i]!,
      ...(preScaled ? { preScaled } : {}),
      c2wGL: world.pose(r),
      intrinsics: { flX: r.f, flY: r.f, w: r.w, h: r.h, cx: r.w / 2, cy: r.h / 2 },
    }));
    return {
      format: 'llff',
      splits: heldOutSplits(frames, POSES_FILE, request),
      aabb: world.box,
      nearFar: [0.05, 100],
      nearestDepth: world.nearestDepth,
      whiteBackground: false,
    };
  },
};

/** The rows as cameras in the reference's recentred and scaled world. */
function readRows(data: Float64Array, n: number, label: string): Row[] {
  const raw = Array.from({ length: n }, (_, i) => {
    const v = data.subarray(i * 17, i * 17 + 17);
    const bad = [...v].findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new DatasetError(label, `row ${i}: value ${bad} is ${v[bad]}, not a finite number`);
    const at = (r: number, c: number) => v[r * 5 + c]!;
    const [h, w, f, near, far] = [at(0, 4), at(1, 4), at(2, 4), v[15]!, v[16]!];
    if (!(h >= 1 && w >= 1 && f > 0)) throw new DatasetError(label, `row ${i}: height ${h}, width ${w} and focal length ${f} must be positive`);
    if (!(near > 0 && far > near)) throw new DatasetError(label, `row ${i}: the bounds must satisfy 0 < near < far, got near ${near}, far ${far}`);
    // LLFF's columns are (down, right, back); the reference reorders them to (right, up, back).
    const col = (c: number): V3 => [at(0, c), at(1, c), at(2, c)];
    const [down, right, back] = [col(0), col(1), col(2)];
    if ([down, right, back].some((a) => Math.abs(Math.hypot(...a) - 1) > 1e-3))
      throw new DatasetError(label, `row ${i}: the rotation's columns are not unit vectors`);
    return { right, up: [-down[0], -down[1], -down[2]] as V3, back, centre: col(3), h, w, f, near, far };
  });
  // Recentre by the inverse of the average pose: mean centre, mean back axis, orthogonalised with the mean up.
  const mean = (g: (r: Row) => V3): V3 => {
    const s = raw.reduce<V3>((a, r) => [a[0] + g(r)[0], a[1] + g(r)[1], a[2] + g(r)[2]], [0, 0, 0]);
    return [s[0] / n, s[1] / n, s[2] / n];
  };
  const c = mean((r) => r.centre);
  const z = unit(mean((r) => r.back));
  const x = unit(
    cross(
      mean((r) => r.up),
      z,
    ),
  );
  const y = cross(z, x);
  const toAverage = (v: V3): V3 => [dot(v, x), dot(v, y), dot(v, z)];
  const scale = NEAR_AFTER_SCALING / Math.min(...raw.map((r) => r.near));
  return raw.map((r) => ({
    ...r,
    right: toAverage(r.right),
    up: toAverage(r.up),
    back: toAverage(r.back),
    centre: toAverage(sub(r.centre, c)).map((t) => t * scale) as V3,
    near: r.near * scale,
    far: r.far * scale,
  }));
}

/**
 * From the reference's world (y up, the cameras looking along -z) to ours (z up, looking along
 * +y), with the inner box around the cameras and their frusta from the near bound to INNER_DEPTH
 * times it, centred and scaled so its longest half-side is 1.5.
 */
function placement(rows: Row[]) {
  const turn = (v: V3): V3 => [v[0], -v[2], v[1]];
  const near = Math.min(...rows.map((r) => r.near));
  const depth = INNER_DEPTH * near;
  const lo: V3 = [Infinity, Infinity, Infinity];
  const hi: V3 = [-Infinity, -Infinity, -Infinity];
  for (const r of rows) {
    // The camera and the four corners of its frustum at the inner depth.
    const forward = turn(r.back).map((v) => -v) as V3;
    const [right, up, centre] = [turn(r.right), turn(r.up), turn(r.centre)];
    const [hx, hy] = [(depth * r.w) / (2 * r.f), (depth * r.h) / (2 * r.f)];
    for (const p of [
      centre,
      ...[-1, 1].flatMap((sx) => [-1, 1].map((sy) => [0, 1, 2].map((k) => centre[k]! + depth * forward[k]! + sx * hx * right[k]! + sy * hy * up[k]!) as V3)),
    ]) {
      for (let k = 0; k < 3; k++) {
        lo[k] = Math.min(lo[k]!, p[k]!);
        hi[k] = Math.max(hi[k]!, p[k]!);
      }
    }
  }
  const mid = [0, 1, 2].map((k) => (lo[k]! + hi[k]!) / 2) as V3;
  const s = 1.5 / Math.max(...[0, 1, 2].map((k) => (hi[k]! - lo[k]!) / 2));
  const place = (p: V3): V3 => [0, 1, 2].map((k) => (p[k]! - mid[k]!) * s) as V3;
  return {
    box: [place(lo), place(hi)] as DatasetPlan['aabb'],
    /** The nearest bound in the placed world (the NDC near plane is 3/4 of it, as the reference's). */
    nearestDepth: near * s,
    /** Camera-to-world, row-major 3x4, OpenGL axes (right, up, back) as FrameSpec keeps them. */
    pose(r: Row): Float64Array {
      const [a, b, c] = [turn(r.right), turn(r.up), turn(r.back)];
      const t = place(turn(r.centre));
      return Float64Array.from([a[0], b[0], c[0], t[0], a[1], b[1], c[1], t[1], a[2], b[2], c[2], t[2]]);
    },
  };
}
