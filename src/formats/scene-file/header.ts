// The scene file's preamble constants, its header (what it holds, validated field by field on
// reading: a hostile header can only produce a SceneError) and how a viewer looks at a scene.
// docs/SCENE_FORMAT.md is the spec.
import type { Box, Vec3 } from '../../field/geometry.ts';
import { maxRankOf } from '../../field/rank.ts';
import type { FieldSettings } from '../../field/settings.ts';
import { JsonChecks } from '../json-checks.ts';
import { type CompactLayout, validateCompactLayout } from './compact.ts';

export const SCENE_MAGIC = 'SLIMSCNE';
/**
 * Version 3 adds compact files (precision "compact", compact.ts); version 2 deflates the rank
 * groups of 8-bit files; versions 1 and 2 are still read.
 */
export const SCENE_VERSION = 3;
export const SCENE_EXTENSION = '.slimscene';
/** How exportScene stores every value. */
export type Precision = 'fp32' | 'fp16' | 'int8';
export const PRECISIONS: Precision[] = ['fp32', 'fp16', 'int8'];
/** A scene file's precision: one of those, or compressed (compact.ts; from version 3). */
export type ScenePrecision = Precision | 'compact';

export const MAX_HEADER_BYTES = 1 << 20;
/** No section (one rank group, the shading weights, the mask) may claim more than this, */
export const MAX_SECTION_BYTES = 2 ** 30;
/** nor the whole scene more than this. */
export const MAX_SCENE_BYTES = 2 ** 33;

export interface SceneHeader {
  format: 'slimfield-scene';
  /** Settings of the stored model: its component counts are those of `ranks` groups. */
  settings: FieldSettings;
  box: Box;
  grid: Vec3;
  precision: ScenePrecision;
  /** Rank groups stored (= maxRankOf(settings)). */
  ranks: number;
  mask: { dims: Vec3; box: Box } | null;
  info: Record<string, unknown>;
  /** Compact files: how the model was compressed (every section's length follows from it). */
  compact?: CompactLayout;
}

/** How a viewer looks at a scene: orbit distance, white background, ray range (from its info). */
export interface SceneView {
  radius: number;
  white: boolean;
  nearFar: [number, number];
}

/**
 * The viewing settings a scene's info carries (written by the studio's export), each checked and
 * replaced by a default when missing or implausible: info is free-form, so it is never trusted.
 */
export function sceneView(info: Record<string, unknown>): SceneView {
  const nf = info.nearFar;
  const nearOk = Array.isArray(nf) && nf.length === 2 && nf.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0) && nf[0] < nf[1];
  const r = info.orbitRadius;
  return {
    radius: typeof r === 'number' && r > 0 && r < 1e4 ? r : 4,
    white: info.whiteBackground !== false,
    nearFar: nearOk ? [nf[0] as number, nf[1] as number] : [2, 6],
  };
}

/** What a scene decodes to: the same pieces a TensorField is built from. */
export interface SceneModel {
  settings: FieldSettings;
  box: Box;
  grid: Vec3;
  values: Map<string, Float32Array>;
  mask: { dims: Vec3; box: Box; bits: Uint32Array } | null;
  /** Rank groups in `values`. */
  rank: number;
}

export class SceneError extends Error {
  override name = 'SceneError';
}

export function validateHeader(raw: unknown, fail: (why: string) => never, version = SCENE_VERSION): SceneHeader {
  const c = new JsonChecks(fail);
  const h = c.obj(raw, 'the header');
  if (h.format !== 'slimfield-scene') fail(`header: format ${JSON.stringify(h.format)} is not "slimfield-scene"`);
  const settings = c.settings(h.settings);
  const grid = c.ints(h.grid, 'grid', 3, 2, 4096) as Vec3;
  const known: ScenePrecision[] = version >= 3 ? [...PRECISIONS, 'compact'] : PRECISIONS;
  const precision = known.includes(h.precision as ScenePrecision)
    ? (h.precision as ScenePrecision)
    : fail(
        `header: precision must be one of ${known.join(', ')}${h.precision === 'compact' ? ` (compact files are version 3, this one says ${version})` : ''}`,
      );
  const ranks = c.int(h.ranks, 'ranks', 1, 4096);
  if (ranks !== maxRankOf(settings)) fail(`header: ranks ${ranks} does not match the component counts (${maxRankOf(settings)} groups)`);
  let mask: SceneHeader['mask'] = null;
  if (h.mask !== null && h.mask !== undefined) {
    const m = c.obj(h.mask, 'mask');
    mask = { dims: c.ints(m.dims, 'mask.dims', 3, 1, 4096) as Vec3, box: c.box(m.box, 'mask.box') };
  }
  const info = h.info === undefined ? {} : c.obj(h.info, 'info');
  const box = c.box(h.box, 'box');
  const header: SceneHeader = { format: 'slimfield-scene', settings, box, grid, precision, ranks, mask, info };
  if (precision === 'compact') header.compact = validateCompactLayout(h.compact, settings, box, grid, c, fail);
  return header;
}
