// Plain photos read for posing: one at a time at the working size by the long edge, EXIF's 35 mm
// focal length turned into pixels at that size, make and model grouping cameras, an orientation
// tag reported (not applied), broken EXIF ignored with a warning, and photos that cannot be used
// (undecodable, or larger than this machine may hold) skipped and named.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import jpeg from 'jpeg-js';
import { decodeImageNode } from '../../src/data/image-node.ts';
import { imageHeaderSize, inputLimits } from '../../src/data/input-limits.ts';
import { findPhotos, readPhotos } from '../../src/data/photos.ts';
import { mapSource } from '../../src/data/sources.ts';
import { jpegClaiming } from '../fixtures/hostile.ts';
import { encodeWebp } from '../fixtures/webp.ts';

/** A TIFF/EXIF block: IFD0 with the orientation and the EXIF IFD, which holds the 35 mm focal length. */
function exifBlock(orientation: number, focal35: number): Uint8Array {
  const b = new Uint8Array(8 + 2 + 24 + 4 + 2 + 12 + 4);
  const v = new DataView(b.buffer);
  b.set([0x49, 0x49, 0x2a, 0x00]);
  v.setUint32(4, 8, true);
  v.setUint16(8, 2, true);
  // Orientation (0x0112, SHORT), then the EXIF IFD pointer (0x8769, LONG).
  v.setUint16(10, 0x0112, true);
  v.setUint16(12, 3, true);
  v.setUint32(14, 1, true);
  v.setUint16(18, orientation, true);
  v.setUint16(22, 0x8769, true);
  v.setUint16(24, 4, true);
  v.setUint32(26, 1, true);
  v.setUint32(30, 38, true);
  v.setUint32(34, 0, true);
  // The EXIF IFD: FocalLengthIn35mmFormat (0xA405, SHORT).
  v.setUint16(38, 1, true);
  v.setUint16(40, 0xa405, true);
  v.setUint16(42, 3, true);
  v.setUint32(44, 1, true);
  v.setUint16(48, focal35, true);
  v.setUint32(52, 0, true);
  return b;
}

/** A JPEG of w × h with an APP1 Exif segment holding `tiff` right after its start. */
function jpegWithExif(w: number, h: number, tiff: Uint8Array): Uint8Array {
  const rgba = new Uint8Array(w * h * 4).map((_, i) => (i * 37) % 251);
  const plain = new Uint8Array(jpeg.encode({ data: rgba, width: w, height: h }, 90).data);
  const payload = new Uint8Array([0x45, 0x78, 0x69, 0x66, 0, 0, ...tiff]);
  const app1 = new Uint8Array([0xff, 0xe1, (payload.length + 2) >> 8, (payload.length + 2) & 255, ...payload]);
  return new Uint8Array([...plain.subarray(0, 2), ...app1, ...plain.subarray(2)]);
}

const LIMITS = inputLimits(2 ** 30, 'in this test');

