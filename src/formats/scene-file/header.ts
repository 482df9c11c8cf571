// The scene file's preamble constants, its header (what it holds, validated field by field on
// reading: a hostile header can only produce a SceneError) and how a viewer looks at a scene.
// docs/SCENE_FORMAT.md is the spec.
import type { Box, Vec3 } from '../../field/geometry.ts';
import { layoutOf, MODEL_KINDS } from '../../field/layout.ts';
import { MAX_LEVELS } from '../../field/layouts/strivec.ts';
import type { StrivecLevel } from '../../field/layouts/strivec-lattice.ts';
import { maxRankOf } from '../../field/rank.ts';
import type { FieldSettings, ModelKind } from '../../field/settings.ts';

export const SCENE_MAGIC = 'SLIMSCNE';
/** Version 2 deflates the rank groups of 8-bit files; version 1 files are still read. */
export const SCENE_VERSION = 2;
export const SCENE_EXTENSION = '.slimscene';
export type Precision = 'fp32' | 'fp16' | 'int8';
export const PRECISIONS: Precision[] = ['fp32', 'fp16', 'int8'];

/** Bytes before the header JSON: magic, u16 version, u16 reserved, u32 header length, u32 header CRC. */
export const PREAMBLE = 20;
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
  precision: Precision;
  /** Rank groups stored (= maxRankOf(settings)). */
  ranks: number;
  mask: { dims: Vec3; box: Box } | null;
  info: Record<string, unknown>;
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

/** Largest Strivec lattice a header may describe per level (cells), so its bits stay small. */
const MAX_LATTICE_CELLS = 1 << 27;

function validateLevels(
  v: unknown,
  num: (v: unknown, what: string, lo?: number, hi?: number) => number,
  int: (v: unknown, what: string, lo: number, hi: number) => number,
  fail: (why: string) => never,
): StrivecLevel[] {
  if (!Array.isArray(v) || v.length < 1 || v.length > MAX_LEVELS) fail(`header: settings.levels must list 1 to ${MAX_LEVELS} Strivec levels`);
  return (v as unknown[]).map((x, l) => {
    const what = `settings.levels[${l}]`;
    const o = typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : fail(`header: ${what} must be an object`);
    const vec = (a: unknown, name: string, f: (y: unknown, w: string) => number) =>
      (Array.isArray(a) && a.length === 3 ? a.map((y, i) => f(y, `${what}.${name}[${i}]`)) : fail(`header: ${what}.${name} must list 3 numbers`)) as Vec3;
    const origin = vec(o.origin, 'origin', (y, w) => num(y, w, -1e6, 1e6));
    const spacing = num(o.spacing, `${what}.spacing`, 1e-6, 1e6);
    const dims = vec(o.dims, 'dims', (y, w) => int(y, w, 1, 1 << 20));
    if (dims[0] * dims[1] * dims[2] > MAX_LATTICE_CELLS) fail(`header: ${what}.dims describe more than ${MAX_LATTICE_CELLS} cells`);
    const halfSize = num(o.halfSize, `${what}.halfSize`, 0.5 * spacing, spacing);
    if (!(halfSize > 0.5 * spacing && halfSize < spacing)) fail(`header: ${what}.halfSize must lie strictly between half and one spacing`);
    const tensors = int(o.tensors, `${what}.tensors`, 1, dims[0] * dims[1] * dims[2]);
    return { origin, spacing, dims, halfSize, tensors };
  });
}

