// Dataset loading for NeRF-Synthetic (Blender) and instant-ngp / nerfstudio transforms files.
// Environment-neutral: file access goes through a FileSource and image decoding through an
// ImageDecoder, so the same code runs in Node (CLI, tests) and in the browser.

import { normalizePath } from './sources.ts';
import {
  DatasetError,
  type Camera,
  type Dataset,
  type DecodedImage,
  type FileSource,
  type ImageDecoder,
  type Split,
  type SplitName,
} from './types.ts';

export interface LoadOptions {
  /** Integer factor >= 1; images are box-filtered and intrinsics divided by it. Default 1. */
  downscale?: number;
  decode: ImageDecoder;
  /** Splits to load (Blender only; instant-ngp has only 'train'). 'train' is always loaded. Default: all present. */
  splits?: SplitName[];
  /** Called after each image is decoded; total counts images over all splits being loaded. */
  onProgress?: (done: number, total: number) => void;
  /** Cap on images per split, picked evenly spaced over the frame list (frame 0 always kept). For quick tests. */
  maxImages?: number;
}

const ALL_SPLITS: SplitName[] = ['train', 'val', 'test'];
/** How many images are read/decoded at once; decoders that are truly async (browser) profit from overlap. */
const DECODE_CONCURRENCY = 4;
/** Tolerance on |RᵀR − I| entries; poses in real files are stored with a handful of decimals. */
const ORTHONORMAL_TOL = 1e-2;

/** One frame of a transforms file, validated but with its image not yet read. */
interface FrameSpec {
  /** index in the json's frames array (for messages) */
  index: number;
  /** file_path exactly as written in the json (for messages) */
  filePath: string;
  /** normalised path of the image inside the source */
  imagePath: string;
  /** camera-to-world, row-major 3x4, OpenGL convention as stored in the file */
  c2wGL: Float64Array;
  intrinsics: IntrinsicsSpec;
}

/** Intrinsics as declared in the file; whatever is missing is derived from the image size. */
interface IntrinsicsSpec {
  flX?: number;
  flY?: number;
  angleX?: number;
  angleY?: number;
  cx?: number;
  cy?: number;
  w?: number;
  h?: number;
  distortion?: { k1: number; k2: number; p1: number; p2: number };
}

/** A split's metadata after validation and existence checks, before decoding. */
interface SplitPlan {
  name: SplitName;
  jsonPath: string;
  frames: FrameSpec[];
}

