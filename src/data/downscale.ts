// Area downscaling of RGBA8 images: by an integer factor (the loaders' downscale option, thumbnails) or to any smaller size (photos brought to a working size).
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

/**
 * Area resampling to any smaller size (a photo brought to the working size by its long edge): each
 * output pixel averages the input area it covers, partial pixels weighted by their overlap,
 * separably (rows, then columns). The pixel grid's edges stay aligned, so intrinsics scale by
 * ow/w and oh/h.
 */
export function resizeRGBA(data: Uint8Array, w: number, h: number, ow: number, oh: number): DecodedImage {
  if (ow === w && oh === h) return { width: w, height: h, data };
  /** For each output index, the input indices it covers and their weights (summing to 1). */
  const spans = (n: number, on: number) =>
    Array.from({ length: on }, (_, o) => {
      const a = (o * n) / on;
      const b = ((o + 1) * n) / on;
      const taps: [number, number][] = [];
      for (let i = Math.floor(a); i < Math.min(n, Math.ceil(b)); i++) taps.push([i, (Math.min(b, i + 1) - Math.max(a, i)) / (b - a)]);
      return taps;
    });
  const sx = spans(w, ow);
  const sy = spans(h, oh);
  const rows = new Float32Array(ow * h * 4);
  for (let y = 0; y < h; y++)
    for (let ox = 0; ox < ow; ox++) for (const [x, wt] of sx[ox]!) for (let c = 0; c < 4; c++) rows[(y * ow + ox) * 4 + c] += wt * data[(y * w + x) * 4 + c]!;
  const out = new Uint8Array(ow * oh * 4);
  for (let oy = 0; oy < oh; oy++)
    for (let ox = 0; ox < ow; ox++)
      for (let c = 0; c < 4; c++) {
        let v = 0;
        for (const [y, wt] of sy[oy]!) v += wt * rows[(y * ow + ox) * 4 + c]!;
        out[(oy * ow + ox) * 4 + c] = Math.min(255, Math.round(v));
      }
  return { width: ow, height: oh, data: out };
}
