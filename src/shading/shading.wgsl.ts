// Elementwise kernels of the appearance decoder (shading module). The dense layers themselves run
// through the tiled GEMM (gpu/gemm.ts); these kernels build the MLP input, undo it in the
// backward pass, and implement the activations' derivatives and the weight-free SH decoder.
//
// MLP_Fea input row layout (width W = A + 3 + 2·A·Ff + 2·3·Fv, A = appDim):
//   [0, A)                    feat
//   [A, A+3)                  view direction
//   [A+3, A+3+A·Ff)           sin(feat_d · 2^k)   at index d·Ff + k
//   [.., A+3+2·A·Ff)          cos(feat_d · 2^k)
//   [.., +3·Fv)               sin(dir_d · 2^k)    at index d·Fv + k
//   [.., W)                   cos(dir_d · 2^k)
// This is TensoRF's positional_encoding: dimension-major, frequency-minor, all sines then cosines.
import { linearId, sinCos } from '../gpu/wgsl.ts';

/** Builds the MLP input X (n x W) from feat (n x A) and dirs (n x 4). One invocation per element of X. */
export const encodeShader = /* wgsl */ `
struct Params { n: u32, app_dim: u32, fea_pe: u32, view_pe: u32, width: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> feat: array<f32>;
@group(0) @binding(2) var<storage, read> dirs: array<f32>;
@group(0) @binding(3) var<storage, read_write> X: array<f32>;
${linearId}
${sinCos}

// x · 2^k with an exact power of two (exp2 need not be exact on every GPU).
fn scaled(x: f32, k: u32) -> f32 { return x * f32(1u << k); }

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, 256u);
  let W = params.width;
  if (i >= params.n * W) { return; }
  let s = i / W;
  var c = i % W;
  let A = params.app_dim;
  var v: f32;
  if (c < A) {
    v = feat[s * A + c];
  } else if (c < A + 3u) {
    v = dirs[s * 4u + c - A];
  } else {
    c -= A + 3u;
    let fa = A * params.fea_pe;
    if (c < 2u * fa) {
      let j = c % fa;
      let sc = sin_cos(scaled(feat[s * A + j / params.fea_pe], j % params.fea_pe));
      v = select(sc.x, sc.y, c >= fa);
    } else {
      c -= 2u * fa;
      let fv = 3u * params.view_pe;
      let j = c % fv;
      let sc = sin_cos(scaled(dirs[s * 4u + j / params.view_pe], j % params.view_pe));
      v = select(sc.x, sc.y, c >= fv);
    }
  }
  X[i] = v;
}
`;

/**
 * dL/dfeat from dL/dX: the direct feat columns plus the chain through the feature PE,
 * d sin(x·2^k)/dx = 2^k cos(x·2^k) and d cos(x·2^k)/dx = −2^k sin(x·2^k). One invocation per (sample, d).
 * feat is read back from the first A columns of X, so the caller's feat buffer may change after forward.
 */
export const encodeBackwardShader = /* wgsl */ `
struct Params { n: u32, app_dim: u32, fea_pe: u32, width: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dX: array<f32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read_write> dFeat: array<f32>;
${linearId}
${sinCos}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, 256u);
  let A = params.app_dim;
  if (i >= params.n * A) { return; }
  let s = i / A;
  let d = i % A;
  let row = s * params.width;
  let x = X[row + d];
  var g = dX[row + d];
  let F = params.fea_pe;
  let sin0 = row + A + 3u + d * F;
  let cos0 = sin0 + A * F;
  for (var k = 0u; k < F; k++) {
    let f = f32(1u << k);
    let sc = sin_cos(x * f);
    g += f * (dX[sin0 + k] * sc.y - dX[cos0 + k] * sc.x);
  }
  dFeat[i] = g;
}
`;

/** dL/dz of the sigmoid output layer: dz = drgb · y · (1 − y), from n x 4 rgb rows into n x 3. */
export const sigmoidBackwardShader = /* wgsl */ `
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dRgb: array<f32>;
@group(0) @binding(2) var<storage, read> Y: array<f32>;
@group(0) @binding(3) var<storage, read_write> dZ: array<f32>;
${linearId}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, 256u);
  if (i >= params.n * 3u) { return; }
  let j = (i / 3u) * 4u + i % 3u;
  let y = Y[j];
  dZ[i] = dRgb[j] * y * (1.0 - y);
}
`;

/** ReLU backward in place: grad = 0 where the layer's output (= max(z, 0)) is 0. */
export const reluMaskShader = /* wgsl */ `
struct Params { count: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> act: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad: array<f32>;
${linearId}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, 256u);
  if (i >= params.count) { return; }
  if (act[i] <= 0.0) { grad[i] = 0.0; }
}
`;

/** Degree-2 real SH basis, as TensoRF's models/sh.py eval_sh_bases (same constants and signs). */
const shBasis = /* wgsl */ `
fn sh_basis(d: vec3f) -> array<f32, 9> {
  let C0 = 0.28209479177387814;
  let C1 = 0.4886025119029199;
  let x = d.x; let y = d.y; let z = d.z;
  return array<f32, 9>(
    C0,
    -C1 * y,
    C1 * z,
    -C1 * x,
    1.0925484305920792 * x * y,
    -1.0925484305920792 * y * z,
    0.31539156525252005 * (2.0 * z * z - x * x - y * y),
    -1.0925484305920792 * x * z,
    0.5462742152960396 * (x * x - y * y),
  );
}
`;

/**
 * SH decoder: rgb_c = relu(Σ_k Y_k(d) · feat[c·9 + k] + 0.5). Also stores the 9 basis values per
 * sample, which is all the backward needs besides the output (for the ReLU mask).
 */
export const shForwardShader = /* wgsl */ `
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> feat: array<f32>;
@group(0) @binding(2) var<storage, read> dirs: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
@group(0) @binding(4) var<storage, read_write> basis: array<f32>;
${linearId}
${shBasis}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let s = linear_id(gid, nwg, 64u);
  if (s >= params.n) { return; }
  let b = sh_basis(vec3f(dirs[s * 4u], dirs[s * 4u + 1u], dirs[s * 4u + 2u]));
  for (var k = 0u; k < 9u; k++) { basis[s * 9u + k] = b[k]; }
  for (var c = 0u; c < 3u; c++) {
    var acc = 0.5;
    for (var k = 0u; k < 9u; k++) { acc += b[k] * feat[s * 27u + c * 9u + k]; }
    Y[s * 4u + c] = max(acc, 0.0);
  }
  Y[s * 4u + 3u] = 0.0;
}
`;

/** SH backward: dfeat[c·9 + k] = drgb_c · [rgb_c > 0] · Y_k(d). One invocation per feature entry. */
export const shBackwardShader = /* wgsl */ `
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dRgb: array<f32>;
@group(0) @binding(2) var<storage, read> Y: array<f32>;
@group(0) @binding(3) var<storage, read> basis: array<f32>;
@group(0) @binding(4) var<storage, read_write> dFeat: array<f32>;
${linearId}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, 256u);
  if (i >= params.n * 27u) { return; }
  let s = i / 27u;
  let c = (i % 27u) / 9u;
  let k = i % 9u;
  var g = 0.0;
  if (Y[s * 4u + c] > 0.0) { g = dRgb[s * 4u + c] * basis[s * 9u + k]; }
  dFeat[i] = g;
}
`;
