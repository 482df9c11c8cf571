// The compact scene format (docs/SCENE_FORMAT.md): a versioned, checksummed file whose factor data
// is ordered by rank group, so any prefix of groups is a valid slimmed model and a reader can
// render as soon as the first groups have arrived. Environment-neutral (Node CLI, studio, viewer).
//
// Every length in the file is predicted from the header before anything is allocated, every
// section carries a CRC-32, and every decoded value must be finite: a damaged or hostile file
// yields a SceneError naming the file and the problem, never a crash or silent garbage.
import CRC32 from 'crc-32';
import { deflateSync, inflateSync } from 'fflate';
import type { Box, Vec3 } from '../fields/geometry.ts';
import { latticeTable, type StrivecLevel } from '../fields/strivec.ts';
import { fieldSegments, MAX_LEVELS, maxRankOf, type FieldSettings, RANK_STEP, segmentComponentsAtRank, settingsAtRank, truncateToRank } from '../fields/tensorf.ts';

export const SCENE_MAGIC = 'SLIMSCNE';
/** Version 2 deflates the rank groups of 8-bit files; version 1 files are still read. */
export const SCENE_VERSION = 2;
export const SCENE_EXTENSION = '.slimscene';
export type Precision = 'fp32' | 'fp16' | 'int8';
export const PRECISIONS: Precision[] = ['fp32', 'fp16', 'int8'];

/** Bytes before the header JSON: magic, u16 version, u16 reserved, u32 header length, u32 header CRC. */
const PREAMBLE = 20;
const MAX_HEADER_BYTES = 1 << 20;
/** No section (one rank group, the shading weights, the mask) may claim more than this, */
const MAX_SECTION_BYTES = 2 ** 30;
/** nor the whole scene more than this. */
const MAX_SCENE_BYTES = 2 ** 33;
const FP16_MAX = 65504;

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

// ---------------------------------------------------------------------------------------------
// Layout: which blocks each section holds and how many bytes they take.

