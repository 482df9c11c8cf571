// Rendering a camera's image through a field, a block of pixels at a time, with the same RayBatch
// as training: test views, the studio's viewport, the CLI's render command, the viewer.
import type { Camera } from '../data/types.ts';
import type { TensorField } from '../field/field.ts';
import { componentsAtRank } from '../field/rank.ts';
import type { GpuContext } from '../gpu/context.ts';
import { Encoder } from '../gpu/kernel.ts';
import { RAY_BYTES } from '../gpu/wgsl.ts';
import { packCameras } from '../rays/gpu-split.ts';
import { cameraRays } from '../rays/raygen.ts';
import { RayBatch, RENDER_RAYS } from './ray-batch.ts';

export interface ImageResult {
  rgb: Float32Array;
  acc: Float32Array;
  /** Σ w t per pixel (divide by acc for the expected depth of what the ray hit). */
  depth: Float32Array;
  width: number;
  height: number;
}

export class ViewRenderer {
  readonly batch: RayBatch;

  /** `batch` lets a renderer share a training run's batch (and its buffers). */
  constructor(
    readonly ctx: GpuContext,
    readonly field: TensorField,
    nearFar: [number, number],
    chunk = RENDER_RAYS,
    batch?: RayBatch,
  ) {
    this.batch = batch ?? new RayBatch(ctx, field, chunk);
    this.batch.nearFar = nearFar;
  }

  /**
   * Renders a camera; `rank` slims to that many rank groups (at most the trained rank);
   * `nearFar` replaces the dataset's ray range for this render (a free viewport camera).
   */
  async render(cam: Camera, bg: number, rank?: number, nearFar?: [number, number]): Promise<ImageResult> {
    const { ctx } = this;
    const comps = componentsAtRank(this.field.settings, Math.min(rank ?? this.field.rank, this.field.rank));
    const cams = ctx.upload('render.camera', packCameras([cam]));
    const total = cam.width * cam.height;
    const rgb = new Float32Array(total * 3);
    const acc = new Float32Array(total);
    const depth = new Float32Array(total);
    const chunk = this.batch.raysPerPass;
    try {
      for (let first = 0; first < total; first += chunk) {
        const n = Math.min(chunk, total - first);
        const enc = new Encoder(ctx);
        cameraRays(ctx, enc, cams, cam, first, n, this.batch.rays);
        enc.submit();
        await this.batch.forward(n, { train: false, jitter: false, seed: 0, bg, rank: comps, nearFar });
        const out = await this.batch.readOutputs(n);
        rgb.set(out.rgb, first * 3);
        acc.set(out.acc, first);
        depth.set(out.depth, first);
      }
    } finally {
      ctx.destroy(cams);
    }
    return { rgb, acc, depth, width: cam.width, height: cam.height };
  }

  /**
   * Colours of arbitrary rays: `origins` and unit `dirs` hold xyz per ray (exports colour a
   * surface by looking at it). The same passes as a camera's render, in blocks of the batch's size.
   */
  async renderRays(
    origins: Float32Array,
    dirs: Float32Array,
    bg: number,
    nearFar: [number, number],
    rank?: number,
  ): Promise<{ rgb: Float32Array; acc: Float32Array }> {
    const comps = componentsAtRank(this.field.settings, Math.min(rank ?? this.field.rank, this.field.rank));
    const total = origins.length / 3;
    const rgb = new Float32Array(total * 3);
    const acc = new Float32Array(total);
    const chunk = this.batch.raysPerPass;
    const packed = new Float32Array(Math.min(chunk, total) * (RAY_BYTES / 4));
    for (let first = 0; first < total; first += chunk) {
      const n = Math.min(chunk, total - first);
      for (let i = 0; i < n; i++) {
        const o = (first + i) * 3;
        packed.set([origins[o]!, origins[o + 1]!, origins[o + 2]!, 0, dirs[o]!, dirs[o + 1]!, dirs[o + 2]!, 0, 0, 0, 0, 0], i * 12);
      }
      this.ctx.write(this.batch.rays, packed.subarray(0, n * 12));
      await this.batch.forward(n, { train: false, jitter: false, seed: 0, bg, rank: comps, nearFar });
      const out = await this.batch.readOutputs(n);
      rgb.set(out.rgb, first * 3);
      acc.set(out.acc, first);
    }
    return { rgb, acc };
  }

  destroy(ownBatch = true): void {
    if (ownBatch) this.batch.destroy();
  }
}
