// The edge pixels of the training images, for the edge-guided loss of joint pose refinement
// (notes §5): the Sobel gradient magnitude of each image's luminance (replicate padding), an edge
// where it exceeds 1.25 times that image's mean magnitude. One bit per pixel, in the order the
// training rays index pixels (images one after another, rows top to bottom), like the valid bits.
import type { Split } from '../data/types.ts';

/** An edge where the magnitude exceeds this times the image's mean (the reference's). */
const EDGE_OVER_MEAN = 1.25;

export function edgeBits(split: Pick<Split, 'cameras' | 'images'>): Uint32Array {
  const total = split.cameras.reduce((n, c) => n + c.width * c.height, 0);
  const bits = new Uint32Array(Math.ceil(total / 32));
  let first = 0;
  split.images.forEach((img, v) => {
    const { width: w, height: h } = split.cameras[v]!;
    const lum = new Float32Array(w * h);
    for (let p = 0; p < w * h; p++) lum[p] = (0.299 * img[p * 4]! + 0.587 * img[p * 4 + 1]! + 0.114 * img[p * 4 + 2]!) / 255;
    const at = (x: number, y: number) => lum[Math.min(h - 1, Math.max(0, y)) * w + Math.min(w - 1, Math.max(0, x))]!;
    const mag = new Float32Array(w * h);
    let mean = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const gx = at(x + 1, y - 1) + 2 * at(x + 1, y) + at(x + 1, y + 1) - at(x - 1, y - 1) - 2 * at(x - 1, y) - at(x - 1, y + 1);
        const gy = at(x - 1, y + 1) + 2 * at(x, y + 1) + at(x + 1, y + 1) - at(x - 1, y - 1) - 2 * at(x, y - 1) - at(x + 1, y - 1);
        const m = Math.hypot(gx, gy);
        mag[y * w + x] = m;
        mean += m;
      }
    }
    mean /= w * h;
    for (let p = 0; p < w * h; p++) {
      if (mag[p]! > EDGE_OVER_MEAN * mean) bits[(first + p) >>> 5]! |= 1 << ((first + p) & 31);
    }
    first += w * h;
  });
  return bits;
}
