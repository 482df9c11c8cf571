// A trained field as model-file bytes, whole or slimmed to a rank. Environment-neutral: the CLI
// saves these bytes to disk, the studio sizes its rank readout (and later downloads) with them.
import { truncateToRank, type TensorField } from '../fields/tensorf.ts';
import { encodeModel } from './model-file.ts';

/**
 * Encodes `values` (the field's arena, downloaded) as a model file. Below the full rank the file
 * holds only the first `rank` groups: a smaller, complete model. By default that is the trained
 * rank, so a SlimmeRF stopped before reaching its maximum drops only untrained groups.
 */
export function encodeFieldModel(field: TensorField, values: Map<string, Float32Array>, info: Record<string, unknown>, rank = field.rank): Uint8Array {
  const slim = rank < field.maxRank;
  const { settings, values: kept } = slim ? truncateToRank(field.settings, values, rank) : { settings: field.settings, values };
  return encodeModel({
    header: {
      settings,
      box: field.box,
      grid: field.grid,
      segments: field.arena.segments.map((s) => ({ name: s.name, count: kept.get(s.name)!.length })),
      mask: field.mask ? { dims: field.mask.dims, box: field.mask.box, words: field.mask.bits.length } : null,
      info,
    },
    values: kept,
    maskBits: field.mask?.bits ?? null,
  });
}
