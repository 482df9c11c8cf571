// Register-blocked matrix multiply for every dense layer (forward, input gradient, weight gradient).
//
//   C[m, n] = act( sum_k A[m, k] * B[k, n] + bias[n] ) (+ C[m, n] when accumulating)
//
// Every operand is addressed as base[off + row * rs + col * cs], so a transpose is just swapped
// strides and a stride of 0 broadcasts (a ones-vector with rs = cs = 0 turns the kernel into a
// column sum, which is how bias gradients are formed).
//
// Each invocation owns a TM x TN block of C held in registers (TN / 4 vec4 accumulators per row)
// and reads A and B straight from memory: per k it loads TM + TN floats for TM * TN multiply-adds.
// There are no workgroup barriers: a first version staged tiles through workgroup memory, and on
// SwiftShader (CPU Vulkan, where invocations of a workgroup run as fibers) every barrier costs a
// full context switch, which made it ~50x slower there; on GPUs the blocks' loads hit L1.
//
// The kernel source is generated for a GemmLayout (block size, workgroup shape, which way the
// lanes run); the host picks one per adapter and shape (gpu/gemm.ts):
// - `tiles`, for GPUs: 8 x 8 invocations of 4 x 4 blocks (a 32 x 32 tile), lanes along N, the
//   layout this kernel always had there (the other layouts have not been timed on a GPU).
// - On SwiftShader the host takes the cheapest by a cost model (gpu/gemm.ts). There a group of
//   4 invocations runs as the SIMD lanes of one instruction stream, and every storage load whose
//   index is not a compile-time constant is a masked, bounds-checked per-lane gather (~13 cycles
//   per float, measured), even when all lanes read the same address; a vec4 load is 4 of them.
//   So what counts is floats loaded per multiply-add and lanes with work: `rows` (lanes along M,
//   the sample dimension of forward and input-gradient products) and `cols` (lanes along N) give
//   each invocation an 8 x 8 block, 0.25 loads per multiply-add instead of 0.5; `narrowN` puts
//   all 64 lanes on rows for N <= 4 (the 3 colours), where `tiles` left 7 of 8 column blocks
//   idle; `shortM` puts the lanes along N for M <= 4 (bias and colour weight gradients).
//   Measured on the 2-core SwiftShader in GMAC per CPU-second, 20000-row products with
//   featureC 128: forward and input gradients 0.23-0.27 -> 0.52-0.63, split-K weight gradients
//   0.24-0.30 -> 0.59-0.62, N = 3 0.05 -> 0.39, K = 3 0.04 -> 0.08. Bigger blocks (16 x 8,
//   16 x 16) spilled and were no faster; vec4 views of B gained < 10% (noise level) and were
//   dropped, as the gathers stay.
// - The k loop is unrolled twice (on SwiftShader a loop-carried accumulator costs a masked blend
//   per iteration) and the epilogue works on whole vec4 accumulators with the bias loaded once
//   per column run: a per-element epilogue cost as much as the k loop at K = 128.
//
// An invocation's block is contiguous: rows m0 .. m0 + TM - 1, columns n0 .. n0 + TN - 1 (one vec4
// accumulator per 4 columns), so when M or N is smaller than a tile (featureC 16 against a
// 128-row or 32-column tile) whole invocations exit instead of every block carrying dead rows or
// columns (interleaved blocks cost 1.5-3x there, measured). Rows and columns past the edge
// re-read the last valid one (no branches in the loop) and are not stored.
//
// Grid: x = N tiles; the M tiles (times the K splits, see below) run along y and are folded into
// z when they exceed maxComputeWorkgroupsPerDimension (M reaches ~2M rows = 131k tiles).
//
// Split-K: weight gradients have tiny M x N (e.g. 128 x 128 = 64 tiles) but K = samples (up to
// millions), which would leave a GPU nearly idle with one long loop per tile. The host may split
// K into `splits` chunks; split s then writes its raw partial sum to C at c_off + s * c_split
// (a scratch buffer), and gemmReduce below adds the splits and applies bias / act / accumulate.
// Without a split, splits = 1 and the epilogue runs here.
import { linearId } from './wgsl.ts';

