// Reading scene files a chunk at a time (a download, a file stream, or the whole file at once):
// every length is predicted from the header before anything is allocated, every section carries a
// CRC-32, every decoded value must be finite.
import CRC32 from 'crc-32';
import { inflateSync } from 'fflate';
import { decodeCompact } from '../../compress/quantise.ts';
import { fieldSegments } from '../../field/layout.ts';
import { latticeTable } from '../../field/layouts/strivec-lattice.ts';
import { RANK_STEP, rankStepOf, settingsAtRank, truncateToRank } from '../../field/rank.ts';
import { PREAMBLE } from '../container.ts';
import { CompactParts } from './compact.ts';
import {
  MAX_HEADER_BYTES,
  MAX_SCENE_BYTES,
  MAX_SECTION_BYTES,
  type Precision,
  SCENE_MAGIC,
  SCENE_VERSION,
  SceneError,
  type SceneHeader,
  type SceneModel,
  validateHeader,
} from './header.ts';
import { inflateNative } from './inflate.ts';
import { blockBytes, decodeBlock, deflateBounds, groupRange, isBits, isDeflated, latticeWords, plan, type Section } from './sections.ts';

/**
 * Incremental reader: push() bytes as they arrive (a download, a file stream, or the whole file
 * at once); after each push `ranksReady` says how many rank groups can be rendered, and model()
 * assembles them. Memory grows only with the bytes received, and every section's length is known
 * from the header before its bytes are accepted.
 */
export class SceneReader {
  header: SceneHeader | null = null;
  private data: Uint8Array<ArrayBuffer> = new Uint8Array(0);
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
  /** A compact file's model as its sections arrive. */
  private compact: CompactParts | null = null;
  /** Deflated sections inflated ahead by the native decoder (pushAsync), by their payload's offset. */
  private readonly inflatedAhead = new Map<number, Uint8Array>();

