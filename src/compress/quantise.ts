// Quantising a trained field's factor planes by the importance of their texels (VQRF's split, Li
// et al. 2023): per plane, the least important texels (those holding the last `pruneShare` of its
// importance, and every texel no ray sees) are dropped; the most important (those holding the
// first `keepShare`) keep their values in 8 bits per component; the rest are replaced by the
// nearest codeword of a codebook learned by weighted k-means, sized by how many texels it codes.
// Lines, the basis and the shading weights are rounded to fp16 (they are small); so are codewords.
//
// SlimmeRF models keep streaming by rank: each plane's components are coded in rank blocks that
// double (groups 1, 2, 3–4, 5–8, …), each with its own codebook, indices and 8-bit codes, so any
// prefix of blocks decodes without the rest. The texels' fates depend on importance only, so they
// are shared by every block. Plain VM models code all ranks as one block (truncating them ruins
// them anyway).
import type { Box, Vec3 } from '../field/geometry.ts';
import { fieldSegments } from '../field/layout.ts';
import { maxRankOf, segmentComponentsAtRank } from '../field/rank.ts';
import type { AlphaMask, FieldSettings } from '../field/settings.ts';
import type { GpuContext } from '../gpu/context.ts';
import { dequantise8, type Quantised8, quantise8, roundToHalf } from './codecs.ts';
import type { TexelImportance } from './importance.ts';
import { kmeans } from './kmeans.ts';

/** What becomes of a plane texel. */
export const FATE = { pruned: 0, coded: 1, kept: 2 } as const;

export interface QuantiseOptions {
  /** The share of a plane's importance its most important texels keep in 8 bits. */
  keepShare: number;
  /** The share of a plane's importance its least important texels may hold and still be dropped. */
  pruneShare: number;
  /** Coded texels per codeword: the codebook grows with the texels it codes, */
  texelsPerCodeword: number;
  /** between these sizes (a power of two). */
  minCodewords: number;
  maxCodewords: number;
  kmeansIterations: number;
  seed: number;
  /** One block of all ranks even for a SlimmeRF model (no streaming by rank): what the bench compares streaming against. */
  singleBlock?: boolean;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export const DEFAULT_QUANTISE: Omit<QuantiseOptions, 'signal' | 'onProgress'> = {
  keepShare: 0.6,
  pruneShare: 0.001,
  texelsPerCodeword: 16,
  minCodewords: 16,
  maxCodewords: 4096,
  kmeansIterations: 10,
  seed: 1,
};

/** One rank block of a plane: components [lo, hi) of its texels. */
export interface PlaneBlock {
  lo: number;
  hi: number;
  /** Codewords × (hi - lo) values, fp16-rounded. */
  codewords: Float32Array;
  /** The codeword of each coded texel, in texel order. */
  indices: Uint32Array;
  /** The kept texels' components in 8 bits, in texel order. */
  kept: Quantised8;
}

export interface CompactPlane {
  segment: string;
  texels: number;
  components: number;
  /** FATE per texel. */
  fates: Uint8Array;
  blocks: PlaneBlock[];
}

/** A field with its planes quantised: what formats/ writes as a compact scene file. */
export interface CompactModel {
  settings: FieldSettings;
  box: Box;
  grid: Vec3;
  /** Rank groups [first, end) of each block, in order: a prefix of blocks is a prefix of ranks. */
  rankBlocks: [number, number][];
  planes: CompactPlane[];
  /** Every other tensor (lines, basis, shading weights), fp16-rounded; index tables as they are. */
  rest: Map<string, Float32Array>;
  mask: AlphaMask | null;
}

/** Rank groups per block: doubling blocks for a slimmable model (1, 2, 3–4, 5–8, …), else (or when `single`) one. */
export function rankBlocks(settings: FieldSettings, single = false): [number, number][] {
  const ranks = maxRankOf(settings);
  if (!settings.slimmable || single) return [[0, ranks]];
  const out: [number, number][] = [];
  for (let lo = 0, size = 1; lo < ranks; lo += size, size = lo) out.push([lo, Math.min(ranks, lo + size)]);
  return out;
}

/**
 * Each texel's fate from its importance: in decreasing importance (ties by index), texels until
 * `keepShare` of the total is reached are kept; those after `1 - pruneShare` of it (and those of
 * zero importance) are pruned; the rest are coded.
 */
export function texelFates(importance: ArrayLike<number>, keepShare: number, pruneShare: number): Uint8Array {
  const n = importance.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => importance[b]! - importance[a]! || a - b);
  let total = 0;
  for (let i = 0; i < n; i++) total += importance[i]!;
  const fates = new Uint8Array(n);
  let before = 0;
  for (const t of order) {
    const v = importance[t]!;
    fates[t] = !(v > 0) || before >= (1 - pruneShare) * total ? FATE.pruned : before < keepShare * total ? FATE.kept : FATE.coded;
    before += v;
  }
  return fates;
}