export async function loadDataset(src: FileSource, opts: LoadOptions): Promise<Dataset> {
  const where = (path: string): string => joinLabel(src.label, path);
  const downscale = opts.downscale ?? 1;
  if (!Number.isInteger(downscale) || downscale < 1) {
    throw new DatasetError(src.label, `downscale must be a positive integer (1, 2, 4, ...), got ${downscale}`);
  }
  if (opts.maxImages !== undefined && (!Number.isInteger(opts.maxImages) || opts.maxImages < 1)) {
    throw new DatasetError(src.label, `maxImages must be a positive integer, got ${opts.maxImages}`);
  }
  const requested = opts.splits ?? ALL_SPLITS;
  const explicitSplits = opts.splits !== undefined;
  const warnings: string[] = [];

  let format: Dataset['format'];
  const plans: SplitPlan[] = [];
  if (await src.exists('transforms_train.json')) {
    format = 'blender';
    for (const name of ALL_SPLITS) {
      if (name !== 'train' && !requested.includes(name)) continue;
      const jsonPath = `transforms_${name}.json`;
      if (!(await src.exists(jsonPath))) {
        if (explicitSplits && requested.includes(name)) {
          warnings.push(`${where(jsonPath)}: not found, so there is no ${name} split`);
        }
        continue;
      }
      const json = parseJson(await src.readText(jsonPath), where(jsonPath));
      const frames = parseFrames(json, where(jsonPath), 'blender');
      // Blender splits are curated lists: a missing image is a broken dataset, not something to skip.
      for (const f of frames) {
        if (!(await src.exists(f.imagePath))) {
          throw new DatasetError(
            where(f.imagePath),
            `image not found (listed as frame ${f.index} "${f.filePath}" in ${jsonPath})`,
          );
        }
      }
      plans.push({ name, jsonPath, frames: pickEvenly(frames, opts.maxImages) });
    }
  } else if (await src.exists('transforms.json')) {
    format = 'instant-ngp';
    const jsonPath = 'transforms.json';
    if (explicitSplits && requested.some((s) => s !== 'train')) {
      warnings.push(`${where(jsonPath)}: instant-ngp datasets have no val/test split; all frames are loaded as 'train'`);
    }
    const json = parseJson(await src.readText(jsonPath), where(jsonPath));
    const frames = parseFrames(json, where(jsonPath), 'instant-ngp');
    // instant-ngp / COLMAP exports often list frames whose images were later deleted
    // (blurry shots etc.); those are skipped with a warning rather than failing the load.
    const present: FrameSpec[] = [];
    const missing: string[] = [];
    for (const f of frames) {
      const found = await findImage(src, f.imagePath);
      if (found === undefined) missing.push(f.imagePath);
      else present.push({ ...f, imagePath: found });
    }
    if (present.length === 0) {
      throw new DatasetError(
        where(jsonPath),
        `none of the ${frames.length} images listed in frames[].file_path exist (first missing: ${missing[0]})`,
      );
    }
    if (missing.length > 0) {
      const shown = missing.slice(0, 20).join(', ');
      const more = missing.length > 20 ? `, and ${missing.length - 20} more` : '';
      warnings.push(
        `${where(jsonPath)}: skipped ${missing.length} of ${frames.length} frames whose images are missing: ${shown}${more}`,
      );
    }
    plans.push({ name: 'train', jsonPath, frames: pickEvenly(present, opts.maxImages) });
  } else {
    throw new DatasetError(
      src.label,
      'no transforms_train.json or transforms.json found at the top level ' +
        '(expected a NeRF-Synthetic/Blender folder or an instant-ngp/nerfstudio folder)',
    );
  }

  const total = plans.reduce((n, p) => n + p.frames.length, 0);
  const progress = { done: 0, total, onProgress: opts.onProgress };
  const splits: Partial<Record<SplitName, Split>> = {};
  for (const plan of plans) {
    splits[plan.name] = await loadSplit(src, plan, downscale, opts.decode, progress);
  }

  const blender = format === 'blender';
  return {
    format,
    name: datasetName(src.label),
    splits,
    // Blender scenes sit inside [-1.5, 1.5]^3 by construction. For instant-ngp the same box is
    // used unscaled: instant-ngp maps json coordinates into its unit cube with scale 0.33 and
    // offset 0.5, so its default object region [0,1]^3 is about [-1.5, 1.5]^3 in the json's
    // coordinates. aabb_scale (which only enlarges the background region) is not applied.
    aabb: [
      [-1.5, -1.5, -1.5],
      [1.5, 1.5, 1.5],
    ],
    nearFar: blender ? [2, 6] : [0.05, 100],
    whiteBackground: blender,
    warnings,
  };
}

/**
 * Box-filter downscale by an integer factor k: each kxk block of all four RGBA channels is
 * averaged and rounded to nearest. The output is floor(w/k) x floor(h/k); the right/bottom
 * remainder is cropped, so pixel edges stay aligned and intrinsics scale by exactly 1/k.
 * With k = 1 the input array is returned as is (no copy).
 */
export function downscaleRGBA(data: Uint8Array, w: number, h: number, k: number): DecodedImage {
  if (k === 1) return { width: w, height: h, data };
  const ow = Math.floor(w / k);
  const oh = Math.floor(h / k);
  const out = new Uint8Array(ow * oh * 4);
  const acc = new Uint32Array(ow * 4);
  const n = k * k;
  const half = n >> 1;
  for (let oy = 0; oy < oh; oy++) {
    acc.fill(0);
    for (let dy = 0; dy < k; dy++) {
      let src = (oy * k + dy) * w * 4;
      for (let ox = 0; ox < ow; ox++) {
        const a = ox * 4;
        for (let dx = 0; dx < k; dx++) {
          acc[a] += data[src];
          acc[a + 1] += data[src + 1];
          acc[a + 2] += data[src + 2];
          acc[a + 3] += data[src + 3];
          src += 4;
        }
      }
    }
    const row = oy * ow * 4;
    // Integer round-half-up, identical to Math.round for these non-negative sums.
    for (let i = 0; i < ow * 4; i++) out[row + i] = Math.floor((acc[i] + half) / n);
  }
  return { width: ow, height: oh, data: out };
}

