// All trainable parameters of a model live in one f32 "arena" buffer, with parallel buffers for
// gradients and Adam's moments. A segment is one named tensor (a plane family, a line family, a
// basis matrix, an MLP weight). One layout serves the optimizer (a dispatch per segment), the
// file writer and the upsampler, which rebuilds the arena at new sizes (the reference resets Adam
// at every upsample, so fresh moments are exactly what it wants).
import type { GpuContext, LimitAdvice } from './context.ts';

/**
 * Learning-rate groups of the reference: factor grids at 0.02, basis and MLP at 1e-3. 'index'
 * segments (Strivec's lattice tables) ride along in the arena so kernels can read them, but are
 * not parameters: the optimizer skips them.
 */
export type LrGroup = 'factor' | 'dense' | 'index';

export interface Segment {
  name: string;
  /** Offset in floats from the start of the arena. */
  offset: number;
  count: number;
  group: LrGroup;
  /**
   * Factor segments get gradients as fixed-point i32 (atomic scatter); dense segments as plain f32
   * written by reductions.
   */
  fixedPoint: boolean;
  /** Channels-last tensors: components per texel. 1 for dense tensors. */
  components: number;
}

/** Floats an arena holds for segments of these sizes: each padded to 64 floats, so every segment starts 256-byte aligned. */
export function arenaFloats(counts: Iterable<number>): number {
  let total = 0;
  for (const n of counts) total += Math.ceil(n / 64) * 64;
  return total;
}

export class ParamArena {
  readonly segments: Segment[] = [];
  private inits: Float32Array[] = [];
  total = 0;
  params: GPUBuffer | null = null;
  grads: GPUBuffer | null = null;
  adamM: GPUBuffer | null = null;
  adamV: GPUBuffer | null = null;

  /** Adds a segment, 256-byte aligned (arenaFloats). */
  add(name: string, init: Float32Array, group: LrGroup, components = 1): Segment {
    if (this.params) throw new Error('ParamArena: add() after allocate()');
    if (this.segments.some((s) => s.name === name)) throw new Error(`ParamArena: duplicate segment ${name}`);
    const seg: Segment = {
      name,
      offset: this.total,
      count: init.length,
      group,
      fixedPoint: group === 'factor',
      components,
    };
    this.segments.push(seg);
    this.inits.push(init);
    this.total += arenaFloats([init.length]);
    return seg;
  }

  get(name: string): Segment {
    const s = this.segments.find((x) => x.name === name);
    if (!s) throw new Error(`ParamArena: no segment ${name}`);
    return s;
  }

  has(name: string): boolean {
    return this.segments.some((x) => x.name === name);
  }

  /** Bytes the arena will need on the GPU: params, grads and two moments. */
  get bytes(): number {
    return this.total * 4 * 4;
  }

  allocate(ctx: GpuContext, label = 'arena'): void {
    const host = new Float32Array(this.total);
    this.segments.forEach((s, i) => {
      host.set(this.inits[i]!, s.offset);
    });
    this.inits = [];
    this.params = ctx.upload(`${label}.params`, host);
    this.grads = ctx.buffer(`${label}.grads`, this.total * 4);
    this.adamM = ctx.buffer(`${label}.adamM`, this.total * 4);
    this.adamV = ctx.buffer(`${label}.adamV`, this.total * 4);
  }

  /** Reads every segment of the values (or of one of Adam's moments) back to the host, by name. */
  async download(ctx: GpuContext, which: 'params' | 'adamM' | 'adamV' = 'params'): Promise<Map<string, Float32Array>> {
    const all = await ctx.readF32(this[which]!, this.total);
    const out = new Map<string, Float32Array>();
    for (const s of this.segments) out.set(s.name, all.slice(s.offset, s.offset + s.count));
    return out;
  }

  /** Writes saved moments back, segment by segment (a resumed run continues Adam exactly). */
  writeMoments(ctx: GpuContext, m: Map<string, Float32Array>, v: Map<string, Float32Array>): void {
    for (const s of this.segments) {
      for (const [buffer, values, what] of [
        [this.adamM!, m, 'first'],
        [this.adamV!, v, 'second'],
      ] as const) {
        const x = values.get(s.name);
        if (!x || x.length !== s.count) throw new Error(`ParamArena: the ${what} moment of ${s.name} has ${x?.length ?? 'no'} values, expected ${s.count}`);
        ctx.write(buffer, x, s.offset * 4);
      }
    }
  }

  /**
   * Re-lays the arena with some segments given new values (and so possibly new sizes): the
   * upsample and the AABB shrink. Segment objects keep their identity, so modules holding them
   * stay valid. Adam's moments start from zero, as the reference's fresh optimizer does.
   */
  async rebuild(ctx: GpuContext, replace: Map<string, Float32Array>, label = 'arena', advice: readonly LimitAdvice[] = []): Promise<void> {
    const values = await this.download(ctx);
    for (const [k, v] of replace) {
      if (!values.has(k)) throw new Error(`ParamArena.rebuild: no segment ${k}`);
      values.set(k, v);
    }
    // The new buffers are made before the old ones go: when the GPU cannot hold them, the arena
    // keeps its old layout and buffers, still usable.
    const old = {
      total: this.total,
      layout: this.segments.map((s) => [s.offset, s.count] as const),
      buffers: [this.params, this.grads, this.adamM, this.adamV] as const,
    };
    this.total = 0;
    for (const s of this.segments) {
      const v = values.get(s.name)!;
      s.offset = this.total;
      s.count = v.length;
      this.total += arenaFloats([v.length]);
    }
    this.inits = this.segments.map((s) => values.get(s.name)!);
    await ctx.guardMemory(
      `making the ${label}'s parameters`,
      advice,
      () => this.allocate(ctx, label),
      () => {
        this.destroy(ctx);
        this.total = old.total;
        this.segments.forEach((s, i) => {
          [s.offset, s.count] = old.layout[i]!;
        });
        [this.params, this.grads, this.adamM, this.adamV] = old.buffers;
      },
    );
    for (const b of old.buffers) ctx.destroy(b);
  }

  destroy(ctx: GpuContext): void {
    for (const b of [this.params, this.grads, this.adamM, this.adamV]) ctx.destroy(b);
    this.params = this.grads = this.adamM = this.adamV = null;
  }
}
