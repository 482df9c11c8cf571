// Strivec's placement (notes 3.1-3.3): where the surface is, before the field exists. The reference
// trains DVGO's coarse dense grid for 5000 iterations; we train a small TensoRF-VM with our own
// engine (the run's training loop, lent as a TrainPass) for `coarseIters` iterations, read its
// opacity on a lattice finer than the finest tensor spacing, and place the local tensors around
// every point above COARSE_ALPHA_THRESHOLD.
import type { Dataset } from '../data/types.ts';
import { readDensityLattice } from '../field/density-lattice.ts';
import { TensorField } from '../field/field.ts';
import { type Box, boxSize, resolutionForVoxels, type Vec3 } from '../field/geometry.ts';
import { coverageMask, placeTensors } from '../field/layouts/strivec-lattice.ts';
import { MODEL_PRESETS } from '../field/presets.ts';
import type { FieldSettings } from '../field/settings.ts';
import { formatBytes, type GpuContext, LimitError } from '../gpu/context.ts';
import type { ResolvedConfig, TrainOptions } from './config.ts';
import { estimateTrainingMemory } from './memory.ts';
import { trainingFrame } from './scene-frame.ts';

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

/** The reference's Synthetic-NeRF lattice spacings and tensor half-sizes (vox_range, local_range) for lego's 3-unit box. */
const REFERENCE_SPACING = [0.4, 0.2, 0.1];
const REFERENCE_BOX_SIDE = 3;
/** A tensor's cube is 1.5 lattice cells wide (local_range = 0.75 vox_range in every reference config). */
const HALF_SIZE_RATIO = 0.75;
/**
 * Opacity (alpha-mask convention, 1 - exp(-sigma * step)) above which a coarse point counts as
 * occupied. The reference keeps DVGO points above 1e-4 after 5000 iterations; our coarse pass is
 * short and still hazy at 1e-4 (demo scene after 160 iterations: 19% of the box above 1e-4, 10%
 * above 1e-3, against 4.7% truly solid), so we cut at 1e-3.
 */
export const COARSE_ALPHA_THRESHOLD = 1e-3;

/** Lattice spacings and half-sizes: the options when given, else the reference's scaled to the scene's box. */
export function strivecLattice(settings: FieldSettings, opt: ResolvedConfig['train'], box: Box): { spacings: number[]; halfSizes: number[] } {
  const levels = settings.densityComps.length;
  const scale = Math.max(...boxSize(box)) / REFERENCE_BOX_SIDE;
  const spacings = opt.voxRange.length ? opt.voxRange : REFERENCE_SPACING.slice(0, levels).map((v) => v * scale);
  const halfSizes = opt.localRange.length ? opt.localRange : spacings.map((v) => v * HALF_SIZE_RATIO);
  if (spacings.length !== levels || halfSizes.length !== levels) {
    throw new LimitError(`Strivec: vox_range and local_range must list one value per level (${levels} levels)`);
  }
  return { spacings, halfSizes };
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
  const { spacings, halfSizes } = strivecLattice(cfg.settings, cfg.train, box);
  const points = await coarseOccupancy(ctx, ds, cfg, seed, Math.min(...spacings) / 2, trainPass, onProgress);
  const { levels, tables } = placeTensors(points, spacings, halfSizes);
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
 * World positions where a short VM reconstruction is opaque: the coarse point cloud. Opacity is
 * read on a lattice of spacing `pointSpacing` (finer than the finest tensor lattice, so the cloud
 * has no gaps a tensor cell could fall through) with the alpha-mask recipe and threshold.
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
    const a = await readDensityLattice(ctx, field, dims);
    const pts: number[] = [];
    const at = (ax: number, i: number) => box.lo[ax]! + (i * (box.hi[ax]! - box.lo[ax]!)) / (dims[ax]! - 1);
    for (let i = 0; i < n; i++) {
      if (!(a[i]! > COARSE_ALPHA_THRESHOLD)) continue;
      pts.push(at(0, i % dims[0]), at(1, Math.floor(i / dims[0]) % dims[1]), at(2, Math.floor(i / (dims[0] * dims[1]))));
    }
    onProgress({ message: `coarse pass: ${(pts.length / 3).toLocaleString()} of ${n.toLocaleString()} points occupied`, fraction: 1 });
    return new Float32Array(pts);
  } finally {
    field.destroy();
  }
}
