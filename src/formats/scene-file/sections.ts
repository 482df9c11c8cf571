// How a scene file lays out a model: which blocks of which tensors each section holds (the alpha
// mask, Strivec's lattice, the shading weights, then one section per rank group, so any prefix of
// groups is a valid slimmed model), how many bytes they take, and the value codecs (fp32, fp16,
// 8 bits with a per-component offset and scale). The writer and the reader share all of it.
import { deflateSync } from 'fflate';
import { FP16_MAX, fromHalf, quantise8, toHalf } from '../../compress/codecs.ts';
import { fieldSegments } from '../../field/layout.ts';
import type { StrivecLevel } from '../../field/layouts/strivec-lattice.ts';
import { RANK_STEP, rankStepOf } from '../../field/rank.ts';
import { COMPACT_HEAD_LABEL, compactBlockLabel, compactRawBytes } from './compact.ts';
import { type Precision, SCENE_VERSION, SceneError, type SceneHeader } from './header.ts';

export interface Block {
  /** Segment the values belong to. */
  name: string;
  /** Values per component row (texels; basis: appDim rows). */
  rows: number;
  /** Components in this block (its columns). */
  comps: number;
  /** First component of the segment this block holds (factors) or the basis column list. */
  first: number;
  /** Basis only: the columns of the stored basis this block holds. */
  cols?: number[];
}

export interface Section {
  label: string;
  /**
   * 'mask' and 'lattice' hold bits (the alpha mask; Strivec's occupied lattice cells); a compact
   * file's 'compactHead' and 'compactBlock' sections are laid out by compact.ts.
   */
  kind: 'mask' | 'lattice' | 'dense' | 'group' | 'compactHead' | 'compactBlock';
  blocks: Block[];
  /**
   * Payload bytes. A deflated section's length is known only when it starts: until then this is
   * the most it may take (deflateBounds of rawBytes).
   */
  bytes: number;
  /** Deflated sections (bits, and the rank groups of 8-bit files from version 2): the inflated length. */
  rawBytes?: number;
}

export const isBits = (s: Section) => s.kind === 'mask' || s.kind === 'lattice';
export const isDeflated = (s: Section) => s.rawBytes !== undefined;

/** Words of Strivec's lattice section: each level's cell bits, padded to whole words. */
export function latticeWords(levels: StrivecLevel[]): number[] {
  return levels.map((l) => Math.ceil((l.dims[0] * l.dims[1] * l.dims[2]) / 32));
}

/** A Strivec model's occupied-cell bits from its lattice tables (tensor index + 1 per cell, 0 = none). */
export function latticeBits(levels: StrivecLevel[], tables: ArrayLike<number>[]): Uint32Array {
  const words = latticeWords(levels);
  const bits = new Uint32Array(words.reduce((a, b) => a + b, 0));
  let base = 0;
  levels.forEach((_, l) => {
    const t = tables[l]!;
    for (let i = 0; i < t.length; i++) if (t[i] !== 0) bits[base + (i >> 5)]! |= 1 << (i & 31);
    base += words[l]!;
  });
  return bits;
}

/**
 * A deflated section holds u32 n, then n bytes of raw deflate of its raw payload (bits: the words,
 * LE), then zeros to a multiple of 4. Its length is not known from the header, only bounded:
 * deflate never expands by more than 5 bytes per 16 KiB stored block, and never shrinks by more
 * than ~1032:1.
 */
export function deflateBounds(rawBytes: number): { max: number; minCompressed: number } {
  const max = 4 + Math.ceil((rawBytes + 5 * Math.ceil(rawBytes / 16384) + 16) / 4) * 4;
  return { max, minCompressed: Math.floor(rawBytes / 1032) };
}

/** A deflated section's payload for raw bytes. */
export function deflatedPayload(raw: Uint8Array): Uint8Array {
  const z = deflateSync(raw, { level: 9 });
  const p = new Uint8Array(4 + Math.ceil(z.length / 4) * 4);
  new DataView(p.buffer).setUint32(0, z.length, true);
  p.set(z, 4);
  return p;
}

const bitsCache = new WeakMap<Uint32Array, Uint8Array>();

/** A bits section's payload (cached per array, since the studio sizes exports often). */
export function bitsPayload(bits: Uint32Array): Uint8Array {
  let p = bitsCache.get(bits);
  if (!p) {
    const raw = new Uint8Array(bits.length * 4);
    const dv = new DataView(raw.buffer);
    bits.forEach((w, i) => {
      dv.setUint32(4 * i, w, true);
    });
    p = deflatedPayload(raw);
    bitsCache.set(bits, p);
  }
  return p;
}

export function blockBytes(b: Block, precision: Precision): number {
  const n = b.rows * b.comps;
  const raw = precision === 'fp32' ? 4 * n : precision === 'fp16' ? 2 * n : 8 * b.comps + n;
  return Math.ceil(raw / 4) * 4;
}

/** Components [lo, hi) of group g for a tensor with k components and `step` per group. */
export function groupRange(g: number, step: number, k: number): [number, number] {
  return [Math.min(g * step, k), Math.min((g + 1) * step, k)];
}

/** Rank groups of 8-bit files are deflated from version 2 on (8-bit codes compress; floats hardly). */
export const deflatesGroups = (h: SceneHeader, version: number) => h.precision === 'int8' && version >= 2;

