// Feature matching between two images on the GPU: one image's descriptors against the other's
// (match.wgsl.ts), then on the host the matches that survive Lowe's ratio test, a distance cap and
// the cross check (each is the other's nearest, looked up back on the GPU for the candidates
// only), as COLMAP's SiftMatchGPU keeps them (max_ratio 0.8, max_distance 0.7, cross_check).
import type { GpuContext } from '../gpu/context.ts';
import { cachedKernel, Encoder, grid1d } from '../gpu/kernel.ts';
import type { NearestTwo } from './match.ref.ts';
import { MATCH_WORKGROUP, nearestTwoWgsl } from './match.wgsl.ts';

export const MAX_RATIO = 0.8;
export const MAX_DISTANCE = 0.7;

/** Descriptor sets, each uploaded once when a pair first needs it (none when every pair's matches were cached), matched against each other by index. */
export class DescriptorStore {
  private readonly buffers: (GPUBuffer | undefined)[] = [];
  private readonly host: Float32Array[] = [];
  readonly counts: number[] = [];

  constructor(private readonly ctx: GpuContext) {}

  /** One image's descriptors (128 floats each); returns its index in the store. */
  add(descriptors: Float32Array): number {
    this.host.push(descriptors);
    this.counts.push(descriptors.length / 128);
    this.buffers.push(undefined);
    return this.host.length - 1;
  }

  private buffer(i: number): GPUBuffer {
    // An image without features still gets a buffer (bindings cannot be empty).
    this.buffers[i] ??= this.ctx.upload(`sfm.descriptors.${i}`, this.counts[i]! > 0 ? this.host[i]! : new Float32Array(128));
    return this.buffers[i];
  }

  /**
   * Nearest two of each of `query`'s descriptors (or of those listed in `rows`, gathered into a
   * buffer of their own) among `train`'s. A query's answer does not depend on which others run
   * beside it, so a subset gets exactly the answers the whole set would.
   */
  async nearest(query: number, train: number, rows?: Uint32Array): Promise<NearestTwo> {
    const nt = this.counts[train]!;
    const nq = rows ? rows.length : this.counts[query]!;
    if (nq === 0 || nt === 0)
      return { index: new Uint32Array(nq).fill(0xffffffff), best: new Float32Array(nq).fill(-2), second: new Float32Array(nq).fill(-2) };
    let gathered: GPUBuffer | undefined;
    if (rows) {
      const host = this.host[query]!;
      const picked = new Float32Array(nq * 128);
      rows.forEach((r, k) => {
        picked.set(host.subarray(r * 128, r * 128 + 128), k * 128);
      });
      gathered = this.ctx.upload('sfm.descriptors.rows', picked);
    }
    const out = this.ctx.buffer('sfm.nearest', nq * 16);
    const enc = new Encoder(this.ctx);
    enc.dispatch(
      cachedKernel(this.ctx, 'sfmNearestTwo', () => nearestTwoWgsl),
      {
        params: { n_query: nq, n_train: nt },
        buffers: { query: gathered ?? this.buffer(query), train: this.buffer(train), nearest: out },
        workgroups: grid1d(this.ctx, nq, MATCH_WORKGROUP),
      },
    );
    enc.submit();
    const words = await this.ctx.readU32(out, nq * 4);
    this.ctx.destroy(out);
    if (gathered) this.ctx.destroy(gathered);
    const f = new Float32Array(words.buffer, words.byteOffset, words.length);
    return {
      index: Uint32Array.from({ length: nq }, (_, i) => words[i * 4]!),
      best: Float32Array.from({ length: nq }, (_, i) => f[i * 4 + 1]!),
      second: Float32Array.from({ length: nq }, (_, i) => f[i * 4 + 2]!),
    };
  }

  /**
   * The matches of a pair, as filterMatches keeps them from both directions' nearest two. Only the
   * descriptors of b that some descriptor of a picks, and that pass the ratio test and distance
   * cap, are looked up back in a for the cross check (the rest cannot match): the second
   * direction costs that fraction of b (measured over 20 lego and 8 fox photos at 1/4: 6% and
   * 9.5% of it), not all of it.
   */
  async match(a: number, b: number): Promise<[number, number][]> {
    const ab = await this.nearest(a, b);
    const candidates: number[] = [];
    for (let i = 0; i < ab.index.length; i++) if (ab.index[i]! < this.counts[b]! && distinctive(ab, i)) candidates.push(i);
    const picked = Uint32Array.from(new Set(candidates.map((i) => ab.index[i]!))).sort();
    const ba = await this.nearest(b, a, picked);
    const back = new Map(Array.from(picked, (j, k) => [j, ba.index[k]!]));
    return candidates.filter((i) => back.get(ab.index[i]!) === i).map((i) => [i, ab.index[i]!]);
  }

  destroy(): void {
    for (const b of this.buffers) if (b) this.ctx.destroy(b);
    this.buffers.length = 0;
  }
}

/** Whether a's descriptor i passes Lowe's ratio test and the distance cap against its nearest two. */
function distinctive(ab: NearestTwo, i: number): boolean {
  // Unit vectors: squared distance 2 − 2·dot.
  const dist = (dot: number) => Math.sqrt(Math.max(0, 2 - 2 * dot));
  const d1 = dist(ab.best[i]!);
  return d1 <= MAX_DISTANCE && d1 < MAX_RATIO * dist(ab.second[i]!);
}

/** The matches (a's index, b's index) that pass the ratio test, the distance cap and the cross check, in a's order. */
export function filterMatches(ab: NearestTwo, ba: NearestTwo): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < ab.index.length; i++) {
    const j = ab.index[i]!;
    if (j >= ba.index.length || ba.index[j] !== i || !distinctive(ab, i)) continue;
    out.push([i, j]);
  }
  return out;
}
