// The field a training run starts from: random factors on the initial grid, or, for layouts whose
// tensors sit around the surface (Strivec), tensors placed by a coarse pass first
// (strivec-placement.ts).
import type { Dataset } from '../data/types.ts';
import { TensorField } from '../field/field.ts';
import { resolutionForVoxels } from '../field/geometry.ts';
import { layoutOf } from '../field/layout.ts';
import type { GpuContext } from '../gpu/context.ts';
import type { ResolvedConfig } from './config.ts';
import { trainingFrame } from './scene-frame.ts';
import { type FieldProgress, placeLocalTensors, type TrainPass } from './strivec-placement.ts';

/** The field to train: random on the initial grid, or with its local tensors placed by a coarse pass. */
export async function createTrainingField(
  ctx: GpuContext,
  ds: Dataset,
  cfg: ResolvedConfig,
  seed: number,
  trainPass: TrainPass,
  onProgress: (p: FieldProgress) => void = () => {},
): Promise<TensorField> {
  const { settings, box } = trainingFrame(ds, cfg.settings, cfg.train);
  const grid = resolutionForVoxels(cfg.train.nVoxelInit, box);
  if (!layoutOf(cfg.settings.kind).localTensors) return TensorField.make(ctx, settings, box, grid, seed);
  return placeLocalTensors(ctx, ds, cfg, seed, trainPass, onProgress);
}
