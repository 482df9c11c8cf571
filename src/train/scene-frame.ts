// Where a training run's field lives: the dataset's box for a bounded scene, or, for an unbounded
// one, the contracted space around it (field/geometry.ts contractPoint), so the background is
// modelled instead of painted in one colour.
import type { Dataset } from '../data/types.ts';
import { type Box, contractedBox } from '../field/geometry.ts';
import type { FieldSettings } from '../field/settings.ts';
import type { TrainOptions } from './config.ts';

/** Whether a run contracts the scene: the option when given, else the dataset's scene kind. */
export function contracts(ds: Pick<Dataset, 'unbounded'>, opt: Pick<TrainOptions, 'contract'>): boolean {
  return opt.contract ?? ds.unbounded === true;
}

/** The settings (with the contraction's inner box when contracted) and the box of a new field. */
export function trainingFrame(ds: Dataset, settings: FieldSettings, opt: Pick<TrainOptions, 'contract'>): { settings: FieldSettings; box: Box } {
  const inner: Box = { lo: ds.aabb[0], hi: ds.aabb[1] };
  if (!contracts(ds, opt)) return { settings, box: inner };
  return { settings: { ...settings, contraction: inner }, box: contractedBox(inner) };
}
