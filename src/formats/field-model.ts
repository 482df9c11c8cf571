// A trained field as model-file bytes, whole or slimmed to a rank. Environment-neutral: the CLI
// saves these bytes to disk, the studio sizes its rank readout with modelFileSize.
import type { TensorField } from '../field/field.ts';
import { segmentComponentsAtRank, settingsAtRank, truncateToRank } from '../field/rank.ts';
import { encodedModelSize, encodeModel, type ModelHeader } from './model-file.ts';

function header(field: TensorField, rank: number, info: Record<string, unknown>): ModelHeader {
  const slim = rank < field.maxRank;
  const settings = slim ? settingsAtRank(field.settings, rank) : field.settings;
  return {
    settings,
    box: field.box,
    grid: field.grid,
    segments: field.arena.segments.map((s) => ({
      name: s.name,
      count:
        s.group === 'factor'
          ? (s.count / s.components) * segmentComponentsAtRank(s.name, s.components, rank)
          : s.name === 'basis'
            ? (s.count / field.appWidth) * settings.appComps.reduce((a, b) => a + b, 0)
            : s.count,
    })),
    mask: field.mask ? { dims: field.mask.dims, box: field.mask.box, words: field.mask.bits.length } : null,
    info,
  };
}

/**
 * Encodes `values` (the field's arena, downloaded) as a model file. Below the full rank the file
 * holds only the first `rank` groups: a smaller, complete model. By default that is the trained
 * rank, so a SlimmeRF stopped before reaching its maximum drops only untrained groups.
 */
export function encodeFieldModel(field: TensorField, values: Map<string, Float32Array>, info: Record<string, unknown>, rank = field.rank): Uint8Array {
  const h = header(field, rank, info);
  const kept = rank < field.maxRank ? truncateToRank(field.settings, values, rank).values : values;
  return encodeModel({ header: h, values: kept, maskBits: field.mask?.bits ?? null });
}

/** Bytes of the file encodeFieldModel would write at `rank` (with an empty info block), without reading the GPU. */
export function modelFileSize(field: TensorField, rank = field.rank): number {
  return encodedModelSize(header(field, rank, {}));
}
