// Sampling along rays: the stratified points a ray is evaluated at, kept where the box and the
// alpha mask allow.
import { boxSlab, contraction, linearId, occupancy, random, rayStruct } from '../gpu/wgsl.ts';

/**
 * Samples along each ray at t = t_entry + step * (k + u) for k < n_samples, kept when inside the
 * AABB and the alpha mask; each ray's kept samples are written contiguously at a base taken with
 * one atomicAdd on counter[0], so no prefix-sum pass is needed. Output positions are field grid
 * coordinates; w is the segment length. ray_info[b] = (first sample, sample count, -, -).
 * A warped field (contracted or NDC) is marched from the near plane (march_start) with steps that
 * grow with the distance (march_step), its samples mapped into field space, up to the far plane;
 * w is then the world length of the step.
 */
export const sampleWgsl = /* wgsl */ `
struct Params {
  aabb_lo: vec4f,      // w = step
  aabb_hi: vec4f,      // w = jitter (1 = per-ray random offset)
  grid: vec4u,         // Rx, Ry, Rz, n_samples
  near_far: vec2f,
  n_rays: u32, capacity: u32,
  seed: u32,
  mask: Mask,
  contraction: Contraction,
}
${occupancy}
${contraction}
${boxSlab}
${random}
${linearId}
${rayStruct}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> rays: array<Ray>;
@group(0) @binding(2) var<storage, read> mask_bits: array<u32>;
@group(0) @binding(3) var<storage, read_write> counter: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read_write> ray_info: array<vec4u>;
@group(0) @binding(5) var<storage, read_write> samples: array<vec4f>;
// INSIDE_EPS: the first sample lies exactly on the entry face; a small tolerance keeps it
// regardless of f32 rounding (src/field/field.ref.ts uses the same).
const INSIDE_EPS: f32 = 1e-5;
fn keep(p: vec3f) -> bool {
  if (any(p < params.aabb_lo.xyz - INSIDE_EPS) || any(p > params.aabb_hi.xyz + INSIDE_EPS)) { return false; }
  return occupied(params.mask, p);
}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let b = linear_id(gid, nwg, 64u);
  if (b >= params.n_rays) { return; }
  let o = rays[b].o.xyz;
  let d = rays[b].d.xyz;
  let lo = params.aabb_lo.xyz;
  let hi = params.aabb_hi.xyz;
  let step = params.aabb_lo.w;
  let n = params.grid.w;
  let c = params.contraction;
  let bounded = c.lo.w == 0.0;
  var t0 = march_start(c, o, d, params.near_far.x);
  if (bounded) { t0 = clamp(slab(o, d, lo, hi).x, params.near_far.x, params.near_far.y); }
  var u = 0.0;
  if (params.aabb_hi.w > 0.0) { u = rand01(params.seed, b, 7u); }
  let t_first = t0 + u * march_step(c, o + d * t0, step);
  var count = 0u;
  var t = t_first;
  for (var k = 0u; k < n; k++) {
    if (bounded) { t = t0 + step * (f32(k) + u); } else if (t > params.near_far.y) { break; }
    let p = o + d * t;
    if (keep(contract_point(c, p))) { count++; }
    t += march_step(c, p, step);
  }
  let base = atomicAdd(&counter[0], count);
  let stored = min(count, select(0u, params.capacity - base, base < params.capacity));
  ray_info[b] = vec4u(base, stored, 0u, 0u);
  let inv_unit = vec3f(params.grid.xyz - 1u) / (hi - lo);
  var j = 0u;
  t = t_first;
  for (var k = 0u; k < n && j < stored; k++) {
    if (bounded) { t = t0 + step * (f32(k) + u); } else if (t > params.near_far.y) { break; }
    let p = o + d * t;
    let q = contract_point(c, p);
    let delta = march_step(c, p, step);
    if (keep(q)) {
      // The reference's last sample of a ray has zero length (dists are differences of t).
      samples[base + j] = vec4f((q - lo) * inv_unit, select(delta, 0.0, k == n - 1u));
      j++;
    }
    t += delta;
  }
}
`;
