// What posing computes per photo (its features) and per pair (its matches) kept by content, so a
// second run over the same photos, or over more of them, reads instead of computing. The store is
// the caller's (a folder for the CLI); keys name the photos by the SHA-256 of their size and
// pixels and carry the format's version and the options that change the answer. An entry that
// does not decode is computed again, never trusted.
import type { Features } from './sift.ref.ts';

/** A key-value store of bytes: a folder on disk, or the browser's storage. */
export interface PosingCache {
  get(key: string): Promise<Uint8Array | undefined>;
  set(key: string, bytes: Uint8Array): Promise<void>;
}

const VERSION = 1;

/** A photo's identity: SHA-256 of its size and RGBA pixels, hex. */
export async function photoDigest(width: number, height: number, rgba: Uint8Array): Promise<string> {
  const bytes = new Uint8Array(8 + rgba.length);
  new DataView(bytes.buffer).setUint32(0, width, true);
  new DataView(bytes.buffer).setUint32(4, height, true);
  bytes.set(rgba, 8);
  const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(hash, (b) => b.toString(16).padStart(2, '0')).join('');
}

export const featuresKey = (photo: string, maxFeatures: number): string => `sift-v${VERSION}-${maxFeatures}-${photo}`;
export const matchesKey = (a: string, b: string, maxFeatures: number): string => `matches-v${VERSION}-${maxFeatures}-${a}-${b}`;

/** Features as bytes: count (u32), then the keypoints and descriptors as f32, little-endian. */
export function encodeFeatures(f: Features): Uint8Array {
  const out = new Uint8Array(4 + f.count * (4 + 128) * 4);
  const view = new DataView(out.buffer);
  view.setUint32(0, f.count, true);
  for (let i = 0; i < f.keypoints.length; i++) view.setFloat32(4 + i * 4, f.keypoints[i]!, true);
  const at = 4 + f.count * 16;
  for (let i = 0; i < f.descriptors.length; i++) view.setFloat32(at + i * 4, f.descriptors[i]!, true);
  return out;
}

/** The features encodeFeatures wrote, or undefined where the bytes are not such a record. */
export function decodeFeatures(bytes: Uint8Array): Features | undefined {
  if (bytes.length < 4) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(0, true);
  if (bytes.length !== 4 + count * (4 + 128) * 4) return undefined;
  const keypoints = Float32Array.from({ length: count * 4 }, (_, i) => view.getFloat32(4 + i * 4, true));
  const at = 4 + count * 16;
  const descriptors = Float32Array.from({ length: count * 128 }, (_, i) => view.getFloat32(at + i * 4, true));
  if (!keypoints.every(Number.isFinite) || !descriptors.every(Number.isFinite)) return undefined;
  return { keypoints, descriptors, count };
}

/** Matches (keypoint index pairs) as little-endian u32 pairs. */
export function encodeMatches(m: readonly (readonly [number, number])[]): Uint8Array {
  const out = new Uint8Array(m.length * 8);
  const view = new DataView(out.buffer);
  m.forEach(([i, j], k) => {
    view.setUint32(k * 8, i, true);
    view.setUint32(k * 8 + 4, j, true);
  });
  return out;
}

/** The matches encodeMatches wrote, or undefined where the bytes are not such a record or index past the features. */
export function decodeMatches(bytes: Uint8Array, countA: number, countB: number): [number, number][] | undefined {
  if (bytes.length % 8 !== 0) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: [number, number][] = [];
  for (let k = 0; k < bytes.length / 8; k++) {
    const i = view.getUint32(k * 8, true);
    const j = view.getUint32(k * 8 + 4, true);
    if (i >= countA || j >= countB) return undefined;
    out.push([i, j]);
  }
  return out;
}
