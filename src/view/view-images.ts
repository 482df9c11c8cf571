// Turning a rendered view into displayable pixels: colour, depth (expected distance of what each
// ray hit, near = bright), accumulated opacity, and the error heatmap of a render against its
// ground truth. Pure functions, tested in Node.
import { downscaleRGBA } from '../data/downscale.ts';
import type { ImageResult } from '../render/view-renderer.ts';

export type ViewMode = 'color' | 'depth' | 'accumulation';

export interface RenderedView {
  width: number;
  height: number;
  rgba: Uint8ClampedArray<ArrayBuffer>;
}

/** Pixels that are mostly empty space get no depth (their expected depth is noise). */
const DEPTH_MIN_ACC = 0.2;

/** Expected depth of a pixel, NaN where the ray hit mostly empty space. */
const pixelDepth = (img: ImageResult, i: number) => (img.acc[i]! > DEPTH_MIN_ACC ? img.depth[i]! / img.acc[i]! : Number.NaN);

/** The nearest and farthest surface depth in a render (the depth view's scale). */
export function depthRange(img: ImageResult): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < img.width * img.height; i++) {
    const d = pixelDepth(img, i);
    if (Number.isNaN(d)) continue;
    lo = Math.min(lo, d);
    hi = Math.max(hi, d);
  }
  return [lo, hi];
}

/** `range`: the depth view's scale (a progressive frame's bands share their first frame's). */
export function viewPixels(img: ImageResult, mode: ViewMode, range: [number, number] = mode === 'depth' ? depthRange(img) : [0, 1]): RenderedView {
  const n = img.width * img.height;
  const rgba = new Uint8ClampedArray(n * 4);
  if (mode === 'color') {
    for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) rgba[i * 4 + c] = img.rgb[i * 3 + c]! * 255;
  } else if (mode === 'accumulation') {
    for (let i = 0; i < n; i++) rgba[i * 4] = rgba[i * 4 + 1] = rgba[i * 4 + 2] = img.acc[i]! * 255;
  } else {
    const [lo, hi] = range;
    const span = hi > lo ? hi - lo : 1;
    for (let i = 0; i < n; i++) {
      // Empty pixels black; the nearest surface white, the farthest dark grey.
      const d = pixelDepth(img, i);
      const v = Number.isNaN(d) ? 0 : 255 - (Math.min(Math.max(d - lo, 0), span) / span) * 200;
      rgba[i * 4] = rgba[i * 4 + 1] = rgba[i * 4 + 2] = v;
    }
  }
  for (let i = 0; i < n; i++) rgba[i * 4 + 3] = 255;
  return { width: img.width, height: img.height, rgba };
}

/** RGB floats in [0, 1] as pixels. */
export function rgbPixels(rgb: Float32Array, width: number, height: number): RenderedView {
  return viewPixels({ rgb, acc: new Float32Array(width * height), depth: new Float32Array(width * height), width, height }, 'color');
}

/**
 * Per-pixel error |render − truth| (mean over channels) as a heatmap: black for none, through red
 * and yellow to white at `full` (default 0.25, a quarter of the range).
 */
export function errorHeatmap(render: Float32Array, truth: Float32Array, width: number, height: number, full = 0.25): RenderedView {
  const n = width * height;
  const rgba = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    let e = 0;
    for (let c = 0; c < 3; c++) e += Math.abs(render[i * 3 + c]! - truth[i * 3 + c]!);
    const t = Math.min(1, e / 3 / full) * 3;
    rgba[i * 4] = Math.min(1, t) * 255;
    rgba[i * 4 + 1] = Math.min(1, Math.max(0, t - 1)) * 255;
    rgba[i * 4 + 2] = Math.min(1, Math.max(0, t - 2)) * 255;
    rgba[i * 4 + 3] = 255;
  }
  return { width, height, rgba };
}

/**
 * A small copy of a dataset image for thumbnails and the frustums' image planes: box-filtered down
 * so its longer side is at most `maxSide`, composited on white when the dataset says so.
 */
export function thumbnailPixels(image: Uint8Array, width: number, height: number, white: boolean, maxSide: number): RenderedView {
  const small = downscaleRGBA(image, width, height, Math.max(1, Math.ceil(Math.max(width, height) / maxSide)));
  const n = small.width * small.height;
  const rgba = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    const a = white ? small.data[i * 4 + 3]! / 255 : 1;
    for (let c = 0; c < 3; c++) rgba[i * 4 + c] = small.data[i * 4 + c]! * a + (white ? 255 * (1 - a) : 0);
    rgba[i * 4 + 3] = 255;
  }
  return { width: small.width, height: small.height, rgba };
}
