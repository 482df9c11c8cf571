// Host side of the register-blocked matrix multiply (see gemm.wgsl.ts for the math, the
// layouts and why each exists).
//
// Operands are described by strides, so one kernel serves X·Wᵀ (forward), Δ·W (input gradient)
// and Δᵀ·X (weight gradient) without any transpose copies.
//
// Aliasing rule: WebGPU forbids binding a buffer as writable storage and, in the same dispatch,
// under any other binding. So `c` must be a different GPUBuffer from `a`, `b` and `bias`
// (a and b, both read-only, may share a buffer). run() checks this and throws.
import type { GpuContext } from './context.ts';
import { GEMM_LAYOUTS, type GemmLayout, type GemmLayoutName, gemmReduceShader, gemmShader, gemmTileM, gemmTileN } from './gemm.wgsl.ts';
import { type GpuRows, ROWS_AT, RUNS_AT, recordSizes } from './indirect.ts';
import { cachedKernel, type Encoder, grid1d, type Kernel } from './kernel.ts';

/** A matrix view into a buffer: element (r, c) is at float index offset + r·rowStride + c·colStride. */
export interface Operand {
  buffer: GPUBuffer;
  offset: number;
  rowStride: number;
  colStride: number;
}

export type Activation = 'none' | 'relu' | 'sigmoid';

export interface GemmArgs {
  M: number;
  N: number;
  K: number;
  /** M x K */
  a: Operand;
  /** K x N */
  b: Operand;
  /** M x N output; must not share a buffer with a, b or bias. */
  c: Operand;
  /** N floats added to every row before the activation. */
  bias?: { buffer: GPUBuffer; offset: number };
  act?: Activation;
  /** Adds the result to C's previous contents (after the activation). */
  accumulate?: boolean;
  /**
   * Number of K chunks reduced in a second pass. Left out, run() picks one from the shape: only
   * long-K, few-tile products (weight gradients over many samples) are split.
   */
  splitK?: number;
  /**
   * M or K is a row count only the GPU knows (rows of a chunk of shaded samples); args.M or args.K
   * is then its maximum, which sizes the K splits. The grid is indirect: over GPU rows M, the M
   * tiles the rows need; over GPU rows K, the splits the rows reach (the reduce adds those only).
   * No rows at all leave C as it was unless K is split (the reduce then writes the empty sum):
   * gradients are zeroed after each Adam step anyway.
   */
  gpuRows?: { dim: 'M' | 'K'; rows: GpuRows };
}

const ACT_CODE: Record<Activation, number> = { none: 0, relu: 1, sigmoid: 2 };

/** Floats of split-K scratch; fixed so the buffer is never reallocated while an encoder still references it. */
const SCRATCH_FLOATS = 1 << 20;
/** Bytes of the split-K scratch a Gemm allocates on first use (counted by the memory estimate). */
export const SCRATCH_BYTES = SCRATCH_FLOATS * 4;
/** Enough workgroups to fill a large GPU; below this many output tiles a long K gets split. */
const TARGET_WORKGROUPS = 512;
/** Never split K into chunks shorter than this (the reduce pass would cost more than it saves). */
const MIN_K_CHUNK = 256;
/** Split-K chunks are whole multiples of this many K elements. */
const K_CHUNK_ALIGN = 32;

/** SwiftShader runs 4 consecutive invocations as the lanes of one SIMD instruction stream. */
const SIMD_LANES = 4;
/**
 * What one float loaded from a storage buffer costs on SwiftShader, in multiply-adds (a masked,
 * bounds-checked per-lane gather; fitted to the measurements in gemm.wgsl.ts).
 */
const LOAD_COST = 23;
const SOFTWARE_LAYOUTS: GemmLayoutName[] = ['rows', 'cols', 'narrowN', 'shortM', 'tiles'];

/**
 * Estimated SwiftShader time of one k step over the whole output: lane groups that have any
 * work cost in full (idle lanes still run), invocations past the edge of the other dimension
 * exit at once, and each busy invocation pays TM x TN multiply-adds plus TM + TN loads.
 */
function softwareCost(l: GemmLayout, M: number, N: number): number {
  const [laneLen, laneBlock, laneCount, otherLen, otherBlock] = l.lanesAlongM ? [M, l.tm, l.wm, N, l.tn] : [N, l.tn, l.wn, M, l.tm];
  const tile = laneBlock * laneCount;
  const fullTiles = Math.floor(laneLen / tile);
  const rest = Math.ceil((laneLen - fullTiles * tile) / laneBlock);
  const groups = fullTiles * Math.ceil(laneCount / SIMD_LANES) + Math.ceil(rest / SIMD_LANES);
  return groups * Math.ceil(otherLen / otherBlock) * (l.tm * l.tn + LOAD_COST * (l.tm + l.tn));
}

