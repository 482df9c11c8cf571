// The codebook step of the fine-tune after quantisation (compress/finetune.ts): for one rank block
// of one plane, each codeword becomes the importance-weighted mean of the texels it codes (VQ-
// TensoRF's scatter-mean, after Adam has moved them), and those texels take it back; the row past
// the last codeword lists the plane's pruned texels, which are held at zero. A thread per
// (codeword, component): its texels are its own, so no two threads write one value, and each sums
// its members in their listed order (deterministic).
import { linearId } from '../gpu/wgsl.ts';

export const codebookStepShader = /* wgsl */ `
struct Params { rows: u32, w: u32, k: u32, col: u32, }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> values: array<f32>;
@group(0) @binding(2) var<storage, read> starts: array<u32>;
@group(0) @binding(3) var<storage, read> members: array<u32>;
@group(0) @binding(4) var<storage, read> weights: array<f32>;
@group(0) @binding(5) var<storage, read_write> codewords: array<f32>;
${linearId}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, 64u);
  let r = i / params.w;
  let j = i % params.w;
  if (r > params.rows) { return; }
  let a = starts[r];
  let b = starts[r + 1u];
  // Texel t's component j of this block sits at col + t * k + j in the arena.
  let col = params.col + j;
  if (r == params.rows) {
    for (var m = a; m < b; m++) { values[col + members[m] * params.k] = 0.0; }
    return;
  }
  // A codeword that codes no texel keeps its value.
  if (a == b) { return; }
  var sum = 0.0;
  var plain = 0.0;
  var mass = 0.0;
  for (var m = a; m < b; m++) {
    let v = values[col + members[m] * params.k];
    sum += weights[m] * v;
    plain += v;
    mass += weights[m];
  }
  let c = select(plain / f32(b - a), sum / mass, mass > 0.0);
  codewords[r * params.w + j] = c;
  for (var m = a; m < b; m++) { values[col + members[m] * params.k] = c; }
}
`;