test('photos at the working size with their EXIF: focal length in pixels, cameras grouped, orientation said, broken EXIF and unusable files named', async () => {
  const files = new Map<string, Uint8Array>([
    ['IMG_1.jpg', jpegWithExif(120, 80, exifBlock(1, 36))],
    ['IMG_2.jpg', jpegWithExif(120, 80, exifBlock(6, 36))],
    // An EXIF block whose first IFD lies past its end.
    ['IMG_3.jpg', jpegWithExif(120, 80, new Uint8Array([0x49, 0x49, 0x2a, 0x00, 0xff, 0xff, 0xff, 0x7f]))],
    ['huge.jpg', jpegClaiming(30_000, 30_000)],
    ['notes.txt', new TextEncoder().encode('not a photo')],
    ['broken.png', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2])],
  ]);
  const src = mapSource(files, 'walk');
  const paths = await findPhotos(src);
  assert.deepEqual(paths, ['IMG_1.jpg', 'IMG_2.jpg', 'IMG_3.jpg', 'broken.png', 'huge.jpg']);
  const seen: number[] = [];
  const r = await readPhotos(src, paths, { decode: decodeImageNode, limits: LIMITS, maxSize: 60, onProgress: (d) => seen.push(d) });
  assert.deepEqual(
    r.photos.map((p) => [p.name, p.width, p.height, p.fullWidth, p.fullHeight]),
    [
      ['IMG_1.jpg', 60, 40, 120, 80],
      ['IMG_2.jpg', 60, 40, 120, 80],
      ['IMG_3.jpg', 60, 40, 120, 80],
    ],
  );
  // A 36 mm (35 mm equivalent) lens sees 90° across the long edge: f = half the long edge... times 2.
  assert.equal(r.photos[0]!.focalPx, 60);
  assert.equal(r.photos[2]!.focalPx, undefined);
  assert.deepEqual(
    r.skipped.map((s) => s.file),
    ['broken.png', 'huge.jpg'],
  );
  assert.match(r.skipped[0]!.reason, /cannot be decoded/);
  assert.match(r.skipped[1]!.reason, /30000x30000/);
  assert.match(
    r.warnings.join('\n'),
    /1 photo\(s\) are marked in EXIF to be shown turned \(IMG_2\.jpg\): poses are computed on the stored pixels, as COLMAP does/,
  );
  assert.match(r.warnings.join('\n'), /walk\/IMG_3\.jpg: its EXIF could not be read .*; it is used without/);
  assert.ok(seen.length >= 3);
});

test('WebP photos are read in Node as PNG and JPEG are: lossless exactly, lossy closely, their size from the header; a huge one refused before decoding, a cut one skipped and named', async () => {
  const [w, h] = [48, 32];
  const rgba = new Uint8Array(w * h * 4).map((_, i) => (i % 4 === 3 ? 255 : (Math.floor(i / 4) % w) * 5 + (i % 4) * 40));
  const withAlpha = rgba.map((v, i) => (i % 4 === 3 ? 128 : v));
  const lossless = await encodeWebp(rgba, w, h, true);
  const lossy = await encodeWebp(rgba, w, h, false);
  const extended = await encodeWebp(withAlpha, w, h, false);
  // The three kinds of header: VP8L, "VP8 ", VP8X.
  assert.deepEqual(
    [lossless, lossy, extended].map((b) => new TextDecoder().decode(b.subarray(12, 16))),
    ['VP8L', 'VP8 ', 'VP8X'],
  );
  for (const b of [lossless, lossy, extended]) assert.deepEqual(imageHeaderSize(b), { width: w, height: h });
  assert.deepEqual((await decodeImageNode(lossless, 'a.webp')).data, rgba);
  const decoded = await decodeImageNode(lossy, 'b.webp');
  const meanError = decoded.data.reduce((s, v, i) => s + Math.abs(v - rgba[i]!), 0) / rgba.length;
  assert.ok(meanError < 4, `lossy WebP decoded ${meanError} off on average`);
  // A lossless header claiming 16000 × 16000 pixels (sizes less one, 14 bits each).
  const huge = lossless.slice();
  new DataView(huge.buffer).setUint32(21, 15999 | (15999 << 14), true);
  const files = new Map<string, Uint8Array>([
    ['a.webp', lossless],
    ['b.WEBP', lossy],
    ['cut.webp', lossless.subarray(0, 30)],
    ['huge.webp', huge],
  ]);
  const src = mapSource(files, 'webp');
  const r = await readPhotos(src, await findPhotos(src), { decode: decodeImageNode, limits: LIMITS, maxSize: 48 });
  assert.deepEqual(
    r.photos.map((p) => [p.name, p.width, p.height]),
    [
      ['a.webp', 48, 32],
      ['b.WEBP', 48, 32],
    ],
  );
  assert.deepEqual(
    r.skipped.map((s) => s.file),
    ['cut.webp', 'huge.webp'],
  );
  assert.match(r.skipped[0]!.reason, /cannot be decoded.*WebP/);
  assert.match(r.skipped[1]!.reason, /16000x16000/);
});