/**
 * The layout for a product. GPUs keep the 32 x 32 `tiles` layout; on a software adapter
 * (SwiftShader) the cheapest by softwareCost (bigger blocks, lanes along the long dimension:
 * ~2x faster, see gemm.wgsl.ts).
 */
export function chooseGemmLayout(software: boolean, M: number, N: number): GemmLayoutName {
  if (!software) return 'tiles';
  let best = SOFTWARE_LAYOUTS[0]!;
  for (const name of SOFTWARE_LAYOUTS) {
    if (softwareCost(GEMM_LAYOUTS[name], M, N) < softwareCost(GEMM_LAYOUTS[best], M, N)) best = name;
  }
  return best;
}

export class Gemm {
  private readonly reduce: Kernel;
  private readonly dummy: GPUBuffer;
  private scratch: GPUBuffer | null = null;

  private readonly maxGroupsPerDim: number;
  private readonly layout: GemmLayoutName | undefined;

  /**
   * `maxWorkgroupsPerDim` lowers the grid-folding threshold below the device limit; tests use it to
   * exercise the fold without dispatching millions of rows. `layout` forces one kernel layout for
   * every product (tests run each on any adapter); left out, run() picks by adapter and shape.
   */
  constructor(
    private readonly ctx: GpuContext,
    opts: { maxWorkgroupsPerDim?: number; layout?: GemmLayoutName } = {},
  ) {
    this.maxGroupsPerDim = Math.min(opts.maxWorkgroupsPerDim ?? Infinity, ctx.limits.maxComputeWorkgroupsPerDimension);
    this.layout = opts.layout;
    this.reduce = cachedKernel(ctx, 'gemm-reduce', () => gemmReduceShader);
    // Bound in place of a missing bias; WebGPU needs every binding filled.
    this.dummy = ctx.buffer('gemm.dummy-bias', 16);
  }

  run(enc: Encoder, args: GemmArgs): void {
    const { M, N, K } = args;
    for (const [k, v] of Object.entries({ M, N, K })) {
      if (!Number.isInteger(v) || v < 0) throw new Error(`gemm: ${k} must be a non-negative integer, got ${v}`);
    }
    if (M === 0 || N === 0) return;
    const c = args.c;
    if (c.buffer === args.a.buffer || c.buffer === args.b.buffer || (args.bias && c.buffer === args.bias.buffer)) {
      throw new Error('gemm: the output buffer must differ from the A, B and bias buffers (WebGPU aliasing rule)');
    }
    checkOperand('a', args.a, M, K);
    checkOperand('b', args.b, K, N);
    checkOperand('c', c, M, N);
    if (args.bias && (args.bias.offset + N) * 4 > args.bias.buffer.size) {
      throw new Error(`gemm: bias of ${N} floats at ${args.bias.offset} overruns its buffer`);
    }

    const layoutName = this.layout ?? chooseGemmLayout(this.ctx.adapter.software, M, N);
    const layout = GEMM_LAYOUTS[layoutName];
    const mTiles = Math.ceil(M / gemmTileM(layout));
    const nTiles = Math.ceil(N / gemmTileN(layout));
    const dynamicM = args.gpuRows?.dim === 'M';
    // Over GPU rows M the grid is indirect, one split (such products have short K anyway).
    const splits = dynamicM ? 1 : this.chooseSplits(args, mTiles * nTiles);
    const kChunk = splits > 1 ? Math.ceil(Math.ceil(K / splits) / K_CHUNK_ALIGN) * K_CHUNK_ALIGN : Math.max(K, 1);
    // Recompute from the rounded chunk so no split is empty.
    const realSplits = splits > 1 ? Math.ceil(K / kChunk) : 1;

    const bias = args.bias ?? { buffer: this.dummy, offset: 0 };
    const epilogue = {
      bias_off: bias.offset,
      has_bias: args.bias ? 1 : 0,
      act: ACT_CODE[args.act ?? 'none'],
      accumulate: args.accumulate ? 1 : 0,
    };
    const target =
      realSplits > 1
        ? { buffer: this.scratchBuffer(), off: 0, rs: N, cs: 1, split: M * N }
        : { buffer: c.buffer, off: c.offset, rs: c.rowStride, cs: c.colStride, split: 0 };

    const [gy, gz] = this.foldY(mTiles * realSplits);
    const gpuRows = args.gpuRows;
    // The rows the GPU counted replace M or K in the params (the tile count stays the maximum's:
    // the kernel only divides by it, and an indirect grid never exceeds it). Over K the grid is
    // the M tiles times the splits the rows reach: splits of kChunk rows each, as the host cut them.
    const sizes = gpuRows
      ? recordSizes(this.ctx, enc, gpuRows.rows, dynamicM ? { wg: gemmTileM(layout), lead: nTiles } : { wg: kChunk, lead: nTiles, mult: mTiles })
      : null;
    enc.dispatch(this.kernel(layoutName), {
      patch: sizes ? { [gpuRows!.dim]: [sizes.buffer, sizes.offset + ROWS_AT] } : {},
      params: {
        M,
        N,
        K,
        m_tiles: mTiles,
        splits: realSplits,
        k_chunk: kChunk,
        a_off: args.a.offset,
        a_rs: args.a.rowStride,
        a_cs: args.a.colStride,
        b_off: args.b.offset,
        b_rs: args.b.rowStride,
        b_cs: args.b.colStride,
        c_off: target.off,
        c_rs: target.rs,
        c_cs: target.cs,
        c_split: target.split,
        ...(realSplits > 1 ? { bias_off: 0, has_bias: 0, act: 0, accumulate: 0 } : epilogue),
      },
      buffers: { A: args.a.buffer, B: args.b.buffer, bias: bias.buffer, C: target.buffer },
      workgroups: sizes ? { indirect: sizes.buffer, offset: sizes.offset } : [nTiles, gy, gz],
    });
    if (realSplits > 1) {
      enc.dispatch(this.reduce, {
        ...(sizes ? { patch: { splits: [sizes.buffer, sizes.offset + RUNS_AT] } } : {}),
        params: {
          M,
          N,
          splits: realSplits,
          n_quads: Math.ceil(N / 4),
          c_off: c.offset,
          c_rs: c.rowStride,
          c_cs: c.colStride,
          ...epilogue,
        },
        buffers: { partial: target.buffer, bias: bias.buffer, C: c.buffer },
        workgroups: grid1d(this.ctx, M * Math.ceil(N / 4), 256),
      });
    }
  }

