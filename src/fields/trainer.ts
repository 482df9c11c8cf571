// Training schedule of TensoRF (notes 1.4-1.6, 2.3-2.4): Adam with per-iteration lr decay,
// log-linear grid upsampling with optimizer reset, alpha-mask updates with AABB shrink and ray
// filtering, L1 on the density factors, and SlimmeRF's rank growth. Rendering and evaluation
// live in evaluation.ts.
import type { Dataset, Split } from '../data/types.ts';
import type { GpuContext } from '../gpu/context.ts';
import { Encoder, grid1d } from '../gpu/kernel.ts';
import { Adam } from './adam.ts';
import { type Box, cpLineLength, resolutionForVoxels, slotDims, upsampleVoxelCounts, type Vec3 } from './geometry.ts';
import { testViewIndices } from './evaluation.ts';
import { GpuSplit } from './gpu-split.ts';
import { fieldKernels } from './kernels.ts';
import { RankIncrementer } from './rank-schedule.ts';
import { xorshift } from './random.ts';
import { RayBatch, RENDER_RAYS } from './render-batch.ts';
import { factorLayout, type TensorField } from './tensorf.ts';

/** Training options, named after the reference's options (camelCase of opt.py). */
export interface TrainOptions {
  nIters: number;
  batchSize: number;
  nVoxelInit: number;
  nVoxelFinal: number;
  upsampList: number[];
  updateAlphaMaskList: number[];
  lrInit: number;
  lrBasis: number;
  lrDecayTargetRatio: number;
  L1WeightInitial: number;
  L1WeightRest: number;
  /** TV weights on the density and appearance planes (VM) or lines (CP); they decay like the lr. */
  TVWeightDensity: number;
  TVWeightApp: number;
  seed: number;
  /** SlimmeRF's TRaIn: start at rank 1 and grow by the loss-change rule (notes 4.3). */
  rankIncremental: boolean;
  rankUpsilon: number;
  rankEta: number;
  /** Train on this many evenly spaced training views (sparse-view mode); 0 = all. */
  trainViews: number;
  /** Strivec: iterations of the coarse pass that finds where to place the local tensors. */
  coarseIters: number;
  /** Strivec: lattice spacing and tensor half-size per level, world units; empty = the reference's, scaled to the box. */
  voxRange: number[];
  localRange: number[];
}

export const DEFAULT_TRAIN: TrainOptions = {
  nIters: 30000,
  batchSize: 4096,
  nVoxelInit: 2097156,
  nVoxelFinal: 27000000,
  upsampList: [2000, 3000, 4000, 5500, 7000],
  updateAlphaMaskList: [2000, 4000],
  lrInit: 0.02,
  lrBasis: 1e-3,
  lrDecayTargetRatio: 0.1,
  L1WeightInitial: 8e-5,
  L1WeightRest: 4e-5,
  TVWeightDensity: 0,
  TVWeightApp: 0,
  seed: 20211202,
  rankIncremental: false,
  rankUpsilon: 0.4,
  rankEta: 0,
  trainViews: 0,
  coarseIters: 1000,
  voxRange: [],
  localRange: [],
};

export interface StepInfo {
  iter: number;
  loss: number;
  psnr: number;
  samples: number;
  shaded: number;
  /** Trained rank groups after this iteration. */
  rank: number;
  event?: string;
}


export class Trainer {
  readonly batch: RayBatch;
  readonly train: GpuSplit;
  readonly adam: Adam;
  iter = 0;
  samplesProcessed = 0;
  private lastReset = 0;
  private l1Weight: number;
  private valid: GPUBuffer;
  private useValid = false;
  private readonly voxelSteps: number[];
  private readonly rng: () => number;
  private readonly ranks: RankIncrementer | null;