/** The texels of each fate, in texel order. */
export function texelsByFate(fates: ArrayLike<number>): { pruned: number[]; coded: number[]; kept: number[] } {
  const out = { pruned: [] as number[], coded: [] as number[], kept: [] as number[] };
  for (let t = 0; t < fates.length; t++) out[fates[t] === FATE.pruned ? 'pruned' : fates[t] === FATE.coded ? 'coded' : 'kept'].push(t);
  return out;
}

/** The codebook size for `coded` texels: a power of two near coded / texelsPerCodeword, within the bounds. */
export function codewordCount(coded: number, o: Pick<QuantiseOptions, 'texelsPerCodeword' | 'minCodewords' | 'maxCodewords'>): number {
  const want = 2 ** Math.round(Math.log2(Math.max(1, coded / o.texelsPerCodeword)));
  return Math.max(o.minCodewords, Math.min(o.maxCodewords, want));
}

/** Components [lo, hi) of a factor segment's texels (k each) that rank groups [first, end) hold. */
export const blockComponents = (segment: string, k: number, [first, end]: [number, number]): [number, number] => [
  segmentComponentsAtRank(segment, k, first),
  segmentComponentsAtRank(segment, k, end),
];

/** Quantises a field's planes by their texels' importance (compress/importance.ts). */
export async function quantiseField(
  ctx: GpuContext,
  model: { settings: FieldSettings; box: Box; grid: Vec3; values: Map<string, Float32Array>; mask: AlphaMask | null },
  importance: TexelImportance,
  opts: QuantiseOptions,
): Promise<CompactModel> {
  const blocks = rankBlocks(model.settings, opts.singleBlock);
  const segs = fieldSegments(model.settings, model.box, model.grid);
  const planeSegs = segs.filter((s) => s.plane);
  const planes: CompactPlane[] = [];
  let done = 0;
  for (const seg of planeSegs) {
    const values = model.values.get(seg.name)!;
    const k = seg.components;
    const texels = seg.count / k;
    const weight = importance.get(seg.name);
    if (!weight || weight.length !== texels) throw new Error(`compress: no importance for ${seg.name}`);
    const fates = texelFates(weight, opts.keepShare, opts.pruneShare);
    const { coded, kept } = texelsByFate(fates);
    const out: PlaneBlock[] = [];
    for (const block of blocks) {
      opts.signal?.throwIfAborted();
      const [lo, hi] = blockComponents(seg.name, k, block);
      const w = hi - lo;
      const vectors = new Float32Array(coded.length * w);
      for (const [i, t] of coded.entries()) vectors.set(values.subarray(t * k + lo, t * k + hi), i * w);
      const weights = Float32Array.from(coded, (t) => weight[t]!);
      let codewords: Float32Array = new Float32Array(0);
      let indices: Uint32Array = new Uint32Array(0);
      if (coded.length > 0 && w > 0) {
        const book = await kmeans(ctx, vectors, w, weights, {
          k: codewordCount(coded.length, opts),
          iterations: opts.kmeansIterations,
          seed: opts.seed,
          signal: opts.signal,
        });
        codewords = roundToHalf(book.codewords);
        indices = book.assignment;
      }
      out.push({ lo, hi, codewords, indices, kept: keptCodes(values, kept, k, lo, w) });
      opts.onProgress?.(++done, planeSegs.length * blocks.length);
    }
    planes.push({ segment: seg.name, texels, components: k, fates, blocks: out });
  }
  return {
    settings: model.settings,
    box: model.box,
    grid: model.grid,
    rankBlocks: blocks,
    planes,
    rest: restOf(model.settings, model.box, model.grid, model.values),
    mask: model.mask,
  };
}

