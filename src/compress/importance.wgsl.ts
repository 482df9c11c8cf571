// Draining the importance pass's fixed-point sums (compress/importance.ts) into float totals:
// the scatter's i32 range holds only so many rays, so every DRAIN_RAYS rays each element's sum is
// added to its f32 total and zeroed. One thread per element, in no shared order: deterministic.
import { linearId } from '../gpu/wgsl.ts';

export const drainShader = /* wgsl */ `
struct Params { count: u32, inv_scale: f32, }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> fixed_sums: array<i32>;
@group(0) @binding(2) var<storage, read_write> totals: array<f32>;
${linearId}
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = linear_id(gid, nwg, 256u);
  if (e >= params.count) { return; }
  let v = fixed_sums[e];
  if (v != 0) {
    totals[e] += f32(v) * params.inv_scale;
    fixed_sums[e] = 0;
  }
}
`;
