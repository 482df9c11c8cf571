// Strivec's placement (notes 3.1-3.3): where the surface is, before the field exists. The reference
// trains DVGO's coarse dense grid for 5000 iterations; we train a small TensoRF-VM with our own
// engine (the run's training loop, lent as a TrainPass) for `coarseIters` iterations, then mark a
// lattice finer than the finest tensor spacing where the surface is, and place the local tensors
// around the marked points. The surface is where the coarse field's rendered light comes from:
// every sample of a training ray whose blend weight is at least SURFACE_WEIGHT marks its nearest
// point (surface-marks.wgsl.ts), so interiors and haze get no tensors. The earlier rule (every
// point whose opacity exceeds COARSE_ALPHA_THRESHOLD) stays as the `density` placement.
import type { Dataset, PosedView } from '../data/types.ts';
import { evenlySpacedViews } from '../data/views.ts';
import { readDensityLattice } from '../field/density-lattice.ts';
import { TensorField } from '../field/field.ts';
import { type Box, boxSize, gridUnits, resolutionForVoxels, type Vec3 } from '../field/geometry.ts';
import { cellsHolding, coverageMask, placeTensors } from '../field/layouts/strivec-lattice.ts';
import { MODEL_PRESETS } from '../field/presets.ts';
import type { FieldSettings } from '../field/settings.ts';
import { formatBytes, type GpuContext, LimitError } from '../gpu/context.ts';
import { cachedKernel } from '../gpu/kernel.ts';
import { overPixelWeights } from '../render/pixel-weights.ts';
import { RayBatch, RENDER_RAYS } from '../render/ray-batch.ts';
import type { ResolvedConfig, TrainOptions } from './config.ts';
import { estimateTrainingMemory } from './memory.ts';
import { trainingFrame } from './scene-frame.ts';
import { surfaceMarksShader } from './surface-marks.wgsl.ts';

export interface FieldProgress {
  /** A line for the log or the status bar. */
  message: string;
  /** Share of the preparation done, 0 to 1. */
  fraction: number;
}

/**
 * Trains `field` for `opt.nIters` iterations: the run's one training loop (run/training-run.ts),
 * with its pause, stop and progress, lent to passes that train a field of their own.
 */
export type TrainPass = (field: TensorField, opt: TrainOptions, label: string) => Promise<void>;

/**
 * The reference's Synthetic-NeRF lattices (vox_range 0.4 / 0.2 / 0.1) in cells of TensoRF's final
 * grid on the same scene (300³ over lego's 3-unit box: 0.01 a cell), and its lines' samples per
 * such cell (121 samples over a 0.6-wide cube: 2). The preset rule applies them to the run's own
 * final grid, so a reduced run shrinks Strivec as it shrinks VM.
 */
const REFERENCE_SPACING_CELLS = [40, 20, 10];
const REFERENCE_SAMPLES_PER_CELL = 2;
/** A tensor's cube is 1.5 lattice cells wide (local_range = 0.75 vox_range in every reference config). */
const HALF_SIZE_RATIO = 0.75;
/** The blend weight (a share of the pixel's colour) from which a coarse sample marks the surface. */
export const SURFACE_WEIGHT = 0.01;
/** Rays the surface marking reads at most (evenly spaced training views beyond it). */
const SURFACE_RAYS = 1 << 22;
/**
 * Opacity (alpha-mask convention, 1 - exp(-sigma * step)) above which a coarse point counts as
 * occupied. The reference keeps DVGO points above 1e-4 after 5000 iterations; our coarse pass is
 * short and still hazy at 1e-4 (demo scene after 160 iterations: 19% of the box above 1e-4, 10%
 * above 1e-3, against 4.7% truly solid), so we cut at 1e-3.
 */
export const COARSE_ALPHA_THRESHOLD = 1e-3;

/**
 * Lattice spacings, half-sizes and line samples per grid cell: the reference's ratios to the run's
 * final grid (the preset rule), or vox_range / local_range when the options give them, which keep
 * the lines of the configurations written before the rule (a sample per grid cell);
 * line_samples_per_cell, when given, sets the lines' samples either way.
 */
