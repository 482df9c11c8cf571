// WGSL for rays: generation from cameras and images, AABB sampling with the alpha mask,
// volume compositing (forward and backward), the alpha-mask build and ray filtering.
import { linearId, random } from './common.ts';

/**
 * Camera: intrinsics (fx, fy, cx, cy), the OpenCV camera-to-world rows, and OpenCV
 * radial-tangential distortion (k1, k2, p1, p2; zeros for none).
 */
const cameraDecl = /* wgsl */ `
struct Cam { k: vec4f, r0: vec4f, r1: vec4f, r2: vec4f, dist: vec4f, }
struct Ray { o: vec4f, d: vec4f, rgb: vec4f, }
// Normalized image point of a distorted one: fixed-point iteration on the OpenCV model, as
// OpenCV's undistortPoints does (phone lenses converge in a few steps).
fn undistort(pd: vec2f, c: vec4f) -> vec2f {
  if (all(c == vec4f(0.0))) { return pd; }
  var p = pd;
  for (var i = 0; i < 10; i++) {
    let r2 = dot(p, p);
    let radial = 1.0 + c.x * r2 + c.y * r2 * r2;
    let tangential = vec2f(2.0 * c.z * p.x * p.y + c.w * (r2 + 2.0 * p.x * p.x),
                           c.z * (r2 + 2.0 * p.y * p.y) + 2.0 * c.w * p.x * p.y);
    p = (pd - tangential) / radial;
  }
  return p;
}
// Pixel centres at +0.5; unit-length directions so t is a world distance (notes 1.1).
fn camera_ray(cam: Cam, px: f32, py: f32) -> Ray {
  let p = undistort(vec2f((px + 0.5 - cam.k.z) / cam.k.x, (py + 0.5 - cam.k.w) / cam.k.y), cam.dist);
  let dc = normalize(vec3f(p, 1.0));
  let d = vec3f(dot(cam.r0.xyz, dc), dot(cam.r1.xyz, dc), dot(cam.r2.xyz, dc));
  return Ray(vec4f(cam.r0.w, cam.r1.w, cam.r2.w, 0.0), vec4f(d, 0.0), vec4f(0.0));
}
fn unpack_rgba(p: u32) -> vec4f {
  return vec4f(f32(p & 255u), f32((p >> 8u) & 255u), f32((p >> 16u) & 255u), f32(p >> 24u)) / 255.0;
}
`;

/** Entry distance of the ray into the box, clamped to [near, far], and the exit distance. */
const slab = /* wgsl */ `
fn safe_dir(d: vec3f) -> vec3f {
  return select(d, vec3f(1e-6), abs(d) < vec3f(1e-6));
}
fn slab(o: vec3f, d: vec3f, a0: vec3f, a1: vec3f) -> vec2f {
  let dd = safe_dir(d);
  let ra = (a1 - o) / dd;
  let rb = (a0 - o) / dd;
  let tmin = max(max(min(ra.x, rb.x), min(ra.y, rb.y)), min(ra.z, rb.z));
  let tmax = min(min(max(ra.x, rb.x), max(ra.y, rb.y)), max(ra.z, rb.z));
  return vec2f(tmin, tmax);
}
`;

/** The occupancy grid: bits in [z][y][x] order over its own AABB; trilinear > 0 means any weighted corner set. */
const maskDecl = /* wgsl */ `
struct Mask { dims: vec4u, lo: vec4f, hi: vec4f, }  // dims.w = 1 when a mask exists
fn mask_bit(m: Mask, x: u32, y: u32, z: u32) -> bool {
  let i = (z * m.dims.y + y) * m.dims.x + x;
  return (mask_bits[i >> 5u] & (1u << (i & 31u))) != 0u;
}
fn occupied(m: Mask, p: vec3f) -> bool {
  if (m.dims.w == 0u) { return true; }
  let g = (p - m.lo.xyz) / (m.hi.xyz - m.lo.xyz) * vec3f(m.dims.xyz - 1u);
  if (any(g < vec3f(0.0)) || any(g > vec3f(m.dims.xyz - 1u))) { return false; }
  let b = min(vec3u(floor(g)), m.dims.xyz - 1u);
  let f = g - vec3f(b);
  for (var c = 0u; c < 8u; c++) {
    let o = vec3u(c & 1u, (c >> 1u) & 1u, (c >> 2u) & 1u);
    let w = select(1.0 - f, f, o == vec3u(1u));
    if (w.x * w.y * w.z <= 0.0) { continue; }
    let q = min(b + o, m.dims.xyz - 1u);
    if (mask_bit(m, q.x, q.y, q.z)) { return true; }
  }
  return false;
}
`;

