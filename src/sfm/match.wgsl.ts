// For every descriptor of one image, its two nearest descriptors of another (largest dot products
// of unit RootSIFT vectors): one thread per query, scanning the other image's descriptors through
// a workgroup-shared tile of TILE of them. Ties keep the lower index, so the answer does not
// depend on the order threads run in. match.ref.ts is its f64 twin.
import { linearId } from '../gpu/wgsl.ts';

/** Descriptors per shared tile: 32 × 128 floats = 16 KiB, WebGPU's guaranteed workgroup storage. */
export const MATCH_TILE = 32;
export const MATCH_WORKGROUP = 32;

export const nearestTwoWgsl = /* wgsl */ `
${linearId}
struct Params { n_query: u32, n_train: u32, }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> query: array<vec4f>;
@group(0) @binding(2) var<storage, read> train: array<vec4f>;
// Per query: best index, best dot, second dot (as f32 bits).
@group(0) @binding(3) var<storage, read_write> nearest: array<vec4u>;

const TILE: u32 = ${MATCH_TILE}u;
var<workgroup> tile: array<vec4f, ${MATCH_TILE * 32}>;

@compute @workgroup_size(${MATCH_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let q = linear_id(gid, nwg, ${MATCH_WORKGROUP}u);
  let in_range = q < params.n_query;
  var best = -2.0;
  var second = -2.0;
  var best_j = 0xffffffffu;
  for (var base = 0u; base < params.n_train; base += TILE) {
    // The tile: TILE descriptors of 32 vec4s, loaded by the workgroup's 32 threads together.
    for (var k = lid; k < TILE * 32u; k += ${MATCH_WORKGROUP}u) {
      let j = base + k / 32u;
      tile[k] = select(vec4f(0.0), train[min(j, params.n_train - 1u) * 32u + k % 32u], j < params.n_train);
    }
    workgroupBarrier();
    if (in_range) {
      let count = min(TILE, params.n_train - base);
      for (var t = 0u; t < count; t++) {
        var d = 0.0;
        for (var c = 0u; c < 32u; c++) { d += dot(query[q * 32u + c], tile[t * 32u + c]); }
        if (d > best) { second = best; best = d; best_j = base + t; }
        else if (d > second) { second = d; }
      }
    }
    workgroupBarrier();
  }
  if (in_range) { nearest[q] = vec4u(best_j, bitcast<u32>(best), bitcast<u32>(second), 0u); }
}
`;