  constructor(
    readonly ctx: GpuContext,
    readonly dataset: Dataset,
    readonly field: TensorField,
    readonly opt: TrainOptions,
  ) {
    const all = dataset.splits.train;
    if (!all) throw new Error(`${dataset.name}: no training split`);
    const split = opt.trainViews > 0 ? subsetViews(all, opt.trainViews) : all;
    this.train = new GpuSplit(ctx, split, 'train');
    this.trainViewIndices = opt.trainViews > 0 ? testViewIndices(all.cameras.length, opt.trainViews) : null;
    this.batch = new RayBatch(ctx, field, Math.max(opt.batchSize, RENDER_RAYS));
    this.batch.nearFar = dataset.nearFar;
    this.adam = new Adam(ctx);
    this.l1Weight = opt.L1WeightInitial;
    this.valid = ctx.buffer('train.validRays', Math.ceil(this.train.pixelCount / 32) * 4);
    this.voxelSteps = upsampleVoxelCounts(opt.nVoxelInit, opt.nVoxelFinal, opt.upsampList.length);
    this.rng = xorshift(opt.seed);
    if (opt.rankIncremental) field.rank = 1;
    this.ranks = opt.rankIncremental ? new RankIncrementer(field.rank, field.maxRank, opt.rankUpsilon, opt.rankEta) : null;
  }

  /** Indices of the training views used in sparse-view mode; null when all are used. */
  readonly trainViewIndices: number[] | null;

  /** Drops training rays that miss the box (before training), as the reference does. */
  async filterRays(mode: 0 | 1): Promise<number> {
    const { ctx, field } = this;
    const k = fieldKernels(ctx);
    const enc = new Encoder(ctx);
    enc.clear(this.valid);
    const total = this.train.pixelCount;
    const chunk = 1 << 22;
    for (let first = 0; first < total; first += chunk) {
      const count = Math.min(chunk, total - first);
      enc.dispatch(k.rayFilter, {
        params: {
          aabb_lo: [...field.box.lo, field.step],
          aabb_hi: [...field.box.hi, 0],
          width: this.train.width,
          height: this.train.height,
          first,
          count,
          mode,
          n_samples: 256,
          near: this.dataset.nearFar[0],
          far: this.dataset.nearFar[1],
          mask: field.maskUniform(),
        },
        buffers: [this.train.cams, field.maskBuffer, this.valid],
        workgroups: grid1d(ctx, count, 64),
      });
    }
    enc.submit();
    const bits = await ctx.readU32(this.valid);
    let kept = 0;
    for (const w of bits) kept += popcount(w);
    this.useValid = true;
    return kept / total;
  }

  private lrFactor(): number {
    const gamma = this.opt.lrDecayTargetRatio ** (1 / this.opt.nIters);
    return gamma ** (this.iter - this.lastReset);
  }

