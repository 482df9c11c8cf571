// WGSL of the alpha mask (notes 1.5): the occupancy grid built from the density on a lattice
// (field/field.wgsl.ts's densityGrid), and the filter that marks which training rays are worth
// drawing.
import { cameraRay } from '../camera/camera-ray.wgsl.ts';
import { boxSlab, contraction, linearId, occupancy } from '../gpu/wgsl.ts';
import { pixelView } from '../rays/raygen.wgsl.ts';

/**
 * Alpha mask: 3x3x3 max-pool of the lattice alphas, threshold, bits, and the occupied box
 * (as lattice indices) for the AABB shrink.
 */
export const maskBuildWgsl = /* wgsl */ `
struct Params { dims: vec4u, thres: f32, }
${linearId}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> alpha: array<f32>;
@group(0) @binding(2) var<storage, read_write> bits: array<atomic<u32>>;
@group(0) @binding(3) var<storage, read_write> bbox: array<atomic<u32>>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, 64u);
  let d = params.dims.xyz;
  if (i >= d.x * d.y * d.z) { return; }
  let p = vec3i(vec3u(i % d.x, (i / d.x) % d.y, i / (d.x * d.y)));
  var hit = false;
  for (var dz = -1; dz <= 1 && !hit; dz++) {
    for (var dy = -1; dy <= 1 && !hit; dy++) {
      for (var dx = -1; dx <= 1; dx++) {
        let q = p + vec3i(dx, dy, dz);
        if (any(q < vec3i(0)) || any(q >= vec3i(d))) { continue; }
        if (min(alpha[(u32(q.z) * d.y + u32(q.y)) * d.x + u32(q.x)], 1.0) >= params.thres) { hit = true; break; }
      }
    }
  }
  if (!hit) { return; }
  atomicOr(&bits[i >> 5u], 1u << (i & 31u));
  let u = vec3u(p);
  atomicMin(&bbox[0], u.x); atomicMin(&bbox[1], u.y); atomicMin(&bbox[2], u.z);
  atomicMax(&bbox[3], u.x); atomicMax(&bbox[4], u.y); atomicMax(&bbox[5], u.z);
  atomicAdd(&bbox[6], 1u);
}
`;

/**
 * Which training rays to keep. mode 0: rays that enter the AABB. mode 1: rays whose first
 * n_samples unjittered samples touch an occupied mask cell (the reference checks 256). With
 * `masked`, a pixel whose alpha is below one half (masked out by the capture) is never kept.
 */
export const rayFilterWgsl = /* wgsl */ `
struct Params {
  aabb_lo: vec4f, aabb_hi: vec4f,   // lo.w = step
  n_images: u32, first: u32, count: u32,
  mode: u32, n_samples: u32, near: f32, far: f32,
  masked: u32,
  mask: Mask,
  contraction: Contraction,
}
${contraction}
${cameraRay}
${pixelView}
${occupancy}
${boxSlab}
${linearId}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> cams: array<Cam>;
@group(0) @binding(2) var<storage, read> mask_bits: array<u32>;
@group(0) @binding(3) var<storage, read_write> valid: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read> pixels: array<u32>;
@group(0) @binding(5) var<storage, read> views: array<vec2u>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let li = linear_id(gid, nwg, 64u);
  if (li >= params.count) { return; }
  let idx = params.first + li;
  if (params.masked == 1u && (pixels[idx] >> 24u) < 128u) { return; }
  let at = pixel_view(idx, params.n_images);
  let ray = camera_ray(cams[at.x], f32(at.y), f32(at.z));
  let o = ray.o.xyz;
  let d = ray.d.xyz;
  let c = params.contraction;
  let bounded = c.lo.w == 0.0;
  let tt = slab(o, d, params.aabb_lo.xyz, params.aabb_hi.xyz);
  // A warped field (contracted or NDC) covers all of space in front of it: every ray is kept.
  var keep = tt.y > tt.x || !bounded;
  if (params.mode == 1u) {
    keep = false;
    // The sampling kernel's march (rays/sample.wgsl.ts), unjittered.
    let t0 = select(march_start(c, o, d, params.near), clamp(tt.x, params.near, params.far), bounded);
    var t = t0;
    for (var k = 0u; k < params.n_samples && (bounded || t <= params.far); k++) {
      if (bounded) { t = t0 + params.aabb_lo.w * f32(k); }
      let p = o + d * t;
      if (occupied(params.mask, contract_point(c, p))) { keep = true; break; }
      t += march_step(c, p, params.aabb_lo.w);
    }
  }
  if (keep) { atomicOr(&valid[idx >> 5u], 1u << (idx & 31u)); }
}
`;