// ---------------------------------------------------------------------------------------------
// Image loading

async function loadSplit(
  src: FileSource,
  plan: SplitPlan,
  k: number,
  decode: ImageDecoder,
  progress: { done: number; total: number; onProgress?: (done: number, total: number) => void },
): Promise<Split> {
  const where = (path: string): string => joinLabel(src.label, path);
  const jsonLabel = where(plan.jsonPath);

  const loaded = await mapPool(plan.frames, DECODE_CONCURRENCY, async (f) => {
    const bytes = await src.readBytes(f.imagePath);
    let img: DecodedImage;
    try {
      img = await decode(bytes, where(f.imagePath));
    } catch (e) {
      if (e instanceof DatasetError) throw e;
      throw new DatasetError(where(f.imagePath), `cannot decode image (${(e as Error).message})`);
    }
    if (img.data.length !== img.width * img.height * 4) {
      throw new DatasetError(where(f.imagePath), `decoder returned ${img.data.length} bytes for a ${img.width}x${img.height} RGBA image`);
    }
    const { w, h } = f.intrinsics;
    if ((w !== undefined && w !== img.width) || (h !== undefined && h !== img.height)) {
      throw new DatasetError(
        where(f.imagePath),
        `image is ${img.width}x${img.height} but ${jsonLabel} declares w=${w ?? '?'}, h=${h ?? '?'} for frame ${f.index}`,
      );
    }
    if (k > img.width || k > img.height) {
      throw new DatasetError(where(f.imagePath), `downscale ${k} is larger than the image (${img.width}x${img.height})`);
    }
    const small = downscaleRGBA(img.data, img.width, img.height, k);
    progress.done++;
    progress.onProgress?.(progress.done, progress.total);
    return { fullW: img.width, fullH: img.height, small };
  });

  // Every image of a split must share one size (the Split stores a single width/height).
  const first = loaded[0];
  for (let i = 1; i < loaded.length; i++) {
    const cur = loaded[i];
    if (cur.fullW !== first.fullW || cur.fullH !== first.fullH) {
      throw new DatasetError(
        where(plan.frames[i].imagePath),
        `image is ${cur.fullW}x${cur.fullH} but the first image of the ${plan.name} split ` +
          `(${plan.frames[0].imagePath}) is ${first.fullW}x${first.fullH}; all images in a split must have the same size`,
      );
    }
  }

  const cameras = plan.frames.map((f, i) => {
    const { fullW, fullH, small } = loaded[i];
    const intr = resolveIntrinsics(f.intrinsics, fullW, fullH, `${jsonLabel} frame ${f.index}`);
    const cam: Camera = {
      width: small.width,
      height: small.height,
      fx: intr.fx / k,
      fy: intr.fy / k,
      cx: intr.cx / k,
      cy: intr.cy / k,
      c2w: glToCv(f.c2wGL),
    };
    if (f.intrinsics.distortion) cam.distortion = { ...f.intrinsics.distortion };
    return cam;
  });

  return {
    names: plan.frames.map((f) => f.imagePath),
    cameras,
    images: loaded.map((l) => l.small.data),
    width: first.small.width,
    height: first.small.height,
  };
}

/**
 * Runs fn over items with at most `limit` calls in flight, keeping result order. After a
 * failure no new items are started; the error of the lowest failing index is thrown, which
 * is deterministic because items are started in order.
 */
