// What the transforms-file formats (NeRF-Synthetic/Blender, instant-ngp/nerfstudio) share: the
// JSON, frames with camera-to-world poses in OpenGL convention, intrinsics declared per file or per
// frame, and the checks every value gets (a message names the file, the frame and the key).

import type { FrameSpec, IntrinsicsSpec } from './plan.ts';
import { normalizePath } from './sources.ts';
import { DatasetError } from './types.ts';

/** Tolerance on |RᵀR − I| entries; poses in real files are stored with a handful of decimals. */
const ORTHONORMAL_TOL = 1e-2;

export type Json = Record<string, unknown>;

export function parseJson(text: string, file: string): Json {
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

/** The `frames` array of a transforms file, checked to be a non-empty array. */
export function frameList(json: Json, file: string): unknown[] {
  if (!('frames' in json)) throw new DatasetError(file, "missing required key 'frames'");
  const frames = json.frames;
  if (!Array.isArray(frames)) throw new DatasetError(file, "'frames' must be an array");
  if (frames.length === 0) throw new DatasetError(file, "'frames' is empty; the dataset has no images");
  return frames;
}

/**
 * The frames of a transforms file: each with its file path, its validated pose and the intrinsics
 * `intrinsicsOf` reads for it (format-specific). `defaultExtension` is appended to extensionless
 * paths (NeRF-Synthetic writes "./train/r_0").
 */
export function parseFrames(
  frames: unknown[],
  file: string,
  intrinsicsOf: (frame: Json, index: number) => IntrinsicsSpec,
  defaultExtension?: string,
): FrameSpec[] {
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
    if (defaultExtension && !hasExtension(imagePath)) imagePath += defaultExtension;
    return { index, filePath, imagePath, c2wGL, intrinsics: intrinsicsOf(frame, index) };
  });
}

/** Returns the value of an optional numeric key, throwing if it is present but not a finite number. */
export function readNumber(obj: Json, key: string, file: string, ctx: string): number | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new DatasetError(file, `'${key}' at ${ctx} must be a finite number, got ${describe(v)}`);
  }
  return v;
}

export function checkAngle(angle: number, key: string, file: string, ctx: string): void {
  if (!(angle > 0 && angle < Math.PI)) {
    throw new DatasetError(file, `'${key}' at ${ctx} must be a field of view in radians between 0 and pi, got ${angle}`);
  }
}

/** Validates a 4x4 or 3x4 camera-to-world matrix and returns its top 3x4 rows, row-major. */
function parsePose(m: unknown, file: string, desc: string): Float64Array {
  const shapeOk = Array.isArray(m) && (m.length === 4 || m.length === 3) && m.every((row) => Array.isArray(row) && row.length === 4);
  if (!shapeOk) throw new DatasetError(file, `${desc} has a transform_matrix that is not a 4x4 (or 3x4) array of numbers`);
  const rows = m as unknown[][];
  const out = new Float64Array(12);
  for (let r = 0; r < rows.length; r++) {
    for (let c = 0; c < 4; c++) {
      const v = rows[r][c];
      // JSON has no NaN; it shows up as null (JSON.stringify(NaN)) and overflow like 1e999 parses to Infinity.
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new DatasetError(file, `${desc} has a non-finite transform_matrix (entry [${r}][${c}] is ${describe(v)})`);
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
  const det = out[0] * (out[5] * out[10] - out[6] * out[9]) - out[1] * (out[4] * out[10] - out[6] * out[8]) + out[2] * (out[4] * out[9] - out[5] * out[8]);
  if (det < 0) {
    throw new DatasetError(file, `${desc} has a transform_matrix whose rotation part is a reflection (determinant ${det.toFixed(3)})`);
  }
  return out;
}

/**
 * OpenGL/Blender camera (x right, y up, looking down -z) to OpenCV camera (x right, y down,
 * z forward): c2w_cv = c2w_gl · diag(1, -1, -1, 1), i.e. negate rotation columns 1 and 2.
 */
export function glToCv(gl: Float64Array): Float64Array {
  const cv = Float64Array.from(gl);
  for (let r = 0; r < 3; r++) {
    cv[r * 4 + 1] = -cv[r * 4 + 1];
    cv[r * 4 + 2] = -cv[r * 4 + 2];
  }
  return cv;
}

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A JSON value for messages; unlike JSON.stringify it shows Infinity/NaN as such rather than null. */
export function describe(v: unknown): string {
  return typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? String(v));
}

export function hasExtension(path: string): boolean {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return base.lastIndexOf('.') > 0;
}

export function joinLabel(label: string, path: string): string {
  return label === '' ? path : `${label.replace(/[\\/]+$/, '')}/${path}`;
}