export function strivecLattice(
  settings: FieldSettings,
  opt: ResolvedConfig['train'],
  box: Box,
): { spacings: number[]; halfSizes: number[]; samplesPerCell: number } {
  const levels = settings.densityComps.length;
  const u = gridUnits(box, resolutionForVoxels(opt.nVoxelFinal, box));
  const cell = (u[0] + u[1] + u[2]) / 3;
  const spacings = opt.voxRange.length ? opt.voxRange : REFERENCE_SPACING_CELLS.slice(0, levels).map((c) => c * cell);
  const halfSizes = opt.localRange.length ? opt.localRange : spacings.map((v) => v * HALF_SIZE_RATIO);
  if (spacings.length !== levels || halfSizes.length !== levels) {
    throw new LimitError(`Strivec: vox_range and local_range must list one value per level (${levels} levels)`);
  }
  const explicit = opt.voxRange.length > 0 || opt.localRange.length > 0;
  return { spacings, halfSizes, samplesPerCell: opt.lineSamplesPerCell || (explicit ? 1 : REFERENCE_SAMPLES_PER_CELL) };
}

/** Points per axis of a lattice spanning `box` with at most `spacing` between neighbours. */
function pointLattice(box: Box, spacing: number): Vec3 {
  return boxSize(box).map((s) => Math.max(2, Math.ceil(s / spacing) + 1)) as Vec3;
}

/** A field with its local tensors placed around the surface a coarse pass found. */
export async function placeLocalTensors(
  ctx: GpuContext,
  ds: Dataset,
  cfg: ResolvedConfig,
  seed: number,
  trainPass: TrainPass,
  onProgress: (p: FieldProgress) => void,
): Promise<TensorField> {
  const frame = trainingFrame(ds, cfg.settings, cfg.train);
  const box = frame.box;
  const grid = resolutionForVoxels(cfg.train.nVoxelInit, box);
  const { spacings, halfSizes, samplesPerCell } = strivecLattice(cfg.settings, cfg.train, box);
  const points = await coarseOccupancy(ctx, ds, cfg, seed, Math.min(...spacings) / 2, trainPass, onProgress);
  const { levels, tables } = placeTensors(points, spacings, halfSizes, samplesPerCell);
  const settings: FieldSettings = { ...frame.settings, levels };
  // The exact size is known only now: refuse before training if the final field cannot fit.
  const mem = estimateTrainingMemory(settings, cfg.train, ds, ctx.maxBinding);
  if (mem.problem) throw new LimitError(mem.problem.message, mem.problem.advice);
  const field = await TensorField.make(ctx, settings, box, grid, seed, new Map(tables.map((t, l) => [`lattice.level${l}`, t] as const)));
  // Until the density has been trained, sampling is limited to where every level has a tensor.
  const dims = pointLattice(box, Math.min(...spacings) / 2);
  field.setMask({ dims, box, bits: coverageMask(levels, tables, box, dims) });
  onProgress({
    message:
      `placed ${levels.map((l, i) => `${l.tensors.toLocaleString()} tensors at level ${i + 1}`).join(', ')}: ` +
      `${field.parameterCount.toLocaleString()} parameters (${formatBytes(mem.parameters)} with Adam's state at the final grid)`,
    fraction: 1,
  });
  return field;
}

/**
 * The coarse point cloud: points of a lattice of spacing `pointSpacing` (finer than the finest
 * tensor lattice, so the cloud has no gaps a tensor cell could fall through) where a short VM
 * reconstruction's surface is (the `weights` placement: surfacePoints), or where it is opaque by
 * the alpha-mask recipe (`density`, the earlier rule).
 */
export async function coarseOccupancy(
  ctx: GpuContext,
  ds: Dataset,
  cfg: ResolvedConfig,
  seed: number,
  pointSpacing: number,
  trainPass: TrainPass,
  onProgress: (p: FieldProgress) => void,
): Promise<Float32Array> {
  // The coarse pass trains in the same space (box or contracted) as the field it places tensors in.
  const { settings, box } = trainingFrame(ds, { ...MODEL_PRESETS.vm48, densityComps: [8, 8, 8], shading: cfg.settings.shading }, cfg.train);
  const iters = cfg.train.coarseIters;
  const train = { ...cfg.train, nIters: iters, upsampList: [], updateAlphaMaskList: [], rankIncremental: false };
  const field = await TensorField.make(ctx, settings, box, resolutionForVoxels(cfg.train.nVoxelInit, box), seed);
  try {
    await trainPass(field, train, 'coarse pass');
    const dims = pointLattice(box, pointSpacing);
    const n = dims[0] * dims[1] * dims[2];
    let shown = 0;
    const opaque = async () => (await readDensityLattice(ctx, field, dims)).map((a) => (a > COARSE_ALPHA_THRESHOLD ? 1 : 0));
    let rule = cfg.train.strivecPlacement === 'density' ? 'opaque' : 'on the surface';
    let marked =
      rule === 'opaque'
        ? await opaque()
        : await surfacePoints(ctx, field, surfaceViews(ds.splits.train!.cameras), ds.nearFar, dims, (p) => {
            // A line a tenth of the way (the views are many, each quick).
            if (Math.floor(10 * p) <= shown) return;
            shown = Math.floor(10 * p);
            onProgress({ message: `coarse pass: finding the surface, ${shown * 10}%`, fraction: p });
          });
    if (rule !== 'opaque' && !marked.includes(1)) {
      // A coarse field too faint for any sample to carry 1% of a pixel (a very short coarse pass):
      // whatever it has made opaque is the best guess there is.
      rule = 'opaque (no sample carried 1% of a pixel yet)';
      marked = await opaque();
    }
    const pts = markedPoints(box, dims, marked);
    onProgress({ message: `coarse pass: ${(pts.length / 3).toLocaleString()} of ${n.toLocaleString()} points ${rule}`, fraction: 1 });
    return pts;
  } finally {
    field.destroy();
  }
}

