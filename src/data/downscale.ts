// Integer area downscaling of RGBA8 images (the loaders' downscale option, thumbnails).
import type { DecodedImage } from './types.ts';

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
