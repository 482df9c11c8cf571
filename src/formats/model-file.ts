// The first, simple model format ("SLIMFLD1"): everything needed to render or resume a trained
// field. The compact, progressive scene format is a separate issue.
//
// Layout (little-endian): 8-byte magic, u32 header length, UTF-8 JSON header, zero padding to a
// multiple of 4, then each segment's f32 values in header order, then the alpha-mask bits (u32).
import type { Box, Vec3 } from '../field/geometry.ts';
import type { FieldSettings } from '../field/settings.ts';

export const MODEL_MAGIC = 'SLIMFLD1';

export interface ModelHeader {
  settings: FieldSettings;
  box: Box;
  grid: Vec3;
  segments: { name: string; count: number }[];
  mask: { dims: Vec3; box: Box; words: number } | null;

  /** Free-form training facts (dataset, iterations, metrics). */
  info: Record<string, unknown>;
}

export interface ModelData {
  header: ModelHeader;
  values: Map<string, Float32Array>;
  maskBits: Uint32Array | null;
}

/** Byte layout of a file with this header: where the values start and the total length. */
function layout(header: ModelHeader): { json: Uint8Array; dataStart: number; total: number } {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headLen = 12 + json.length;
  const dataStart = headLen + ((4 - (headLen % 4)) % 4);
  const floats = header.segments.reduce((n, s) => n + s.count, 0);
  return { json, dataStart, total: dataStart + floats * 4 + (header.mask?.words ?? 0) * 4 };
}

/** Size in bytes of the file encodeModel writes for this header. */
export function encodedModelSize(header: ModelHeader): number {
  return layout(header).total;
}

export function encodeModel(data: ModelData): Uint8Array {
  const { json, dataStart, total } = layout(data.header);
  const words = data.maskBits?.length ?? 0;
  if (words !== (data.header.mask?.words ?? 0)) throw new Error('model: the mask bits do not match the header');
  const out = new Uint8Array(total);
  out.set(new TextEncoder().encode(MODEL_MAGIC), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  let at = dataStart;
  for (const s of data.header.segments) {
    const v = data.values.get(s.name)!;
    out.set(new Uint8Array(v.buffer, v.byteOffset, s.count * 4), at);
    at += s.count * 4;
  }
  if (data.maskBits) out.set(new Uint8Array(data.maskBits.buffer, data.maskBits.byteOffset, words * 4), at);
  return out;
}

/** Parses a model file; every inconsistency is reported with `file` in the message. */
export function decodeModel(bytes: Uint8Array, file: string): ModelData {
  const fail = (why: string): never => {
    throw new Error(`${file}: ${why}`);
  };
  if (bytes.length < 12) fail('too short to be a Slimfield model');
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== MODEL_MAGIC) fail(`not a Slimfield model (magic ${JSON.stringify(magic)}, expected ${MODEL_MAGIC})`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const jsonLen = dv.getUint32(8, true);
  if (12 + jsonLen > bytes.length) fail(`header length ${jsonLen} runs past the end of the file`);
  let header: ModelHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + jsonLen))) as ModelHeader;
  } catch (e) {
    return fail(`broken header: ${(e as Error).message}`);
  }
  if (!header || !Array.isArray(header.segments) || !header.settings || !header.box || !header.grid) fail('header misses segments, settings, box or grid');
  const headLen = 12 + jsonLen;
  let at = headLen + ((4 - (headLen % 4)) % 4);
  const values = new Map<string, Float32Array>();
  for (const s of header.segments) {
    if (!Number.isInteger(s.count) || s.count < 0) fail(`segment ${s.name} has a bad count ${s.count}`);
    if (at + s.count * 4 > bytes.length) fail(`segment ${s.name} (${s.count} floats) runs past the end of the file: truncated?`);
    const v = new Float32Array(bytes.slice(at, at + s.count * 4).buffer);
    for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) fail(`segment ${s.name} holds a non-finite value at ${i}`);
    values.set(s.name, v);
    at += s.count * 4;
  }
  let maskBits: Uint32Array | null = null;
  if (header.mask) {
    const words = header.mask.words;
    if (at + words * 4 > bytes.length) fail('alpha mask runs past the end of the file: truncated?');
    maskBits = new Uint32Array(bytes.slice(at, at + words * 4).buffer);
  }
  return { header, values, maskBits };
}
