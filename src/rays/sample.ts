// Host side of the sampling kernel (sample.wgsl.ts): where along each ray the field is evaluated.
import type { GpuContext } from '../gpu/context.ts';
import { cachedKernel, type Encoder, grid1d, type ParamValues } from '../gpu/kernel.ts';
import { sampleWgsl } from './sample.wgsl.ts';

/** The box, grid and mask the samples are taken in (from the field), and this batch's options. */
export interface SampleParams {
  box: { lo: readonly number[]; hi: readonly number[] };
  grid: readonly number[];
  step: number;
  samplesPerRay: number;
  /** The alpha mask's uniform (TensorField.maskUniform) and its bits. */
  mask: ParamValues;
  maskBits: GPUBuffer;
  /** A per-ray random offset of the samples (training). */
  jitter: boolean;
  seed: number;
  nearFar: readonly [number, number];
  /** How world maps into the field (the field's settings): contracted, NDC, or neither. */
  warp: SampleWarp;
}

/** The buffers the samples go into: counter[0] counts them; at most `capacity` are stored. */
export interface SampleBuffers {
  rays: GPUBuffer;
  counter: GPUBuffer;
  rayInfo: GPUBuffer;
  samples: GPUBuffer;
  capacity: number;
}

type V3 = readonly number[];
/** How world maps into a field (field/geometry.ts SpaceWarp; the field's settings carry one). */
export interface SampleWarp {
  contraction?: { lo: V3; hi: V3 };
  ndc?: { centre: V3; right: V3; down: V3; forward: V3; ax: number; ay: number; near: number };
}

/** The `Contraction` uniform of gpu/wgsl.ts: the warp's kind in lo.w and its parameters. */
export function contractionUniform(w: SampleWarp): ParamValues {
  const none = { r0: [1, 0, 0, 0], r1: [0, 1, 0, 0], r2: [0, 0, 1, 0], ndc: [1, 1, 1, 0] };
  if (w.ndc) {
    const f = w.ndc;
    const row = (axis: readonly number[]) => [...axis, -(axis[0]! * f.centre[0] + axis[1]! * f.centre[1] + axis[2]! * f.centre[2])];
    return { lo: [0, 0, 0, 2], hi: [1, 1, 1, 0], r0: row(f.right), r1: row(f.down), r2: row(f.forward), ndc: [f.ax, f.ay, f.near, 0] };
  }
  const inner = w.contraction;
  return inner ? { lo: [...inner.lo, 1], hi: [...inner.hi, 0], ...none } : { lo: [0, 0, 0, 0], hi: [1, 1, 1, 0], ...none };
}

/** Samples the first `nRays` rays into `out` (counter[0] must be zero beforehand). */
export function sampleRays(ctx: GpuContext, enc: Encoder, nRays: number, p: SampleParams, out: SampleBuffers): void {
  enc.dispatch(
    cachedKernel(ctx, 'sample', () => sampleWgsl),
    {
      params: {
        aabb_lo: [...p.box.lo, p.step],
        aabb_hi: [...p.box.hi, p.jitter ? 1 : 0],
        grid: [...p.grid, p.samplesPerRay],
        near_far: p.nearFar,
        n_rays: nRays,
        capacity: out.capacity,
        seed: p.seed,
        mask: p.mask,
        contraction: contractionUniform(p.warp),
      },
      buffers: { rays: out.rays, mask_bits: p.maskBits, counter: out.counter, ray_info: out.rayInfo, samples: out.samples },
      workgroups: grid1d(ctx, nRays, 64),
    },
  );
}
