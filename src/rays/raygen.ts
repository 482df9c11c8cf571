// The rays a batch starts from: random training rays drawn from the uploaded images (with their
// pixel colours), or the rays of a camera's pixels for a render. Written into a batch's `rays`
// buffer (RAY_BYTES each).
import type { PosedView, Split } from '../data/types.ts';
import type { GpuContext } from '../gpu/context.ts';
import { cachedKernel, type Encoder, grid1d } from '../gpu/kernel.ts';
import { GpuSplit } from './gpu-split.ts';
import { cameraRaysWgsl, trainingRaysWgsl } from './raygen.wgsl.ts';

/**
 * The training images on the GPU and the rays drawn from them. `valid` holds one bit per training
 * pixel: the rays worth drawing, set by the ray filter (train/alpha-mask.ts); until it has run
 * every pixel may be drawn.
 */
export class TrainingRays {
  readonly images: GpuSplit;
  readonly valid: GPUBuffer;
  /** Whether `valid` has been filled (draws are rejection-sampled against it). */
  filtered = false;
  /**
   * The cameras rays are drawn from, packed as images.cams: those cameras, or their refined
   * poses while pose refinement trains them (train/pose-refinement.ts).
   */
  cams: GPUBuffer;

  constructor(
    readonly ctx: GpuContext,
    split: Split,
    readonly whiteBackground: boolean,
  ) {
    this.images = new GpuSplit(ctx, split, 'train');
    this.valid = ctx.buffer('train.validRays', Math.ceil(this.images.pixelCount / 32) * 4);
    this.cams = this.images.cams;
  }

  /** Edge bits of the training pixels (rays/edges.ts), for the edge-guided loss; null until set. */
  private edges: GPUBuffer | null = null;

  /** Uploads the edge bits the edge-guided loss weighs rays by. */
  setEdges(bits: Uint32Array): void {
    this.ctx.destroy(this.edges);
    this.edges = this.ctx.upload('train.edges', bits);
  }

  /**
   * Draws `n` random rays (seeded: the same seed draws the same rays) into `rays`. `supervision`
   * (pose refinement, notes §5): the colours blurred by a Gaussian of `blur` · (W + H) / 2 pixels,
   * and each ray's loss weight [on an edge, off one] (needs setEdges).
   */
  draw(
    enc: Encoder,
    rays: GPUBuffer,
    n: number,
    seed: number,
    supervision: { blur: number; edgeWeights: [number, number] | null } = { blur: 0, edgeWeights: null },
  ): void {
    const img = this.images;
    const edges = supervision.edgeWeights;
    if (edges && !this.edges) throw new Error('TrainingRays.draw: edge weights asked for before setEdges');
    enc.dispatch(
      cachedKernel(this.ctx, 'trainingRays', () => trainingRaysWgsl),
      {
        params: {
          seed,
          n_rays: n,
          total: img.pixelCount,
          n_images: img.count,
          white_bg: this.whiteBackground ? 1 : 0,
          use_valid: this.filtered ? 1 : 0,
          blur_frac: supervision.blur,
          use_edges: edges ? 1 : 0,
          edge_w: edges?.[0] ?? 1,
          rest_w: edges?.[1] ?? 1,
        },
        // (Without edge bits the valid bits stand in: the kernel does not read them.)
        buffers: { cams: this.cams, pixels: img.pixels, valid: this.valid, rays, views: img.views, edges: this.edges ?? this.valid },
        workgroups: grid1d(this.ctx, n, 64),
      },
    );
  }

  destroy(): void {
    this.images.destroy();
    this.ctx.destroy(this.valid);
    this.ctx.destroy(this.edges);
  }
}

/**
 * Writes the rays of pixels [first, first + n) of `camera`'s image (row-major) into `rays`;
 * `cams` holds that one camera packed by packCameras.
 */
export function cameraRays(ctx: GpuContext, enc: Encoder, cams: GPUBuffer, camera: PosedView, first: number, n: number, rays: GPUBuffer): void {
  enc.dispatch(
    cachedKernel(ctx, 'cameraRays', () => cameraRaysWgsl),
    {
      params: { n_rays: n, width: camera.width, first_pixel: first },
      buffers: { cams, rays },
      workgroups: grid1d(ctx, n, 64),
    },
  );
}
