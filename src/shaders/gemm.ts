// Tiled matrix multiply for every dense layer (forward, input gradient, weight gradient).
//
//   C[m, n] = act( sum_k A[m, k] * B[k, n] + bias[n] ) (+ C[m, n] when accumulating)
//
// Every operand is addressed as base[off + row * rs + col * cs], so a transpose is just swapped
// strides and a stride of 0 broadcasts (a ones-vector with rs = cs = 0 turns the kernel into a
// column sum, which is how bias gradients are formed).
//
// One workgroup of 8x8 invocations computes a 32x32 tile of C; each invocation owns a 4x4 block
// held in registers and reads A and B straight from memory (16 multiply-adds per 8 loads). There
// are no workgroup barriers: a first version staged tiles through workgroup memory, and on
// SwiftShader (CPU Vulkan, where invocations of a workgroup run as fibers) every barrier costs a
// full context switch, which made it ~50x slower there; on GPUs the blocks' loads hit L1.
//
// Grid: x = N tiles; the M tiles (times the K splits, see below) run along y and are folded into
// z when they exceed maxComputeWorkgroupsPerDimension (M reaches ~2M rows = 131k tiles).
//
// Split-K: weight gradients have tiny M x N (e.g. 128 x 128 = 64 tiles) but K = samples (up to
// millions), which would leave a GPU nearly idle with one long loop per tile. The host may split
// K into `splits` chunks; split s then writes its raw partial sum to C at c_off + s * c_split
// (a scratch buffer), and gemmReduce below adds the splits and applies bias / act / accumulate.
// Without a split, splits = 1 and the epilogue runs here.
import { linearId } from './common.ts';

export const GEMM_TILE = 32;

/**
 * The output epilogue shared by the GEMM and its split-K reduce: bias, activation, then
 * accumulation into C. Needs `params` (has_bias, bias_off, act, accumulate), `bias` and `C`.
 */
const epilogue = /* wgsl */ `
fn finish(sum: f32, n: u32, ci: u32) -> f32 {
  var x = sum;
  if (params.has_bias != 0u) { x += bias[params.bias_off + n]; }
  if (params.act == 1u) { x = max(x, 0.0); } else if (params.act == 2u) { x = 1.0 / (1.0 + exp(-x)); }
  if (params.accumulate != 0u) { x += C[ci]; }
  return x;
}
`;

export const gemmShader = /* wgsl */ `
struct Params {
  M: u32, N: u32, K: u32,
  m_tiles: u32,      // ceil(M / 32): tile t of the folded y/z grid is M tile t % m_tiles, split t / m_tiles
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

@compute @workgroup_size(8, 8)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u) {
  let t = wid.y + wid.z * nwg.y;
  let split = t / params.m_tiles;
  if (split >= params.splits) { return; }
  let m0 = (t % params.m_tiles) * 32u + lid.y * 4u;
  let n0 = wid.x * 32u + lid.x * 4u;
  if (m0 >= params.M || n0 >= params.N) { return; }
  let k_begin = split * params.k_chunk;
  let k_end = min(params.K, k_begin + params.k_chunk);
  // Rows and columns past the edge re-read the last valid one (cheap, no branches in the loop)
  // and are not stored.
  var ai: array<u32, 4>;
  var bi: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) {
    ai[i] = params.a_off + min(m0 + i, params.M - 1u) * params.a_rs;
    bi[i] = params.b_off + min(n0 + i, params.N - 1u) * params.b_cs;
  }
  var acc: array<vec4f, 4>;
  for (var k = k_begin; k < k_end; k++) {
    let ka = k * params.a_cs;
    let kb = k * params.b_rs;
    let b = vec4f(B[bi[0] + kb], B[bi[1] + kb], B[bi[2] + kb], B[bi[3] + kb]);
    acc[0] += A[ai[0] + ka] * b;
    acc[1] += A[ai[1] + ka] * b;
    acc[2] += A[ai[2] + ka] * b;
    acc[3] += A[ai[3] + ka] * b;
  }
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m >= params.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + j;
      if (n >= params.N) { break; }
      let ci = params.c_off + split * params.c_split + m * params.c_rs + n * params.c_cs;
      if (params.splits > 1u) {
        C[ci] = acc[i][j];  // raw partial; gemmReduce applies the epilogue
        continue;
      }
      C[ci] = finish(acc[i][j], n, ci);
    }
  }
}
`;

/** Sums split-K partials (splits x M x N, row-major) and applies bias / act / accumulate into C. */
export const gemmReduceShader = /* wgsl */ `
struct Params {
  M: u32, N: u32, splits: u32,
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
  let mn = params.M * params.N;
  if (i >= mn) { return; }
  let m = i / params.N;
  let n = i % params.N;
  var x = 0.0;
  for (var s = 0u; s < params.splits; s++) { x += partial[s * mn + i]; }
  let ci = params.c_off + m * params.c_rs + n * params.c_cs;
  C[ci] = finish(x, n, ci);
}
`;
