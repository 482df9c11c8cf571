// The renderer's sampling and blend weights (no shading) over every pixel of some cameras, a
// pass of rays at a time, for the work that reads a forward pass's samples rather than its
// colours: compression's texel importance (compress/importance.ts) and Strivec's surface marks
// (train/strivec-placement.ts).
import type { PosedView } from '../data/types.ts';
import type { GpuContext } from '../gpu/context.ts';
import { Encoder } from '../gpu/kernel.ts';
import { yieldIfLong } from '../gpu/yield.ts';
import { packCameras } from '../rays/gpu-split.ts';
import { cameraRays } from '../rays/raygen.ts';
import type { RayBatch } from './ray-batch.ts';

export interface PixelWeightsOptions {
  /** Rays per pass (at most the batch's). */
  perPass: number;
  /** Records what a pass's samples are for, in the submission that finishes its forward pass. */
  each: (finish: Encoder, rays: number) => void;
  /** Records work ahead of a pass's rays (in the submission that makes them). */
  before?: (prelude: Encoder, rays: number) => void;
  signal?: AbortSignal;
  /** Called after each view. */
  onView?: (done: number, total: number) => void;
}

/** Forward passes (weights only) over every pixel of `views` through `batch`, in view and pixel order. */
export async function overPixelWeights(ctx: GpuContext, batch: RayBatch, views: readonly PosedView[], o: PixelWeightsOptions): Promise<void> {
  const perPass = Math.min(o.perPass, batch.raysPerPass);
  for (const [v, view] of views.entries()) {
    const cams = ctx.upload('pixels.camera', packCameras([view]));
    try {
      const total = view.width * view.height;
      for (let first = 0; first < total; first += perPass) {
        o.signal?.throwIfAborted();
        const n = Math.min(perPass, total - first);
        const prelude = new Encoder(ctx);
        o.before?.(prelude, n);
        cameraRays(ctx, prelude, cams, view, first, n, batch.rays);
        const finish = new Encoder(ctx);
        // Weights only: no chunk is shaded (the colours are not needed).
        await batch.forward(n, { train: false, jitter: false, seed: 0, bg: 1, chunks: 0, prelude, finishIn: finish });
        o.each(finish, n);
        finish.submit();
        await yieldIfLong();
      }
    } finally {
      ctx.destroy(cams);
    }
    o.onView?.(v + 1, views.length);
  }
}