/**
 * Rays for training (mode 0: random pixels of random images, rejection-sampled against the
 * valid-ray bits) or for a camera (mode 1: consecutive pixels of one image/camera).
 */
export const raygenWgsl = /* wgsl */ `
struct Params {
  mode: u32, seed: u32, n_rays: u32, width: u32,
  height: u32, n_images: u32, image: u32, first_pixel: u32,
  white_bg: u32, use_valid: u32, has_pixels: u32,
}
${cameraDecl}
${random}
${linearId}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> cams: array<Cam>;
@group(0) @binding(2) var<storage, read> pixels: array<u32>;
@group(0) @binding(3) var<storage, read> valid: array<u32>;
@group(0) @binding(4) var<storage, read_write> rays: array<Ray>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let b = linear_id(gid, nwg, 64u);
  if (b >= params.n_rays) { return; }
  let per_image = params.width * params.height;
  var idx = 0u;
  if (params.mode == 0u) {
    let total = per_image * params.n_images;
    // Rejection sampling: up to 16 draws until a ray that passed filtering; the last draw is kept
    // otherwise (a ray through empty space only teaches background).
    for (var t = 0u; t < 16u; t++) {
      idx = pcg(pcg(params.seed * 16u + t) ^ pcg(b + 0x9e3779b9u)) % total;
      if (params.use_valid == 0u || (valid[idx >> 5u] & (1u << (idx & 31u))) != 0u) { break; }
    }
  } else {
    idx = params.image * per_image + params.first_pixel + b;
  }
  let img = idx / per_image;
  let pix = idx % per_image;
  var ray = camera_ray(cams[img], f32(pix % params.width), f32(pix / params.width));
  if (params.has_pixels == 1u) {
    let c = unpack_rgba(pixels[idx]);
    var rgb = c.rgb;
    if (params.white_bg == 1u) { rgb = rgb * c.a + (1.0 - c.a); }
    ray.rgb = vec4f(rgb, 1.0);
  }
  rays[b] = ray;
}
`;

/**
 * Samples along each ray at t = t_entry + step * (k + u) for k < n_samples, kept when inside the
 * AABB and the alpha mask; each ray's kept samples are written contiguously at a base taken with
 * one atomicAdd, so no prefix-sum pass is needed. Output positions are field grid coordinates.
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
}
${maskDecl}
${slab}
${random}
${linearId}
struct Ray { o: vec4f, d: vec4f, rgb: vec4f, }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> rays: array<Ray>;
@group(0) @binding(2) var<storage, read> mask_bits: array<u32>;
@group(0) @binding(3) var<storage, read_write> counter: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read_write> ray_info: array<vec4u>;
@group(0) @binding(5) var<storage, read_write> samples: array<vec4f>;
// INSIDE_EPS: the first sample lies exactly on the entry face; a small tolerance keeps it
// regardless of f32 rounding (src/fields/reference.ts uses the same).
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
  let t0 = clamp(slab(o, d, lo, hi).x, params.near_far.x, params.near_far.y);
  var u = 0.0;
  if (params.aabb_hi.w > 0.0) { u = rand01(params.seed, b, 7u); }
  var count = 0u;
  for (var k = 0u; k < n; k++) {
    if (keep(o + d * (t0 + step * (f32(k) + u)))) { count++; }
  }
  let base = atomicAdd(&counter[0], count);
  let stored = min(count, select(0u, params.capacity - base, base < params.capacity));
  ray_info[b] = vec4u(base, stored, 0u, 0u);
  let inv_unit = vec3f(params.grid.xyz - 1u) / (hi - lo);
  var j = 0u;
  for (var k = 0u; k < n && j < stored; k++) {
    let p = o + d * (t0 + step * (f32(k) + u));
    if (keep(p)) {
      // The reference's last sample of a ray has zero length (dists are differences of t).
      let delta = select(step, 0.0, k == n - 1u);
      samples[base + j] = vec4f((p - lo) * inv_unit, delta);
      j++;
    }
  }
}
`;

/**
 * Compositing, first pass: transmittance per sample, and the list of samples whose weight passes
 * the threshold (only those are shaded, as in the reference).
 */