  private chooseSplits(args: GemmArgs, tiles: number): number {
    const cap = Math.max(1, Math.floor(SCRATCH_FLOATS / (args.M * args.N)));
    if (args.splitK !== undefined) {
      if (!Number.isInteger(args.splitK) || args.splitK < 1) throw new Error(`gemm: splitK must be a positive integer`);
      if (args.splitK > cap) throw new Error(`gemm: splitK ${args.splitK} needs more than the ${SCRATCH_FLOATS}-float scratch`);
      return Math.min(args.splitK, Math.max(1, Math.ceil(args.K / K_CHUNK_ALIGN)));
    }
    if (tiles >= TARGET_WORKGROUPS) return 1;
    const wanted = Math.min(Math.ceil(TARGET_WORKGROUPS / tiles), Math.floor(args.K / MIN_K_CHUNK), cap);
    return Math.max(1, wanted);
  }

  /** Compiled once per device and layout, on first use: a pipeline costs noticeable time on SwiftShader. */
  private kernel(name: GemmLayoutName): Kernel {
    return cachedKernel(this.ctx, `gemm.${name}`, () => gemmShader(GEMM_LAYOUTS[name]));
  }

  /** Splits a count of y workgroups into (y, z) under the per-dimension limit. */
  private foldY(groups: number): [number, number] {
    const maxDim = this.maxGroupsPerDim;
    if (groups <= maxDim) return [groups, 1];
    const z = Math.ceil(groups / maxDim);
    return [Math.ceil(groups / z), z];
  }

  private scratchBuffer(): GPUBuffer {
    this.scratch ??= this.ctx.buffer('gemm.split-k-scratch', SCRATCH_BYTES);
    return this.scratch;
  }

  destroy(): void {
    this.ctx.destroy(this.dummy);
    this.ctx.destroy(this.scratch);
    this.scratch = null;
  }
}

/** Throws when a rows x cols view would read or write past its buffer (WebGPU would silently clamp). */
function checkOperand(name: string, op: Operand, rows: number, cols: number): void {
  for (const [k, v] of Object.entries(op)) {
    if (k !== 'buffer' && (!Number.isInteger(v) || (v as number) < 0)) {
      throw new Error(`gemm: ${name}.${k} must be a non-negative integer, got ${String(v)}`);
    }
  }
  if (rows === 0 || cols === 0) return;
  const last = op.offset + (rows - 1) * op.rowStride + (cols - 1) * op.colStride;
  if ((last + 1) * 4 > op.buffer.size) {
    throw new Error(`gemm: operand ${name} (${rows}x${cols}) reaches float ${last} past its ${op.buffer.size}-byte buffer`);
  }
  if (last >= 2 ** 32) throw new Error(`gemm: operand ${name} indexes beyond u32`);
}