export interface GemmLayout {
  /** Rows and columns of C per invocation (tn a multiple of 4). */
  tm: number;
  tn: number;
  /** Invocations of a workgroup along M and along N. */
  wm: number;
  wn: number;
  /** Consecutive invocations (SIMD lanes on SwiftShader) differ in row rather than in column. */
  lanesAlongM: boolean;
}

export const GEMM_LAYOUTS = {
  tiles: { tm: 4, tn: 4, wm: 8, wn: 8, lanesAlongM: false },
  rows: { tm: 8, tn: 8, wm: 16, wn: 4, lanesAlongM: true },
  cols: { tm: 8, tn: 8, wm: 4, wn: 16, lanesAlongM: false },
  narrowN: { tm: 8, tn: 4, wm: 64, wn: 1, lanesAlongM: true },
  shortM: { tm: 4, tn: 8, wm: 1, wn: 64, lanesAlongM: false },
} satisfies Record<string, GemmLayout>;

export type GemmLayoutName = keyof typeof GEMM_LAYOUTS;

/**
 * The output epilogue shared by the GEMM and its split-K reduce, on 4 consecutive columns n..n+3
 * of row m (those past N are neither read nor written): bias, activation, then accumulation into
 * C. Needs `params` (M, N, c_off, c_rs, c_cs, bias_off, has_bias, act, accumulate), `bias`, `C`.
 */
const epilogue = /* wgsl */ `
fn load_bias(n: u32) -> vec4f {
  if (params.has_bias == 0u) { return vec4f(0.0); }
  let last = params.bias_off + params.N - 1u;
  let i = params.bias_off + n;
  return vec4f(bias[min(i, last)], bias[min(i + 1u, last)], bias[min(i + 2u, last)], bias[min(i + 3u, last)]);
}

fn store_final(m: u32, n: u32, sum: vec4f) {
  if (m >= params.M || n >= params.N) { return; }
  var x = sum;
  if (params.act == 1u) { x = max(x, vec4f(0.0)); } else if (params.act == 2u) { x = 1.0 / (1.0 + exp(-x)); }
  let ci = params.c_off + m * params.c_rs + n * params.c_cs;
  let cs = params.c_cs;
  let left = params.N - n;
  if (params.accumulate != 0u) {
    C[ci] += x.x;
    if (left > 1u) { C[ci + cs] += x.y; }
    if (left > 2u) { C[ci + 2u * cs] += x.z; }
    if (left > 3u) { C[ci + 3u * cs] += x.w; }
    return;
  }
  C[ci] = x.x;
  if (left > 1u) { C[ci + cs] = x.y; }
  if (left > 2u) { C[ci + 2u * cs] = x.z; }
  if (left > 3u) { C[ci + 3u * cs] = x.w; }
}
`;

/** Rows of C per workgroup tile. */
export function gemmTileM(l: GemmLayout): number {
  return l.tm * l.wm;
}

/** Columns of C per workgroup tile. */
export function gemmTileN(l: GemmLayout): number {
  return l.tn * l.wn;
}