export const compositeForwardWgsl = /* wgsl */ `
struct Params { n_rays: u32, app_capacity: u32, weight_thres: f32, }
${linearId}
struct Ray { o: vec4f, d: vec4f, rgb: vec4f, }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> rays: array<Ray>;
@group(0) @binding(2) var<storage, read> sa: array<vec2f>;
@group(0) @binding(3) var<storage, read_write> counter: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read_write> ray_info: array<vec4u>;
@group(0) @binding(5) var<storage, read_write> trans: array<f32>;
@group(0) @binding(6) var<storage, read_write> app_index: array<u32>;
@group(0) @binding(7) var<storage, read_write> app_dirs: array<vec4f>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let b = linear_id(gid, nwg, 64u);
  if (b >= params.n_rays) { return; }
  let info = ray_info[b];
  var t = 1.0;
  var count = 0u;
  for (var i = info.x; i < info.x + info.y; i++) {
    let a = sa[i].x;
    trans[i] = t;
    if (a * t > params.weight_thres) { count++; }
    t *= 1.0 - a + 1e-10;
  }
  let base = atomicAdd(&counter[1], count);
  let stored = min(count, select(0u, params.app_capacity - base, base < params.app_capacity));
  ray_info[b] = vec4u(info.x, info.y, base, stored);
  var j = 0u;
  for (var i = info.x; i < info.x + info.y && j < stored; i++) {
    if (sa[i].x * trans[i] > params.weight_thres) {
      app_index[base + j] = i;
      app_dirs[base + j] = rays[b].d;
      j++;
    }
  }
}
`;

/**
 * Compositing, second pass: colour C = sum w_i c_i + (1 - A) bg, clamped to [0, 1]; in training
 * also the loss and the backward pass. With B_i the colour seen behind sample i (B_N = bg),
 * dC/dalpha_i = T_i (c_i - B_{i+1}) and dC/dc_i = w_i: no division by 1 - alpha (notes 1.2).
 * Per ray out[2b] = (C, squared error / 3), out[2b+1] = (accumulation A, depth sum w_i t_i, 0, 0)
 * with t_i the sample's distance along the (unit) direction; depth views divide by A.
 * Gradients are of the per-ray summed loss; the optimizer divides by the ray count.
 */
