// Compact scene files (version 3, precision "compact"): a model compressed by compress/ (its
// planes pruned, vector-quantised and kept in 8 bits by texel importance) in stream order. First
// what every rank needs: the shading weights in fp16 and the planes' texel fates (2 bits each);
// then one section per rank block (SlimmeRF: ranks 1, 2, 3–4, 5–8, …; a plain model: all ranks
// in one), holding for each factor tensor in arena order a plane's fp16 codewords, its coded
// texels' indices (packed, ceil(log2 codewords) bits each), its kept texels' f32 offsets and
// scales and 8-bit codes, or a line's components of the block in fp16; then the block's basis
// columns in fp16. Every section is deflated (fflate, so the studio and the CLI write the same
// bytes), and every length follows from the header, which lists each plane's coded and kept
// texel counts and codebook sizes. Reading builds the CompactModel back, block by block, and
// decodes it with compress/'s decodeCompact: one decoder for the compressor and the file.
import { deflateSync } from 'fflate';
import { fromHalf, indexBits, packBits, toHalf, unpackBits } from '../../compress/codecs.ts';
import { blockComponents, type CompactModel, type CompactPlane, FATE } from '../../compress/quantise.ts';
import { Bytes } from '../../data/bytes.ts';
import type { Box, Vec3 } from '../../field/geometry.ts';
import { fieldSegments } from '../../field/layout.ts';
import { basisColumnsAtRank, maxRankOf } from '../../field/rank.ts';
import { appWidthOf, type FieldSettings, type SegmentShape } from '../../field/settings.ts';
import type { JsonChecks } from '../json-checks.ts';

/** What a compact header says of the model's compression: every length of its sections follows from it. */
export interface CompactLayout {
  /** Rank groups [first, end) of each block, contiguous from 0 to the model's ranks. */
  rankBlocks: [number, number][];
  /** The planes in arena order: texels coded and kept, and codewords per block. */
  planes: { segment: string; coded: number; kept: number; codewords: number[] }[];
}

/** Codewords a block's codebook may have at most. */
export const MAX_CODEWORDS = 65536;

/** The header's layout of a compact model. */
export function compactLayoutOf(c: CompactModel): CompactLayout {
  return {
    rankBlocks: c.rankBlocks,
    planes: c.planes.map((p) => ({
      segment: p.segment,
      coded: p.fates.reduce((n, f) => n + (f === FATE.coded ? 1 : 0), 0),
      kept: p.fates.reduce((n, f) => n + (f === FATE.kept ? 1 : 0), 0),
      codewords: p.blocks.map((b) => (b.hi > b.lo ? b.codewords.length / (b.hi - b.lo) : 0)),
    })),
  };
}

/** One piece of a rank block's section, in order. */
type Part =
  | { kind: 'plane'; seg: SegmentShape; plane: number; lo: number; hi: number; codewords: number; coded: number; kept: number }
  | { kind: 'line'; seg: SegmentShape; lo: number; hi: number }
  | { kind: 'basis'; cols: number[] };

interface Geometry {
  settings: FieldSettings;
  box: Box;
  grid: Vec3;
  compact: CompactLayout;
}

const componentsOf = (seg: SegmentShape, block: [number, number]) => blockComponents(seg.name, seg.components, block);

/** The pieces of block b, in the order they are stored. */
function blockParts(h: Geometry, b: number): Part[] {
  const block = h.compact.rankBlocks[b]!;
  const parts: Part[] = [];
  for (const seg of fieldSegments(h.settings, h.box, h.grid).filter((s) => s.group === 'factor')) {
    const [lo, hi] = componentsOf(seg, block);
    const plane = h.compact.planes.findIndex((p) => p.segment === seg.name);
    if (plane >= 0) {
      const p = h.compact.planes[plane]!;
      parts.push({ kind: 'plane', seg, plane, lo, hi, codewords: p.codewords[b]!, coded: p.coded, kept: p.kept });
    } else parts.push({ kind: 'line', seg, lo, hi });
  }
  const before = new Set(basisColumnsAtRank(h.settings, block[0]));
  parts.push({ kind: 'basis', cols: basisColumnsAtRank(h.settings, block[1]).filter((c) => !before.has(c)) });
  return parts;
}

/** Bytes of one piece. */
function partBytes(h: Geometry, p: Part): number {
  if (p.kind === 'basis') return 2 * h.settings.shading.appDim * p.cols.length;
  const w = p.hi - p.lo;
  if (p.kind === 'line') return 2 * (p.seg.count / p.seg.components) * w;
  const indices = p.codewords > 0 ? Math.ceil((p.coded * indexBits(p.codewords)) / 8) : 0;
  return 2 * p.codewords * w + indices + 8 * w + p.kept * w;
}

const mlpSegments = (h: Geometry) => fieldSegments(h.settings, h.box, h.grid).filter((s) => s.name.startsWith('mlp.'));
const planeSegments = (h: Geometry) => fieldSegments(h.settings, h.box, h.grid).filter((s) => s.plane);

