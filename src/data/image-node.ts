// Node-only image decoding/encoding (pngjs, jpeg-js, libwebp compiled to WebAssembly by
// @jsquash/webp, Squoosh's codec, and libheif's for HEIC, data/heif.ts). The browser uses its own
// decoder (and libheif's for HEIC).

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import decodeWebp, { init as initWebp } from '@jsquash/webp/decode.js';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { decodeHeif, isHeif } from './heif.ts';
import { DatasetError, type DecodedImage, type ImageDecoder } from './types.ts';

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG_MAGIC = [0xff, 0xd8, 0xff];
const RIFF_MAGIC = [0x52, 0x49, 0x46, 0x46];
const WEBP_MAGIC = [0x57, 0x45, 0x42, 0x50];

let webpReady: Promise<void> | undefined;
/** The WebP decoder's WebAssembly, compiled once from the package's own file (Node cannot fetch it by URL). */
const webpDecoder = (): Promise<void> =>
  (webpReady ??= (async () => {
    const wasm = await readFile(createRequire(import.meta.url).resolve('@jsquash/webp/codec/dec/webp_dec.wasm'));
    await initWebp(await WebAssembly.compile(wasm));
  })());

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

/**
 * Decodes PNG, JPEG, WebP or HEIC (chosen by magic bytes, not by extension) to RGBA8.
 * pngjs already normalises every PNG colour type (grey, grey+alpha, RGB, RGBA, palette,
 * tRNS transparency) and bit depth (1..16, rescaled with rounding) to 8-bit RGBA.
 * JPEG EXIF orientation is not applied, matching COLMAP, which poses the raw pixel grid.
 */
export const decodeImageNode: ImageDecoder = async (bytes, path) => {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let img: DecodedImage;
  if (startsWith(bytes, PNG_MAGIC)) {
    try {
      const png = PNG.sync.read(buf);
      img = { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
    } catch (e) {
      throw new DatasetError(path, `cannot decode PNG (${(e as Error).message})`);
    }
  } else if (startsWith(bytes, JPEG_MAGIC)) {
    try {
      const j = jpeg.decode(buf, {
        useTArray: true,
        formatAsRGBA: true,
        // Defaults (100 MP, 512 MB) are fine for photos; raise them a bit for large captures.
        maxResolutionInMP: 250,
        maxMemoryUsageInMB: 2048,
      });
      img = { width: j.width, height: j.height, data: j.data };
    } catch (e) {
      throw new DatasetError(path, `cannot decode JPEG (${(e as Error).message})`);
    }
  } else if (startsWith(bytes, RIFF_MAGIC) && startsWith(bytes.subarray(8), WEBP_MAGIC)) {
    await webpDecoder();
    let decoded: ImageData;
    try {
      decoded = await decodeWebp(bytes.slice().buffer);
    } catch {
      throw new DatasetError(path, 'cannot decode WebP (libwebp could not read it: truncated or corrupt)');
    }
    img = { width: decoded.width, height: decoded.height, data: new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.byteLength) };
  } else if (isHeif(bytes)) {
    img = await decodeHeif(bytes, path);
  } else {
    const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new DatasetError(path, `cannot decode image: not a PNG, JPEG, WebP or HEIC file (first bytes: ${head || 'none, file is empty'})`);
  }
  if (img.width <= 0 || img.height <= 0 || img.data.length !== img.width * img.height * 4) {
    throw new DatasetError(path, `cannot decode image: decoder returned an invalid ${img.width}x${img.height} image`);
  }
  return img;
};

/** Encodes RGBA8 pixels as an 8-bit RGBA PNG. */
export function encodePng(rgba: Uint8Array, width: number, height: number): Uint8Array {
  if (rgba.length !== width * height * 4) {
    throw new Error(`encodePng: expected ${width * height * 4} bytes for ${width}x${height} RGBA, got ${rgba.length}`);
  }
  const png = new PNG({ width, height, colorType: 6, inputColorType: 6, bitDepth: 8 });
  png.data = Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength);
  const out = PNG.sync.write(png);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
