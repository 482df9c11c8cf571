// Measuring a field on held-out views: PSNR and SSIM of renders against their photos.
import type { Dataset, Split } from '../data/types.ts';
import type { ViewRenderer } from '../render/view-renderer.ts';
import { psnr, ssim } from './metrics.ts';

/** Ground truth of an image as RGB floats, composited on white when the dataset says so. */
export function groundTruthRgb(split: Split, index: number, white: boolean): Float32Array {
  const img = split.images[index]!;
  const n = split.width * split.height;
  const out = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const a = white ? img[i * 4 + 3]! / 255 : 1;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = (img[i * 4 + c]! / 255) * a + (white ? 1 - a : 0);
  }
  return out;
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
    p += psnr(img.rgb, gt);
    s += ssim(img.rgb, gt, img.width, img.height);
    onView?.(v + 1, indices.length);
  }
  return { psnr: p / indices.length, ssim: s / indices.length, views: indices.length };
}