/** Raw (inflated) bytes of the head section and of each block's section. */
export function compactRawBytes(h: Geometry): { head: number; blocks: number[] } {
  const head = mlpSegments(h).reduce((n, s) => n + 2 * s.count, 0) + planeSegments(h).reduce((n, s) => n + Math.ceil((2 * s.count) / s.components / 8), 0);
  return { head, blocks: h.compact.rankBlocks.map((_, b) => blockParts(h, b).reduce((n, p) => n + partBytes(h, p), 0)) };
}

/** Checks a header's compact layout against its model; names what is wrong. */
export function validateCompactLayout(raw: unknown, s: FieldSettings, box: Box, grid: Vec3, c: JsonChecks, fail: (why: string) => never): CompactLayout {
  if (s.levels) fail('compact: Strivec models are not stored compact');
  const o = c.obj(raw, 'compact');
  const ranks = maxRankOf(s);
  if (!Array.isArray(o.rankBlocks) || o.rankBlocks.length < 1 || o.rankBlocks.length > ranks) fail(`compact.rankBlocks must list 1 to ${ranks} blocks`);
  let next = 0;
  const rankBlocks = (o.rankBlocks as unknown[]).map((r, b) => {
    const [first, end] = c.ints(r, `compact.rankBlocks[${b}]`, 2, 0, ranks);
    if (first !== next || !(end! > first!)) fail(`compact.rankBlocks[${b}] must start at rank ${next} and end after it`);
    next = end!;
    return [first!, end!] as [number, number];
  });
  if (next !== ranks) fail(`compact.rankBlocks end at rank ${next}, the model has ${ranks}`);
  const segs = fieldSegments(s, box, grid).filter((x) => x.plane);
  if (!Array.isArray(o.planes) || o.planes.length !== segs.length) fail(`compact.planes must list the model's ${segs.length} planes`);
  const planes = segs.map((seg, i) => {
    const p = c.obj((o.planes as unknown[])[i], `compact.planes[${i}]`);
    if (p.segment !== seg.name) fail(`compact.planes[${i}] is ${JSON.stringify(p.segment)}, expected ${seg.name}`);
    const texels = seg.count / seg.components;
    const coded = c.int(p.coded, `compact.planes[${i}].coded`, 0, texels);
    const kept = c.int(p.kept, `compact.planes[${i}].kept`, 0, texels - coded);
    const codewords = c.ints(p.codewords, `compact.planes[${i}].codewords`, rankBlocks.length, 0, MAX_CODEWORDS);
    rankBlocks.forEach((block, b) => {
      const [lo, hi] = componentsOf(seg, block);
      const needed = coded > 0 && hi > lo;
      if (needed !== codewords[b]! > 0) fail(`compact.planes[${i}]: block ${b + 1} ${needed ? 'needs a codebook' : 'has a codebook but codes nothing'}`);
    });
    return { segment: seg.name, coded, kept, codewords };
  });
  return { rankBlocks, planes };
}

/** Values as half floats. */
const f16 = (to: Bytes, values: ArrayLike<number>) => to.u16s(Array.from(values, toHalf));

export interface CompactSection {
  label: string;
  raw: Uint8Array;
}

const blockLabel = ([first, end]: [number, number], b: number) => `rank block ${b + 1} (ranks ${first + 1}${end > first + 1 ? `–${end}` : ''})`;
export const COMPACT_HEAD_LABEL = 'shading weights and texel fates';
export const compactBlockLabel = blockLabel;

/** A compact model's sections, raw (before deflate), in stream order (the alpha mask goes before them, as in every scene file). */
export function compactSections(c: CompactModel): CompactSection[] {
  const h: Geometry = { ...c, compact: compactLayoutOf(c) };
  const head = new Bytes();
  for (const s of mlpSegments(h)) f16(head, c.rest.get(s.name)!);
  for (const p of c.planes) head.bytes(packBits(p.fates, 2));
  const sections: CompactSection[] = [{ label: COMPACT_HEAD_LABEL, raw: head.done() }];
  const width = appWidthOf(c.settings);
  const basis = c.rest.get('basis')!;
  c.rankBlocks.forEach((block, b) => {
    const w = new Bytes();
    for (const part of blockParts(h, b)) {
      if (part.kind === 'plane') {
        const blk = c.planes[part.plane]!.blocks[b]!;
        f16(w, blk.codewords);
        if (part.codewords > 0) w.bytes(packBits(blk.indices, indexBits(part.codewords)));
        w.f32s(blk.kept.offset);
        w.f32s(blk.kept.scale);
        w.bytes(blk.kept.codes);
      } else if (part.kind === 'line') {
        const v = c.rest.get(part.seg.name)!;
        const k = part.seg.components;
        const n = part.hi - part.lo;
        const texels = part.seg.count / k;
        const out = new Float32Array(texels * n);
        for (let t = 0; t < texels; t++) out.set(v.subarray(t * k + part.lo, t * k + part.hi), t * n);
        f16(w, out);
      } else {
        const rows = basis.length / width;
        f16(
          w,
          Float32Array.from({ length: rows * part.cols.length }, (_, i) => basis[Math.floor(i / part.cols.length) * width + part.cols[i % part.cols.length]!]!),
        );
      }
    }
    sections.push({ label: blockLabel(block, b), raw: w.done() });
  });
  return sections;
}