  /** One training iteration, including any mask update or upsample scheduled after it. */
  async step(): Promise<StepInfo> {
    const { ctx, field, opt } = this;
    if (this.iter === 0 && !this.useValid) await this.filterRays(0);
    const k = fieldKernels(ctx);
    const nRays = opt.batchSize;
    const enc = new Encoder(ctx);
    enc.dispatch(k.raygen, {
      params: {
        mode: 0, seed: (opt.seed + this.iter * 7919) >>> 0, n_rays: nRays,
        width: this.train.width, height: this.train.height, n_images: this.train.count,
        image: 0, first_pixel: 0, white_bg: this.dataset.whiteBackground ? 1 : 0,
        use_valid: this.useValid ? 1 : 0, has_pixels: 1,
      },
      buffers: [this.train.cams, this.train.pixels, this.valid, this.batch.rays],
      workgroups: grid1d(ctx, nRays, 64),
    });
    enc.submit();
    // White datasets always composite on white; others on white in half the batches (reference).
    const bg = this.dataset.whiteBackground || this.rng() < 0.5 ? 1 : 0;
    // Strivec samples without jitter (notes 3.6).
    const strivec = field.settings.kind === 'strivec';
    const stats = await this.batch.run(nRays, { train: true, jitter: !strivec, seed: this.iter + 1, bg });
    this.samplesProcessed += stats.samples;

    const f = this.lrFactor();
    const upd = new Encoder(ctx);
    const tvSegments = this.addTotalVariation(upd, nRays);
    this.adam.update(upd, field.arena, (s) => (s.group === 'factor' ? opt.lrInit : opt.lrBasis) * f, {
      gradScale: 1 / nRays,
      // The mean |.| of each density tensor; Strivec's reference sums the means of its three
      // lines per level, which our one segment per level holds together: hence 3x.
      l1For: (s) => (s.name.startsWith('density.') ? ((strivec ? 3 : 1) * this.l1Weight) / s.count : 0),
      // Strivec's masked Adam on its lines: tensors no sample reached keep their state (notes 3.6).
      skipZeroFor: (s) => strivec && s.group === 'factor',
      fixedPointFor: (s) => s.fixedPoint && !tvSegments.has(s.name),
      // Rank groups not yet unlocked keep their init and zero moments (SlimmeRF's ε-masks, notes 4.2).
      activeFor: (s) => (s.group === 'factor' ? field.segmentComponentsAtRank(s.name, field.rank) : s.components),
    });
    upd.submit();
    const out = await ctx.readF32(this.batch.out, nRays * 8);
    let mse = 0;
    for (let i = 0; i < nRays; i++) mse += out[i * 8 + 3]!;
    mse /= nRays;
    this.iter++;

    const events: string[] = [];
    if (this.ranks?.observe(this.iter, mse)) {
      field.rank = this.ranks.rank;
      events.push(`rank grew to ${field.rank} of ${field.maxRank}`);
    }
    const maskAt = opt.updateAlphaMaskList.indexOf(this.iter);
    if (maskAt >= 0) events.push(await this.updateAlphaMask(maskAt));
    const upAt = opt.upsampList.indexOf(this.iter);
    if (upAt >= 0) {
      const grid = resolutionForVoxels(this.voxelSteps[upAt]!, field.box);
      await field.upsample(grid);
      this.adam.reset();
      this.lastReset = this.iter;
      events.push(`upsampled to ${grid.join('x')}`);
    }
    return {
      iter: this.iter,
      loss: mse,
      psnr: -10 * Math.log10(mse),
      samples: stats.samples,
      shaded: stats.shaded,
      rank: field.rank,
      event: events.length ? events.join('; ') : undefined,
    };
  }

  /**
   * Adds the TV gradients (notes 2.4): VM planes with an extra factor 1e-2, CP lines with 1e-3;
   * the weights decay by the lr factor every iteration and are never reset. Returns the segments
   * whose gradients are now f32.
   */
  private addTotalVariation(enc: Encoder, nRays: number): Set<string> {
    const { field, opt } = this;
    const done = new Set<string>();
    const decay = (opt.lrDecayTargetRatio ** (1 / opt.nIters)) ** this.iter;
    const vm = field.settings.kind === 'vm';
    for (const [prefix, w] of [['density', opt.TVWeightDensity], ['app', opt.TVWeightApp]] as const) {
      if (w <= 0) continue;
      for (let m = 0; m < 3; m++) {
        const seg = field.arena.get(`${prefix}.${vm ? 'plane' : 'line'}${m}`);
        const [width, height] = vm ? slotDims(m, field.grid) : [1, cpLineLength(m, field.grid)];
        // Gradients are kept as per-ray sums until Adam divides by the ray count.
        const weight = w * (vm ? 1e-2 : 1e-3) * decay * nRays;
        enc.dispatch(fieldKernels(this.ctx).tv, {
          params: { offset: seg.offset, width, height, k: seg.components, weight },
          buffers: [field.arena.params!, field.arena.grads!],
          workgroups: grid1d(this.ctx, seg.count, 256),
        });
        done.add(seg.name);
      }
    }
    return done;
  }