export function validateHeader(raw: unknown, fail: (why: string) => never): SceneHeader {
  const obj = (v: unknown, what: string): Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(`header: ${what} must be an object`);
  const num = (v: unknown, what: string, lo = -Infinity, hi = Infinity): number =>
    typeof v === 'number' && Number.isFinite(v) && v >= lo && v <= hi
      ? v
      : fail(`header: ${what} must be a number in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
  const int = (v: unknown, what: string, lo: number, hi: number): number =>
    Number.isInteger(v) ? num(v, what, lo, hi) : fail(`header: ${what} must be an integer, got ${JSON.stringify(v)}`);
  const ints = (v: unknown, what: string, n: number, lo: number, hi: number): number[] =>
    Array.isArray(v) && v.length === n ? v.map((x, i) => int(x, `${what}[${i}]`, lo, hi)) : fail(`header: ${what} must list ${n} integers`);
  const box = (v: unknown, what: string): Box => {
    const b = obj(v, what);
    const lo =
      Array.isArray(b.lo) && b.lo.length === 3 ? b.lo.map((x, i) => num(x, `${what}.lo[${i}]`, -1e6, 1e6)) : fail(`header: ${what}.lo must list 3 numbers`);
    const hi =
      Array.isArray(b.hi) && b.hi.length === 3 ? b.hi.map((x, i) => num(x, `${what}.hi[${i}]`, -1e6, 1e6)) : fail(`header: ${what}.hi must list 3 numbers`);
    if (lo.some((x, i) => !(x < hi[i]!))) fail(`header: ${what} is empty or inverted`);
    return { lo: lo as Vec3, hi: hi as Vec3 };
  };
  const h = obj(raw, 'the header');
  if (h.format !== 'slimfield-scene') fail(`header: format ${JSON.stringify(h.format)} is not "slimfield-scene"`);
  const s = obj(h.settings, 'settings');
  const kind = MODEL_KINDS.includes(s.kind as ModelKind)
    ? (s.kind as ModelKind)
    : fail(`header: settings.kind must be one of ${MODEL_KINDS.map((k) => `"${k}"`).join(', ')}, got ${JSON.stringify(s.kind)}`);
  const layout = layoutOf(kind);
  const levels = layout.localTensors ? validateLevels(s.levels, num, int, fail) : undefined;
  const slots = layout.slotsFor(levels?.length ?? 0);
  const sh = obj(s.shading, 'settings.shading');
  const mode = sh.mode === 'MLP_Fea' || sh.mode === 'SH' ? sh.mode : fail(`header: settings.shading.mode must be "MLP_Fea" or "SH"`);
  const shading = {
    mode,
    appDim: int(sh.appDim, 'settings.shading.appDim', 1, 1024),
    viewPe: int(sh.viewPe, 'settings.shading.viewPe', 0, 32),
    feaPe: int(sh.feaPe, 'settings.shading.feaPe', 0, 32),
    featureC: int(sh.featureC, 'settings.shading.featureC', mode === 'SH' ? 0 : 1, 4096),
  } as const;
  if (mode === 'SH' && shading.appDim !== 27) fail('header: SH shading needs appDim 27');
  const settings: FieldSettings = {
    kind,
    densityComps: ints(s.densityComps, 'settings.densityComps', slots, 1, 4096),
    appComps: ints(s.appComps, 'settings.appComps', slots, 1, 4096),
    shading,
    densityShift: num(s.densityShift, 'settings.densityShift', -1e4, 1e4),
    distanceScale: num(s.distanceScale, 'settings.distanceScale', 1e-6, 1e6),
    stepRatio: num(s.stepRatio, 'settings.stepRatio', 1e-3, 100),
    alphaMaskThres: num(s.alphaMaskThres, 'settings.alphaMaskThres', 0, 1),
    rayMarchWeightThres: num(s.rayMarchWeightThres, 'settings.rayMarchWeightThres', 0, 1),
    initStd: num(s.initStd, 'settings.initStd', 0, 100),
    ...(s.slimmable === true ? { slimmable: true } : {}),
    ...(levels ? { levels } : {}),
  };
  const grid = ints(h.grid, 'grid', 3, 2, 4096) as Vec3;
  const precision = PRECISIONS.includes(h.precision as Precision)
    ? (h.precision as Precision)
    : fail(`header: precision must be one of ${PRECISIONS.join(', ')}`);
  const ranks = int(h.ranks, 'ranks', 1, 4096);
  if (ranks !== maxRankOf(settings)) fail(`header: ranks ${ranks} does not match the component counts (${maxRankOf(settings)} groups)`);
  let mask: SceneHeader['mask'] = null;
  if (h.mask !== null && h.mask !== undefined) {
    const m = obj(h.mask, 'mask');
    mask = { dims: ints(m.dims, 'mask.dims', 3, 1, 4096) as Vec3, box: box(m.box, 'mask.box') };
  }
  const info = h.info === undefined ? {} : obj(h.info, 'info');
  return { format: 'slimfield-scene', settings, box: box(h.box, 'box'), grid, precision, ranks, mask, info };
}