/** WGSL of the GEMM for one layout (the block loops are unrolled here, in the generator). */
export function gemmShader(l: GemmLayout): string {
  if (l.tn % 4 !== 0) throw new Error('gemmShader: tn must be a multiple of 4');
  const runs = l.tn / 4;
  const I = [...Array(l.tm).keys()];
  const V = [...Array(runs).keys()];
  const row = (i: number) => `m0 + ${i}u`;
  const col = (v: number) => `n0 + ${v * 4}u`;
  const lines = (f: (i: number, v: number) => string) => I.flatMap((i) => V.map((v) => f(i, v))).join('\n');
  // One k step: TN loads of B (4 per run), then per row one load of A and TN / 4 vec4 FMAs.
  const step = (k: string) => `    {
      let ka = ${k} * params.a_cs;
      let kb = ${k} * params.b_rs;
${V.map((v) => `      let b${v} = vec4f(${[0, 1, 2, 3].map((j) => `B[bi${v}_${j} + kb]`).join(', ')});`).join('\n')}
${I.map((i) => `      let a${i} = A[ai${i} + ka];\n${V.map((v) => `      acc${i}_${v} += a${i} * b${v};`).join('\n')}`).join('\n')}
    }`;
  const lane = l.lanesAlongM ? { m: `lid.x % ${l.wm}u`, n: `lid.x / ${l.wm}u` } : { m: `lid.x / ${l.wn}u`, n: `lid.x % ${l.wn}u` };
  return /* wgsl */ `
struct Params {
  M: u32, N: u32, K: u32,
  m_tiles: u32,      // M tiles: tile t of the folded y/z grid is M tile t % m_tiles, split t / m_tiles
  splits: u32,       // number of K chunks (1 = no split)
  k_chunk: u32,      // K elements per split
  a_off: u32, a_rs: u32, a_cs: u32,
  b_off: u32, b_rs: u32, b_cs: u32,
  c_off: u32, c_rs: u32, c_cs: u32,
  c_split: u32,      // floats between the partial results of consecutive splits
  bias_off: u32,
  has_bias: u32,
  act: u32,          // 0 none, 1 relu, 2 sigmoid
  accumulate: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> C: array<f32>;

${epilogue}

/** A split's raw partial sums of columns n..n+3 (gemmReduce applies the epilogue). */
fn store_raw(m: u32, n: u32, split: u32, x: vec4f) {
  if (m >= params.M || n >= params.N) { return; }
  let ci = params.c_off + split * params.c_split + m * params.c_rs + n * params.c_cs;
  let cs = params.c_cs;
  let left = params.N - n;
  C[ci] = x.x;
  if (left > 1u) { C[ci + cs] = x.y; }
  if (left > 2u) { C[ci + 2u * cs] = x.z; }
  if (left > 3u) { C[ci + 3u * cs] = x.w; }
}

@compute @workgroup_size(${l.wm * l.wn})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u) {
  let t = wid.y + wid.z * nwg.y;
  let split = t / params.m_tiles;
  if (split >= params.splits) { return; }
  let m0 = (t % params.m_tiles) * ${gemmTileM(l)}u + (${lane.m}) * ${l.tm}u;
  let n0 = wid.x * ${gemmTileN(l)}u + (${lane.n}) * ${l.tn}u;
  if (m0 >= params.M || n0 >= params.N) { return; }
  let k_begin = split * params.k_chunk;
  let k_end = min(params.K, k_begin + params.k_chunk);
${I.map((i) => `  let ai${i} = params.a_off + min(${row(i)}, params.M - 1u) * params.a_rs;`).join('\n')}
${V.flatMap((v) => [0, 1, 2, 3].map((j) => `  let bi${v}_${j} = params.b_off + min(${col(v)} + ${j}u, params.N - 1u) * params.b_cs;`)).join('\n')}
${lines((i, v) => `  var acc${i}_${v} = vec4f(0.0);`)}
  var k = k_begin;
  for (; k + 1u < k_end; k += 2u) {
${step('k')}
${step('(k + 1u)')}
  }
  if (k < k_end) {
${step('k')}
  }
  if (params.splits > 1u) {
${lines((i, v) => `    store_raw(${row(i)}, ${col(v)}, split, acc${i}_${v});`)}
    return;
  }
${V.map((v) => `  let bias${v} = load_bias(${col(v)});`).join('\n')}
${lines((i, v) => `  store_final(${row(i)}, ${col(v)}, acc${i}_${v} + bias${v});`)}
}
`;
}

/**
 * Sums split-K partials (splits x M x N, row-major) and applies bias / act / accumulate into C;
 * one invocation per 4 consecutive columns of a row, through the GEMM's epilogue.
 */
export const gemmReduceShader = /* wgsl */ `
struct Params {
  M: u32, N: u32, splits: u32,
  n_quads: u32,      // ceil(N / 4)
  c_off: u32, c_rs: u32, c_cs: u32,
  bias_off: u32, has_bias: u32, act: u32, accumulate: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
${linearId}
${epilogue}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, 256u);
  if (i >= params.M * params.n_quads) { return; }
  let m = i / params.n_quads;
  let n = (i % params.n_quads) * 4u;
  let mn = params.M * params.N;
  // Columns past N re-read the row's last one (not stored).
  let p = m * params.N;
  let last = params.N - 1u;
  var x = vec4f(0.0);
  for (var s = 0u; s < params.splits; s++) {
    let o = s * mn + p;
    x += vec4f(partial[o + n], partial[o + min(n + 1u, last)], partial[o + min(n + 2u, last)], partial[o + min(n + 3u, last)]);
  }
  store_final(m, n, x + load_bias(n));
}
`;
