// Writing scene files: a model (its full values, e.g. a downloaded arena) at a rank and precision,
// and the size such a file will have, computed from the header alone.

import { FP16_MAX } from '../../compress/codecs.ts';
import type { CompactModel } from '../../compress/quantise.ts';
import type { Box, Vec3 } from '../../field/geometry.ts';
import { fieldSegments } from '../../field/layout.ts';
import { maxRankOf, settingsAtRank, truncateToRank } from '../../field/rank.ts';
import type { FieldSettings } from '../../field/settings.ts';
import { headerBytes, PREAMBLE, writeContainer } from '../container.ts';
import { compactLayoutOf, compactSections } from './compact.ts';
import { PRECISIONS, type Precision, SCENE_MAGIC, SCENE_VERSION, SceneError, type SceneHeader, type SceneModel } from './header.ts';
import { bitsPayload, deflatedPayload, encodeBlock, isBits, isDeflated, latticeBits, plan, type Section } from './sections.ts';

export interface ExportOptions {
  /** Rank groups to keep (default: all the model has). */
  rank?: number;
  precision: Precision;
  info?: Record<string, unknown>;
  /** Write an older format version (default: the current one); for compatibility tests. */
  version?: number;
}

/** The stored header for a model exported with `opts` (also sizes the file before writing it). */
function exportHeader(settings: FieldSettings, box: Box, grid: Vec3, mask: SceneModel['mask'], opts: ExportOptions): SceneHeader {
  const rank = Math.min(opts.rank ?? maxRankOf(settings), maxRankOf(settings));
  if (!Number.isInteger(rank) || rank < 1) throw new SceneError(`export: rank must be a positive integer, got ${opts.rank}`);
  const stored = rank < maxRankOf(settings) ? settingsAtRank(settings, rank) : settings;
  return {
    format: 'slimfield-scene',
    settings: stored,
    box,
    grid,
    precision: opts.precision,
    ranks: maxRankOf(stored),
    mask: mask ? { dims: mask.dims, box: mask.box } : null,
    info: opts.info ?? {},
  };
}

/**
 * Size in bytes of the scene file exportScene would write, without the factor values (Strivec
 * models need their lattice tables): exact for fp32 and fp16; for 8-bit files, whose rank groups
 * are deflated, the most it can be (`exact` false).
 */
export function sceneFileSize(
  settings: FieldSettings,
  box: Box,
  grid: Vec3,
  mask: SceneModel['mask'],
  opts: ExportOptions,
  tables: ArrayLike<number>[] = [],
): { bytes: number; exact: boolean } {
  const h = exportHeader(settings, box, grid, mask, opts);
  const bits = (s: Section) => bitsPayload(s.kind === 'mask' ? mask!.bits : latticeBits(settings.levels!, tables)).length;
  const sections = plan(h);
  const bytes = PREAMBLE + headerBytes(h).length + sections.reduce((n, s) => n + 8 + (isBits(s) ? bits(s) : s.bytes), 0);
  return { bytes, exact: !sections.some((s) => isDeflated(s) && !isBits(s)) };
}

/** Encodes a model (full values, e.g. a downloaded arena) as a scene file at a rank and precision. */
export function exportScene(model: Omit<SceneModel, 'rank'>, opts: ExportOptions): Uint8Array {
  if (!PRECISIONS.includes(opts.precision)) throw new SceneError(`export: precision must be one of ${PRECISIONS.join(', ')}, got ${opts.precision}`);
  const h = exportHeader(model.settings, model.box, model.grid, model.mask, opts);
  const values = h.ranks < maxRankOf(model.settings) ? truncateToRank(model.settings, model.values, h.ranks).values : model.values;
  for (const seg of fieldSegments(h.settings, h.box, h.grid)) {
    const v = values.get(seg.name);
    if (!v || v.length !== seg.count) throw new SceneError(`export: tensor ${seg.name} has ${v?.length ?? 'no'} values, expected ${seg.count}`);
    for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) throw new SceneError(`export: tensor ${seg.name} holds a non-finite value at ${i}`);
  }
  const version = opts.version ?? SCENE_VERSION;
  const head = headerBytes(h);
  const sections = plan(h, version);
  const segs = fieldSegments(h.settings, h.box, h.grid);
  const payloads = sections.map((sec): Uint8Array => {
    if (sec.kind === 'mask') return bitsPayload(model.mask!.bits);
    if (sec.kind === 'lattice')
      return bitsPayload(
        latticeBits(
          h.settings.levels!,
          h.settings.levels!.map((_, l) => values.get(`lattice.level${l}`)!),
        ),
      );
    const raw = new Uint8Array(sec.rawBytes ?? sec.bytes);
    const dv = new DataView(raw.buffer);
    const precision = sec.kind === 'dense' && opts.precision !== 'fp32' ? 'fp16' : opts.precision;
    let p = 0;
    for (const b of sec.blocks) {
      const v = values.get(b.name)!;
      const seg = segs.find((x) => x.name === b.name)!;
      const get = b.cols ? (r: number, c: number) => v[r * (v.length / b.rows) + b.cols![c]!]! : (r: number, c: number) => v[r * seg.components + b.first + c]!;
      p += encodeBlock(dv, p, b, precision, get, 'export');
    }
    return isDeflated(sec) ? deflatedPayload(raw) : raw;
  });
  return writeContainer(SCENE_MAGIC, version, head, payloads);
}

/**
 * Encodes a compressed model (compress/quantise.ts) as a compact scene file (version 3): the
 * header lists its layout, then the alpha mask and the compact sections (compact.ts), deflated.
 */
export function exportCompactScene(c: CompactModel, info: Record<string, unknown> = {}): Uint8Array {
  if (c.settings.levels) throw new SceneError('export: Strivec models cannot be stored compact yet: export them as fp16 or int8');
  for (const [name, v] of c.rest) {
    for (let i = 0; i < v.length; i++) if (!(Math.abs(v[i]!) <= FP16_MAX)) throw new SceneError(`export: ${name} holds ${v[i]}, beyond fp16's range`);
  }
  const h: SceneHeader = {
    format: 'slimfield-scene',
    settings: c.settings,
    box: c.box,
    grid: c.grid,
    precision: 'compact',
    ranks: maxRankOf(c.settings),
    mask: c.mask ? { dims: c.mask.dims, box: c.mask.box } : null,
    info,
    compact: compactLayoutOf(c),
  };
  const sections = plan(h, SCENE_VERSION);
  const raw = compactSections(c);
  const payloads = sections.map((sec, i): Uint8Array => {
    if (sec.kind === 'mask') return bitsPayload(c.mask!.bits);
    const part = raw[i - (c.mask ? 1 : 0)]!;
    if (part.raw.length !== sec.rawBytes) throw new SceneError(`export: ${sec.label} has ${part.raw.length} bytes, its layout ${sec.rawBytes}`);
    return deflatedPayload(part.raw);
  });
  return writeContainer(SCENE_MAGIC, SCENE_VERSION, headerBytes(h), payloads);
}
