// A posed capture that opens again, in Slimfield, COLMAP and nerfstudio: the photos under their
// own names in images/, their cameras as a nerfstudio transforms.json and as a COLMAP model
// (sparse/0, binary and text, with the sparse points and their tracks where there are some).
// Two writers use it: pose refinement's result (the training images as trained, PNG at the
// downscale used, in the model's world, data/placement.ts) and structure from motion's (the
// user's photos as they are, at full size). Views with the same intrinsics share one COLMAP
// camera; OpenCV lens parameters travel with each.
import { type ColmapSpecCamera, colmapModelBinary, colmapModelText, imagePose } from '../data/colmap-model.ts';
import type { PosedView } from '../data/types.ts';

/** The files of the refined capture by path ('/'-separated, relative to its folder), and why any format was left out. */
export interface RefinedCapture {
  files: Map<string, Uint8Array>;
  notes: string[];
}

/** The COLMAP camera of one of ours: SIMPLE_RADIAL, PINHOLE, OPENCV, FULL_OPENCV or OPENCV_FISHEYE. */
function colmapCamera(c: PosedView, id: number): ColmapSpecCamera {
  const base = [c.fx, c.fy, c.cx, c.cy];
  const size = { id, width: c.width, height: c.height };
  const k = c.distortion;
  if (k && c.fx === c.fy && !k.k2 && !k.p1 && !k.p2 && !k.k3 && !k.k4 && !k.k5 && !k.k6)
    return { ...size, model: 'SIMPLE_RADIAL', params: [c.fx, c.cx, c.cy, k.k1] };
  if (c.fisheye) return { ...size, model: 'OPENCV_FISHEYE', params: [...base, c.fisheye.k1, c.fisheye.k2, c.fisheye.k3, c.fisheye.k4] };
  const d = c.distortion;
  if (!d) return { ...size, model: 'PINHOLE', params: base };
  if (d.k3 || d.k4 || d.k5 || d.k6)
    return { ...size, model: 'FULL_OPENCV', params: [...base, d.k1, d.k2, d.p1, d.p2, d.k3 ?? 0, d.k4 ?? 0, d.k5 ?? 0, d.k6 ?? 0] };
  return { ...size, model: 'OPENCV', params: [...base, d.k1, d.k2, d.p1, d.p2] };
}

/** A frame of nerfstudio's transforms.json: OpenGL camera-to-world (ours times diag(1, −1, −1)) and its intrinsics. */
function transformsFrame(c: PosedView, filePath: string): Record<string, unknown> | null {
  const m = c.c2w;
  const d = c.distortion;
  // nerfstudio's OPENCV has k1, k2, k3, p1, p2: FULL_OPENCV's rational terms have no place there.
  if (d && (d.k4 || d.k5 || d.k6)) return null;
  return {
    file_path: filePath,
    transform_matrix: [
      [m[0], -m[1]!, -m[2]!, m[3]],
      [m[4], -m[5]!, -m[6]!, m[7]],
      [m[8], -m[9]!, -m[10]!, m[11]],
      [0, 0, 0, 1],
    ],
    w: c.width,
    h: c.height,
    fl_x: c.fx,
    fl_y: c.fy,
    cx: c.cx,
    cy: c.cy,
    ...(c.fisheye
      ? { camera_model: 'OPENCV_FISHEYE', ...c.fisheye }
      : d
        ? { camera_model: 'OPENCV', k1: d.k1, k2: d.k2, p1: d.p1, p2: d.p2, ...(d.k3 ? { k3: d.k3 } : {}) }
        : {}),
  };
}

/**
 * The names the capture's images are written under: the user's own, as the dataset named them
 * (without the images/ or images_N/ folder they were read from, so COLMAP's image names stay the
 * photos' names), as PNG since they are written as trained; a name two photos would share gets
 * its index.
 */
