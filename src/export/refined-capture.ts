// Pose refinement's result as a capture that opens again: the training images as trained (PNG,
// at the downscale used, alpha kept) with their refined cameras, both as a nerfstudio
// transforms.json and as a COLMAP text model (sparse/0). The poses are in the model's world (the
// capture as Slimfield placed it: upright, centred and scaled, data/placement.ts), the frame the
// refinement happened in; OpenCV lens parameters travel with each camera.
import { type ColmapSpecCamera, colmapModelText, imagePose } from '../data/colmap-model.ts';
import type { PosedView } from '../data/types.ts';

/** The files of the refined capture by path ('/'-separated, relative to its folder), and why any format was left out. */
export interface RefinedCapture {
  files: Map<string, Uint8Array>;
  notes: string[];
}

/** The COLMAP camera of one of ours: PINHOLE, OPENCV, FULL_OPENCV or OPENCV_FISHEYE. */
function colmapCamera(c: PosedView, id: number): ColmapSpecCamera {
  const base = [c.fx, c.fy, c.cx, c.cy];
  const size = { id, width: c.width, height: c.height };
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

/**
 * The refined capture's files: images/NAME.png under the photos' own names (`paths[i]` as the
 * dataset named them; each `images[i]` encoded by `encodePng`: Node's pngjs for the CLI, the
 * browser's canvas for the studio), transforms.json and sparse/0/{cameras,images,points3D}.txt for
 * `cameras[i]`.
 */
export async function refinedCaptureFiles(
  cameras: readonly PosedView[],
  images: readonly Uint8Array[],
  paths: readonly string[],
  encodePng: (rgba: Uint8Array, width: number, height: number) => Uint8Array | Promise<Uint8Array>,
): Promise<RefinedCapture> {
  const files = new Map<string, Uint8Array>();
  const notes: string[] = [];
  const names = captureImageNames(paths);
  for (const [i, c] of cameras.entries()) files.set(`images/${names[i]}`, await encodePng(images[i]!, c.width, c.height));
  const text = new TextEncoder();
  const frames = cameras.map((c, i) => transformsFrame(c, `images/${names[i]}`));
  if (frames.every((f) => f !== null)) files.set('transforms.json', text.encode(`${JSON.stringify({ frames }, null, 1)}\n`));
  else
    notes.push(
      "transforms.json left out: a camera has FULL_OPENCV's rational lens terms (k4-k6), which nerfstudio's format cannot hold; the COLMAP model has them",
    );
  const model = colmapModelText({
    cameras: cameras.map((c, i) => colmapCamera(c, i + 1)),
    images: cameras.map((c, i) => ({ id: i + 1, ...imagePose(c.c2w), cameraId: i + 1, name: names[i]! })),
    points: { xyz: [], rgb: [] },
  });
  files.set('sparse/0/cameras.txt', text.encode(model.cameras));
  files.set('sparse/0/images.txt', text.encode(model.images));
  files.set('sparse/0/points3D.txt', text.encode(model.points));
  return { files, notes };
}
