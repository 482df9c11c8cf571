// Host side of the exclusive prefix sum (prefix-sum.wgsl.ts): offsets from counts, in order.
import type { GpuContext } from './context.ts';
import { cachedKernel, type Encoder } from './kernel.ts';
import { prefixSumWgsl } from './prefix-sum.wgsl.ts';

/**
 * Replaces values[0, n) (u32) by their exclusive prefix sums and writes their total to
 * total[totalIndex]. One workgroup: each invocation walks n / 256 values, so it suits the
 * per-ray counts of a batch (thousands), not millions.
 */
export function exclusivePrefixSum(ctx: GpuContext, enc: Encoder, values: GPUBuffer, n: number, total: GPUBuffer, totalIndex: number): void {
  enc.dispatch(
    cachedKernel(ctx, 'prefixSum', () => prefixSumWgsl),
    {
      params: { n, total_index: totalIndex },
      buffers: { values, total },
      workgroups: [1],
    },
  );
}