  /** `size`: the whole file's length when known (a file on disk), checked against the header at once. */
  constructor(
    readonly file: string,
    readonly size?: number,
  ) {}

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
    this.append(chunk);
    this.advance();
  }

  /**
   * push(), with every deflated section inflated first by the platform's native decoder
   * (DecompressionStream) where there is one; what it cannot inflate exactly is left to push's own
   * checked decoder, so the same files are accepted and refused with the same messages.
   */
  async pushAsync(chunk: Uint8Array): Promise<void> {
    this.append(chunk);
    for (let next = this.advance(true); next; next = this.advance(true)) {
      const out = await inflateNative(next.payload, next.raw);
      // (null: the checked decoder takes the section on the next advance.)
      this.inflatedAhead.set(next.start, out ?? new Uint8Array(0));
    }
  }

  private append(chunk: Uint8Array): void {
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
  }

  /** Call when the input has ended: a scene that stopped short is an error. */
  finish(): void {
    if (!this.header) this.fail(this.length < PREAMBLE ? 'too short to be a Slimfield scene' : 'truncated inside the header');
    if (!this.complete) {
      this.fail(`truncated: ${this.length} of ${this.total} bytes (${this.groups} of ${this.header.ranks} rank groups complete)`);
    }
  }

  /**
   * Reads every section that has arrived. With `stopToInflate`, stops before a deflated section not
   * yet inflated ahead and returns its compressed stream (once its checks before inflating pass).
   */
  private advance(stopToInflate = false): { start: number; payload: Uint8Array<ArrayBuffer>; raw: number } | null {
    const dv = new DataView(this.data.buffer, 0, this.length);
    if (!this.header) {
      if (this.length >= 8) {
        const magic = new TextDecoder().decode(this.data.subarray(0, 8));
        if (magic !== SCENE_MAGIC) this.fail(`not a Slimfield scene (magic ${JSON.stringify(magic)}, expected ${SCENE_MAGIC})`);
      }
      if (this.length < PREAMBLE) return null;
      const version = dv.getUint16(8, true);
      if (version < 1 || version > SCENE_VERSION) this.fail(`scene version ${version} is not supported (this build reads versions 1 to ${SCENE_VERSION})`);
      this.version = version;
      if (dv.getUint16(10, true) !== 0) this.fail('reserved preamble bits are set: damaged file?');
      const headLen = dv.getUint32(12, true);
      if (headLen === 0 || headLen > MAX_HEADER_BYTES || headLen % 4 !== 0) this.fail(`header length ${headLen} is not plausible`);
      if (this.length < PREAMBLE + headLen) return null;
      const head = this.data.subarray(PREAMBLE, PREAMBLE + headLen);
      if (CRC32.buf(head) >>> 0 !== dv.getUint32(16, true)) this.fail('header checksum mismatch: the file is damaged');
      let raw: unknown;
      try {
        raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(head));
      } catch (e) {
        this.fail(`broken header: ${(e as Error).message}`);
      }
      this.header = validateHeader(raw, (why) => this.fail(why), version);
      this.sections = plan(this.header, this.version);
      if (this.header.compact) this.compact = new CompactParts({ ...this.header, compact: this.header.compact, mask: null });
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
      if (this.length < this.offset + 8 + len) return null;
      const start = this.offset + 8;
      const payload = this.data.subarray(start, start + len);
      if (CRC32.buf(payload) >>> 0 !== dv.getUint32(this.offset + 4, true)) this.fail(`${sec.label}: checksum mismatch, the file is damaged`);
      if (stopToInflate && isDeflated(sec) && !this.inflatedAhead.has(start)) {
        const n = this.compressedLength(sec, new DataView(this.data.buffer, start, len), (why) => this.fail(`${sec.label}: ${why}`));
        return { start, payload: this.data.slice(start + 4, start + 4 + n), raw: sec.rawBytes! };
      }
      this.decodeSection(sec, new DataView(this.data.buffer, start, len), start);
      this.offset = start + len;
      this.nextSection++;
    }
    return null;
  }

  /** Checks the bytes seen (and the file size, when known) against `total`; `atMost`: total is an upper bound. */
  private checkSize(atMost: boolean): void {
    const t = this.total;
    if (this.size !== undefined && (atMost ? this.size > t : this.size !== t)) {
      this.fail(
        `the header describes ${atMost ? 'at most ' : ''}${t} bytes but the file has ${this.size}: ${this.size < t ? 'truncated, or absurd sizes in the header' : 'trailing bytes'}`,
      );
    }
    if (this.length > t) this.fail(`${this.length - t} bytes past the end of the scene (the header describes ${atMost ? 'at most ' : ''}${t} bytes)`);
  }

  /** A deflated section's compressed length, checked against the section and the header's raw length. */
  private compressedLength(sec: Section, dv: DataView, fail: (why: string) => never): number {
    const raw = sec.rawBytes!;
    const n = dv.getUint32(0, true);
    if (n + 4 > sec.bytes) fail(`compressed length ${n} runs past the section`);
    for (let i = 4 + n; i < sec.bytes; i++) if (dv.getUint8(i) !== 0) fail('non-zero padding');
    // A deflate stream cannot expand more than ~1032:1, so a tiny section cannot claim a huge payload.
    if (n < deflateBounds(raw).minCompressed) fail(`${n} compressed bytes cannot hold ${raw} bytes`);
    return n;
  }

  /** The raw payload of a deflated section, checked to inflate to exactly the length the header implies. */
  private inflate(sec: Section, dv: DataView, start: number, fail: (why: string) => never): DataView {
    const raw = sec.rawBytes!;
    const n = this.compressedLength(sec, dv, fail);
    const ahead = this.inflatedAhead.get(start);
    this.inflatedAhead.delete(start);
    if (ahead?.length === raw && raw > 0) return new DataView(ahead.buffer);
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

  private decodeSection(sec: Section, packed: DataView, start: number): void {
    const h = this.header!;
    const fail = (why: string): never => this.fail(`${sec.label}: ${why}`);
    const dv = isDeflated(sec) ? this.inflate(sec, packed, start, fail) : packed;
    if (isBits(sec)) {
      const raw = sec.rawBytes!;
      const words = new Uint32Array(raw / 4);
      for (let i = 0; i < words.length; i++) words[i] = dv.getUint32(4 * i, true);
      if (sec.kind === 'mask') this.mask = words;
      else this.tables = this.latticeTables(words, fail);
      return;
    }
    if (sec.kind === 'compactHead') {
      this.compact!.readHead(dv, fail);
      return;
    }
    if (sec.kind === 'compactBlock') {
      this.compact!.readBlock(dv, fail);
      this.groups = this.compact!.ranks;
      return;
    }
    const precision = sec.kind === 'dense' && h.precision !== 'fp32' ? 'fp16' : (h.precision as Precision);
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
    if (h.mask && !this.mask) this.fail('the alpha mask has not arrived');
    const mask = h.mask && this.mask ? { dims: h.mask.dims, box: h.mask.box, bits: this.mask } : null;
    if (this.compact) {
      // Decoded from the blocks read so far, then cut to the rank asked for (a block may hold more).
      const all = decodeCompact(this.compact.model, this.compact.blocksRead);
      const cut = r < h.ranks ? truncateToRank(h.settings, all, r) : { settings: h.settings, values: all };
      return { ...cut, box: h.box, grid: h.grid, mask, rank: r };
    }
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
          for (let row = 0; row < settings.shading.appDim; row++) {
            cols.forEach((col, j) => {
              out[row * width + col] = block[row * cols.length + j]!;
            });
          }
        }
      } else {
        const k = seg.components;
        const texels = seg.count / k;
        const step = rankStepOf(seg.name);
        for (let g = 0; g < r; g++) {
          const [lo, hi] = groupRange(g, step, k);
          const block = this.decoded.get(`${seg.name}#${g}`)!;
          const w = hi - lo;
          for (let t = 0; t < texels; t++) for (let c = 0; c < w; c++) out[t * k + lo + c] = block[t * w + c]!;
        }
      }
      values.set(seg.name, out);
    }
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

/** readScene with the platform's native inflater (SceneReader.pushAsync): the studio's way. */
export async function readSceneAsync(bytes: Uint8Array, file: string): Promise<{ header: SceneHeader; model: SceneModel }> {
  const reader = new SceneReader(file, bytes.length);
  await reader.pushAsync(bytes);
  reader.finish();
  return { header: reader.header!, model: reader.model() };
}

export function isSceneFile(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && new TextDecoder().decode(bytes.subarray(0, 8)) === SCENE_MAGIC;
}