async function mapPool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  const errors: { index: number; error: unknown }[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && errors.length === 0) {
      const index = next++;
      try {
        results[index] = await fn(items[index]);
      } catch (error) {
        errors.push({ index, error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length > 0) {
    errors.sort((a, b) => a.index - b.index);
    throw errors[0].error;
  }
  return results;
}

/** For extensionless file_paths in instant-ngp files, try the usual image extensions. */
async function findImage(src: FileSource, path: string): Promise<string | undefined> {
  const candidates = hasExtension(path) ? [path] : [path, ...['.png', '.jpg', '.jpeg', '.PNG', '.JPG', '.JPEG'].map((e) => path + e)];
  for (const c of candidates) if (await src.exists(c)) return c;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// JSON validation

type Json = Record<string, unknown>;

function parseJson(text: string, file: string): Json {
  let value: unknown;
  try {
    // Strip a UTF-8 byte-order mark, which some Windows editors add.
    value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    throw new DatasetError(file, `invalid JSON (${(e as Error).message})`);
  }
  if (!isObject(value)) throw new DatasetError(file, 'expected a JSON object at the top level');
  return value;
}

function parseFrames(json: Json, file: string, format: Dataset['format']): FrameSpec[] {
  if (!('frames' in json)) throw new DatasetError(file, "missing required key 'frames'");
  const frames = json.frames;
  if (!Array.isArray(frames)) throw new DatasetError(file, "'frames' must be an array");
  if (frames.length === 0) throw new DatasetError(file, "'frames' is empty; the dataset has no images");

  if (format === 'blender') {
    const angle = readNumber(json, 'camera_angle_x', file, 'top level');
    if (angle === undefined) throw new DatasetError(file, "missing required key 'camera_angle_x' at the top level");
    checkAngle(angle, 'camera_angle_x', file, 'top level');
  }

  return frames.map((frame: unknown, index): FrameSpec => {
    if (!isObject(frame)) throw new DatasetError(file, `frame ${index} is not a JSON object`);
    const filePath = frame.file_path;
    if (filePath === undefined) throw new DatasetError(file, `frame ${index} is missing required key 'file_path'`);
    if (typeof filePath !== 'string' || filePath.trim() === '') {
      throw new DatasetError(file, `frame ${index} has a 'file_path' that is not a non-empty string`);
    }
    const desc = `frame ${index} (${filePath})`;
    if (frame.transform_matrix === undefined) {
      throw new DatasetError(file, `${desc} is missing required key 'transform_matrix'`);
    }
    const c2wGL = parsePose(frame.transform_matrix, file, desc);

    let imagePath = normalizePath(filePath);
    let intrinsics: IntrinsicsSpec;
    if (format === 'blender') {
      // NeRF-Synthetic file_paths omit the extension ("./train/r_0").
      if (!hasExtension(imagePath)) imagePath += '.png';
      intrinsics = { angleX: json.camera_angle_x as number };
    } else {
      intrinsics = parseNgpIntrinsics(json, frame, file, index);
    }
    return { index, filePath, imagePath, c2wGL, intrinsics };
  });
}

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

/** Fills in focal lengths and principal point from whatever the file declared, given the image size. */
function resolveIntrinsics(spec: IntrinsicsSpec, imgW: number, imgH: number, ctx: string) {
  const w = spec.w ?? imgW;
  const h = spec.h ?? imgH;
  const fromAngle = (size: number, angle: number | undefined): number | undefined =>
    angle === undefined ? undefined : (0.5 * size) / Math.tan(0.5 * angle);
  let fx = spec.flX ?? fromAngle(w, spec.angleX);
  let fy = spec.flY ?? fromAngle(h, spec.angleY);
  // With only one of the two given, pixels are assumed square (as instant-ngp does).
  fx ??= fy;
  fy ??= fx;
  if (fx === undefined || fy === undefined || !(fx > 0) || !(fy > 0) || !Number.isFinite(fx) || !Number.isFinite(fy)) {
    throw new DatasetError(ctx, `focal length must be a positive finite number, got fx=${fx}, fy=${fy}`);
  }
  return { fx, fy, cx: spec.cx ?? w / 2, cy: spec.cy ?? h / 2 };
}

/** Returns the value of an optional numeric key, throwing if it is present but not a finite number. */
function readNumber(obj: Json, key: string, file: string, ctx: string): number | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new DatasetError(file, `'${key}' at ${ctx} must be a finite number, got ${describe(v)}`);
  }
  return v;
}

function checkAngle(angle: number, key: string, file: string, ctx: string): void {
  if (!(angle > 0 && angle < Math.PI)) {
    throw new DatasetError(file, `'${key}' at ${ctx} must be a field of view in radians between 0 and pi, got ${angle}`);
  }
}

/** Validates a 4x4 or 3x4 camera-to-world matrix and returns its top 3x4 rows, row-major. */
function parsePose(m: unknown, file: string, desc: string): Float64Array {
  const shapeOk =
    Array.isArray(m) && (m.length === 4 || m.length === 3) && m.every((row) => Array.isArray(row) && row.length === 4);
  if (!shapeOk) throw new DatasetError(file, `${desc} has a transform_matrix that is not a 4x4 (or 3x4) array of numbers`);
  const rows = m as unknown[][];
  const out = new Float64Array(12);
  for (let r = 0; r < rows.length; r++) {
    for (let c = 0; c < 4; c++) {
      const v = rows[r][c];
      // JSON has no NaN; it shows up as null (JSON.stringify(NaN)) and overflow like 1e999 parses to Infinity.
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new DatasetError(
          file,
          `${desc} has a non-finite transform_matrix (entry [${r}][${c}] is ${describe(v)})`,
        );
      }
      if (r < 3) out[r * 4 + c] = v;
    }
  }
  // The rotation part must be a proper rotation: scaled or sheared poses would silently
  // distort rays, and a reflection flips the image.
  let maxErr = 0;
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      let dot = 0;
      for (let r = 0; r < 3; r++) dot += out[r * 4 + i] * out[r * 4 + j];
      maxErr = Math.max(maxErr, Math.abs(dot - (i === j ? 1 : 0)));
    }
  }
  if (maxErr > ORTHONORMAL_TOL) {
    throw new DatasetError(
      file,
      `${desc} has a transform_matrix whose rotation part is not orthonormal (max |RᵀR − I| = ${maxErr.toPrecision(3)}); scaled or sheared poses are not supported`,
    );
  }
  const det =
    out[0] * (out[5] * out[10] - out[6] * out[9]) -
    out[1] * (out[4] * out[10] - out[6] * out[8]) +
    out[2] * (out[4] * out[9] - out[5] * out[8]);
  if (det < 0) {
    throw new DatasetError(file, `${desc} has a transform_matrix whose rotation part is a reflection (determinant ${det.toFixed(3)})`);
  }
  return out;
}

