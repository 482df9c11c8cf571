// COLMAP datasets (COLMAP itself, RealityScan, Metashape's COLMAP export, nerfstudio's
// ns-process-data): a sparse model (binary or text) in sparse/N, sparse, colmap/sparse/N or the
// top level, beside an images folder (pre-downscaled images_2, images_4, images_8 are used when the
// downscale matches). Where there are several models, the one with the most registered images is
// taken and the choice is said. The poses and sparse points stay in the model's world; the loader
// places them (placement.ts: mean up +z, the points' robust box within [-1.5, 1.5]), and the points
// come along for the Dataset view. Every 8th image (by name) is held out for testing, the LLFF protocol.

import { quaternionToRotation } from '../camera/rotation.ts';
import {
  type ColmapCamera,
  type ColmapImage,
  type ColmapModel,
  readCamerasBin,
  readCamerasText,
  readImagesBin,
  readImagesText,
  readPointsBin,
  readPointsText,
} from './colmap-model.ts';
import { type DatasetFormat, type DatasetPlan, type FrameSpec, heldOutSplits, type IntrinsicsSpec, type PlanRequest } from './plan.ts';
import { normalizePath } from './sources.ts';
import { glToCv, joinLabel } from './transforms-json.ts';
import { DatasetError, type FileSource } from './types.ts';

/** Folders a sparse model is looked for in, in order of preference on a tie. */
const MODEL_DIRS = [...Array.from({ length: 10 }, (_, i) => `sparse/${i}/`), 'sparse/', ...Array.from({ length: 10 }, (_, i) => `colmap/sparse/${i}/`), ''];
/** Pre-downscaled image folders COLMAP-based tools write (LLFF, nerfstudio, Mip-NeRF 360). */
const PRESCALED = [2, 4, 8];

interface ModelFiles {
  dir: string;
  kind: 'bin' | 'txt';
}

async function findModels(src: FileSource): Promise<ModelFiles[]> {
  const found: ModelFiles[] = [];
  for (const dir of MODEL_DIRS) {
    for (const kind of ['bin', 'txt'] as const) {
      if ((await src.exists(`${dir}cameras.${kind}`)) && (await src.exists(`${dir}images.${kind}`))) {
        found.push({ dir, kind });
        break;
      }
    }
  }
  return found;
}

async function readImages(src: FileSource, m: ModelFiles): Promise<ColmapImage[]> {
  const path = `${m.dir}images.${m.kind}`;
  const file = joinLabel(src.label, path);
  return m.kind === 'bin' ? readImagesBin(await src.readBytes(path), file) : readImagesText(await src.readText(path), file);
}

async function readModel(src: FileSource, m: ModelFiles, images: ColmapImage[]): Promise<ColmapModel> {
  const where = (name: string) => joinLabel(src.label, `${m.dir}${name}.${m.kind}`);
  const cameras =
    m.kind === 'bin'
      ? readCamerasBin(await src.readBytes(`${m.dir}cameras.bin`), where('cameras'))
      : readCamerasText(await src.readText(`${m.dir}cameras.txt`), where('cameras'));
  const pointsPath = `${m.dir}points3D.${m.kind}`;
  let points: ColmapModel['points'] = { xyz: new Float64Array(0), rgb: new Uint8Array(0) };
  if (await src.exists(pointsPath)) {
    points =
      m.kind === 'bin' ? readPointsBin(await src.readBytes(pointsPath), where('points3D')) : readPointsText(await src.readText(pointsPath), where('points3D'));
  }
  return { cameras, images, points };
}

export const colmapFormat: DatasetFormat = {
  name: 'the COLMAP model',
  detect: async (src) => (await findModels(src)).length > 0,
  async plan(src, request) {
    const models = await findModels(src);
    // The model with the most registered images (COLMAP's mapper may split a capture in several).
    const counted = await Promise.all(models.map(async (m) => ({ m, images: await readImages(src, m) })));
    const best = counted.reduce((a, b) => (b.images.length > a.images.length ? b : a));
    if (counted.length > 1) {
      const others = counted.filter((c) => c !== best).map((c) => `${c.m.dir || './'} (${c.images.length})`);
      request.warnings.push(
        `${joinLabel(src.label, best.m.dir || './')}: using this sparse model, which registers ${best.images.length} images; also found ${others.join(', ')}`,
      );
    }
    if (best.images.length === 0) throw new DatasetError(joinLabel(src.label, `${best.m.dir}images.${best.m.kind}`), 'the model registers no images');
    const model = await readModel(src, best.m, best.images);
    return planModel(src, best.m, model, request);
  },
};

