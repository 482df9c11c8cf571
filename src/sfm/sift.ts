// SIFT features on the GPU (sift.wgsl.ts; sift.ref.ts is the f64 twin each kernel is checked
// against): the image's scale space is built and searched for refined DoG extrema on the device;
// the host keeps the strongest (sorted, so the order threads ran in does not matter), the device
// finds their orientations and then the descriptors of every oriented keypoint. Only the
// extrema, the angles and the descriptors come back.
import type { GpuContext } from '../gpu/context.ts';
import { cachedKernel, Encoder, grid1d, type Kernel } from '../gpu/kernel.ts';
import {
  type Extremum,
  type Features,
  type GreyImage,
  gaussianKernel,
  keypointOf,
  levelIncrements,
  NOMINAL_BLUR,
  type Octave,
  SIFT_DEFAULTS,
  type SiftOptions,
  selectStrongest,
} from './sift.ref.ts';
import { blurWgsl, descriptorWgsl, dogWgsl, downsampleWgsl, extremaWgsl, orientationWgsl, SIFT_WORKGROUP, upsampleWgsl } from './sift.wgsl.ts';

/** One octave on the device: its Gaussian levels (levels + 3) and DoG levels (levels + 2), each stacked w·h after the other. */
export interface GpuOctave {
  o: number;
  w: number;
  h: number;
  gauss: GPUBuffer;
  dog: GPUBuffer;
}

/** The octaves' sizes, as scaleSpaceRef makes them: down to 16 pixels on the short side. */
function octaveSizes(width: number, height: number, first: number): { o: number; w: number; h: number }[] {
  let [w, h] = first < 0 ? [width * 2, height * 2] : [width, height];
  const out: { o: number; w: number; h: number }[] = [];
  for (let o = first; Math.min(w, h) >= 16; o++) {
    out.push({ o, w, h });
    [w, h] = [Math.floor((w + 1) / 2), Math.floor((h + 1) / 2)];
  }
  return out;
}

/**
 * The first octave: −1 (the image upsampled twice, COLMAP's default) where its Gaussian levels fit
 * one of this adapter's buffers, else 0 (a photo too large for upsampling on this GPU keeps its
 * size rather than fail).
 */
export function firstOctaveFor(ctx: GpuContext, image: { width: number; height: number }, opts: SiftOptions = {}): number {
  const first = opts.firstOctave ?? SIFT_DEFAULTS.firstOctave;
  const levels = opts.levels ?? SIFT_DEFAULTS.levels;
  const bytes = (levels + 3) * image.width * image.height * 4 * 4 ** -Math.min(0, first);
  return first < 0 && bytes > ctx.maxBinding ? 0 : first;
}

