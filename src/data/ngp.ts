// instant-ngp and nerfstudio datasets: one transforms.json whose intrinsics sit at the top level or,
// nerfstudio-style, per frame, with optional OpenCV distortion; frames whose images are missing
// are skipped with a warning (exports often list deleted shots).
import { type DatasetFormat, type FrameSpec, heldOutSplits, type IntrinsicsSpec } from './plan.ts';
import { checkAngle, frameList, hasExtension, type Json, joinLabel, parseFrames, parseJson, readNumber } from './transforms-json.ts';
import { DatasetError, type FileSource } from './types.ts';

export const ngpFormat: DatasetFormat = {
  detect: (src) => src.exists('transforms.json'),
  /** The present frames, every 8th held out as the test split (instant-ngp datasets have none). */
  async plan(src, request) {
    const { warnings } = request;
    const where = (path: string): string => joinLabel(src.label, path);
    const jsonPath = 'transforms.json';
    if (request.splits?.includes('val')) warnings.push(`${where(jsonPath)}: instant-ngp datasets have no val split`);
    const file = where(jsonPath);
    const json = parseJson(await src.readText(jsonPath), file);
    const frames = parseFrames(frameList(json, file), file, (frame, index) => parseNgpIntrinsics(json, frame, file, index));
    const present: FrameSpec[] = [];
    const missing: string[] = [];
    for (const f of frames) {
      const found = await findImage(src, f.imagePath);
      if (found === undefined) missing.push(f.imagePath);
      else present.push({ ...f, imagePath: found });
    }
    if (present.length === 0) {
      throw new DatasetError(file, `none of the ${frames.length} images listed in frames[].file_path exist (first missing: ${missing[0]})`);
    }
    if (missing.length > 0) {
      const shown = missing.slice(0, 20).join(', ');
      const more = missing.length > 20 ? `, and ${missing.length - 20} more` : '';
      warnings.push(`${file}: skipped ${missing.length} of ${frames.length} frames whose images are missing: ${shown}${more}`);
    }
    return {
      format: 'instant-ngp',
      splits: heldOutSplits(present, jsonPath, request),
      // The same box as Blender, unscaled: instant-ngp maps json coordinates into its unit cube with
      // scale 0.33 and offset 0.5, so its default object region [0,1]^3 is about [-1.5, 1.5]^3 in the
      // json's coordinates. aabb_scale (which only enlarges the background region) is not applied.
      aabb: [
        [-1.5, -1.5, -1.5],
        [1.5, 1.5, 1.5],
      ],
      nearFar: [0.05, 100],
      whiteBackground: false,
    };
  },
};

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
  const k1 = get('k1');
  const k2 = get('k2');
  const p1 = get('p1');
  const p2 = get('p2');
  if (k1 !== undefined || k2 !== undefined || p1 !== undefined || p2 !== undefined) {
    spec.distortion = { k1: k1 ?? 0, k2: k2 ?? 0, p1: p1 ?? 0, p2: p2 ?? 0 };
  }
  return spec;
}

/** For extensionless file_paths in instant-ngp files, try the usual image extensions. */
async function findImage(src: FileSource, path: string): Promise<string | undefined> {
  const candidates = hasExtension(path) ? [path] : [path, ...['.png', '.jpg', '.jpeg', '.PNG', '.JPG', '.JPEG'].map((e) => path + e)];
  for (const c of candidates) if (await src.exists(c)) return c;
  return undefined;
}
