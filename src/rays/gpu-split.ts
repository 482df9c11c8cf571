// A dataset split on the GPU: RGBA8 pixels (one u32 per pixel, images back to back) and cameras
// (CAMERA_FLOATS each: fx fy cx cy, the three OpenCV camera-to-world rows, k1 k2 p1 p2, k3 k4 k5 k6,
// the lens model: 0 OpenCV, 1 fisheye with k1..k4 in the first four). Rays are generated
// from these on the GPU; they are never precomputed for the whole dataset.

import { CAMERA_FLOATS } from '../camera/camera-ray.wgsl.ts';
import type { PosedView, Split } from '../data/types.ts';
import { formatBytes, type GpuContext, LimitError } from '../gpu/context.ts';

export function packCameras(cams: PosedView[]): Float32Array {
  const out = new Float32Array(cams.length * CAMERA_FLOATS);
  cams.forEach((c, i) => {
    const at = i * CAMERA_FLOATS;
    out.set([c.fx, c.fy, c.cx, c.cy], at);
    for (let r = 0; r < 3; r++) for (let k = 0; k < 4; k++) out[at + 4 + r * 4 + k] = c.c2w[r * 4 + k]!;
    const d = c.distortion;
    if (d) out.set([d.k1, d.k2, d.p1, d.p2, d.k3 ?? 0, d.k4 ?? 0, d.k5 ?? 0, d.k6 ?? 0], at + 16);
    const f = c.fisheye;
    if (f) out.set([f.k1, f.k2, f.k3, f.k4, 0, 0, 0, 0, 1], at + 16);
  });
  return out;
}

/** The smallest power-of-two downscale that makes images of `bytes` fit `maxBinding` (k divides the pixels by k²). */
export function downscaleToFit(bytes: number, maxBinding: number): number {
  return Math.max(2, 2 ** Math.ceil(Math.log2(Math.sqrt(bytes / maxBinding))));
}

/**
 * Where each image's pixels start in a split's pixel buffer, and each image's width: images may
 * differ in size (a COLMAP model with several cameras), so a pixel index finds its image by a
 * binary search over the starts (`pixelView` in raygen.wgsl.ts). Entry n is (total pixels, 0).
 */
export function viewTable(cameras: readonly PosedView[]): Uint32Array {
  const out = new Uint32Array((cameras.length + 1) * 2);
  let start = 0;
  cameras.forEach((c, i) => {
    out[i * 2] = start;
    out[i * 2 + 1] = c.width;
    start += c.width * c.height;
  });
  out[cameras.length * 2] = start;
  return out;
}

export class GpuSplit {
  readonly pixels: GPUBuffer;
  readonly cams: GPUBuffer;
  /** viewTable(): each image's first pixel and width. */
  readonly views: GPUBuffer;
  readonly count: number;
  /** Pixels of all images together. */
  readonly pixelCount: number;

  constructor(
    readonly ctx: GpuContext,
    split: Split,
    label: string,
  ) {
    this.count = split.cameras.length;
    // Summed here, not read from the u32 table, whose total would wrap past 2^32 pixels.
    this.pixelCount = split.cameras.reduce((n, c) => n + c.width * c.height, 0);
    const bytes = this.pixelCount * 4;
    if (this.pixelCount >= 2 ** 32 || bytes > ctx.maxBinding) {
      throw new LimitError(
        `${label}: ${this.count} images of ${(this.pixelCount / 1e6).toFixed(1)} megapixels in all need ${formatBytes(bytes)} on the GPU, ` +
          `more than one buffer may hold here (${formatBytes(ctx.maxBinding)})`,
        [{ change: 'downscale', factor: downscaleToFit(bytes, ctx.maxBinding) }, { change: 'fewer-views' }],
      );
    }
    // Within the u32 range now: the table's starts are exact.
    const table = viewTable(split.cameras);
    const all = new Uint8Array(bytes);
    split.images.forEach((img, i) => {
      const c = split.cameras[i]!;
      if (img.length !== c.width * c.height * 4) throw new Error(`${label}: image ${i} holds ${img.length} bytes, its camera is ${c.width}x${c.height}`);
      all.set(img, table[i * 2]! * 4);
    });
    this.pixels = ctx.upload(`${label}.pixels`, all);
    this.cams = ctx.upload(`${label}.cameras`, packCameras(split.cameras));
    this.views = ctx.upload(`${label}.views`, table);
  }

  destroy(): void {
    this.ctx.destroy(this.pixels);
    this.ctx.destroy(this.cams);
    this.ctx.destroy(this.views);
  }
}