export function captureImageNames(paths: readonly string[]): string[] {
  const seen = new Set<string>();
  return paths.map((path, i) => {
    const stem = path.replace(/^(\.\/)?images(_\d+)?\//, '').replace(/\.[^./]*$/, '');
    let name = `${stem}.png`;
    if (seen.has(name.toLowerCase())) name = `${stem}-${i}.png`;
    seen.add(name.toLowerCase());
    return name;
  });
}

/** One view of a capture: its camera, the name its photo is written under (below images/) and the photo's file bytes. */
export interface CaptureView {
  view: PosedView;
  name: string;
  /** Left out where the caller writes the photos itself (the studio reads them from the user's files when it saves the capture). */
  image?: Uint8Array;
}

/** A capture's sparse points, in its world, with RGB8 colours and, per point, the views (index, x, y in pixels) that see it. */
export interface CapturePoints {
  xyz: ArrayLike<number>;
  rgb: ArrayLike<number>;
  observations?: { view: number; x: number; y: number }[][];
}

/** The capture's files by path: images/NAME, transforms.json and sparse/0/ (binary and text). */
export function captureFiles(views: readonly CaptureView[], points?: CapturePoints): RefinedCapture {
  const files = new Map<string, Uint8Array>();
  const notes: string[] = [];
  for (const v of views) if (v.image) files.set(`images/${v.name}`, v.image);
  const text = new TextEncoder();
  const frames = views.map((v) => transformsFrame(v.view, `images/${v.name}`));
  if (frames.every((f) => f !== null)) files.set('transforms.json', text.encode(`${JSON.stringify({ frames }, null, 1)}\n`));
  else
    notes.push(
      "transforms.json left out: a camera has FULL_OPENCV's rational lens terms (k4-k6), which nerfstudio's format cannot hold; the COLMAP model has them",
    );
  // Views with the same intrinsics share a COLMAP camera.
  const cameras: ColmapSpecCamera[] = [];
  const cameraIds = views.map((v) => {
    const cam = colmapCamera(v.view, cameras.length + 1);
    const same = cameras.find(
      (c) => c.model === cam.model && c.width === cam.width && c.height === cam.height && c.params.every((p, k) => p === cam.params[k]),
    );
    if (same) return same.id;
    cameras.push(cam);
    return cam.id;
  });
  // The points' observations as each image's 2D points and each point's track.
  const points2D = views.map(() => ({ xy: [] as number[], point3D: [] as number[] }));
  const tracks = points?.observations?.map((obs, i) =>
    obs.flatMap((o) => {
      const p2 = points2D[o.view]!;
      p2.xy.push(o.x, o.y);
      p2.point3D.push(i + 1);
      return [o.view + 1, p2.point3D.length - 1];
    }),
  );
  const model = {
    cameras,
    images: views.map((v, i) => ({
      id: i + 1,
      ...imagePose(v.view.c2w),
      cameraId: cameraIds[i]!,
      name: v.name,
      ...(tracks ? { points2D: points2D[i]! } : {}),
    })),
    points: { xyz: points?.xyz ?? [], rgb: points?.rgb ?? [], ...(tracks ? { tracks } : {}) },
  };
  const txt = colmapModelText(model);
  const bin = colmapModelBinary(model);
  files.set('sparse/0/cameras.txt', text.encode(txt.cameras));
  files.set('sparse/0/images.txt', text.encode(txt.images));
  files.set('sparse/0/points3D.txt', text.encode(txt.points));
  files.set('sparse/0/cameras.bin', bin.cameras);
  files.set('sparse/0/images.bin', bin.images);
  files.set('sparse/0/points3D.bin', bin.points);
  return { files, notes };
}

/**
 * Pose refinement's capture: the training images as trained, PNG under the photos' own names
 * (`paths[i]` as the dataset named them; `encodePng`: Node's pngjs for the CLI, the browser's
 * canvas for the studio), with the refined `cameras[i]`.
 */
export async function refinedCaptureFiles(
  cameras: readonly PosedView[],
  images: readonly Uint8Array[],
  paths: readonly string[],
  encodePng: (rgba: Uint8Array, width: number, height: number) => Uint8Array | Promise<Uint8Array>,
): Promise<RefinedCapture> {
  const names = captureImageNames(paths);
  const views: CaptureView[] = [];
  for (const [i, c] of cameras.entries()) views.push({ view: c, name: names[i]!, image: await encodePng(images[i]!, c.width, c.height) });
  return captureFiles(views);
}
