// Feature matching between two images on the GPU: each image's descriptors against the other's
// (match.wgsl.ts, both directions), then on the host the matches that survive Lowe's ratio test,
// a distance cap and the cross check (each is the other's nearest), as COLMAP's SiftMatchGPU keeps
// them (max_ratio 0.8, max_distance 0.7, cross_check).
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

  /** Nearest two of each of a's descriptors among b's, and of b's among a's. */
  async nearest(a: number, b: number): Promise<[NearestTwo, NearestTwo]> {
    const [na, nb] = [this.counts[a]!, this.counts[b]!];
    // b's answers start at a storage-binding-aligned offset after a's.
    const at = Math.ceil((na * 16) / this.ctx.limits.minStorageBufferOffsetAlignment) * this.ctx.limits.minStorageBufferOffsetAlignment;
    const out = this.ctx.buffer('sfm.nearest', Math.max(16, at + nb * 16));
    const enc = new Encoder(this.ctx);
    const kernel = cachedKernel(this.ctx, 'sfmNearestTwo', () => nearestTwoWgsl);
    if (na > 0 && nb > 0) {
      enc.dispatch(kernel, {
        params: { n_query: na, n_train: nb },
        buffers: { query: this.buffer(a), train: this.buffer(b), nearest: [out, 0, na * 16] },
        workgroups: grid1d(this.ctx, na, MATCH_WORKGROUP),
      });
      enc.dispatch(kernel, {
        params: { n_query: nb, n_train: na },
        buffers: { query: this.buffer(b), train: this.buffer(a), nearest: [out, at, nb * 16] },
        workgroups: grid1d(this.ctx, nb, MATCH_WORKGROUP),
      });
    }
    enc.submit();
    const words = na > 0 && nb > 0 ? await this.ctx.readU32(out, at / 4 + nb * 4) : new Uint32Array(0);
    this.ctx.destroy(out);
    const split = (from: number, n: number): NearestTwo => {
      const w = words.subarray(from * 4, (from + n) * 4);
      const f = new Float32Array(w.buffer, w.byteOffset, w.length);
      return {
        index: Uint32Array.from({ length: n }, (_, i) => w[i * 4]!),
        best: Float32Array.from({ length: n }, (_, i) => f[i * 4 + 1]!),
        second: Float32Array.from({ length: n }, (_, i) => f[i * 4 + 2]!),
      };
    };
    return [split(0, na), split(at / 16, nb)];
  }

  destroy(): void {
    for (const b of this.buffers) if (b) this.ctx.destroy(b);
    this.buffers.length = 0;
  }
}

/** The matches (a's index, b's index) that pass the ratio test, the distance cap and the cross check, in a's order. */
export function filterMatches(ab: NearestTwo, ba: NearestTwo): [number, number][] {
  const out: [number, number][] = [];
  // Unit vectors: squared distance 2 − 2·dot.
  const dist = (dot: number) => Math.sqrt(Math.max(0, 2 - 2 * dot));
  for (let i = 0; i < ab.index.length; i++) {
    const j = ab.index[i]!;
    if (j >= ba.index.length || ba.index[j] !== i) continue;
    const d1 = dist(ab.best[i]!);
    const d2 = dist(ab.second[i]!);
    if (d1 > MAX_DISTANCE || d1 >= MAX_RATIO * d2) continue;
    out.push([i, j]);
  }
  return out;
}