export function plan(h: SceneHeader, version = SCENE_VERSION): Section[] {
  const s = h.settings;
  const segs = fieldSegments(s, h.box, h.grid);
  const sections: Section[] = [];
  if (h.mask) {
    const words = Math.ceil((h.mask.dims[0] * h.mask.dims[1] * h.mask.dims[2]) / 32);
    sections.push({ label: 'alpha mask', kind: 'mask', blocks: [], bytes: deflateBounds(words * 4).max, rawBytes: words * 4 });
  }
  if (h.precision === 'compact') {
    // Every compact section is deflated; its inflated length follows from the header's layout.
    const raw = compactRawBytes({ settings: s, box: h.box, grid: h.grid, compact: h.compact! });
    sections.push({ label: COMPACT_HEAD_LABEL, kind: 'compactHead', blocks: [], bytes: deflateBounds(raw.head).max, rawBytes: raw.head });
    raw.blocks.forEach((n, b) => {
      sections.push({ label: compactBlockLabel(h.compact!.rankBlocks[b]!, b), kind: 'compactBlock', blocks: [], bytes: deflateBounds(n).max, rawBytes: n });
    });
    return sections;
  }
  if (s.levels) {
    // The tensor centres: which lattice cells hold a tensor (the reference did not save them).
    const words = latticeWords(s.levels!).reduce((a, b) => a + b, 0);
    sections.push({ label: 'tensor lattice', kind: 'lattice', blocks: [], bytes: deflateBounds(words * 4).max, rawBytes: words * 4 });
  }
  const precision = h.precision as Precision;
  // Shading weights are small and sensitive: fp32 in fp32 files, fp16 otherwise.
  const densePrecision: Precision = precision === 'fp32' ? 'fp32' : 'fp16';
  const dense = segs.filter((x) => x.name.startsWith('mlp.')).map((x) => ({ name: x.name, rows: x.count, comps: 1, first: 0 }));
  sections.push({ label: 'shading weights', kind: 'dense', blocks: dense, bytes: dense.reduce((n, b) => n + blockBytes(b, densePrecision), 0) });
  const appDim = s.shading.appDim;
  for (let g = 0; g < h.ranks; g++) {
    const blocks: Block[] = [];
    for (const x of segs.filter((y) => y.group === 'factor')) {
      const step = rankStepOf(x.name);
      const [lo, hi] = groupRange(g, step, x.components);
      blocks.push({ name: x.name, rows: x.count / x.components, comps: hi - lo, first: lo });
    }
    const cols: number[] = [];
    let first = 0;
    for (const k of s.appComps) {
      const [lo, hi] = groupRange(g, RANK_STEP.app, k);
      for (let c = lo; c < hi; c++) cols.push(first + c);
      first += k;
    }
    blocks.push({ name: 'basis', rows: appDim, comps: cols.length, first: 0, cols });
    const raw = blocks.reduce((n, b) => n + blockBytes(b, precision), 0);
    sections.push({
      label: `rank group ${g + 1}`,
      kind: 'group',
      blocks,
      ...(deflatesGroups(h, version) ? { bytes: deflateBounds(raw).max, rawBytes: raw } : { bytes: raw }),
    });
  }
  return sections;
}

/** Writes `get(row, comp)` for a block at `at`; returns the bytes written (padded to 4). */
export function encodeBlock(dv: DataView, at: number, b: Block, precision: Precision, get: (r: number, c: number) => number, where: string): number {
  if (precision === 'fp32') {
    for (let r = 0; r < b.rows; r++) for (let c = 0; c < b.comps; c++) dv.setFloat32(at + 4 * (r * b.comps + c), get(r, c), true);
  } else if (precision === 'fp16') {
    for (let r = 0; r < b.rows; r++) {
      for (let c = 0; c < b.comps; c++) {
        const v = get(r, c);
        if (Math.abs(v) > FP16_MAX) throw new SceneError(`${where}: ${b.name} holds ${v}, beyond fp16's range: export as fp32`);
        dv.setUint16(at + 2 * (r * b.comps + c), toHalf(v), true);
      }
    }
  } else {
    // 8 bits per value with a per-component offset and scale: v = offset + q * scale.
    const q = quantise8(b.rows, b.comps, get);
    const q0 = at + 8 * b.comps;
    for (let c = 0; c < b.comps; c++) {
      dv.setFloat32(at + 8 * c, q.offset[c]!, true);
      dv.setFloat32(at + 8 * c + 4, q.scale[c]!, true);
    }
    new Uint8Array(dv.buffer, dv.byteOffset + q0, q.codes.length).set(q.codes);
  }
  return blockBytes(b, precision);
}

/** Reads a block into `set(row, comp, value)`; rejects non-finite values. */
export function decodeBlock(
  dv: DataView,
  at: number,
  b: Block,
  precision: Precision,
  set: (r: number, c: number, v: number) => void,
  fail: (why: string) => never,
): void {
  if (precision === 'fp32' || precision === 'fp16') {
    for (let r = 0; r < b.rows; r++) {
      for (let c = 0; c < b.comps; c++) {
        const i = r * b.comps + c;
        const v = precision === 'fp32' ? dv.getFloat32(at + 4 * i, true) : fromHalf(dv.getUint16(at + 2 * i, true));
        if (!Number.isFinite(v)) fail(`${b.name} holds a non-finite value`);
        set(r, c, v);
      }
    }
    return;
  }
  const q0 = at + 8 * b.comps;
  for (let c = 0; c < b.comps; c++) {
    const offset = dv.getFloat32(at + 8 * c, true);
    const scale = dv.getFloat32(at + 8 * c + 4, true);
    if (!Number.isFinite(offset) || !Number.isFinite(scale) || scale < 0) fail(`${b.name} has a bad 8-bit scale or offset`);
    for (let r = 0; r < b.rows; r++) set(r, c, offset + dv.getUint8(q0 + r * b.comps + c) * scale);
  }
}
