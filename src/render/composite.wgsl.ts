// Volume compositing (notes 1.2): transmittance and the samples worth shading, the colour of each
// ray, and the backward pass from dL/dC to the samples' opacities and colours.
import { contraction, linearId, rayStruct } from '../gpu/wgsl.ts';

/**
 * What a batch writes per ray (RAY_OUT_BYTES; read on the host through batch-output.ts):
 * `rgb` the colour C clamped to [0, 1] with the accumulated opacity A in w; `raw` the colour
 * before the clamp with the depth sum Σ w_i t_i in w (t along the unit direction; depth views
 * divide by A).
 */
export const rayOutStruct = /* wgsl */ `
struct RayOut { rgb: vec4f, raw: vec4f, }
`;

/**
 * First pass: transmittance per sample, and how many of each ray's samples pass the weight
 * threshold (only those are shaded, as in the reference) in shaded_base[b]; an exclusive prefix
 * sum (gpu/prefix-sum.ts) turns those counts into each ray's first row of the shaded list, so the
 * list is in ray order whatever order the threads ran in.
 */
export const compositeWeightsWgsl = /* wgsl */ `
struct Params { n_rays: u32, weight_thres: f32, }
${linearId}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> ray_info: array<vec4u>;
@group(0) @binding(2) var<storage, read> sample_alpha: array<vec2f>;
@group(0) @binding(3) var<storage, read_write> transmittance: array<f32>;
@group(0) @binding(4) var<storage, read_write> shaded_base: array<u32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let b = linear_id(gid, nwg, 64u);
  if (b >= params.n_rays) { return; }
  let info = ray_info[b];
  var t = 1.0;
  var count = 0u;
  for (var i = info.x; i < info.x + info.y; i++) {
    let a = sample_alpha[i].x;
    transmittance[i] = t;
    if (a * t > params.weight_thres) { count++; }
    t *= 1.0 - a + 1e-10;
  }
  shaded_base[b] = count;
}
`;

/**
 * The shaded list: each ray's samples that pass the weight threshold, with their view directions,
 * from the ray's first row (shaded_base, after the prefix sum); rows past `app_capacity` are not
 * written. ray_info[b] gains (first shaded row, shaded rows written) in z, w.
 */
export const shadedListWgsl = /* wgsl */ `
struct Params { n_rays: u32, app_capacity: u32, weight_thres: f32, }
${linearId}
${rayStruct}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> rays: array<Ray>;
@group(0) @binding(2) var<storage, read> sample_alpha: array<vec2f>;
@group(0) @binding(3) var<storage, read> transmittance: array<f32>;
@group(0) @binding(4) var<storage, read> shaded_base: array<u32>;
@group(0) @binding(5) var<storage, read_write> ray_info: array<vec4u>;
@group(0) @binding(6) var<storage, read_write> shaded_index: array<u32>;
@group(0) @binding(7) var<storage, read_write> shaded_dirs: array<vec4f>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let b = linear_id(gid, nwg, 64u);
  if (b >= params.n_rays) { return; }
  let info = ray_info[b];
  let base = shaded_base[b];
  var j = 0u;
  for (var i = info.x; i < info.x + info.y && base + j < params.app_capacity; i++) {
    if (sample_alpha[i].x * transmittance[i] > params.weight_thres) {
      shaded_index[base + j] = i;
      shaded_dirs[base + j] = rays[b].d;
      j++;
    }
  }
  ray_info[b] = vec4u(info.x, info.y, base, j);
}
`;

/**
 * Second pass: the colour C = sum w_i c_i + (1 - A) bg, clamped to [0, 1], with the accumulation
 * and the depth sum. Shaded samples are exactly those passing the weight test of the first pass
 * (same arithmetic), in sample order, so the shaded list is walked alongside the samples.
 */
