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
  /** The inner box of a contracted field (FieldSettings.contraction); absent: the box only. */
  contraction?: { lo: readonly number[]; hi: readonly number[] };
}

/** The buffers the samples go into: counter[0] counts them; at most `capacity` are stored. */
export interface SampleBuffers {
  rays: GPUBuffer;
  counter: GPUBuffer;
  rayInfo: GPUBuffer;
  samples: GPUBuffer;
  capacity: number;
}

/** The `Contraction` uniform of gpu/wgsl.ts: the inner box, with lo.w = 1 when contracted. */
export function contractionUniform(inner: SampleParams['contraction']): ParamValues {
  return inner ? { lo: [...inner.lo, 1], hi: [...inner.hi, 0] } : { lo: [0, 0, 0, 0], hi: [1, 1, 1, 0] };
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
        contraction: contractionUniform(p.contraction),
      },
      buffers: { rays: out.rays, mask_bits: p.maskBits, counter: out.counter, ray_info: out.rayInfo, samples: out.samples },
      workgroups: grid1d(ctx, nRays, 64),
    },
  );
}
