// GPU memory a training run will need, before it starts: the parameter arena at the final grid
// (values, gradients, Adam's two moments), the training images, and the per-batch buffers when
// every sample inside the box is shaded, as during the density bootstrap early in training
// (rays cross the box along its mean chord, 4V/S). For lego's quick bench configuration it
// predicts 0.80 GB in all; its first 18 iterations peaked at 0.71 GB measured. The studio shows it beside the Train button; the CLI prints it and refuses a
// run whose arena cannot fit one binding, naming what to change.
import type { Dataset } from '../data/types.ts';
import { formatBytes } from '../gpu/context.ts';
import { resolutionForVoxels, samplesPerRay, type Box, type Vec3 } from './geometry.ts';
import { mlpInputWidth } from './shading.ts';
import { fieldSegments, type FieldSettings } from './tensorf.ts';
import type { TrainOptions } from './trainer.ts';

export interface MemoryEstimate {
  finalGrid: Vec3;
  /** Parameter arena at the final grid: values, gradients and two Adam moments. */
  parameters: number;
  images: number;
  /** Per-batch buffers while every sample is shaded. */
  batch: number;
  total: number;
  /** Why the run cannot fit, with what to change; null when it can. */
  problem: string | null;
  /** What the estimate cannot know yet; null when it is complete. */
  note: string | null;
}

/** Bytes per sample: position, opacity and its derivative, transmittance, density gradient. */
const SAMPLE_BYTES = 32;
/** Bytes per shaded sample: index, direction, colour and its gradient. */
const SHADED_BYTES = 52;

export function estimateTrainingMemory(settings: FieldSettings, opt: TrainOptions, ds: Dataset, maxBinding: number): MemoryEstimate {
  const box: Box = { lo: ds.aabb[0], hi: ds.aabb[1] };
  const finalGrid = resolutionForVoxels(opt.nVoxelFinal, box);
  const floats = fieldSegments(settings, box, finalGrid).reduce((n, s) => n + Math.ceil(s.count / 64) * 64, 0);
  const parameters = floats * 4 * 4;
  const train = ds.splits.train!;
  const views = opt.trainViews > 0 ? Math.min(opt.trainViews, train.cameras.length) : train.cameras.length;
  const images = views * train.width * train.height * 4;
  const [gx, gy, gz] = finalGrid;
  const meanChord = (4 * gx * gy * gz) / (2 * (gx * gy + gy * gz + gx * gz));
  const samples = Math.ceil(opt.batchSize * Math.min(meanChord / settings.stepRatio, samplesPerRay(finalGrid, settings.stepRatio)));
  const appWidth = settings.appComps.reduce((a, b) => a + b, 0);
  const s = settings.shading;
  const mlpWidth = s.mode === 'MLP_Fea' ? mlpInputWidth(s) : 0;
  const widest = Math.max(appWidth, mlpWidth, s.featureC, s.appDim, 4);
  const chunkRows = Math.min(samples, Math.floor(maxBinding / (4 * widest)), 1 << 20);
  const rowBytes = 4 * (2 * appWidth + 2 * s.appDim + 12) + (s.mode === 'MLP_Fea' ? 4 * (2 * mlpWidth + 3 * s.featureC + 7) : 4 * 13);
  const batch = samples * (SAMPLE_BYTES + SHADED_BYTES) + chunkRows * rowBytes;
  let problem: string | null = null;
  if (floats * 4 > maxBinding) {
    problem = `the ${settings.kind.toUpperCase()} field at its final grid ${finalGrid.join('x')} needs ${formatBytes(floats * 4)} of parameters, ` +
      `but this GPU binds at most ${formatBytes(maxBinding)}: lower N_voxel_final or the component counts`;
  } else if (images > maxBinding) {
    problem = `the ${views} training images need ${formatBytes(images)} but this GPU binds at most ${formatBytes(maxBinding)}: downscale the images`;
  }
  // Strivec's tensor count follows from the coarse pass; createTrainingField checks again then.
  const note = settings.kind === 'strivec' && !settings.levels ? 'Strivec\'s local tensors are counted once the coarse pass has placed them' : null;
  return { finalGrid, parameters, images, batch, total: parameters + images + batch, problem, note };
}

/** Bytes a sample takes in the largest per-sample buffer (positions, vec4f). */
const LARGEST_SAMPLE_BYTES = 16;
/** The final grid shrinks by this factor in voxels per step while it does not fit. */
const GRID_STEP = 0.8;
const MIN_BATCH = 256;

/**
 * A run sized for this adapter's limits (the studio's presets): the final grid shrinks until the
 * parameters fit one binding, and the batch halves until a batch's samples at the final grid do.
 * `changes` says what was changed, in words; empty when the run fits as asked. What cannot be
 * fixed this way (images larger than a binding) is left to estimateTrainingMemory's `problem`.
 */
export function fitToAdapter(settings: FieldSettings, opt: TrainOptions, ds: Dataset, maxBinding: number): { train: TrainOptions; changes: string[] } {
  const box: Box = { lo: ds.aabb[0], hi: ds.aabb[1] };
  const train = { ...opt };
  const changes: string[] = [];
  const floatsAt = (voxels: number) => fieldSegments(settings, box, resolutionForVoxels(voxels, box)).reduce((n, s) => n + Math.ceil(s.count / 64) * 64, 0);
  const gridText = (voxels: number) => resolutionForVoxels(voxels, box).join('×');
  if (floatsAt(train.nVoxelFinal) * 4 > maxBinding) {
    const asked = train.nVoxelFinal;
    while (train.nVoxelFinal * GRID_STEP >= train.nVoxelInit && floatsAt(train.nVoxelFinal) * 4 > maxBinding) train.nVoxelFinal = Math.floor(train.nVoxelFinal * GRID_STEP);
    changes.push(`final grid ${gridText(asked)} → ${gridText(train.nVoxelFinal)} (its parameters must fit one ${formatBytes(maxBinding)} binding)`);
  }
  const perRay = samplesPerRay(resolutionForVoxels(train.nVoxelFinal, box), settings.stepRatio) * LARGEST_SAMPLE_BYTES;
  if (train.batchSize * perRay > maxBinding) {
    const asked = train.batchSize;
    while (train.batchSize > MIN_BATCH && train.batchSize * perRay > maxBinding) train.batchSize = Math.max(MIN_BATCH, train.batchSize >> 1);
    changes.push(`batch ${asked} → ${train.batchSize} rays (a batch's samples must fit one binding)`);
  }
  return { train, changes };
}
