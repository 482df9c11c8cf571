// The importance of every factor texel: over the training rays, the sum of each sample's blend
// weight (alpha times transmittance, as compositing weighs its colour) times the texel's
// interpolation weight at the sample (VQRF's measure, Li et al. 2023). Texels no ray sees score
// 0; those on the surfaces the photos show score most. Pruning, vector quantisation and 8 bits
// are chosen by it (compress/). Computed on the GPU with the renderer's own sampling and weights
// (RayBatch.scatterTexelWeights), checked against the f64 reference beside it (importance.ref.ts).
import type { PosedView } from '../data/types.ts';
import type { TensorField } from '../field/field.ts';
import { layoutOf } from '../field/layout.ts';
import type { GpuContext } from '../gpu/context.ts';
import { cachedKernel, Encoder, grid1d } from '../gpu/kernel.ts';
import { GRAD_SCALE } from '../gpu/wgsl.ts';
import { overPixelWeights } from '../render/pixel-weights.ts';
import { RayBatch, RENDER_RAYS } from '../render/ray-batch.ts';
import { drainShader } from './importance.wgsl.ts';

/** Per factor segment (density.plane0, app.line2, …): each texel's importance, in the segment's texel order. */
export type TexelImportance = Map<string, Float32Array>;

/**
 * Fixed-point units per unit of weight. A ray adds at most 1 to any texel (its blend weights sum
 * to at most 1), so the i32 sums hold DRAIN_RAYS rays with room for rounding; 2^-16 resolves a
 * thousandth of the weight threshold.
 */
const FIXED_UNITS = 2 ** 16;
/** Rays between drains of the fixed-point sums into float totals: 2^14 · 2^16 = 2^30, half the i32 range. */
export const DRAIN_RAYS = 2 ** 14;

export interface ImportanceOptions {
  /** The dataset's ray range. */
  nearFar: [number, number];
  signal?: AbortSignal;
  /** Called after each view. */
  onProgress?: (views: number, total: number) => void;
  /** Rays per pass and between drains (default: the batch's, and DRAIN_RAYS); tests lower them to exercise several of each. */
  raysPerPass?: number;
  drainRays?: number;
}

/** Sums of the texel weights (arena-shaped, fixed point) and their float totals, drained every DRAIN_RAYS rays. */
class TexelWeightSums {
  readonly fixed: GPUBuffer;
  readonly totals: GPUBuffer;
  private rays = 0;

  constructor(
    private readonly ctx: GpuContext,
    private readonly count: number,
    private readonly drainRays: number,
  ) {
    this.fixed = ctx.buffer('compress.texelWeights', count * 4);
    this.totals = ctx.buffer('compress.importance', count * 4);
  }

  /** Before a pass of `n` rays: drains first when they could overrun the fixed-point range. */
  before(enc: Encoder, n: number): void {
    if (this.rays + n > this.drainRays) this.drain(enc);
    this.rays += n;
  }

  drain(enc: Encoder): void {
    enc.dispatch(
      cachedKernel(this.ctx, 'importanceDrain', () => drainShader),
      {
        params: { count: this.count, inv_scale: 1 / FIXED_UNITS },
        buffers: { fixed_sums: this.fixed, totals: this.totals },
        workgroups: grid1d(this.ctx, this.count, 256),
      },
    );
    this.rays = 0;
  }

  destroy(): void {
    this.ctx.destroy(this.fixed);
    this.ctx.destroy(this.totals);
  }
}

/** The factor segments' texel importance from arena-shaped totals (each texel's component 0). */
function perSegment(field: TensorField, totals: Float32Array): TexelImportance {
  const out: TexelImportance = new Map();
  for (const seg of field.arena.segments.filter((s) => s.group === 'factor')) {
    const texels = seg.count / seg.components;
    const v = new Float32Array(texels);
    for (let t = 0; t < texels; t++) v[t] = totals[seg.offset + t * seg.components]!;
    out.set(seg.name, v);
  }
  return out;
}

/** Refuses a model whose layout has no texel kernel (Strivec), naming it. */
export function checkCompressible(field: Pick<TensorField, 'settings'>): void {
  const layout = layoutOf(field.settings.kind);
  if (!layout.wgsl.texels) throw new Error(`${layout.label} models cannot be compressed yet: compact files support TensoRF VM, CP and SlimmeRF models`);
}

/**
 * The importance of every factor texel over the rays of every pixel of `views` (the training
 * cameras), at the field's full rank.
 */
export async function texelImportance(ctx: GpuContext, field: TensorField, views: PosedView[], opts: ImportanceOptions): Promise<TexelImportance> {
  checkCompressible(field);
  const batch = new RayBatch(ctx, field, RENDER_RAYS);
  batch.nearFar = opts.nearFar;
  const drainRays = Math.min(opts.drainRays ?? DRAIN_RAYS, DRAIN_RAYS);
  const sums = new TexelWeightSums(ctx, field.arena.total, drainRays);
  try {
    await overPixelWeights(ctx, batch, views, {
      perPass: Math.min(opts.raysPerPass ?? Infinity, drainRays),
      before: (prelude, n) => sums.before(prelude, n),
      each: (finish) => batch.scatterTexelWeights(finish, sums.fixed, FIXED_UNITS / GRAD_SCALE),
      signal: opts.signal,
      onView: opts.onProgress,
    });
    const enc = new Encoder(ctx);
    sums.drain(enc);
    enc.submit();
    return perSegment(field, await ctx.readF32(sums.totals, field.arena.total));
  } finally {
    sums.destroy();
    batch.destroy();
  }
}
