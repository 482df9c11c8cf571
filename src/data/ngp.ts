// instant-ngp and nerfstudio datasets: one transforms.json whose intrinsics sit at the top level or,
// nerfstudio-style, per frame, with optional OpenCV distortion; frames whose images are missing
// are skipped with a warning (exports often list deleted shots).
import { type DatasetFormat, type FrameSpec, heldOutSplits, type IntrinsicsSpec } from './plan.ts';
import { normalizePath } from './sources.ts';
import { checkAngle, frameList, glToCv, hasExtension, type Json, joinLabel, parseFrames, parseJson, readNumber } from './transforms-json.ts';
import { DatasetError, type FileSource } from './types.ts';

export const ngpFormat: DatasetFormat = {
  name: 'the transforms.json',
  detect: (src) => src.exists('transforms.json'),
  /** The present frames, every 8th held out as the test split (instant-ngp datasets have none). */
  async plan(src, request) {
    const { warnings } = request;
    const where = (path: string): string => joinLabel(src.label, path);
    const jsonPath = 'transforms.json';
    if (request.splits?.includes('val')) warnings.push(`${where(jsonPath)}: instant-ngp datasets have no val split`);
    const file = where(jsonPath);
    const json = parseJson(await src.readText(jsonPath), file);
    const list = frameList(json, file);
    const frames = parseFrames(list, file, (frame, index) => parseNgpIntrinsics(json, frame, file, index));
    const present: FrameSpec[] = [];
    const missing: string[] = [];
    for (const f of frames) {
      const found = await findImage(src, f.imagePath);
      if (found === undefined) missing.push(f.imagePath);
      else present.push({ ...f, imagePath: found, maskPath: await maskOf(src, (list[f.index] as Json).mask_path, file, f.index) });
    }
    if (present.length === 0) {
      throw new DatasetError(file, `none of the ${frames.length} images listed in frames[].file_path exist (first missing: ${missing[0]})`);
    }
    if (missing.length > 0) {
      const shown = missing.slice(0, 20).join(', ');
      const more = missing.length > 20 ? `, and ${missing.length - 20} more` : '';
      warnings.push(`${file}: skipped ${missing.length} of ${frames.length} frames whose images are missing: ${shown}${more}`);
    }
    const aabb = objectBox(json, file);
    return {
      format: 'instant-ngp',
      splits: heldOutSplits(present, jsonPath, request),
      ...(aabb ? { aabb } : { capturePoses: present.map((f) => glToCv(f.c2wGL)) }),
      nearFar: [0.05, 100],
      whiteBackground: false,
    };
  },
};

/**
 * The object region in the json's coordinates, where the json states it. instant-ngp maps a json
 * position p to p * scale + offset (then cycles the axes) and keeps the object in its unit cube
 * [0, 1]^3, so the region is ([0, 1] - offset) / scale per axis. Without either key the json's
 * coordinates say nothing (nerfstudio keeps COLMAP's; instant-ngp's defaults 0.33 and 0.5 assume
 * colmap2nerf's scaling), so the loader places the capture from its cameras as it places a COLMAP
 * model's (placement.ts), and the same capture makes the same model in either format. aabb_scale
 * only enlarges the background region, which the contraction covers.
 */
function objectBox(json: Json, file: string): [[number, number, number], [number, number, number]] | undefined {
  if (json.scale === undefined && json.offset === undefined) return undefined;
  const scale = readNumber(json, 'scale', file, 'top level') ?? 0.33;
  if (!(scale > 0)) throw new DatasetError(file, `'scale' at top level must be a positive number, got ${scale}`);
  const offset = json.offset ?? [0.5, 0.5, 0.5];
  if (!Array.isArray(offset) || offset.length !== 3 || !offset.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new DatasetError(file, `'offset' at top level must be a list of three finite numbers, got ${JSON.stringify(json.offset)}`);
  }
  const o = offset as number[];
  return [[0, 1, 2].map((k) => -o[k]! / scale), [0, 1, 2].map((k) => (1 - o[k]!) / scale)] as [[number, number, number], [number, number, number]];
}

/** Camera models a transforms file may name (nerfstudio's camera_model) that Slimfield undistorts. */
const CAMERA_MODELS = new Set(['OPENCV', 'PINHOLE', 'SIMPLE_PINHOLE', 'OPENCV_FISHEYE']);