  /**
   * Rebuilds the occupancy grid from the current density (notes 1.5). The first update shrinks
   * the box and switches the L1 weight; the second re-filters the training rays.
   */
  async updateAlphaMask(which: number): Promise<string> {
    const { ctx, field } = this;
    const k = fieldKernels(ctx, factorLayout(field.settings));
    const g = field.grid;
    const dims: Vec3 = g[0] * g[1] * g[2] < 256 ** 3 ? [...g] : field.mask?.dims ?? [...g];
    const n = dims[0] * dims[1] * dims[2];
    const alpha = ctx.buffer('mask.alpha', n * 4);
    const bits = ctx.buffer('mask.bitsBuild', Math.ceil(n / 32) * 4);
    const bbox = ctx.upload('mask.bbox', new Uint32Array([0xffffffff, 0xffffffff, 0xffffffff, 0, 0, 0, 0, 0]));
    const enc = new Encoder(ctx);
    enc.dispatch(k.densityGrid, {
      params: { field: field.fieldUniform(), dims: [...dims, 0], shift: field.settings.densityShift, step: field.step },
      buffers: [field.arena.params!, alpha],
      workgroups: grid1d(ctx, n, 64),
    });
    enc.dispatch(k.maskBuild, {
      params: { dims: [...dims, 0], thres: field.settings.alphaMaskThres },
      buffers: [alpha, bits, bbox],
      workgroups: grid1d(ctx, n, 64),
    });
    enc.submit();
    const [maskBits, bb] = await Promise.all([ctx.readU32(bits), ctx.readU32(bbox)]);
    for (const b of [alpha, bits, bbox]) ctx.destroy(b);
    const occupied = bb[6]!;
    // An empty mask would cull every sample for good: the density has not formed yet (a short
    // schedule, or Strivec's slower start). Keep the previous mask and say so.
    if (occupied === 0) return `alpha mask ${dims.join('x')}: nothing occupied yet, kept the previous mask`;
    const box: Box = { lo: [...field.box.lo], hi: [...field.box.hi] };
    field.setMask({ dims, box, bits: maskBits });
    let msg = `alpha mask ${dims.join('x')}: ${((100 * occupied) / n).toFixed(1)}% occupied`;
    if (which === 0 && occupied > 0) {
      const at = (a: number, i: number) => box.lo[a]! + (i * (box.hi[a]! - box.lo[a]!)) / (dims[a]! - 1);
      const tight: Box = { lo: [at(0, bb[0]!), at(1, bb[1]!), at(2, bb[2]!)], hi: [at(0, bb[3]!), at(1, bb[4]!), at(2, bb[5]!)] };
      await field.shrink(tight);
      // Deliberate difference: the reference keeps its old optimizer after the shrink, which then
      // updates orphaned tensors until the next upsample; we restart Adam on the cropped tensors.
      this.adam.reset();
      this.l1Weight = this.opt.L1WeightRest;
      msg += `; box shrunk to [${field.box.lo.map((v) => v.toFixed(3))}]-[${field.box.hi.map((v) => v.toFixed(3))}], grid ${field.grid.join('x')}`;
    }
    if (which === 1) {
      const kept = await this.filterRays(1);
      msg += `; ${(100 * kept).toFixed(1)}% of training rays kept`;
    }
    return msg;
  }

  destroy(): void {
    this.batch.destroy();
    this.train.destroy();
    this.ctx.destroy(this.valid);
  }
}

/** The views at testViewIndices(count, n) of a split: sparse-view training. */
export function subsetViews(split: Split, n: number): Split {
  const idx = testViewIndices(split.cameras.length, n);
  return { ...split, cameras: idx.map((i) => split.cameras[i]!), images: idx.map((i) => split.images[i]!), names: idx.map((i) => split.names[i]!) };
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
