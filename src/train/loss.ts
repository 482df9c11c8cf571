// The training loss (loss.wgsl.ts): per ray the squared colour error and its gradient, written
// into the batch's `dColour` buffer that the backward pass starts from; the batch mean on the host.
import type { GpuContext } from '../gpu/context.ts';
import { cachedKernel, type Encoder, grid1d } from '../gpu/kernel.ts';
import type { RayBatch } from '../render/ray-batch.ts';
import { lossWgsl } from './loss.wgsl.ts';

/** Floats per ray of the loss buffer: dL/dC (rgb), then the ray's loss. */
const LOSS_FLOATS = 4;
const LOSS = 3;

/** Records the loss of the first `n` rays of a batch after its forward pass. */
export function recordLoss(ctx: GpuContext, enc: Encoder, batch: RayBatch, n: number): void {
  enc.dispatch(
    cachedKernel(ctx, 'loss', () => lossWgsl),
    {
      params: { n_rays: n },
      buffers: { rays: batch.rays, ray_out: batch.output, loss: batch.dColour },
      workgroups: grid1d(ctx, n, 64),
    },
  );
}

/** The loss of each of the first `n` rays. */
export async function readRayLosses(ctx: GpuContext, batch: RayBatch, n: number): Promise<Float32Array> {
  const out = await ctx.readF32(batch.dColour, n * LOSS_FLOATS);
  return Float32Array.from({ length: n }, (_, i) => out[i * LOSS_FLOATS + LOSS]!);
}

/** The mean loss of the first `n` rays (summed in f64 in ray order, so runs reproduce exactly). */
export async function readMeanLoss(ctx: GpuContext, batch: RayBatch, n: number): Promise<number> {
  const losses = await readRayLosses(ctx, batch, n);
  let sum = 0;
  for (const l of losses) sum += l;
  return sum / n;
}
