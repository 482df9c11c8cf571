// Rendering a camera's image through a field, a block of pixels at a time, with the same RayBatch
// as training: test views, the studio's viewport, the CLI's render command, the viewer.
import type { PosedView } from '../data/types.ts';
import type { TensorField } from '../field/field.ts';
import { componentsAtRank } from '../field/rank.ts';
import type { GpuContext } from '../gpu/context.ts';
import { Encoder } from '../gpu/kernel.ts';
import { RAY_BYTES } from '../gpu/wgsl.ts';
import { yieldIfLong } from '../gpu/yield.ts';
import { packCameras } from '../rays/gpu-split.ts';
import { cameraRays } from '../rays/raygen.ts';
import { RAY_OUT_BYTES, type RayOutputs, rayOutputsOf, readRayOutputs } from './batch-output.ts';
import { CHUNK_HEADROOM, RayBatch, RENDER_RAYS } from './ray-batch.ts';

/** Rays whose outputs a render gathers on the GPU between readbacks (32 bytes each: 16 MiB). */
export const RENDER_GATHER_RAYS = 1 << 19;

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
  async render(cam: PosedView, bg: number, rank?: number, nearFar?: [number, number]): Promise<ImageResult> {
    const { ctx } = this;
    const cams = ctx.upload('render.camera', packCameras([cam]));
    try {
      const total = cam.width * cam.height;
      const out = await this.passes(total, (enc, first, n) => cameraRays(ctx, enc, cams, cam, first, n, this.batch.rays), bg, rank, nearFar);
      return { ...out, width: cam.width, height: cam.height };
    } finally {
      ctx.destroy(cams);
    }
  }

  /**
   * Colours of arbitrary rays: `origins` and unit `dirs` hold xyz per ray (exports colour a
   * surface by looking at it). The same passes as a camera's render.
   */
  async renderRays(
    origins: Float32Array,
    dirs: Float32Array,
    bg: number,
    nearFar: [number, number],
    rank?: number,
  ): Promise<{ rgb: Float32Array; acc: Float32Array }> {
    const total = origins.length / 3;
    const packed = new Float32Array(Math.min(this.batch.raysPerPass, total) * (RAY_BYTES / 4));
    const { rgb, acc } = await this.passes(
      total,
      (_enc, first, n) => {
        for (let i = 0; i < n; i++) {
          const o = (first + i) * 3;
          packed.set([origins[o]!, origins[o + 1]!, origins[o + 2]!, 0, dirs[o]!, dirs[o + 1]!, dirs[o + 2]!, 0, 0, 0, 0, 0], i * 12);
        }
        // (Written in queue order: after the previous pass's submissions, before this one's.)
        this.ctx.write(this.batch.rays, packed.subarray(0, n * 12));
      },
      bg,
      rank,
      nearFar,
    );
    return { rgb, acc };
  }

  /** The gather buffer, kept between renders and grown to the largest block a render asked for. */
  private gather: GPUBuffer | null = null;

  /**
   * A gather buffer of at least `bytes`, grown in an out-of-memory scope: a GPU that cannot hold
   * it says so (a LimitError), and the renderer keeps the one it has. It at least doubles (up to a
   * whole gather's outputs), so a view refined band by band grows it a few times, not per band.
   */
  private async gatherOf(bytes: number): Promise<GPUBuffer> {
    if (this.gather && this.gather.size >= bytes) return this.gather;
    const size = Math.max(bytes, Math.min(2 * (this.gather?.size ?? 0), RENDER_GATHER_RAYS * RAY_OUT_BYTES));
    const made = await this.ctx.guardMemory(
      `gathering a render's outputs`,
      [],
      () => this.ctx.buffer('render.gather', size),
      (b) => this.ctx.destroy(b),
    );
    this.ctx.destroy(this.gather);
    this.gather = made;
    return made;
  }

  /**
   * Shaded samples of the most shaded pass this renderer has counted (-1: none yet). A pass
   * shades the chunks that needs, with headroom, instead of every chunk its sample bound could
   * need (most of them empty, each costing its dispatches).
   */
  private shadedSeen = -1;

  /** Chunks a pass of `n` rays shades: all it could need until a pass was counted, then what the most shaded one needed with headroom. */
  private chunksPerPass(n: number): number {
    const all = this.batch.chunksFor(n);
    if (this.shadedSeen < 0) return all;
    return Math.min(all, Math.max(1, Math.ceil((this.shadedSeen * CHUNK_HEADROOM) / this.batch.chunkRows)));
  }

  /**
   * Outputs of `total` rays in passes of the batch's size; `rays` records (or writes) a pass's
   * rays. Each pass is two submissions (rays, samples and weights; shading and colours) and never
   * waits: its outputs and its shaded count are copied into a gather buffer on the GPU, read back
   * once per RENDER_GATHER_RAYS rays. A pass that shaded more rows than the chunks it recorded
   * (chunksPerPass) is rendered again with all of them, so no sample is dropped. A renderer's very
   * first pass is counted at once (one readback in its life).
   */
  private async passes(
    total: number,
    rays: (enc: Encoder, first: number, n: number) => void,
    bg: number,
    rank: number | undefined,
    nearFar: [number, number] | undefined,
  ): Promise<RayOutputs> {
    const { ctx, batch } = this;
    const comps = componentsAtRank(this.field.settings, Math.min(rank ?? this.field.rank, this.field.rank));
    const rgb = new Float32Array(total * 3);
    const acc = new Float32Array(total);
    const depth = new Float32Array(total);
    const gatherRays = Math.min(total, RENDER_GATHER_RAYS);
    // The samples per ray (so the rays per pass) stay as they are while the field renders.
    const perPass = batch.raysPerPass;
    const outBytes = gatherRays * RAY_OUT_BYTES;
    const gather = await this.gatherOf(outBytes + Math.ceil(gatherRays / perPass) * 4);
    const options = (chunks: number | undefined) => ({
      train: false,
      jitter: false,
      seed: 0,
      bg,
      rank: comps,
      ...(nearFar ? { nearFar } : {}),
      ...(chunks !== undefined ? { chunks } : {}),
    });
    const place = (out: RayOutputs, first: number) => {
      rgb.set(out.rgb, first * 3);
      acc.set(out.acc, first);
      depth.set(out.depth, first);
    };
    for (let block = 0; block < total; block += gatherRays) {
      const blockRays = Math.min(gatherRays, total - block);
      const recorded: { at: number; n: number; chunks: number }[] = [];
      for (let at = 0; at < blockRays; at += perPass) {
        const n = Math.min(perPass, blockRays - at);
        const chunks = this.chunksPerPass(n);
        const prelude = new Encoder(ctx);
        rays(prelude, block + at, n);
        const finish = new Encoder(ctx);
        await batch.forward(n, { ...options(chunks), prelude, finishIn: finish });
        finish.copy(batch.output, 0, gather, at * RAY_OUT_BYTES, n * RAY_OUT_BYTES);
        finish.copy(batch.counter, 4, gather, outBytes + recorded.length * 4, 4);
        finish.submit();
        recorded.push({ at, n, chunks });
        if (this.shadedSeen < 0) this.shadedSeen = (await batch.readCounts()).shaded;
        // Passes no longer wait for the GPU: a page handles input between them.
        await yieldIfLong();
      }
      const bytes = await ctx.read(gather, outBytes + recorded.length * 4);
      const shaded = new Uint32Array(bytes, outBytes, recorded.length);
      place(rayOutputsOf(new Float32Array(bytes, 0, blockRays * (RAY_OUT_BYTES / 4)), blockRays), block);
      for (const [i, pass] of recorded.entries()) {
        this.shadedSeen = Math.max(this.shadedSeen, shaded[i]!);
        if (shaded[i]! <= pass.chunks * batch.chunkRows) continue;
        // More shaded rows than the pass's chunks held: again, with every chunk.
        const prelude = new Encoder(ctx);
        rays(prelude, block + pass.at, pass.n);
        await batch.forward(pass.n, { ...options(undefined), prelude });
        place(await readRayOutputs(ctx, batch.output, pass.n), block + pass.at);
      }
    }
    return { rgb, acc, depth };
  }

  destroy(ownBatch = true): void {
    this.ctx.destroy(this.gather);
    this.gather = null;
    if (ownBatch) this.batch.destroy();
  }
}