export const compositeBackwardWgsl = /* wgsl */ `
struct Params {
  n_rays: u32, train: u32, bg: f32, weight_thres: f32,
  aabb_lo: vec4f,   // sample positions are grid coordinates: world = lo + g * unit
  unit: vec4f,
}
${linearId}
struct Ray { o: vec4f, d: vec4f, rgb: vec4f, }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> rays: array<Ray>;
@group(0) @binding(2) var<storage, read> ray_info: array<vec4u>;
@group(0) @binding(3) var<storage, read> sa: array<vec2f>;
@group(0) @binding(4) var<storage, read> trans: array<f32>;
@group(0) @binding(5) var<storage, read> app_rgb: array<vec4f>;
@group(0) @binding(6) var<storage, read_write> out: array<vec4f>;
@group(0) @binding(7) var<storage, read_write> dfeat: array<f32>;
@group(0) @binding(8) var<storage, read_write> drgb: array<vec4f>;
@group(0) @binding(9) var<storage, read> samples: array<vec4f>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let b = linear_id(gid, nwg, 64u);
  if (b >= params.n_rays) { return; }
  let info = ray_info[b];
  let o = rays[b].o.xyz;
  let d = rays[b].d.xyz;
  // Shaded samples are exactly those passing the weight test of the first pass (same arithmetic),
  // in sample order, so the list is walked alongside the samples; j < j1 guards capacity cuts.
  let s0 = info.x;
  let s1 = info.x + info.y;
  var c = vec3f(0.0);
  var acc = 0.0;
  var depth = 0.0;
  var j = info.z;
  let j1 = info.z + info.w;
  var shaded_end = s0;
  for (var i = s0; i < s1; i++) {
    let w = sa[i].x * trans[i];
    acc += w;
    depth += w * dot(params.aabb_lo.xyz + samples[i].xyz * params.unit.xyz - o, d);
    if (j < j1 && w > params.weight_thres) {
      c += w * app_rgb[j].rgb;
      j++;
      shaded_end = i + 1u;
    }
  }
  let raw = c + (1.0 - acc) * params.bg;
  let col = clamp(raw, vec3f(0.0), vec3f(1.0));
  let err = col - rays[b].rgb.rgb;
  out[2u * b] = vec4f(col, dot(err, err) / 3.0);
  out[2u * b + 1u] = vec4f(acc, depth, 0.0, 0.0);
  if (params.train == 0u) { return; }
  // Clamped channels pass no gradient.
  let g = select(vec3f(0.0), 2.0 * err / 3.0, raw == col);
  var behind = vec3f(params.bg);
  j = j1;
  var i = s1;
  loop {
    if (i == s0) { break; }
    i--;
    let a = sa[i].x;
    let t = trans[i];
    var ci = vec3f(0.0);
    if (j > info.z && i < shaded_end && a * t > params.weight_thres) {
      j--;
      ci = app_rgb[j].rgb;
      drgb[j] = vec4f(a * t * g, 0.0);
    }
    dfeat[i] = t * dot(g, ci - behind) * sa[i].y;
    behind = a * ci + (1.0 - a) * behind;
  }
}
`;

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
 * n_samples unjittered samples touch an occupied mask cell (the reference checks 256).
 */
export const rayFilterWgsl = /* wgsl */ `
struct Params {
  aabb_lo: vec4f, aabb_hi: vec4f,   // lo.w = step
  width: u32, height: u32, first: u32, count: u32,
  mode: u32, n_samples: u32, near: f32, far: f32,
  mask: Mask,
}
${cameraDecl}
${maskDecl}
${slab}
${linearId}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> cams: array<Cam>;
@group(0) @binding(2) var<storage, read> mask_bits: array<u32>;
@group(0) @binding(3) var<storage, read_write> valid: array<atomic<u32>>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let li = linear_id(gid, nwg, 64u);
  if (li >= params.count) { return; }
  let idx = params.first + li;
  let per_image = params.width * params.height;
  let pix = idx % per_image;
  let ray = camera_ray(cams[idx / per_image], f32(pix % params.width), f32(pix / params.width));
  let o = ray.o.xyz;
  let d = ray.d.xyz;
  let tt = slab(o, d, params.aabb_lo.xyz, params.aabb_hi.xyz);
  var keep = tt.y > tt.x;
  if (params.mode == 1u) {
    keep = false;
    let t0 = clamp(tt.x, params.near, params.far);
    for (var k = 0u; k < params.n_samples; k++) {
      if (occupied(params.mask, o + d * (t0 + params.aabb_lo.w * f32(k)))) { keep = true; break; }
    }
  }
  if (keep) { atomicOr(&valid[idx >> 5u], 1u << (idx & 31u)); }
}
`;
