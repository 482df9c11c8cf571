// The assignment step of k-means (compress/kmeans.ts): each vector's nearest codeword by squared
// distance, the lowest index winning a tie. This is the n·k·d part of k-means; a thread per vector.
import { linearId } from '../gpu/wgsl.ts';

export const assignShader = /* wgsl */ `
struct Params { n: u32, k: u32, d: u32, }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> vectors: array<f32>;
@group(0) @binding(2) var<storage, read> codebook: array<f32>;
@group(0) @binding(3) var<storage, read_write> assignment: array<u32>;
${linearId}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, 64u);
  if (i >= params.n) { return; }
  let x = i * params.d;
  var best = 3.4e38;
  var arg = 0u;
  for (var c = 0u; c < params.k; c++) {
    let y = c * params.d;
    var dist = 0.0;
    for (var j = 0u; j < params.d; j++) {
      let e = vectors[x + j] - codebook[y + j];
      dist += e * e;
    }
    if (dist < best) {
      best = dist;
      arg = c;
    }
  }
  assignment[i] = arg;
}
`;