/** The kept texels' components [lo, lo + w) in 8 bits, in texel order. */
const keptCodes = (values: Float32Array, kept: readonly number[], k: number, lo: number, w: number): Quantised8 =>
  quantise8(kept.length, w, (r, c) => values[kept[r]! * k + lo + c]!);

/** Every tensor but the planes, fp16-rounded (index tables as they are). */
function restOf(settings: FieldSettings, box: Box, grid: Vec3, values: Map<string, Float32Array>): Map<string, Float32Array> {
  const rest = new Map<string, Float32Array>();
  for (const seg of fieldSegments(settings, box, grid)) {
    if (seg.plane) continue;
    const v = values.get(seg.name)!;
    rest.set(seg.name, seg.group === 'index' ? v : roundToHalf(v));
  }
  return rest;
}

/**
 * A compact model quantised again from tuned values (compress/finetune.ts) with its fates and
 * codeword assignments kept: the tuned codewords (one array per plane block with components, in
 * order) fp16-rounded, the kept texels' 8 bits and every other tensor taken from `values`.
 */
export function refit(c: CompactModel, values: Map<string, Float32Array>, codewords: readonly Float32Array[]): CompactModel {
  let next = 0;
  const planes = c.planes.map((p) => {
    const v = values.get(p.segment)!;
    const { kept } = texelsByFate(p.fates);
    const blocks = p.blocks.map((b) => {
      const w = b.hi - b.lo;
      if (w === 0) return b;
      const tuned = codewords[next++];
      if (!tuned || tuned.length !== b.codewords.length) throw new Error(`compress: the tuned codebook of ${p.segment} has the wrong size`);
      return { ...b, codewords: roundToHalf(tuned), kept: keptCodes(v, kept, p.components, b.lo, w) };
    });
    return { ...p, blocks };
  });
  if (next !== codewords.length) throw new Error(`compress: ${codewords.length} tuned codebooks for ${next} blocks`);
  return { ...c, planes, rest: restOf(c.settings, c.box, c.grid, values) };
}

/**
 * The field values a compact model decodes to, its planes rebuilt from codewords and codes; from
 * its first `blocks` rank blocks only (the planes' later components left 0), as a stream decodes.
 */
export function decodeCompact(c: CompactModel, blocks = c.rankBlocks.length): Map<string, Float32Array> {
  const values = new Map(c.rest);
  for (const p of c.planes) {
    const k = p.components;
    const out = new Float32Array(p.texels * k);
    for (const b of p.blocks.slice(0, blocks)) {
      const w = b.hi - b.lo;
      let coded = 0;
      let kept = 0;
      for (let t = 0; t < p.texels; t++) {
        const f = p.fates[t];
        if (f === FATE.coded) {
          const cw = b.indices[coded++]!;
          for (let j = 0; j < w; j++) out[t * k + b.lo + j] = b.codewords[cw * w + j]!;
        } else if (f === FATE.kept) {
          for (let j = 0; j < w; j++) out[t * k + b.lo + j] = dequantise8(b.kept, w, kept, j);
          kept++;
        }
      }
    }
    values.set(p.segment, out);
  }
  return values;
}

/** Texel counts by fate over every plane, for the log and the bench. */
export function fateCounts(c: CompactModel): { pruned: number; coded: number; kept: number; codewords: number[] } {
  const n = { pruned: 0, coded: 0, kept: 0 };
  for (const p of c.planes) for (const f of p.fates) n[f === FATE.pruned ? 'pruned' : f === FATE.coded ? 'coded' : 'kept']++;
  return { ...n, codewords: c.planes.flatMap((p) => p.blocks.map((b) => b.codewords.length / Math.max(1, b.hi - b.lo))) };
}
