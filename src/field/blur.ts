// The coarse-to-fine Gaussian of joint pose refinement (notes §5) on a field's factors. A VM or CP
// field is a sum of separable products, so blurring each plane along its two axes and each line
// along its own is exactly a 3-D Gaussian blur of the whole field, at factor-sized cost; the
// adjoint carries the blurred factors' gradient back to the sharp ones. Strivec's local lines are
// blurred along themselves the same way. Each tensor has its own width in voxels of its grid.
import type { GpuContext } from '../gpu/context.ts';
import { cachedKernel, type Encoder, grid1d } from '../gpu/kernel.ts';
import { gaussianTaps, MAX_RADIUS } from './blur.ref.ts';
import { blurWgsl } from './blur.wgsl.ts';
import type { SegmentShape } from './settings.ts';

/** One factor tensor to blur: its geometry, where it starts in the buffers (floats), its width in voxels. */
export interface BlurTensor {
  shape: SegmentShape;
  offset: number;
  sigma: number;
}

/** A tensor's 1-D passes in forward order, each as [outer][len][inner] (a plane is [h][w][k]). */
export function blurPasses(shape: SegmentShape): { outer: number; len: number; inner: number }[] {
  const k = shape.components;
  if (shape.plane) {
    const [w, h] = shape.plane;
    return [
      { outer: h, len: w, inner: k },
      { outer: 1, len: h, inner: w * k },
    ];
  }
  if (shape.line !== undefined) return [{ outer: shape.lines ?? 1, len: shape.line, inner: k }];
  throw new Error(`${shape.name}: only planes and lines can be blurred`);
}

/** Encodes the blur of factor tensors from one buffer to another (or its adjoint), with a scratch buffer for planes. */
export class FactorBlur {
  private taps: GPUBuffer | null = null;
  private scratch: GPUBuffer | null = null;
  private scratchFloats = 0;

  constructor(private readonly ctx: GpuContext) {}

  /**
   * Writes blur(src) (or, with `adjoint`, blurᵀ(src)) into dst at each tensor's offset; src and dst
   * are distinct buffers laid out alike, src in fixed point with `srcFixed` (the factors' gradient
   * sums). Encodes into `enc`; the taps are written to the queue now, so submit `enc` before the
   * next call.
   */
  encode(enc: Encoder, tensors: readonly BlurTensor[], src: GPUBuffer, dst: GPUBuffer, opt: { adjoint?: boolean; srcFixed?: boolean } = {}): void {
    const adjoint = opt.adjoint === true;
    const width = 2 * MAX_RADIUS + 1;
    const kernels = tensors.map((t) => gaussianTaps(t.sigma));
    const host = new Float32Array(Math.max(1, tensors.length) * width);
    kernels.forEach((k, i) => {
      host.set(k, i * width);
    });
    if (!this.taps || this.taps.size < host.byteLength) {
      this.ctx.destroy(this.taps);
      this.taps = this.ctx.buffer('blur.taps', host.byteLength);
    }
    this.ctx.write(this.taps, host);
    const need = Math.max(...tensors.map((t) => (t.shape.plane ? t.shape.count : 0)), 1);
    if (need > this.scratchFloats) {
      this.ctx.destroy(this.scratch);
      this.scratch = this.ctx.buffer('blur.scratch', need * 4);
      this.scratchFloats = need;
    }
    const kernel = cachedKernel(this.ctx, 'blur', () => blurWgsl);
    tensors.forEach((t, i) => {
      const radius = (kernels[i]!.length - 1) / 2;
      const passes = blurPasses(t.shape);
      const order = adjoint ? [...passes].reverse() : passes;
      order.forEach((p, n) => {
        // Two passes go through the scratch buffer; one goes straight across.
        const from = n === 0 ? { buf: src, offset: t.offset } : { buf: this.scratch!, offset: 0 };
        const to = n === order.length - 1 ? { buf: dst, offset: t.offset } : { buf: this.scratch!, offset: 0 };
        enc.dispatch(kernel, {
          params: {
            src_offset: from.offset,
            dst_offset: to.offset,
            ...p,
            radius,
            taps_offset: i * width,
            adjoint: adjoint ? 1 : 0,
            src_fixed: n === 0 && opt.srcFixed ? 1 : 0,
          },
          buffers: { src: from.buf, taps: this.taps!, dst: to.buf },
          workgroups: grid1d(this.ctx, p.outer * p.len * p.inner, 256),
        });
      });
    });
  }

  destroy(): void {
    this.ctx.destroy(this.taps);
    this.ctx.destroy(this.scratch);
    this.taps = this.scratch = null;
    this.scratchFloats = 0;
  }
}