/** The marked points of a lattice of `dims` points spanning `box`, as x, y, z triples. */
function markedPoints(box: Box, dims: Vec3, marked: ArrayLike<number>): Float32Array {
  const pts: number[] = [];
  const at = (ax: number, i: number) => box.lo[ax]! + (i * (box.hi[ax]! - box.lo[ax]!)) / (dims[ax]! - 1);
  for (let i = 0; i < marked.length; i++) {
    if (!marked[i]) continue;
    pts.push(at(0, i % dims[0]), at(1, Math.floor(i / dims[0]) % dims[1]), at(2, Math.floor(i / (dims[0] * dims[1]))));
  }
  return new Float32Array(pts);
}

/** The training views the surface is found from: all of them, or evenly spaced ones up to SURFACE_RAYS pixels. */
function surfaceViews(all: PosedView[]): PosedView[] {
  const perView = all[0]!.width * all[0]!.height;
  return evenlySpacedViews(all.length, Math.max(1, Math.min(all.length, Math.floor(SURFACE_RAYS / perView)))).map((i) => all[i]!);
}

/**
 * The cells of a Strivec field's own lattices that hold the surface it renders from `views`, found
 * as the coarse pass's is (surfacePoints on a lattice of half the finest spacing): where to place
 * its tensors again once refined poses have settled, the first placement having seen the surface
 * from the cameras as given. Null when no sample carries SURFACE_WEIGHT of a pixel.
 */
export async function surfaceCells(ctx: GpuContext, field: TensorField, views: PosedView[], nearFar: [number, number]): Promise<Uint8Array[] | null> {
  const levels = field.settings.levels;
  if (!levels) throw new Error('only a Strivec field has local tensors to place');
  const dims = pointLattice(field.box, Math.min(...levels.map((lv) => lv.spacing)) / 2);
  const marked = await surfacePoints(ctx, field, surfaceViews(views), nearFar, dims);
  if (!marked.includes(1)) return null;
  const points = markedPoints(field.box, dims, marked);
  return levels.map((lv) => cellsHolding(lv, points));
}

/**
 * Marks, on a lattice of `dims` points spanning the field's box, the points nearest to the samples
 * of the views' pixels' rays whose blend weight reaches SURFACE_WEIGHT (one flag per point).
 */
export async function surfacePoints(
  ctx: GpuContext,
  field: TensorField,
  views: PosedView[],
  nearFar: [number, number],
  dims: Vec3,
  onProgress?: (fraction: number) => void,
): Promise<Uint8Array> {
  const n = dims[0] * dims[1] * dims[2];
  const bits = ctx.buffer('strivec.surface', Math.ceil(n / 32) * 4);
  const batch = new RayBatch(ctx, field, RENDER_RAYS);
  batch.nearFar = nearFar;
  const units = field.units;
  const { lo, hi } = field.box;
  // Grid coordinates times this are lattice coordinates (both count from the box's corner).
  const toPoint = [0, 1, 2].map((a) => (units[a]! * (dims[a]! - 1)) / (hi[a]! - lo[a]!));
  const kernel = cachedKernel(ctx, 'surfaceMarks', () => surfaceMarksShader);
  try {
    await overPixelWeights(ctx, batch, views, {
      perPass: batch.raysPerPass,
      each: (finish) => batch.overSamples(finish, kernel, { to_point: [...toPoint, 0], dims: [...dims, 0], min_weight: SURFACE_WEIGHT }, { bits }),
      onView: (done, total) => onProgress?.(done / total),
    });
    const words = await ctx.readU32(bits, Math.ceil(n / 32));
    return Uint8Array.from({ length: n }, (_, i) => (words[i >> 5]! >>> (i & 31)) & 1);
  } finally {
    batch.destroy();
    ctx.destroy(bits);
  }
}
