// Rendering cameras through a field and measuring it: the ViewRenderer (test views, the studio's
// viewport, the CLI's render command, the standalone viewer), PSNR/SSIM over test views, and the
// quality and size of a model slimmed to each rank. No training code, so the viewer can use it.
import type { Camera, Dataset, Split } from '../data/types.ts';
import type { GpuContext } from '../gpu/context.ts';
import { Encoder, grid1d } from '../gpu/kernel.ts';
import { modelFileSize } from '../io/field-model.ts';
import { sceneFileSize } from '../io/scene-file.ts';
import { psnr, ssim } from '../metrics/image-metrics.ts';
import { packCameras } from './gpu-split.ts';
import { fieldKernels } from './kernels.ts';
import { RayBatch, RENDER_RAYS } from './render-batch.ts';
import { componentsAtRank, type TensorField } from './tensorf.ts';

export interface ImageResult {
  rgb: Float32Array;
  acc: Float32Array;
  /** Σ w t per pixel (divide by acc for the expected depth of what the ray hit). */
  depth: Float32Array;
  width: number;
  height: number;
}

/** Renders cameras through a field (test views, the viewport, the CLI's render command). */
export class ViewRenderer {
  readonly batch: RayBatch;
  private dummy: GPUBuffer;

  constructor(readonly ctx: GpuContext, readonly field: TensorField, nearFar: [number, number], chunk = RENDER_RAYS, batch?: RayBatch) {
    this.batch = batch ?? new RayBatch(ctx, field, chunk);
    this.batch.nearFar = nearFar;
    this.dummy = ctx.buffer('render.dummy', 16);
  }

  /**
   * Renders a camera; `rank` slims to that many rank groups (at most the trained rank);
   * `nearFar` replaces the dataset's ray range for this render (a free viewport camera).
   */
  async render(cam: Camera, bg: number, rank?: number, nearFar?: [number, number]): Promise<ImageResult> {
    const { ctx } = this;
    const comps = componentsAtRank(this.field.settings, Math.min(rank ?? this.field.rank, this.field.rank));
    const k = fieldKernels(ctx);
    const cams = ctx.upload('render.camera', packCameras([cam]));
    const total = cam.width * cam.height;
    const rgb = new Float32Array(total * 3);
    const acc = new Float32Array(total);
    const depth = new Float32Array(total);
    const chunk = this.batch.maxRays;
    try {
      for (let first = 0; first < total; first += chunk) {
        const n = Math.min(chunk, total - first);
        const enc = new Encoder(ctx);
        enc.dispatch(k.raygen, {
          params: {
            mode: 1, seed: 0, n_rays: n, width: cam.width, height: cam.height, n_images: 1,
            image: 0, first_pixel: first, white_bg: 0, use_valid: 0, has_pixels: 0,
          },
          buffers: [cams, this.dummy, this.dummy, this.batch.rays],
          workgroups: grid1d(ctx, n, 64),
        });
        enc.submit();
        await this.batch.run(n, { train: false, jitter: false, seed: 0, bg, rank: comps, nearFar });
        const out = await ctx.readF32(this.batch.out, n * 8);
        for (let i = 0; i < n; i++) {
          rgb[(first + i) * 3] = out[i * 8]!;
          rgb[(first + i) * 3 + 1] = out[i * 8 + 1]!;
          rgb[(first + i) * 3 + 2] = out[i * 8 + 2]!;
          acc[first + i] = out[i * 8 + 4]!;
          depth[first + i] = out[i * 8 + 5]!;
        }
      }
    } finally {
      ctx.destroy(cams);
    }
    return { rgb, acc, depth, width: cam.width, height: cam.height };
  }

  destroy(ownBatch = true): void {
    if (ownBatch) this.batch.destroy();
    this.ctx.destroy(this.dummy);
  }
}

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

/** Evenly spaced test view indices: 0, s, 2s, ... with s = floor(count / n). */
export function testViewIndices(count: number, n: number): number[] {
  const m = Math.max(1, Math.min(n, count));
  const s = Math.max(1, Math.floor(count / m));
  return Array.from({ length: m }, (_, i) => i * s).filter((i) => i < count);
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

export interface RankPoint {
  rank: number;
  psnr: number;
  ssim: number;
  /** Parameters of the model slimmed to this rank. */
  params: number;
  /** Size of the (fp32) model file saved at this rank. */
  bytes: number;
  /** Size of the fp16 scene file exported at this rank (what the studio's readout shows). */
  sceneBytesFp16: number;
}

/**
 * Test-view quality and file size of the renderer's field slimmed to each rank. Ranks above the
 * trained one are replaced by the trained rank (the groups above it hold no trained values).
 */
export async function evaluateRanks(
  renderer: ViewRenderer,
  dataset: Dataset,
  split: Split,
  indices: number[],
  ranks: number[],
  onRank?: (p: RankPoint) => void,
): Promise<RankPoint[]> {
  const field = renderer.field;
  const wanted = [...new Set(ranks.map((r) => Math.min(r, field.rank)))].sort((a, b) => a - b);
  const out: RankPoint[] = [];
  for (const rank of wanted) {
    const ev = await evaluate(renderer, dataset, split, indices, rank);
    const p = {
      rank, psnr: +ev.psnr.toFixed(3), ssim: +ev.ssim.toFixed(4), params: field.parameterCountAtRank(rank),
      bytes: modelFileSize(field, rank), sceneBytesFp16: sceneFileSize(field.settings, field.box, field.grid, field.mask, { rank, precision: 'fp16' }, field.lattice).bytes,
    };
    out.push(p);
    onRank?.(p);
  }
  return out;
}