/** Each section's bytes once deflated (level 9, as the writer stores them). */
export function deflatedSizes(sections: CompactSection[]): number[] {
  return sections.map((s) => deflateSync(s.raw, { level: 9 }).length);
}

/** Reads values from a section in order, every one checked. */
class ByteReader {
  at = 0;

  constructor(
    private readonly dv: DataView,
    private readonly fail: (why: string) => never,
  ) {}

  f16(n: number, what: string): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const v = fromHalf(this.dv.getUint16(this.at + 2 * i, true));
      if (!Number.isFinite(v)) this.fail(`${what} holds a non-finite value`);
      out[i] = v;
    }
    this.at += 2 * n;
    return out;
  }

  f32(n: number, what: string): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const v = this.dv.getFloat32(this.at + 4 * i, true);
      if (!Number.isFinite(v)) this.fail(`${what} holds a non-finite value`);
      out[i] = v;
    }
    this.at += 4 * n;
    return out;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(this.dv.buffer, this.dv.byteOffset + this.at, n).slice();
    this.at += n;
    return out;
  }
}

/**
 * A compact model read back section by section: readHead, then readBlock for each block as it
 * arrives; model() decodes the blocks read so far (compress/'s decodeCompact).
 */
export class CompactParts {
  readonly model: CompactModel;
  blocksRead = 0;

  constructor(private readonly h: Geometry & { mask: CompactModel['mask'] }) {
    const rest = new Map<string, Float32Array>();
    for (const s of fieldSegments(h.settings, h.box, h.grid)) if (!s.plane) rest.set(s.name, new Float32Array(s.count));
    this.model = { settings: h.settings, box: h.box, grid: h.grid, rankBlocks: h.compact.rankBlocks, planes: [], rest, mask: h.mask };
  }

  readHead(dv: DataView, fail: (why: string) => never): void {
    const r = new ByteReader(dv, fail);
    for (const s of mlpSegments(this.h)) this.model.rest.set(s.name, r.f16(s.count, s.name));
    planeSegments(this.h).forEach((seg, i) => {
      const texels = seg.count / seg.components;
      const fates = Uint8Array.from(unpackBits(r.bytes(Math.ceil((2 * texels) / 8)), 2, texels));
      const want = this.h.compact.planes[i]!;
      let coded = 0;
      let kept = 0;
      for (const f of fates) {
        if (f === FATE.coded) coded++;
        else if (f === FATE.kept) kept++;
        else if (f !== FATE.pruned) fail(`${seg.name}: a texel fate of ${f}`);
      }
      if (coded !== want.coded || kept !== want.kept)
        fail(`${seg.name}: ${coded} coded and ${kept} kept texels, the header says ${want.coded} and ${want.kept}`);
      this.model.planes.push({ segment: seg.name, texels, components: seg.components, fates, blocks: [] } satisfies CompactPlane);
    });
  }

  readBlock(dv: DataView, fail: (why: string) => never): void {
    const b = this.blocksRead;
    const r = new ByteReader(dv, fail);
    const width = appWidthOf(this.h.settings);
    for (const part of blockParts(this.h, b)) {
      if (part.kind === 'plane') {
        const w = part.hi - part.lo;
        const name = part.seg.name;
        const codewords = r.f16(part.codewords * w, `${name}'s codebook`);
        const indices =
          part.codewords > 0
            ? unpackBits(r.bytes(Math.ceil((part.coded * indexBits(part.codewords)) / 8)), indexBits(part.codewords), part.coded)
            : new Uint32Array(0);
        for (const i of indices) if (i >= part.codewords) fail(`${name}: index ${i} past its codebook of ${part.codewords}`);
        const offset = r.f32(w, `${name}'s 8-bit offsets`);
        const scale = r.f32(w, `${name}'s 8-bit scales`);
        if (scale.some((x) => x < 0)) fail(`${name} has a negative 8-bit scale`);
        const codes = r.bytes(part.kept * w);
        this.model.planes[part.plane]!.blocks.push({ lo: part.lo, hi: part.hi, codewords, indices, kept: { offset, scale, codes } });
      } else if (part.kind === 'line') {
        const k = part.seg.components;
        const n = part.hi - part.lo;
        const texels = part.seg.count / k;
        const v = r.f16(texels * n, part.seg.name);
        const out = this.model.rest.get(part.seg.name)!;
        for (let t = 0; t < texels; t++) out.set(v.subarray(t * n, t * n + n), t * k + part.lo);
      } else {
        const rows = this.h.settings.shading.appDim;
        const v = r.f16(rows * part.cols.length, 'basis');
        const out = this.model.rest.get('basis')!;
        for (let i = 0; i < v.length; i++) out[Math.floor(i / part.cols.length) * width + part.cols[i % part.cols.length]!] = v[i]!;
      }
    }
    this.blocksRead++;
  }

  /** Ranks the blocks read so far hold. */
  get ranks(): number {
    return this.blocksRead === 0 ? 0 : this.h.compact.rankBlocks[this.blocksRead - 1]![1];
  }
}