/** Builds the scale space of a grey image on the device (submitted, not awaited). */
export function scaleSpaceGpu(ctx: GpuContext, image: GreyImage, opts: SiftOptions = {}): GpuOctave[] {
  const levels = opts.levels ?? SIFT_DEFAULTS.levels;
  const first = firstOctaveFor(ctx, image, opts);
  const sigma0 = opts.sigma0 ?? SIFT_DEFAULTS.sigma0;
  if (first < -1) throw new Error(`SIFT's first octave is −1 or more, got ${first}`);
  const sizes = octaveSizes(image.width, image.height, first);
  const biggest = sizes[0] ?? { w: image.width, h: image.height };
  const enc = new Encoder(ctx);
  const blur = cachedKernel(ctx, 'siftBlur', () => blurWgsl);
  const grid = (n: number) => grid1d(ctx, n, SIFT_WORKGROUP);
  const temps: GPUBuffer[] = [];
  const scratch = ctx.buffer('sift.scratch', biggest.w * biggest.h * 4);
  temps.push(scratch);
  const tapsOf = new Map<number, GPUBuffer>();
  const taps = (sigma: number) => {
    let t = tapsOf.get(sigma);
    if (!t) {
      t = ctx.upload('sift.taps', Float32Array.from(gaussianKernel(sigma)));
      tapsOf.set(sigma, t);
      temps.push(t);
    }
    return t;
  };
  /** Blurs the w × h plane at src[srcAt] into dst[dstAt] (through the scratch plane). */
  const blurPlane = (src: GPUBuffer, srcAt: number, dst: GPUBuffer, dstAt: number, w: number, h: number, sigma: number) => {
    const t = taps(sigma);
    const radius = (gaussianKernel(sigma).length - 1) / 2;
    enc.dispatch(blur, {
      params: { w, h, radius, axis: 0, src_at: srcAt, dst_at: 0 },
      buffers: { src, taps: t, dst: scratch },
      workgroups: grid(w * h),
    });
    enc.dispatch(blur, {
      params: { w, h, radius, axis: 1, src_at: 0, dst_at: dstAt },
      buffers: { src: scratch, taps: t, dst },
      workgroups: grid(w * h),
    });
  };

  const octaves: GpuOctave[] = [];
  try {
    const grey = ctx.upload('sift.grey', Float32Array.from(image.data));
    temps.push(grey);
    let base = grey;
    if (first < 0) {
      base = ctx.buffer('sift.upsampled', biggest.w * biggest.h * 4);
      temps.push(base);
      enc.dispatch(
        cachedKernel(ctx, 'siftUpsample', () => upsampleWgsl),
        {
          params: { w: image.width, h: image.height },
          buffers: { src: grey, dst: base },
          workgroups: grid(biggest.w * biggest.h),
        },
      );
    }
    const inc = levelIncrements(levels, sigma0);
    // The first level has σ0 in its octave's pixels; the photo's own blur counts towards it.
    const had = NOMINAL_BLUR * 2 ** -first;
    for (const [k, { o, w, h }] of sizes.entries()) {
      const plane = w * h;
      const oct: GpuOctave = {
        o,
        w,
        h,
        gauss: ctx.buffer(`sift.gauss.${o}`, (levels + 3) * plane * 4),
        dog: ctx.buffer(`sift.dog.${o}`, (levels + 2) * plane * 4),
      };
      octaves.push(oct);
      if (k === 0) {
        if (sigma0 > had) blurPlane(base, 0, oct.gauss, 0, w, h, Math.sqrt(sigma0 * sigma0 - had * had));
        else enc.copy(base, 0, oct.gauss, 0, plane * 4);
      } else {
        const prev = octaves[k - 1]!;
        enc.dispatch(
          cachedKernel(ctx, 'siftDownsample', () => downsampleWgsl),
          {
            params: { w: prev.w, h: prev.h, src_at: levels * prev.w * prev.h },
            buffers: { src: prev.gauss, dst: [oct.gauss, 0, plane * 4] },
            workgroups: grid(plane),
          },
        );
      }
      for (let s = 1; s < levels + 3; s++) blurPlane(oct.gauss, (s - 1) * plane, oct.gauss, s * plane, w, h, inc[s]!);
      enc.dispatch(
        cachedKernel(ctx, 'siftDog', () => dogWgsl),
        {
          params: { n: (levels + 2) * plane, plane },
          buffers: { gauss: oct.gauss, dog: oct.dog },
          workgroups: grid((levels + 2) * plane),
        },
      );
    }
    enc.submit();
  } catch (e) {
    destroyOctaves(ctx, octaves);
    throw e;
  } finally {
    // Destroyed buffers live on until the submitted work that uses them is done.
    for (const t of temps) ctx.destroy(t);
  }
  return octaves;
}

export function destroyOctaves(ctx: GpuContext, octaves: readonly GpuOctave[]): void {
  for (const o of octaves) {
    ctx.destroy(o.gauss);
    ctx.destroy(o.dog);
  }
}

/** The octaves read back as the reference holds them (tests compare the two). */
export async function readOctaves(ctx: GpuContext, octaves: readonly GpuOctave[], opts: SiftOptions = {}): Promise<Octave[]> {
  const levels = opts.levels ?? SIFT_DEFAULTS.levels;
  const out: Octave[] = [];
  for (const { o, w, h, gauss, dog } of octaves) {
    const levelsOf = async (buf: GPUBuffer, n: number) => {
      const all = await ctx.readF32(buf, n * w * h);
      return Array.from({ length: n }, (_, s) => ({ width: w, height: h, data: Float64Array.from(all.subarray(s * w * h, (s + 1) * w * h)) }));
    };
    out.push({ o, gauss: await levelsOf(gauss, levels + 3), dog: await levelsOf(dog, levels + 2) });
  }
  return out;
}

/** Every octave's refined extrema, sorted by octave, level, row and column. */
export async function extremaGpu(ctx: GpuContext, octaves: readonly GpuOctave[], opts: SiftOptions = {}): Promise<Extremum[]> {
  const levels = opts.levels ?? SIFT_DEFAULTS.levels;
  const peak = opts.peakThreshold ?? 0.02 / levels;
  const edge = opts.edgeThreshold ?? SIFT_DEFAULTS.edgeThreshold;
  const kernel = cachedKernel(ctx, 'siftExtrema', () => extremaWgsl);
  const out: Extremum[] = [];
  for (const { o, w, h, dog } of octaves) {
    // Room for a typical count; where more were found the octave is searched again with room for
    // all, so which extrema are kept never depends on the order threads ran in.
    let capacity = 1024 + Math.ceil((w * h * levels) / 256);
    for (;;) {
      const found = ctx.buffer('sift.extrema', capacity * 16);
      const count = ctx.buffer('sift.extrema.count', 16);
      const enc = new Encoder(ctx);
      enc.dispatch(kernel, {
        params: { w, h, levels, capacity, peak, edge },
        buffers: { dog, found, count },
        workgroups: grid1d(ctx, w * h * levels, SIFT_WORKGROUP),
      });
      enc.submit();
      const n = (await ctx.readU32(count, 1))[0]!;
      const values = n > 0 && n <= capacity ? await ctx.readF32(found, n * 4) : new Float32Array(0);
      ctx.destroy(found);
      ctx.destroy(count);
      if (n > capacity) {
        capacity = n;
        continue;
      }
      const here: Extremum[] = [];
      for (let i = 0; i < n; i++) here.push({ octave: o, x: values[i * 4]!, y: values[i * 4 + 1]!, s: values[i * 4 + 2]!, value: values[i * 4 + 3]! });
      here.sort((a, b) => a.s - b.s || a.y - b.y || a.x - b.x);
      out.push(...here);
      break;
    }
  }
  return out;
}

