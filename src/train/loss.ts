// The training loss (loss.wgsl.ts): per ray the squared colour error and its gradient, written
// into the batch's `dColour` buffer that the backward pass starts from; the batch mean on the host,
// read a step or so later without waiting (PipelinedLoss).
import type { GpuContext } from '../gpu/context.ts';
import { cachedKernel, type Encoder, grid1d } from '../gpu/kernel.ts';
import type { RayBatch } from '../render/ray-batch.ts';
import { lossWgsl } from './loss.wgsl.ts';

/** How many of the last iterations' losses PipelinedLoss keeps for lossOf. */
const RECENT_ITERS = 4;
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

/** The mean of per-ray losses as the loss buffer holds them (f64, in ray order). */
function meanOf(values: Float32Array, n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i * LOSS_FLOATS + LOSS]!;
  return sum / n;
}

/**
 * The batch's mean loss without a blocking round trip: each step's per-ray losses are copied,
 * inside the step's own submission, into a buffer the host maps when the GPU has got there (a step
 * or so later, while the next step runs), then summed in f64 in ray order (runs reproduce
 * exactly). `latest` is the newest loss that has arrived; lossOf gives a recent iteration's.
 * Mapped buffers are reused once read.
 */
export class PipelinedLoss {
  latest: { iter: number; loss: number } | null = null;
  private free: GPUBuffer[] = [];
  private all: GPUBuffer[] = [];
  private inFlight = new Set<Promise<void>>();
  /** The recent iterations' losses, arrived or on their way (lossOf). */
  private recent = new Map<number, { loss: number | null; read: Promise<void> }>();

  constructor(private readonly ctx: GpuContext) {}

  /** Records the copy of the first `n` rays' losses of iteration `iter`; call the returned function once `enc` is submitted. */
  record(enc: Encoder, batch: RayBatch, n: number, iter: number): () => void {
    const bytes = n * LOSS_FLOATS * 4;
    let staging = this.free.pop();
    if (!staging) {
      staging = this.ctx.device.createBuffer({ label: 'loss.staging', size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      this.all.push(staging);
    }
    const mapped = staging;
    enc.copy(batch.dColour, 0, staging, 0, bytes);
    return () => {
      const entry: { loss: number | null; read: Promise<void> } = { loss: null, read: Promise.resolve() };
      const read = mapped.mapAsync(GPUMapMode.READ, 0, bytes).then(
        () => {
          const values = new Float32Array(mapped.getMappedRange(0, bytes).slice(0));
          mapped.unmap();
          this.free.push(mapped);
          entry.loss = meanOf(values, n);
          if (!this.latest || iter > this.latest.iter) this.latest = { iter, loss: entry.loss };
        },
        // A lost device or a destroyed trainer: the loss is not needed any more.
        () => {},
      );
      entry.read = read;
      this.recent.set(iter, entry);
      for (const old of this.recent.keys()) if (old <= iter - RECENT_ITERS) this.recent.delete(old);
      this.inFlight.add(read);
      void read.finally(() => this.inFlight.delete(read));
    };
  }

  /**
   * Iteration `iter`'s loss, one of the last few recorded; undefined when it was not recorded here.
   * Waits only when it has not arrived yet (a blocking wait: counted as a readback).
   */
  async lossOf(iter: number): Promise<number | undefined> {
    const entry = this.recent.get(iter);
    if (!entry) return undefined;
    if (entry.loss === null) {
      this.ctx.counts.readbacks++;
      await entry.read;
    }
    return entry.loss ?? undefined;
  }

  /** Waits for every loss recorded so far (a blocking wait: counted as a readback). */
  async flush(): Promise<void> {
    if (this.inFlight.size === 0) return;
    this.ctx.counts.readbacks++;
    await Promise.all(this.inFlight);
  }

  /** Frees the mapped buffers (one still in flight rejects its read, which is dropped). */
  destroy(): void {
    for (const b of this.all) b.destroy();
    this.all = [];
    this.free = [];
  }
}