async function planModel(src: FileSource, files: ModelFiles, model: ColmapModel, request: PlanRequest): Promise<DatasetPlan> {
  const imagesFile = `${files.dir}images.${files.kind}`;
  const camerasLabel = joinLabel(src.label, `${files.dir}cameras.${files.kind}`);
  const imagesLabel = joinLabel(src.label, imagesFile);
  // Images sit in images/ beside sparse/ (or beside colmap/ for nerfstudio), or beside the model.
  const root = files.dir.startsWith('colmap/') ? '' : files.dir.replace(/sparse\/(\d+\/)?$/, '');
  const folders = [...new Set([`${root}images/`, 'images/', root])];

  const present: FrameSpec[] = [];
  const missing: string[] = [];
  const sorted = [...model.images].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const img of sorted) {
    const cam = model.cameras.get(img.cameraId);
    if (!cam) throw new DatasetError(imagesLabel, `image ${img.id} (${img.name}) uses camera ${img.cameraId}, which ${camerasLabel} does not define`);
    const name = normalizePath(img.name);
    const found = await findImage(src, folders, name, request.downscale);
    if (!found) {
      missing.push(name);
      continue;
    }
    present.push({
      index: img.id,
      filePath: img.name,
      imagePath: found.path,
      maskPath: await findMask(src, found.path, name),
      preScaled: found.preScaled,
      // The same axis flip turns OpenCV axes into OpenGL ones.
      c2wGL: glToCv(cameraToWorld(img)),
      intrinsics: intrinsicsOf(cam, camerasLabel),
    });
  }
  if (present.length === 0) {
    throw new DatasetError(
      imagesLabel,
      `none of the ${sorted.length} registered images were found in ${folders.map((f) => f || './').join(' or ')} (first: ${sorted[0]!.name})`,
    );
  }
  if (missing.length > 0) {
    const shown = missing.slice(0, 20).join(', ');
    const more = missing.length > 20 ? `, and ${missing.length - 20} more` : '';
    request.warnings.push(`${imagesLabel}: skipped ${missing.length} of ${sorted.length} registered images that are missing: ${shown}${more}`);
  }
  return {
    format: 'colmap',
    splits: heldOutSplits(present, imagesFile, request),
    // No box: the loader places the capture from its cameras and points (placement.ts).
    capturePoses: present.map((f) => glToCv(f.c2wGL)),
    nearFar: [0.05, 100],
    whiteBackground: false,
    ...(model.points.xyz.length > 0 ? { points: model.points } : {}),
  };
}

async function findImage(src: FileSource, folders: string[], name: string, downscale = 1): Promise<{ path: string; preScaled?: number } | null> {
  for (const folder of folders) {
    // Pre-downscaled copies are used only for the factor they were made at.
    if (PRESCALED.includes(downscale)) {
      const scaled = folder.replace(/images\/$/, `images_${downscale}/`);
      if (scaled !== folder && (await src.exists(scaled + name))) return { path: scaled + name, preScaled: downscale };
    }
    if (await src.exists(folder + name)) return { path: folder + name };
  }
  return null;
}

/**
 * COLMAP's mask of an image: masks/<image name>.png beside images/ (masks_2/ beside images_2/),
 * or the same name with the image's own extension.
 */
async function findMask(src: FileSource, imagePath: string, name: string): Promise<string | undefined> {
  const folder = imagePath.slice(0, imagePath.length - name.length).replace(/images(_\d+)?\/$/, 'masks$1/');
  if (!folder.endsWith('/') || !/masks(_\d+)?\/$/.test(folder)) return undefined;
  for (const candidate of [`${folder}${name}.png`, `${folder}${name}`]) if (await src.exists(candidate)) return candidate;
  return undefined;
}

/** A COLMAP camera as the intrinsics the loader takes (the models the ray generator undistorts). */
function intrinsicsOf(cam: ColmapCamera, file: string): IntrinsicsSpec {
  const p = cam.params;
  const base = { w: cam.width, h: cam.height, cx: p.cx, cy: p.cy };
  switch (cam.model) {
    case 'SIMPLE_PINHOLE':
      return { ...base, flX: p.f, flY: p.f };
    case 'PINHOLE':
      return { ...base, flX: p.fx, flY: p.fy };
    case 'SIMPLE_RADIAL':
      return { ...base, flX: p.f, flY: p.f, distortion: { k1: p.k!, k2: 0, p1: 0, p2: 0 } };
    case 'RADIAL':
      return { ...base, flX: p.f, flY: p.f, distortion: { k1: p.k1!, k2: p.k2!, p1: 0, p2: 0 } };
    case 'OPENCV':
      return { ...base, flX: p.fx, flY: p.fy, distortion: { k1: p.k1!, k2: p.k2!, p1: p.p1!, p2: p.p2! } };
    case 'FULL_OPENCV':
      return { ...base, flX: p.fx, flY: p.fy, distortion: { k1: p.k1!, k2: p.k2!, p1: p.p1!, p2: p.p2!, k3: p.k3!, k4: p.k4!, k5: p.k5!, k6: p.k6! } };
    case 'OPENCV_FISHEYE':
      return { ...base, flX: p.fx, flY: p.fy, fisheye: { k1: p.k1!, k2: p.k2!, k3: p.k3!, k4: p.k4! } };
    // COLMAP's radial fisheye models are the same equidistant projection with fewer terms.
    case 'SIMPLE_RADIAL_FISHEYE':
      return { ...base, flX: p.f, flY: p.f, fisheye: { k1: p.k!, k2: 0, k3: 0, k4: 0 } };
    case 'RADIAL_FISHEYE':
      return { ...base, flX: p.f, flY: p.f, fisheye: { k1: p.k1!, k2: p.k2!, k3: 0, k4: 0 } };
    default:
      throw new DatasetError(
        file,
        `camera ${cam.id} uses the ${cam.model} model, which Slimfield cannot undistort yet (it takes SIMPLE_PINHOLE, PINHOLE, SIMPLE_RADIAL, RADIAL, OPENCV, FULL_OPENCV, OPENCV_FISHEYE, SIMPLE_RADIAL_FISHEYE and RADIAL_FISHEYE); undistort the images with COLMAP's image_undistorter, or reconstruct with one of those models`,
      );
  }
}

// ---------------------------------------------------------------------------------------------
// Poses

/** An image's camera-to-world, row-major 3x4, OpenCV axes, in the model's world: [Rᵀ | −Rᵀt]. */
function cameraToWorld(img: ColmapImage): Float64Array {
  const r = quaternionToRotation(img.q);
  const out = new Float64Array(12);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) out[i * 4 + j] = r[j * 3 + i]!;
    out[i * 4 + 3] = -(r[i]! * img.t[0] + r[3 + i]! * img.t[1] + r[6 + i]! * img.t[2]);
  }
  return out;
}