/** The image's features, as siftRef gives them: the strongest `maxFeatures` extrema, each with its orientations and their descriptors. */
export async function siftGpu(ctx: GpuContext, image: GreyImage, opts: SiftOptions = {}): Promise<Features> {
  const levels = opts.levels ?? SIFT_DEFAULTS.levels;
  const sigma0 = opts.sigma0 ?? SIFT_DEFAULTS.sigma0;
  const octaves = scaleSpaceGpu(ctx, image, opts);
  try {
    const extrema = await extremaGpu(ctx, octaves, opts);
    const kept = selectStrongest(extrema, opts.maxFeatures ?? SIFT_DEFAULTS.maxFeatures).map((k) => extrema[k]!);
    const common = { levels, sigma0 };
    const orientation = cachedKernel(ctx, 'siftOrientation', () => orientationWgsl);
    const keptIn = kept.map((e) => ({ octave: e.octave, v: [e.x, e.y, e.s, e.value] }));
    const angles = await perKeypoint(ctx, octaves, keptIn, orientation, ['extrema', 'angles'], 4, common);
    // Every oriented keypoint in the order siftRef gives them: by strength, then by angle found (unused slots are −1).
    const oriented = kept.flatMap((e, i) => [...angles.subarray(i * 4, i * 4 + 4)].filter((a) => a >= 0).map((angle) => ({ e, angle })));
    const descriptor = cachedKernel(ctx, 'siftDescriptor', () => descriptorWgsl);
    const orientedIn = oriented.map(({ e, angle }) => ({ octave: e.octave, v: [e.x, e.y, e.s, angle] }));
    const descriptors = await perKeypoint(ctx, octaves, orientedIn, descriptor, ['keypoints', 'descriptors'], 128, common);
    const keypoints = new Float32Array(oriented.length * 4);
    oriented.forEach(({ e, angle }, r) => {
      keypoints.set(keypointOf(e, angle, levels, sigma0), r * 4);
    });
    return { keypoints, descriptors, count: oriented.length };
  } finally {
    destroyOctaves(ctx, octaves);
  }
}

/**
 * A per-keypoint kernel (orientations, descriptors) over items in several octaves: each octave's
 * items go in as one vec4 each, against that octave's Gaussian levels, and `width` floats an item
 * come back, returned in the items' order.
 */
async function perKeypoint(
  ctx: GpuContext,
  octaves: readonly GpuOctave[],
  items: readonly { octave: number; v: number[] }[],
  kernel: Kernel,
  [input, output]: [string, string],
  width: number,
  common: { levels: number; sigma0: number },
): Promise<Float32Array> {
  const out = new Float32Array(items.length * width);
  const enc = new Encoder(ctx);
  const reads: { rows: number[]; buf: GPUBuffer }[] = [];
  const temps: GPUBuffer[] = [];
  try {
    for (const oct of octaves) {
      const rows = items.map((_, r) => r).filter((r) => items[r]!.octave === oct.o);
      if (rows.length === 0) continue;
      const list = new Float32Array(rows.length * 4);
      rows.forEach((r, i) => {
        list.set(items[r]!.v, i * 4);
      });
      const inBuf = ctx.upload(`sift.${input}`, list);
      const outBuf = ctx.buffer(`sift.${output}`, rows.length * width * 4);
      temps.push(inBuf, outBuf);
      enc.dispatch(kernel, {
        params: { w: oct.w, h: oct.h, n: rows.length, ...common },
        buffers: { gauss: oct.gauss, [input]: inBuf, [output]: outBuf },
        workgroups: grid1d(ctx, rows.length, SIFT_WORKGROUP),
      });
      reads.push({ rows, buf: outBuf });
    }
    enc.submit();
    for (const { rows, buf } of reads) {
      const values = await ctx.readF32(buf, rows.length * width);
      rows.forEach((r, i) => {
        out.set(values.subarray(i * width, (i + 1) * width), r * width);
      });
    }
    return out;
  } finally {
    for (const t of temps) ctx.destroy(t);
  }
}
