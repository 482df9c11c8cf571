// HEIC photos: decoded by libheif (WebAssembly) with the container's rotation applied once (the
// EXIF orientation that says the same turn is not applied again, and no warning asks the user to
// mind it), sized from their ispe boxes before decoding, and broken ones named with the problem.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { heifHeaderSize, isHeif } from '../../src/data/heif.ts';
import { decodeImageNode } from '../../src/data/image-node.ts';
import { checkImageHeader, inputLimits } from '../../src/data/input-limits.ts';
import { readPhotos } from '../../src/data/photos.ts';
import { mapSource } from '../../src/data/sources.ts';
import { heicOf } from '../fixtures/heic.ts';
import { exifJpeg } from '../fixtures/photos.ts';

const LIMITS = inputLimits(8 * 2 ** 30, 'in this test');

/** 64 × 32 pixels, black, with a red block at the top left and a blue one at the top right. */
function marked(): Uint8Array {
  const rgba = new Uint8Array(64 * 32 * 4);
  for (let y = 0; y < 32; y++)
    for (let x = 0; x < 64; x++) {
      const i = (y * 64 + x) * 4;
      rgba[i] = x < 8 && y < 8 ? 255 : 0;
      rgba[i + 2] = x >= 56 && y < 8 ? 255 : 0;
      rgba[i + 3] = 255;
    }
  return rgba;
}

const colourAt = (img: { width: number; data: Uint8Array }, x: number, y: number) => {
  const [r, , b] = img.data.subarray((y * img.width + x) * 4);
  return r! > 200 ? 'red' : b! > 200 ? 'blue' : r! < 40 && b! < 40 ? 'black' : 'other';
};

test('a HEIC turned by its container (irot) decodes turned once, whatever its EXIF orientation says', async () => {
  // As an iPhone held upright saves it: the sensor's 64 × 32 pixels, irot 270° anticlockwise, EXIF orientation 6 (turn 90° clockwise).
  const heic = heicOf(marked(), 64, 32, { quarterTurnsCcw: 3, exifOrientation: 6, focal35: 26 });
  assert.ok(isHeif(heic));
  const img = await decodeImageNode(heic, 'IMG_0001.HEIC');
  assert.deepEqual([img.width, img.height], [32, 64]);
  // Turned 90° clockwise: the top left corner went to the top right, the top right to the bottom right.
  assert.deepEqual([colourAt(img, 28, 3), colourAt(img, 28, 60), colourAt(img, 3, 3), colourAt(img, 3, 60)], ['red', 'blue', 'black', 'black']);
  // Photos read for posing: the turned pixels, and no warning that the photo is marked to be shown turned.
  const jpeg = exifJpeg(marked(), 64, 32, { orientation: 6 });
  const intake = await readPhotos(
    mapSource(
      new Map([
        ['IMG_0001.HEIC', heic],
        ['IMG_0002.JPG', jpeg],
      ]),
      'phone',
    ),
    ['IMG_0001.HEIC', 'IMG_0002.JPG'],
    {
      decode: decodeImageNode,
      limits: LIMITS,
      maxSize: 1024,
    },
  );
  assert.deepEqual(
    intake.photos.map((p) => [p.name, p.width, p.height]),
    [
      ['IMG_0001.HEIC', 32, 64],
      ['IMG_0002.JPG', 64, 32],
    ],
  );
  // Its EXIF read (through its Exif item: exifr's own HEIC parser refuses what libheif writes): a 26 mm lens in 35 mm terms, 36 mm across the long edge.
  assert.ok(Math.abs(intake.photos[0]!.focalPx! - (26 / 36) * 64) < 1e-9, `focal ${intake.photos[0]!.focalPx}`);
  const turned = intake.warnings.filter((w) => /marked in EXIF to be shown turned/.test(w));
  assert.equal(turned.length, 1);
  assert.match(turned[0]!, /1 photo\(s\) .* \(IMG_0002\.JPG\)/);
});

test('a HEIC is sized from its header before decoding; empty, cut and huge ones are named with the problem', async () => {
  const heic = heicOf(marked(), 64, 32);
  const size = heifHeaderSize(heic)!;
  assert.ok(size.width >= 64 && size.height >= 32, `${size.width}x${size.height}`);
  // A header claiming 12,000 × 9,000 pixels (108 megapixels): refused where an image may have 67.
  const huge = heic.slice();
  const at = Buffer.from(huge).indexOf('ispe') + 8;
  new DataView(huge.buffer).setUint32(at, 12_000);
  new DataView(huge.buffer).setUint32(at + 4, 9_000);
  assert.match(checkImageHeader(huge, inputLimits(4 * 2 ** 30, 'in this test'))!, /its header claims 12000x9000 pixels \(108 megapixels/);
  await assert.rejects(
    decodeImageNode(new Uint8Array(0), 'empty.heic'),
    /empty\.heic: cannot decode image: not a PNG, JPEG, WebP or HEIC file \(first bytes: none, file is empty\)/,
  );
  await assert.rejects(decodeImageNode(heic.subarray(0, heic.length - 200), 'cut.heic'), /cut\.heic: cannot decode HEIC/);
  const intake = await readPhotos(mapSource(new Map([['empty.heic', new Uint8Array(0)]]), 'phone'), ['empty.heic'], {
    decode: decodeImageNode,
    limits: LIMITS,
    maxSize: 1024,
  });
  assert.deepEqual(intake.skipped, [
    { file: 'empty.heic', reason: 'cannot be decoded (cannot decode image: not a PNG, JPEG, WebP or HEIC file (first bytes: none, file is empty))' },
  ]);
});