export const compositeColourWgsl = /* wgsl */ `
struct Params {
  n_rays: u32, bg: f32, weight_thres: f32,
  aabb_lo: vec4f,   // sample positions are grid coordinates: field space = lo + g * unit
  unit: vec4f,
  contraction: Contraction,   // field space to world, for the depth
}
${contraction}
${linearId}
${rayStruct}
${rayOutStruct}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> rays: array<Ray>;
@group(0) @binding(2) var<storage, read> ray_info: array<vec4u>;
@group(0) @binding(3) var<storage, read> sample_alpha: array<vec2f>;
@group(0) @binding(4) var<storage, read> transmittance: array<f32>;
@group(0) @binding(5) var<storage, read> rgb: array<vec4f>;
@group(0) @binding(6) var<storage, read> samples: array<vec4f>;
@group(0) @binding(7) var<storage, read_write> ray_out: array<RayOut>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let b = linear_id(gid, nwg, 64u);
  if (b >= params.n_rays) { return; }
  let info = ray_info[b];
  let o = rays[b].o.xyz;
  let d = rays[b].d.xyz;
  var c = vec3f(0.0);
  var acc = 0.0;
  var depth = 0.0;
  // j < j1 guards capacity cuts of the shaded list.
  var j = info.z;
  let j1 = info.z + info.w;
  for (var i = info.x; i < info.x + info.y; i++) {
    let w = sample_alpha[i].x * transmittance[i];
    acc += w;
    depth += w * dot(uncontract_point(params.contraction, params.aabb_lo.xyz + samples[i].xyz * params.unit.xyz) - o, d);
    if (j < j1 && w > params.weight_thres) {
      c += w * rgb[j].rgb;
      j++;
    }
  }
  let raw = c + (1.0 - acc) * params.bg;
  ray_out[b] = RayOut(vec4f(clamp(raw, vec3f(0.0), vec3f(1.0)), acc), vec4f(raw, depth));
}
`;

/**
 * Backward from dL/dC per ray (d_colour, written by the loss) to the samples: with B_i the colour
 * seen behind sample i (B_N = bg), dC/dalpha_i = T_i (c_i - B_{i+1}) and dC/dc_i = w_i, so no
 * division by 1 - alpha (notes 1.2). Clamped channels pass no gradient. d_density is dL/d(density
 * feature) per sample, through d alpha / d feature; d_rgb is dL/dc per shaded sample.
 */
export const compositeBackwardWgsl = /* wgsl */ `
struct Params { n_rays: u32, bg: f32, weight_thres: f32, }
${linearId}
${rayOutStruct}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> ray_info: array<vec4u>;
@group(0) @binding(2) var<storage, read> sample_alpha: array<vec2f>;
@group(0) @binding(3) var<storage, read> transmittance: array<f32>;
@group(0) @binding(4) var<storage, read> rgb: array<vec4f>;
@group(0) @binding(5) var<storage, read> ray_out: array<RayOut>;
@group(0) @binding(6) var<storage, read> d_colour: array<vec4f>;
@group(0) @binding(7) var<storage, read_write> d_density: array<f32>;
@group(0) @binding(8) var<storage, read_write> d_rgb: array<vec4f>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let b = linear_id(gid, nwg, 64u);
  if (b >= params.n_rays) { return; }
  let info = ray_info[b];
  let s0 = info.x;
  let s1 = info.x + info.y;
  let j0 = info.z;
  let j1 = info.z + info.w;
  // The last sample that was shaded: capacity cuts may have left later ones unshaded.
  var shaded_end = s0;
  var j = j0;
  for (var i = s0; i < s1 && j < j1; i++) {
    if (sample_alpha[i].x * transmittance[i] > params.weight_thres) {
      j++;
      shaded_end = i + 1u;
    }
  }
  let out = ray_out[b];
  let g = select(vec3f(0.0), d_colour[b].xyz, out.raw.rgb == out.rgb.rgb);
  var behind = vec3f(params.bg);
  j = j1;
  var i = s1;
  loop {
    if (i == s0) { break; }
    i--;
    let a = sample_alpha[i].x;
    let t = transmittance[i];
    var ci = vec3f(0.0);
    if (j > j0 && i < shaded_end && a * t > params.weight_thres) {
      j--;
      ci = rgb[j].rgb;
      d_rgb[j] = vec4f(a * t * g, 0.0);
    }
    d_density[i] = t * dot(g, ci - behind) * sample_alpha[i].y;
    behind = a * ci + (1.0 - a) * behind;
  }
}
`;
