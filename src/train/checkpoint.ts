// A checkpoint: everything a training run needs to continue exactly where it was, captured between
// two iterations. The field's tensors (every arena segment) with both Adam moments, its box, grid,
// rank and alpha mask, the trainer's state (iteration, lr and L1 schedule, Adam's step, the
// background generator, TRaIn's memory), the valid-ray bits, the settings and options, and the
// dataset it was trained on. formats/checkpoint-file.ts writes it as bytes.
import type { DatasetFingerprint } from '../data/fingerprint.ts';
import { TensorField } from '../field/field.ts';
import type { Box, Vec3 } from '../field/geometry.ts';
import type { AlphaMask, FieldSettings } from '../field/settings.ts';
import type { GpuContext } from '../gpu/context.ts';
import type { TrainOptions } from './config.ts';
import type { TrainerState } from './state.ts';
import type { Trainer } from './trainer.ts';

/** What the run reported before the checkpoint, so a resumed run reports the whole run. */
export interface RunProgress {
  /** Wall seconds of the run so far, of its coarse pass, and of its training steps. */
  seconds: number;
  coarseSeconds: number;
  trainSeconds: number;
  /** SlimmeRF: the iterations after which the rank grew. */
  rankSteps: number[];
}

export interface Checkpoint {
  settings: FieldSettings;
  train: TrainOptions;
  box: Box;
  grid: Vec3;
  mask: AlphaMask | null;
  /** Every arena segment by name: values and Adam's two moments. */
  values: Map<string, Float32Array>;
  adamM: Map<string, Float32Array>;
  adamV: Map<string, Float32Array>;
  /** One bit per training pixel: the rays worth drawing. */
  validRays: Uint32Array;
  trainer: TrainerState;
  dataset: DatasetFingerprint;
  progress: RunProgress;
}

/** The whole state of a trainer between iterations (reads the GPU). */
export async function captureCheckpoint(trainer: Trainer, dataset: DatasetFingerprint, progress: RunProgress): Promise<Checkpoint> {
  const { ctx, field } = trainer;
  const arena = field.arena;
  return {
    settings: field.settings,
    train: trainer.opt,
    box: { lo: [...field.box.lo], hi: [...field.box.hi] },
    grid: [...field.grid],
    mask: field.mask,
    values: await arena.download(ctx, 'params'),
    adamM: await arena.download(ctx, 'adamM'),
    adamV: await arena.download(ctx, 'adamV'),
    validRays: await ctx.readU32(trainer.rays.valid, Math.ceil(trainer.rays.images.pixelCount / 32)),
    trainer: await trainer.fullState(),
    dataset,
    progress,
  };
}

/** The field of a checkpoint on the GPU, with its moments, rank and mask (its trainer restores the rest). */
export async function fieldFromCheckpoint(ctx: GpuContext, cp: Checkpoint): Promise<TensorField> {
  const field = await TensorField.make(ctx, cp.settings, cp.box, cp.grid, 1, cp.values);
  try {
    field.arena.writeMoments(ctx, cp.adamM, cp.adamV);
    field.setMask(cp.mask);
    field.rank = cp.trainer.rank;
  } catch (e) {
    field.destroy();
    throw e;
  }
  return field;
}
