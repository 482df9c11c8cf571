// Tiled matrix multiply for every dense layer (forward, input gradient, weight gradient).
//
//   C[m, n] = act( sum_k A[m, k] * B[k, n] + bias[n] ) (+ C[m, n] when accumulating)
//
// Every operand is addressed as base[off + row * rs + col * cs], so a transpose is just swapped
// strides and a stride of 0 broadcasts (a ones-vector with rs = cs = 0 turns the kernel into a
// column sum, which is how bias gradients are formed).
//
// One workgroup computes a 16x16 tile of C with 256 invocations, one output each. A and B are
// staged through workgroup memory 16 columns of K at a time (2 x 16 x 17 floats = 2.2 KiB, well
// inside the 16 KiB WebGPU guarantees). The extra column of padding keeps the column-wise reads
// of the transposed staging pattern off a single bank.
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

export const GEMM_TILE = 16;

export const gemmShader = /* wgsl */ `
struct Params {
  M: u32, N: u32, K: u32,
  m_tiles: u32,      // ceil(M / 16): tile t of the folded y/z grid is M tile t % m_tiles, split t / m_tiles
  splits: u32,       // number of K chunks (1 = no split)
  k_chunk: u32,      // K elements per split (a multiple of 16)
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

const T: u32 = 16u;
var<workgroup> tileA: array<array<f32, 17>, 16>; // [m][k]
var<workgroup> tileB: array<array<f32, 17>, 16>; // [k][n]

fn activate(x: f32, act: u32) -> f32 {
  if (act == 1u) { return max(x, 0.0); }
  if (act == 2u) { return 1.0 / (1.0 + exp(-x)); }
  return x;
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u) {
  let t = wid.y + wid.z * nwg.y;
  let split = t / params.m_tiles;
  // Whole workgroups beyond the folded grid leave together, so the barriers below stay uniform.
  if (split >= params.splits) { return; }
  let m0 = (t % params.m_tiles) * T;
  let n0 = wid.x * T;
  let k_begin = split * params.k_chunk;
  let k_end = min(params.K, k_begin + params.k_chunk);

  // Loads are coalesced along whichever index has the unit (smaller) stride: a row-major A is
  // read with consecutive invocations walking k, a transposed one walking m. Same for B.
  let a_along_k = params.a_cs <= params.a_rs;
  let b_along_n = params.b_cs <= params.b_rs;

  var acc = 0.0;
  for (var k0 = k_begin; k0 < k_end; k0 += T) {
    {
      var r = lid.y; var c = lid.x;           // r: m within tile, c: k within tile
      if (!a_along_k) { r = lid.x; c = lid.y; }
      let m = m0 + r; let k = k0 + c;
      var v = 0.0;
      if (m < params.M && k < k_end) { v = A[params.a_off + m * params.a_rs + k * params.a_cs]; }
      tileA[r][c] = v;
    }
    {
      var r = lid.y; var c = lid.x;           // r: k within tile, c: n within tile
      if (!b_along_n) { r = lid.x; c = lid.y; }
      let k = k0 + r; let n = n0 + c;
      var v = 0.0;
      if (k < k_end && n < params.N) { v = B[params.b_off + k * params.b_rs + n * params.b_cs]; }
      tileB[r][c] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < T; kk++) {
      acc += tileA[lid.y][kk] * tileB[kk][lid.x];
    }
    workgroupBarrier();
  }

  let m = m0 + lid.y;
  let n = n0 + lid.x;
  if (m >= params.M || n >= params.N) { return; }
  let ci = params.c_off + split * params.c_split + m * params.c_rs + n * params.c_cs;
  if (params.splits > 1u) {
    C[ci] = acc;  // raw partial; gemmReduce applies the epilogue
    return;
  }
  var x = acc;
  if (params.has_bias != 0u) { x += bias[params.bias_off + n]; }
  x = activate(x, params.act);
  if (params.accumulate != 0u) { x += C[ci]; }
  C[ci] = x;
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

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, 256u);
  let mn = params.M * params.N;
  if (i >= mn) { return; }
  let m = i / params.N;
  let n = i % params.N;
  var x = 0.0;
  for (var s = 0u; s < params.splits; s++) { x += partial[s * mn + i]; }
  if (params.has_bias != 0u) { x += bias[params.bias_off + n]; }
  if (params.act == 1u) { x = max(x, 0.0); } else if (params.act == 2u) { x = 1.0 / (1.0 + exp(-x)); }
  let ci = params.c_off + m * params.c_rs + n * params.c_cs;
  if (params.accumulate != 0u) { x += C[ci]; }
  C[ci] = x;
}
`;
