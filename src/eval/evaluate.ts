// Measuring a field on held-out views: PSNR and SSIM of renders against their photos.
import type { Dataset, Split } from '../data/types.ts';
import type { ViewRenderer } from '../render/view-renderer.ts';
import { psnr, ssim } from './metrics.ts';

/** Ground truth of an image as RGB floats, composited on white when the dataset says so. */
export function groundTruthRgb(split: Split, index: number, white: boolean): Float32Array {
  const img = split.images[index]!;
  const n = img.length / 4;
  const out = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const a = white ? img[i * 4 + 3]! / 255 : 1;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = (img[i * 4 + c]! / 255) * a + (white ? 1 - a : 0);
  }
  return out;
}

/**
 * Which pixels of a view are scored: null for all; for a masked dataset those whose alpha is at
 * least one half (the ones training draws from).
 */
export function scoredPixels(dataset: Dataset, split: Split, index: number): Uint8Array | null {
  if (!dataset.masked) return null;
  const img = split.images[index]!;
  const out = new Uint8Array(img.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = img[i * 4 + 3]! >= 128 ? 1 : 0;
  return out;
}

/**
 * PSNR and SSIM of a render against its photo, over the scored pixels only: for SSIM the masked
 * pixels of the render are replaced by the photo's (a windowed measure cannot skip pixels).
 */
export function scoreView(rgb: Float32Array, truth: Float32Array, width: number, height: number, scored: Uint8Array | null): { psnr: number; ssim: number } {
  let shown = rgb;
  if (scored) {
    shown = Float32Array.from(rgb);
    for (let i = 0; i < scored.length; i++) if (!scored[i]) shown.set(truth.subarray(i * 3, i * 3 + 3), i * 3);
  }
  return { psnr: psnr(rgb, truth, scored), ssim: ssim(shown, truth, width, height) };
}

export interface EvalResult {
  psnr: number;
  ssim: number;
  views: number;
}

/** Mean PSNR and SSIM over test views. */
export async function evaluate(
  renderer: ViewRenderer,
  dataset: Dataset,
  split: Split,
  indices: number[],
  rank?: number,
  onView?: (i: number, n: number) => void,
): Promise<EvalResult> {
  let p = 0;
  let s = 0;
  const bg = dataset.whiteBackground ? 1 : 0;
  for (let v = 0; v < indices.length; v++) {
    const idx = indices[v]!;
    const img = await renderer.render(split.cameras[idx]!, bg, rank);
    const gt = groundTruthRgb(split, idx, dataset.whiteBackground);
    const score = scoreView(img.rgb, gt, img.width, img.height, scoredPixels(dataset, split, idx));
    p += score.psnr;
    s += score.ssim;
    onView?.(v + 1, indices.length);
  }
  return { psnr: p / indices.length, ssim: s / indices.length, views: indices.length };
}
