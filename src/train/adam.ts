// Adam optimizer over a ParamArena: one dispatch per segment, so each segment can have its own
// learning rate, L1 weight, gradient encoding and component lock (see adam.wgsl.ts).
import type { GpuContext } from '../gpu/context.ts';
import { cachedKernel, type Encoder, grid1d, type Kernel } from '../gpu/kernel.ts';
import type { ParamArena, Segment } from '../gpu/param-arena.ts';
import { adamShader } from './adam.wgsl.ts';

export const ADAM_BETA1 = 0.9;
export const ADAM_BETA2 = 0.99;
export const ADAM_EPS = 1e-8;

export interface AdamOptions {
  /** Multiplies every raw gradient (e.g. 1 / batch rays, to turn per-ray sums into means). */
  gradScale: number;
  /** L1 weight per segment, already divided by the element count; 0 or absent for none. */
  l1For?: (seg: Segment) => number;
  /** Components (of seg.components) that are updated; the rest stay untouched. Default: all. */
  activeFor?: (seg: Segment) => number;
  /** Segments whose entries with an exactly zero gradient are skipped (Strivec's masked Adam on its lines). */
  skipZeroFor?: (seg: Segment) => boolean;
  /** Whether a segment's gradient is fixed point this step (default: seg.fixedPoint). */
  fixedPointFor?: (seg: Segment) => boolean;
}

export class Adam {
  /** Steps taken (PyTorch's `step`); bias corrections use it. */
  step = 0;
  private readonly kernel: Kernel;

  constructor(private readonly ctx: GpuContext) {
    this.kernel = cachedKernel(ctx, 'adam', () => adamShader);
  }

  /** Restart bias correction, e.g. after an upsample (the moments are fresh buffers then). */
  reset(): void {
    this.step = 0;
  }

  /**
   * One Adam step over every segment: t += 1, then per segment a dispatch that updates params and
   * moments from the gradients and zeroes the gradients.
   */
  update(enc: Encoder, arena: ParamArena, lrFor: (seg: Segment) => number, opts: AdamOptions): void {
    if (!arena.params || !arena.grads || !arena.adamM || !arena.adamV) throw new Error('Adam: the ParamArena is not allocated');
    this.step++;
    const t = this.step;
    // Bias corrections in f64 on the host; only the final factors go to the GPU as f32.
    const bc1 = 1 - ADAM_BETA1 ** t;
    const bc2 = 1 - ADAM_BETA2 ** t;
    for (const seg of arena.segments) {
      if (seg.count === 0 || seg.group === 'index') continue;
      const lr = lrFor(seg);
      const l1 = opts.l1For?.(seg) ?? 0;
      const active = opts.activeFor?.(seg) ?? seg.components;
      if (!Number.isInteger(active) || active < 0) throw new Error(`Adam: bad active component count ${active} for ${seg.name}`);
      enc.dispatch(this.kernel, {
        params: {
          offset: seg.offset,
          count: seg.count,
          fixed_point: (opts.fixedPointFor?.(seg) ?? seg.fixedPoint) ? 1 : 0,
          components: Math.max(1, seg.components),
          active_components: Math.min(active, seg.components),
          skip_zero: opts.skipZeroFor?.(seg) ? 1 : 0,
          grad_scale: opts.gradScale,
          l1,
          step_size: lr / bc1,
          inv_sqrt_bc2: 1 / Math.sqrt(bc2),
          beta1: ADAM_BETA1,
          beta2: ADAM_BETA2,
          eps: ADAM_EPS,
        },
        buffers: { p: arena.params, g: arena.grads, m: arena.adamM, v: arena.adamV },
        workgroups: grid1d(this.ctx, seg.count, 256),
      });
    }
  }
}
