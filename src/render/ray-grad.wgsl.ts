// The last link of the position gradients (pose refinement): a ray's samples' dL/du taken back
// to the ray, as dL/d(origin) and dL/d(direction). Each sample is x = o + t d with its depth t
// held fixed (BARF's convention: sample depths do not move with the camera), so
// dL/do = sum dL/dx and dL/dd = sum t dL/dx. The world point and t are recovered from the stored
// grid position through the inverse warp, so the sampler keeps storing only positions.
import { contraction, linearId, rayStruct } from '../gpu/wgsl.ts';

export const rayGradWgsl = /* wgsl */ `
struct Params { aabb_lo: vec4f, unit: vec4f, n_rays: u32, contraction: Contraction, }
${contraction}
${rayStruct}
${linearId}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> rays: array<Ray>;
@group(0) @binding(2) var<storage, read> ray_info: array<vec4u>;
@group(0) @binding(3) var<storage, read> samples: array<vec4f>;
@group(0) @binding(4) var<storage, read> d_position: array<vec4f>;
@group(0) @binding(5) var<storage, read_write> ray_grads: array<vec4f>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let b = linear_id(gid, nwg, 64u);
  if (b >= params.n_rays) { return; }
  let o = rays[b].o.xyz;
  let d = rays[b].d.xyz;
  let info = ray_info[b];
  let c = params.contraction;
  var go = vec3f(0.0);
  var gd = vec3f(0.0);
  for (var i = info.x; i < info.x + info.y; i++) {
    let q = params.aabb_lo.xyz + samples[i].xyz * params.unit.xyz;
    let x = uncontract_point(c, q);
    // dL/dq = dL/du / unit (u = (q - lo) / unit), then back through the warp.
    let gx = contract_vjp(c, x, d_position[i].xyz / params.unit.xyz);
    go += gx;
    gd += dot(x - o, d) * gx;
  }
  ray_grads[2u * b] = vec4f(go, 0.0);
  ray_grads[2u * b + 1u] = vec4f(gd, 0.0);
}
`;
