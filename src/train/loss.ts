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

/** What a training step leaves for the host, read without a blocking round trip. */
export interface StepRecord {
  iter: number;
  loss: number;
  /** The batch's samples and shaded samples. */
  samples: number;
  shaded: number;
}

/**
 * The batch's mean loss and counts without a blocking round trip: each step's per-ray losses and
 * the batch's counts are copied, inside the step's own submission, into a buffer the host maps
 * when the GPU has got there (a step or so later, while the next step runs); the losses are summed
 * in f64 in ray order (runs reproduce exactly). `latest` is the newest record that has arrived;
 * lossOf gives a recent iteration's loss. Mapped buffers are reused once read.
 */
export class PipelinedLoss {
  latest: StepRecord | null = null;
  /** Samples of every step whose record has arrived. */
  samplesArrived = 0;
  private free: GPUBuffer[] = [];
  private all: GPUBuffer[] = [];
  /** Reads in flight, oldest first. */
  private inFlight: Promise<void>[] = [];
  /** The recent iterations' losses, arrived or on their way (lossOf). */
  private recent = new Map<number, { loss: number | null; read: Promise<void> }>();

  constructor(private readonly ctx: GpuContext) {}

  /** Records the copy of the first `n` rays' losses of iteration `iter` and the batch's counts; call the returned function once `enc` is submitted. */
  record(enc: Encoder, batch: RayBatch, n: number, iter: number): () => void {
    const lossBytes = n * LOSS_FLOATS * 4;
    const bytes = lossBytes + 8;
    let staging = this.free.pop();
    if (!staging || staging.size < bytes) {
      staging?.destroy();
      staging = this.ctx.device.createBuffer({ label: 'loss.staging', size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      this.all.push(staging);
    }
    const mapped = staging;
    enc.copy(batch.dColour, 0, staging, 0, lossBytes);
    enc.copy(batch.counter, 0, staging, lossBytes, 8);
    return () => {
      const entry: { loss: number | null; read: Promise<void> } = { loss: null, read: Promise.resolve() };
      const read = mapped.mapAsync(GPUMapMode.READ, 0, bytes).then(
        () => {
          const range = mapped.getMappedRange(0, bytes);
          const values = new Float32Array(range.slice(0, lossBytes));
          const [samples, shaded] = new Uint32Array(range.slice(lossBytes, bytes));
          mapped.unmap();
          this.free.push(mapped);
          entry.loss = meanOf(values, n);
          this.samplesArrived += samples!;
          if (!this.latest || iter > this.latest.iter) this.latest = { iter, loss: entry.loss, samples: samples!, shaded: shaded! };
        },
        // A lost device or a destroyed trainer: the loss is not needed any more.
        () => {},
      );
      entry.read = read;
      this.recent.set(iter, entry);
      for (const old of this.recent.keys()) if (old <= iter - RECENT_ITERS) this.recent.delete(old);
      this.inFlight.push(read);
      void read.finally(() => {
        this.inFlight = this.inFlight.filter((r) => r !== read);
      });
    };
  }

  /**
   * Waits until at most `ahead` recorded steps are still on their way: the host records the next
   * step while the GPU still has those queued, so the wait never leaves the GPU idle (counted as a
   * throttle, not a readback). Without it the host would run ahead of the GPU without bound.
   */
  async throttle(ahead: number): Promise<void> {
    if (this.inFlight.length <= ahead) return;
    this.ctx.counts.throttles++;
    while (this.inFlight.length > ahead) await this.inFlight[0];
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

  /** Waits for every record so far (a blocking wait: counted as a readback). */
  async flush(): Promise<void> {
    if (this.inFlight.length === 0) return;
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