/**
 * OpenGL/Blender camera (x right, y up, looking down -z) to OpenCV camera (x right, y down,
 * z forward): c2w_cv = c2w_gl · diag(1, -1, -1, 1), i.e. negate rotation columns 1 and 2.
 */
function glToCv(gl: Float64Array): Float64Array {
  const cv = Float64Array.from(gl);
  for (let r = 0; r < 3; r++) {
    cv[r * 4 + 1] = -cv[r * 4 + 1];
    cv[r * 4 + 2] = -cv[r * 4 + 2];
  }
  return cv;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A JSON value for messages; unlike JSON.stringify it shows Infinity/NaN as such rather than null. */
function describe(v: unknown): string {
  return typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? String(v));
}

function hasExtension(path: string): boolean {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return base.lastIndexOf('.') > 0;
}

/** Up to `max` items evenly spaced over the list, always including the first. */
function pickEvenly<T>(items: T[], max: number | undefined): T[] {
  if (max === undefined || items.length <= max) return items;
  return Array.from({ length: max }, (_, i) => items[Math.floor((i * items.length) / max)]);
}

function joinLabel(label: string, path: string): string {
  return label === '' ? path : `${label.replace(/[\\/]+$/, '')}/${path}`;
}

function datasetName(label: string): string {
  const parts = label.split(/[\\/]+/).filter((p) => p !== '');
  const last = parts[parts.length - 1] ?? 'dataset';
  return last.replace(/\.zip$/i, '');
}
