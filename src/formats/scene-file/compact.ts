// The sections of a compact scene (compress/quantise.ts's CompactModel) as raw bytes, in stream
// order: first what every rank needs (the shading weights in fp16, the planes' texel fates at 2
// bits each, the alpha mask's bits), then one section per rank block: for each factor tensor in arena order, a plane's
// fp16 codewords, its coded texels' indices (packed, ceil(log2 codewords) bits each) and its kept
// texels' 8-bit codes with their f32 offsets and scales, or a line's components of the block in
// fp16; then the basis columns of the block in fp16. Each section is deflated when written.
import { deflateSync } from 'fflate';
import { indexBits, packBits, toHalf } from '../../compress/codecs.ts';
import type { CompactModel } from '../../compress/quantise.ts';
import { fieldSegments } from '../../field/layout.ts';
import { basisColumnsAtRank, rankStepOf } from '../../field/rank.ts';
import { appWidthOf } from '../../field/settings.ts';

/** Bytes appended one piece after another. */
class ByteWriter {
  private parts: Uint8Array[] = [];

  bytes(b: Uint8Array): void {
    this.parts.push(b);
  }

  f32(values: ArrayLike<number>): void {
    const b = new Uint8Array(values.length * 4);
    const dv = new DataView(b.buffer);
    for (let i = 0; i < values.length; i++) dv.setFloat32(4 * i, values[i]!, true);
    this.parts.push(b);
  }

  f16(values: ArrayLike<number>): void {
    const b = new Uint8Array(values.length * 2);
    const dv = new DataView(b.buffer);
    for (let i = 0; i < values.length; i++) dv.setUint16(2 * i, toHalf(values[i]!), true);
    this.parts.push(b);
  }

  done(): Uint8Array {
    const out = new Uint8Array(this.parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

export interface CompactSection {
  label: string;
  raw: Uint8Array;
}

/** A compact model's sections, raw (before deflate), in stream order. */
export function compactSections(c: CompactModel): CompactSection[] {
  const st = c.settings;
  const segs = fieldSegments(st, c.box, c.grid);
  const head = new ByteWriter();
  for (const s of segs.filter((x) => x.name.startsWith('mlp.'))) head.f16(c.rest.get(s.name)!);
  for (const p of c.planes) head.bytes(packBits(p.fates, 2));
  if (c.mask) head.bytes(new Uint8Array(c.mask.bits.buffer, c.mask.bits.byteOffset, c.mask.bits.byteLength));
  const sections: CompactSection[] = [{ label: 'shading weights and texel fates', raw: head.done() }];
  const width = appWidthOf(st);
  const basis = c.rest.get('basis')!;
  for (const [b, [first, end]] of c.rankBlocks.entries()) {
    const w = new ByteWriter();
    for (const s of segs.filter((x) => x.group === 'factor')) {
      const plane = c.planes.find((p) => p.segment === s.name);
      if (plane) {
        const blk = plane.blocks[b]!;
        const words = blk.codewords.length / Math.max(1, blk.hi - blk.lo);
        w.f16(blk.codewords);
        w.bytes(packBits(blk.indices, indexBits(words)));
        w.f32(blk.kept.offset);
        w.f32(blk.kept.scale);
        w.bytes(blk.kept.codes);
        continue;
      }
      const v = c.rest.get(s.name)!;
      const k = s.components;
      const step = rankStepOf(s.name);
      const [lo, hi] = [Math.min(k, first * step), Math.min(k, end * step)];
      const part = new Float32Array((s.count / k) * (hi - lo));
      for (let t = 0; t < s.count / k; t++) part.set(v.subarray(t * k + lo, t * k + hi), t * (hi - lo));
      w.f16(part);
    }
    const before = new Set(basisColumnsAtRank(st, first));
    const cols = basisColumnsAtRank(st, end).filter((col) => !before.has(col));
    const rows = basis.length / width;
    w.f16(Float32Array.from({ length: rows * cols.length }, (_, i) => basis[Math.floor(i / cols.length) * width + cols[i % cols.length]!]!));
    sections.push({ label: `rank block ${b + 1} (ranks ${first + 1}–${end})`, raw: w.done() });
  }
  return sections;
}

/** Each section's bytes once deflated (fflate, level 9, as the writer stores them). */
export function deflatedSizes(sections: CompactSection[]): number[] {
  return sections.map((s) => deflateSync(s.raw, { level: 9 }).length);
}