interface Block {
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

interface Section {
  label: string;
  /** 'mask' and 'lattice' hold bits (the alpha mask; Strivec's occupied lattice cells). */
  kind: 'mask' | 'lattice' | 'dense' | 'group';
  blocks: Block[];
  /**
   * Payload bytes. A deflated section's length is known only when it starts: until then this is
   * the most it may take (deflateBounds of rawBytes).
   */
  bytes: number;
  /** Deflated sections (bits, and the rank groups of 8-bit files from version 2): the inflated length. */
  rawBytes?: number;
}

const isBits = (s: Section) => s.kind === 'mask' || s.kind === 'lattice';
const isDeflated = (s: Section) => s.rawBytes !== undefined;

/** Words of Strivec's lattice section: each level's cell bits, padded to whole words. */
function latticeWords(levels: StrivecLevel[]): number[] {
  return levels.map((l) => Math.ceil((l.dims[0] * l.dims[1] * l.dims[2]) / 32));
}

/** A Strivec model's occupied-cell bits from its lattice tables (tensor index + 1 per cell, 0 = none). */
function latticeBits(levels: StrivecLevel[], tables: ArrayLike<number>[]): Uint32Array {
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
function deflateBounds(rawBytes: number): { max: number; minCompressed: number } {
  const max = 4 + Math.ceil((rawBytes + 5 * Math.ceil(rawBytes / 16384) + 16) / 4) * 4;
  return { max, minCompressed: Math.floor(rawBytes / 1032) };
}

/** A deflated section's payload for raw bytes. */
function deflatedPayload(raw: Uint8Array): Uint8Array {
  const z = deflateSync(raw, { level: 9 });
  const p = new Uint8Array(4 + Math.ceil(z.length / 4) * 4);
  new DataView(p.buffer).setUint32(0, z.length, true);
  p.set(z, 4);
  return p;
}

const bitsCache = new WeakMap<Uint32Array, Uint8Array>();

/** A bits section's payload (cached per array, since the studio sizes exports often). */
function bitsPayload(bits: Uint32Array): Uint8Array {
  let p = bitsCache.get(bits);
  if (!p) {
    const raw = new Uint8Array(bits.length * 4);
    const dv = new DataView(raw.buffer);
    bits.forEach((w, i) => dv.setUint32(4 * i, w, true));
    p = deflatedPayload(raw);
    bitsCache.set(bits, p);
  }
  return p;
}

function blockBytes(b: Block, precision: Precision): number {
  const n = b.rows * b.comps;
  const raw = precision === 'fp32' ? 4 * n : precision === 'fp16' ? 2 * n : 8 * b.comps + n;
  return Math.ceil(raw / 4) * 4;
}

/** Components [lo, hi) of group g for a tensor with k components and `step` per group. */
function groupRange(g: number, step: number, k: number): [number, number] {
  return [Math.min(g * step, k), Math.min((g + 1) * step, k)];
}

/** Rank groups of 8-bit files are deflated from version 2 on (8-bit codes compress; floats hardly). */
const deflatesGroups = (h: SceneHeader, version: number) => h.precision === 'int8' && version >= 2;

function plan(h: SceneHeader, version = SCENE_VERSION): Section[] {
  const s = h.settings;
  const segs = fieldSegments(s, h.box, h.grid);
  const sections: Section[] = [];
  if (h.mask) {
    const words = Math.ceil((h.mask.dims[0] * h.mask.dims[1] * h.mask.dims[2]) / 32);
    sections.push({ label: 'alpha mask', kind: 'mask', blocks: [], bytes: deflateBounds(words * 4).max, rawBytes: words * 4 });
  }
  if (s.kind === 'strivec') {
    // The tensor centres: which lattice cells hold a tensor (the reference did not save them).
    const words = latticeWords(s.levels!).reduce((a, b) => a + b, 0);
    sections.push({ label: 'tensor lattice', kind: 'lattice', blocks: [], bytes: deflateBounds(words * 4).max, rawBytes: words * 4 });
  }
  // Shading weights are small and sensitive: fp32 in fp32 files, fp16 otherwise.
  const densePrecision: Precision = h.precision === 'fp32' ? 'fp32' : 'fp16';
  const dense = segs.filter((x) => x.name.startsWith('mlp.')).map((x) => ({ name: x.name, rows: x.count, comps: 1, first: 0 }));
  sections.push({ label: 'shading weights', kind: 'dense', blocks: dense, bytes: dense.reduce((n, b) => n + blockBytes(b, densePrecision), 0) });
  const appDim = s.shading.appDim;
  for (let g = 0; g < h.ranks; g++) {
    const blocks: Block[] = [];
    for (const x of segs.filter((y) => y.group === 'factor')) {
      const step = x.name.startsWith('density.') ? RANK_STEP.density : RANK_STEP.app;
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
    const raw = blocks.reduce((n, b) => n + blockBytes(b, h.precision), 0);
    sections.push({ label: `rank group ${g + 1}`, kind: 'group', blocks, ...(deflatesGroups(h, version) ? { bytes: deflateBounds(raw).max, rawBytes: raw } : { bytes: raw }) });
  }
  return sections;
}

// ---------------------------------------------------------------------------------------------
// Value codecs.

const f32v = new Float32Array(1);
const u32v = new Uint32Array(f32v.buffer);

/** IEEE half from a finite float of at most FP16_MAX in magnitude (round half up). */
function toHalf(v: number): number {
  f32v[0] = v;
  const x = u32v[0]!;
  const sign = (x >>> 16) & 0x8000;
  const e = ((x >>> 23) & 0xff) - 127 + 15;
  const mant = x & 0x7fffff;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = (mant | 0x800000) >>> (1 - e);
    return sign | ((m + 0x1000) >>> 13);
  }
  return (sign | (e << 10) | (mant >>> 13)) + ((mant >>> 12) & 1);
}

function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** Writes `get(row, comp)` for a block at `at`; returns the bytes written (padded to 4). */
function encodeBlock(dv: DataView, at: number, b: Block, precision: Precision, get: (r: number, c: number) => number, where: string): number {
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
    const q0 = at + 8 * b.comps;
    for (let c = 0; c < b.comps; c++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let r = 0; r < b.rows; r++) {
        const v = get(r, c);
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      if (b.rows === 0) lo = hi = 0;
      const scale = Math.fround((hi - lo) / 255);
      const offset = Math.fround(lo);
      dv.setFloat32(at + 8 * c, offset, true);
      dv.setFloat32(at + 8 * c + 4, scale, true);
      for (let r = 0; r < b.rows; r++) {
        const q = scale > 0 ? Math.round((get(r, c) - offset) / scale) : 0;
        dv.setUint8(q0 + r * b.comps + c, Math.max(0, Math.min(255, q)));
      }
    }
  }
  return blockBytes(b, precision);
}

/** Reads a block into `set(row, comp, value)`; rejects non-finite values. */
function decodeBlock(dv: DataView, at: number, b: Block, precision: Precision, set: (r: number, c: number, v: number) => void, fail: (why: string) => never): void {
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

// ---------------------------------------------------------------------------------------------
// Writing.

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

function headerBytes(h: SceneHeader): Uint8Array {
  const json = JSON.stringify(h);
  // Padded with spaces (valid JSON whitespace) so every byte is under the header CRC.
  return new TextEncoder().encode(json + ' '.repeat((4 - (new TextEncoder().encode(json).length % 4)) % 4));
}

/**
 * Size in bytes of the scene file exportScene would write, without the factor values (Strivec
 * models need their lattice tables): exact for fp32 and fp16; for 8-bit files, whose rank groups
 * are deflated, the most it can be (`exact` false).
 */
export function sceneFileSize(settings: FieldSettings, box: Box, grid: Vec3, mask: SceneModel['mask'], opts: ExportOptions, tables: ArrayLike<number>[] = []): { bytes: number; exact: boolean } {
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
    if (sec.kind === 'lattice') return bitsPayload(latticeBits(h.settings.levels!, h.settings.levels!.map((_, l) => values.get(`lattice.level${l}`)!)));
    const raw = new Uint8Array(sec.rawBytes ?? sec.bytes);
    const dv = new DataView(raw.buffer);
    const precision = sec.kind === 'dense' && h.precision !== 'fp32' ? 'fp16' : h.precision;
    let p = 0;
    for (const b of sec.blocks) {
      const v = values.get(b.name)!;
      const seg = segs.find((x) => x.name === b.name)!;
      const get = b.cols
        ? (r: number, c: number) => v[r * (v.length / b.rows) + b.cols![c]!]!
        : (r: number, c: number) => v[r * seg.components + b.first + c]!;
      p += encodeBlock(dv, p, b, precision, get, 'export');
    }
    return isDeflated(sec) ? deflatedPayload(raw) : raw;
  });
  const out = new Uint8Array(PREAMBLE + head.length + payloads.reduce((n, x) => n + 8 + x.length, 0));
  const dv = new DataView(out.buffer);
  out.set(new TextEncoder().encode(SCENE_MAGIC), 0);
  dv.setUint16(8, version, true);
  dv.setUint32(12, head.length, true);
  dv.setUint32(16, CRC32.buf(head) >>> 0, true);
  out.set(head, PREAMBLE);
  let at = PREAMBLE + head.length;
  for (const x of payloads) {
    dv.setUint32(at, x.length, true);
    dv.setUint32(at + 4, CRC32.buf(x) >>> 0, true);
    out.set(x, at + 8);
    at += 8 + x.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading, a chunk at a time.

/**
 * Incremental reader: push() bytes as they arrive (a download, a file stream, or the whole file
 * at once); after each push `ranksReady` says how many rank groups can be rendered, and model()
 * assembles them. Memory grows only with the bytes received, and every section's length is known
 * from the header before its bytes are accepted.
 */
export class SceneReader {
  header: SceneHeader | null = null;
  private data = new Uint8Array(0);
  private length = 0;
  private sections: Section[] = [];
  private nextSection = 0;
  private offset = 0;
  private total = 0;
  private mask: Uint32Array | null = null;
  private version = SCENE_VERSION;
  private tables: Float32Array[] = [];
  private readonly decoded = new Map<string, Float32Array>();
  private groups = 0;

  /** `size`: the whole file's length when known (a file on disk), checked against the header at once. */
  constructor(readonly file: string, readonly size?: number) {}

  private fail(why: string): never {
    throw new SceneError(`${this.file}: ${why}`);
  }

  get ranksReady(): number {
    return this.groups;
  }

  /** True once every section has arrived and checked out. */
  get complete(): boolean {
    return this.header !== null && this.nextSection === this.sections.length;
  }

  push(chunk: Uint8Array): void {
    const limit = this.header ? this.total : PREAMBLE + MAX_HEADER_BYTES;
    if (this.length + chunk.length > limit) {
      if (this.header) this.fail(`${this.length + chunk.length - this.total} bytes past the end of the scene (the header describes ${this.total} bytes)`);
    }
    if (this.length + chunk.length > this.data.length) {
      const cap = Math.max(this.length + chunk.length, Math.min(limit, this.data.length * 2 || 65536));
      const grown = new Uint8Array(cap);
      grown.set(this.data.subarray(0, this.length));
      this.data = grown;
    }
    this.data.set(chunk, this.length);
    this.length += chunk.length;
    this.advance();
  }

  /** Call when the input has ended: a scene that stopped short is an error. */
  finish(): void {
    if (!this.header) this.fail(this.length < PREAMBLE ? 'too short to be a Slimfield scene' : 'truncated inside the header');
    if (!this.complete) {
      this.fail(`truncated: ${this.length} of ${this.total} bytes (${this.groups} of ${this.header.ranks} rank groups complete)`);
    }
  }

  private advance(): void {
    const dv = new DataView(this.data.buffer, 0, this.length);
    if (!this.header) {
      if (this.length >= 8) {
        const magic = new TextDecoder().decode(this.data.subarray(0, 8));
        if (magic !== SCENE_MAGIC) this.fail(`not a Slimfield scene (magic ${JSON.stringify(magic)}, expected ${SCENE_MAGIC})`);
      }
      if (this.length < PREAMBLE) return;
      const version = dv.getUint16(8, true);
      if (version < 1 || version > SCENE_VERSION) this.fail(`scene version ${version} is not supported (this build reads versions 1 to ${SCENE_VERSION})`);
      this.version = version;
      if (dv.getUint16(10, true) !== 0) this.fail('reserved preamble bits are set: damaged file?');
      const headLen = dv.getUint32(12, true);
      if (headLen === 0 || headLen > MAX_HEADER_BYTES || headLen % 4 !== 0) this.fail(`header length ${headLen} is not plausible`);
      if (this.length < PREAMBLE + headLen) return;
      const head = this.data.subarray(PREAMBLE, PREAMBLE + headLen);
      if ((CRC32.buf(head) >>> 0) !== dv.getUint32(16, true)) this.fail('header checksum mismatch: the file is damaged');
      let raw: unknown;
      try {
        raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(head));
      } catch (e) {
        this.fail(`broken header: ${(e as Error).message}`);
      }
      this.header = validateHeader(raw, (why) => this.fail(why));
      this.sections = plan(this.header, this.version);
      for (const s of this.sections) if (s.bytes > MAX_SECTION_BYTES) this.fail(`${s.label} would need ${s.bytes} bytes: absurd sizes in the header`);
      this.offset = PREAMBLE + headLen;
      // A bits section's compressed length is known only when the section starts: until then
      // `total` is the largest size the header allows.
      this.total = this.offset + this.sections.reduce((n, s) => n + 8 + s.bytes, 0);
      if (this.total > MAX_SCENE_BYTES) this.fail(`the header describes ${this.total} bytes: absurd sizes`);
      this.checkSize(this.sections.some(isDeflated));
    }
    while (this.nextSection < this.sections.length && this.length >= this.offset + 8) {
      const sec = this.sections[this.nextSection]!;
      const len = dv.getUint32(this.offset, true);
      if (isDeflated(sec)) {
        if (len > sec.bytes || len < 8 || len % 4 !== 0) this.fail(`${sec.label}: section length ${len} is outside what the header allows (8 to ${sec.bytes})`);
        this.total -= sec.bytes - len;
        sec.bytes = len;
        this.checkSize(this.sections.slice(this.nextSection + 1).some(isDeflated));
      }
      if (len !== sec.bytes) this.fail(`${sec.label}: section length ${len}, the header implies ${sec.bytes}`);
      if (this.length < this.offset + 8 + len) return;
      const start = this.offset + 8;
      const payload = this.data.subarray(start, start + len);
      if ((CRC32.buf(payload) >>> 0) !== dv.getUint32(this.offset + 4, true)) this.fail(`${sec.label}: checksum mismatch, the file is damaged`);
      this.decodeSection(sec, new DataView(this.data.buffer, start, len));
      this.offset = start + len;
      this.nextSection++;
    }
  }

  /** Checks the bytes seen (and the file size, when known) against `total`; `atMost`: total is an upper bound. */
  private checkSize(atMost: boolean): void {
    const t = this.total;
    if (this.size !== undefined && (atMost ? this.size > t : this.size !== t)) {
      this.fail(`the header describes ${atMost ? 'at most ' : ''}${t} bytes but the file has ${this.size}: ${this.size < t ? 'truncated, or absurd sizes in the header' : 'trailing bytes'}`);
    }
    if (this.length > t) this.fail(`${this.length - t} bytes past the end of the scene (the header describes ${atMost ? 'at most ' : ''}${t} bytes)`);
  }

  /** The raw payload of a deflated section, checked to inflate to exactly the length the header implies. */
  private inflate(sec: Section, dv: DataView, fail: (why: string) => never): DataView {
    const raw = sec.rawBytes!;
    const n = dv.getUint32(0, true);
    if (n + 4 > sec.bytes) fail(`compressed length ${n} runs past the section`);
    for (let i = 4 + n; i < sec.bytes; i++) if (dv.getUint8(i) !== 0) fail('non-zero padding');
    // A deflate stream cannot expand more than ~1032:1, so a tiny section cannot claim a huge payload.
    if (n < deflateBounds(raw).minCompressed) fail(`${n} compressed bytes cannot hold ${raw} bytes`);
    const out = new Uint8Array(raw);
    let got: Uint8Array;
    try {
      got = inflateSync(new Uint8Array(dv.buffer, dv.byteOffset + 4, n), { out });
    } catch (e) {
      return fail(`corrupt compressed data (${(e as Error).message})`);
    }
    if (got.length !== raw) fail(`the data inflate to ${got.length} bytes, expected ${raw}`);
    return new DataView(out.buffer);
  }

  private decodeSection(sec: Section, packed: DataView): void {
    const h = this.header!;
    const fail = (why: string): never => this.fail(`${sec.label}: ${why}`);
    const dv = isDeflated(sec) ? this.inflate(sec, packed, fail) : packed;
    if (isBits(sec)) {
      const raw = sec.rawBytes!;
      const words = new Uint32Array(raw / 4);
      for (let i = 0; i < words.length; i++) words[i] = dv.getUint32(4 * i, true);
      if (sec.kind === 'mask') this.mask = words;
      else this.tables = this.latticeTables(words, fail);
      return;
    }
    const precision = sec.kind === 'dense' && h.precision !== 'fp32' ? 'fp16' : h.precision;
    let p = 0;
    for (const b of sec.blocks) {
      const out = new Float32Array(b.rows * b.comps);
      decodeBlock(dv, p, b, precision, (r, c, v) => (out[r * b.comps + c] = v), fail);
      this.decoded.set(sec.kind === 'dense' ? b.name : `${b.name}#${this.groups}`, out);
      p += blockBytes(b, precision);
    }
    if (sec.kind === 'group') this.groups++;
  }

  /** Strivec's lattice tables from the section's bits; the occupied cells must match each level's tensor count. */
  private latticeTables(words: Uint32Array, fail: (why: string) => never): Float32Array[] {
    const levels = this.header!.settings.levels!;
    const per = latticeWords(levels);
    let base = 0;
    return levels.map((lv, l) => {
      const n = lv.dims[0] * lv.dims[1] * lv.dims[2];
      const occupied = new Uint8Array(n);
      let count = 0;
      for (let i = 0; i < n; i++) count += occupied[i] = (words[base + (i >> 5)]! >>> (i & 31)) & 1;
      for (let i = n; i < per[l]! * 32; i++) if ((words[base + (i >> 5)]! >>> (i & 31)) & 1) fail(`level ${l + 1}: bits set past the lattice`);
      if (count !== lv.tensors) fail(`level ${l + 1}: ${count} occupied cells, the header says ${lv.tensors} tensors`);
      base += per[l]!;
      return latticeTable(lv, occupied);
    });
  }

  /** The model made of the first `rank` groups (default: every group received so far). */
  model(rank = this.groups): SceneModel {
    const h = this.header;
    if (!h || this.groups < 1) this.fail('no rank group has arrived yet');
    const r = Math.min(rank, this.groups);
    if (!Number.isInteger(r) || r < 1) this.fail(`cannot assemble rank ${rank}`);
    const settings = r < h.ranks ? settingsAtRank(h.settings, r) : h.settings;
    const values = new Map<string, Float32Array>();
    for (const seg of fieldSegments(settings, h.box, h.grid)) {
      if (seg.name.startsWith('mlp.')) {
        values.set(seg.name, this.decoded.get(seg.name)!);
        continue;
      }
      if (seg.group === 'index') {
        values.set(seg.name, this.tables[Number(seg.name.at(-1))]!);
        continue;
      }
      const out = new Float32Array(seg.count);
      if (seg.name === 'basis') {
        const width = seg.count / settings.shading.appDim;
        // Stored group blocks hold their columns slot by slot; place them at the rank-r columns.
        const slotStart = settings.appComps.map((_, m) => settings.appComps.slice(0, m).reduce((a, b) => a + b, 0));
        for (let g = 0; g < r; g++) {
          const block = this.decoded.get(`basis#${g}`)!;
          const cols: number[] = [];
          settings.appComps.forEach((k, m) => {
            const [lo, hi] = groupRange(g, RANK_STEP.app, k);
            for (let c = lo; c < hi; c++) cols.push(slotStart[m]! + c);
          });
          for (let row = 0; row < settings.shading.appDim; row++) cols.forEach((col, j) => (out[row * width + col] = block[row * cols.length + j]!));
        }
      } else {
        const k = segmentComponentsAtRank(settings, seg.name, r);
        const texels = seg.count / k;
        const step = seg.name.startsWith('density.') ? RANK_STEP.density : RANK_STEP.app;
        for (let g = 0; g < r; g++) {
          const [lo, hi] = groupRange(g, step, k);
          const block = this.decoded.get(`${seg.name}#${g}`)!;
          const w = hi - lo;
          for (let t = 0; t < texels; t++) for (let c = 0; c < w; c++) out[t * k + lo + c] = block[t * w + c]!;
        }
      }
      values.set(seg.name, out);
    }
    const mask = h.mask && this.mask ? { dims: h.mask.dims, box: h.mask.box, bits: this.mask } : null;
    if (h.mask && !this.mask) this.fail('the alpha mask has not arrived');
    return { settings, box: h.box, grid: h.grid, values, mask, rank: r };
  }
}

/** Decodes a whole scene file (every group must be present). */
export function readScene(bytes: Uint8Array, file: string): { header: SceneHeader; model: SceneModel } {
  const reader = new SceneReader(file, bytes.length);
  reader.push(bytes);
  reader.finish();
  return { header: reader.header!, model: reader.model() };
}

export function isSceneFile(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && new TextDecoder().decode(bytes.subarray(0, 8)) === SCENE_MAGIC;
}

// ---------------------------------------------------------------------------------------------
// Header validation: every field a reader trusts is checked for type and range.

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

function validateHeader(raw: unknown, fail: (why: string) => never): SceneHeader {
  const obj = (v: unknown, what: string): Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(`header: ${what} must be an object`);
  const num = (v: unknown, what: string, lo = -Infinity, hi = Infinity): number =>
    typeof v === 'number' && Number.isFinite(v) && v >= lo && v <= hi ? v : fail(`header: ${what} must be a number in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
  const int = (v: unknown, what: string, lo: number, hi: number): number => (Number.isInteger(v) ? num(v, what, lo, hi) : fail(`header: ${what} must be an integer, got ${JSON.stringify(v)}`));
  const ints = (v: unknown, what: string, n: number, lo: number, hi: number): number[] =>
    Array.isArray(v) && v.length === n ? v.map((x, i) => int(x, `${what}[${i}]`, lo, hi)) : fail(`header: ${what} must list ${n} integers`);
  const box = (v: unknown, what: string): Box => {
    const b = obj(v, what);
    const lo = Array.isArray(b.lo) && b.lo.length === 3 ? b.lo.map((x, i) => num(x, `${what}.lo[${i}]`, -1e6, 1e6)) : fail(`header: ${what}.lo must list 3 numbers`);
    const hi = Array.isArray(b.hi) && b.hi.length === 3 ? b.hi.map((x, i) => num(x, `${what}.hi[${i}]`, -1e6, 1e6)) : fail(`header: ${what}.hi must list 3 numbers`);
    if (lo.some((x, i) => !(x < hi[i]!))) fail(`header: ${what} is empty or inverted`);
    return { lo: lo as Vec3, hi: hi as Vec3 };
  };
  const h = obj(raw, 'the header');
  if (h.format !== 'slimfield-scene') fail(`header: format ${JSON.stringify(h.format)} is not "slimfield-scene"`);
  const s = obj(h.settings, 'settings');
  const kind = s.kind === 'vm' || s.kind === 'cp' || s.kind === 'strivec' ? s.kind : fail(`header: settings.kind must be "vm", "cp" or "strivec", got ${JSON.stringify(s.kind)}`);
  const levels = kind === 'strivec' ? validateLevels(s.levels, num, int, fail) : undefined;
  const slots = kind === 'vm' ? 3 : kind === 'cp' ? 1 : levels!.length;
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
  const precision = PRECISIONS.includes(h.precision as Precision) ? (h.precision as Precision) : fail(`header: precision must be one of ${PRECISIONS.join(', ')}`);
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