/** instant-ngp keys may sit at the top level or, nerfstudio-style, be overridden per frame. */
function parseNgpIntrinsics(json: Json, frame: Json, file: string, index: number): IntrinsicsSpec {
  const get = (key: string): number | undefined => {
    if (frame[key] !== undefined) return readNumber(frame, key, file, `frame ${index}`);
    return readNumber(json, key, file, 'top level');
  };
  const ctxOf = (key: string): string => (frame[key] !== undefined ? `frame ${index}` : 'top level');
  const positive = (key: string): number | undefined => {
    const v = get(key);
    if (v !== undefined && !(v > 0)) {
      throw new DatasetError(file, `'${key}' at ${ctxOf(key)} must be a positive finite number, got ${v}`);
    }
    return v;
  };
  const spec: IntrinsicsSpec = {
    flX: positive('fl_x'),
    flY: positive('fl_y'),
    angleX: get('camera_angle_x'),
    angleY: get('camera_angle_y'),
    cx: get('cx'),
    cy: get('cy'),
    w: positive('w'),
    h: positive('h'),
  };
  if (spec.angleX !== undefined) checkAngle(spec.angleX, 'camera_angle_x', file, ctxOf('camera_angle_x'));
  if (spec.angleY !== undefined) checkAngle(spec.angleY, 'camera_angle_y', file, ctxOf('camera_angle_y'));
  for (const key of ['w', 'h'] as const) {
    const v = spec[key];
    if (v !== undefined && !Number.isInteger(v)) {
      throw new DatasetError(file, `'${key}' at ${ctxOf(key)} must be a whole number of pixels, got ${v}`);
    }
  }
  if (spec.flX === undefined && spec.flY === undefined && spec.angleX === undefined && spec.angleY === undefined) {
    throw new DatasetError(
      file,
      `frame ${index} has no focal length: missing required key 'fl_x' (or 'camera_angle_x'), neither at the top level nor in the frame`,
    );
  }
  // nerfstudio names its camera model: OPENCV_FISHEYE's k1..k4 are the fisheye projection's.
  const model = frame.camera_model ?? json.camera_model;
  if (model !== undefined && !CAMERA_MODELS.has(String(model))) {
    throw new DatasetError(
      file,
      `frame ${index} uses camera_model "${String(model)}", which Slimfield cannot undistort yet (it takes OPENCV, OPENCV_FISHEYE, PINHOLE and SIMPLE_PINHOLE); undistort the images first`,
    );
  }
  const k1 = get('k1');
  const k2 = get('k2');
  const k3 = get('k3');
  const k4 = get('k4');
  const p1 = get('p1');
  const p2 = get('p2');
  if (model === 'OPENCV_FISHEYE') {
    spec.fisheye = { k1: k1 ?? 0, k2: k2 ?? 0, k3: k3 ?? 0, k4: k4 ?? 0 };
    return spec;
  }
  // nerfstudio's k4 is an r^8 term, which OpenCV's rational model has no place for.
  if (k4 !== undefined && k4 !== 0) {
    throw new DatasetError(
      file,
      `'k4' at ${ctxOf('k4')} is ${k4}: Slimfield's OpenCV lens model has k1, k2, k3, p1 and p2, so these images would be undistorted wrongly`,
    );
  }
  if (k1 !== undefined || k2 !== undefined || p1 !== undefined || p2 !== undefined || k3 !== undefined) {
    spec.distortion = { k1: k1 ?? 0, k2: k2 ?? 0, p1: p1 ?? 0, p2: p2 ?? 0, ...(k3 ? { k3 } : {}) };
  }
  return spec;
}

/** nerfstudio's per-frame mask_path (0 where the pixel is not a part of the scene), checked to exist. */
async function maskOf(src: FileSource, value: unknown, file: string, index: number): Promise<string | undefined> {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw new DatasetError(file, `frame ${index} has a 'mask_path' that is not a non-empty string`);
  const path = normalizePath(value);
  if (!(await src.exists(path))) throw new DatasetError(joinLabel(src.label, path), `mask not found (listed as frame ${index}'s mask_path in ${file})`);
  return path;
}

/** For extensionless file_paths in instant-ngp files, try the usual image extensions. */
async function findImage(src: FileSource, path: string): Promise<string | undefined> {
  const candidates = hasExtension(path) ? [path] : [path, ...['.png', '.jpg', '.jpeg', '.PNG', '.JPG', '.JPEG'].map((e) => path + e)];
  for (const c of candidates) if (await src.exists(c)) return c;
  return undefined;
}
