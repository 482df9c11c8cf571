// The regularizers of the reference (notes 2.3-2.4): L1 on the density factors, applied by Adam as
// a weight per segment, and total variation on the factors the layout names, whose gradient the
// TV kernel (tv.wgsl.ts) adds in float.

import type { TensorField } from '../field/field.ts';
import type { GpuContext } from '../gpu/context.ts';
import { cachedKernel, type Encoder, grid1d } from '../gpu/kernel.ts';
import type { Segment } from '../gpu/param-arena.ts';
import { tvWgsl } from './tv.wgsl.ts';

/**
 * L1 weight of a segment for Adam: the mean |.| of each density tensor, so the weight is divided
 * by its element count; the layout may scale it (Strivec's reference sums three lines' means).
 */
export function l1WeightOf(field: TensorField, seg: Segment, weight: number): number {
  return seg.name.startsWith('density.') ? (field.layout.training.l1Scale * weight) / seg.count : 0;
}

/**
 * Adds the TV gradients of the layout's TV tensors (VM planes with the reference's extra 1e-2,
 * CP lines with 1e-3); the weights decay by `decay` (the lr factor, never reset). Gradients are
 * kept as per-ray sums until Adam divides by the ray count, hence `nRays`. `f32` names the
 * segments whose gradients are f32 already. Returns the segments whose gradients are now f32.
 */
export function addTotalVariation(
  ctx: GpuContext,
  enc: Encoder,
  field: TensorField,
  weights: { density: number; app: number },
  decay: number,
  nRays: number,
  f32: ReadonlySet<string> = new Set(),
): Set<string> {
  const done = new Set<string>(f32);
  for (const t of field.layout.tvTensors(field.settings, field.grid)) {
    const w = t.segment.startsWith('density.') ? weights.density : weights.app;
    if (w <= 0) continue;
    const seg = field.arena.get(t.segment);
    enc.dispatch(
      cachedKernel(ctx, 'tv', () => tvWgsl),
      {
        params: {
          offset: seg.offset,
          width: t.width,
          height: t.height,
          k: seg.components,
          weight: w * t.scale * decay * nRays,
          grads_f32: f32.has(seg.name) ? 1 : 0,
        },
        buffers: { p: field.arena.params!, grads: field.arena.grads! },
        workgroups: grid1d(ctx, seg.count, 256),
      },
    );
    done.add(seg.name);
  }
  return done;
}
