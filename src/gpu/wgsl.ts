// WGSL snippets shared by kernels of several stages. Kernels compose their source from these
// strings, so each idea (and each struct the stages hand one another) is declared once.

/** Linear invocation index for 1-D work folded into a 2-D grid (see grid1d in gpu/kernel.ts). */
export const linearId = /* wgsl */ `
fn linear_id(gid: vec3u, nwg: vec3u, wg: u32) -> u32 {
  return gid.x + gid.y * nwg.x * wg;
}
`;

/**
 * Gradients scattered into factor grids are accumulated as fixed-point i32 with atomicAdd:
 * WGSL has no float atomics, integer sums are order-independent (so runs are reproducible), and
 * one atomicAdd is far cheaper than a compare-and-swap loop under contention. GRAD_SCALE sets the
 * resolution (2^-20 ~ 1e-6 of a per-ray-summed gradient) and the range (+-2048 per texel).
 */
export const GRAD_SCALE = 1048576.0;
export const fixedPoint = /* wgsl */ `
const GRAD_SCALE: f32 = ${GRAD_SCALE.toFixed(1)};
fn to_fixed(x: f32) -> i32 {
  return i32(round(clamp(x * GRAD_SCALE, -2.0e9, 2.0e9)));
}
`;

/** PCG hash: random numbers from (seed, lane) without state. */
export const random = /* wgsl */ `
fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}
fn rand01(seed: u32, lane: u32, stream: u32) -> f32 {
  return f32(pcg(pcg(seed ^ pcg(lane)) + stream) >> 8u) * (1.0 / 16777216.0);
}
`;

/**
 * A ray as the stages pass it on: origin, unit direction and the colour of its pixel (training
 * rays; w = 1 when set). 48 bytes: RAY_BYTES on the host.
 */
export const rayStruct = /* wgsl */ `
struct Ray { o: vec4f, d: vec4f, rgb: vec4f, }
`;
export const RAY_BYTES = 48;

/**
 * A camera: intrinsics (fx, fy, cx, cy), the OpenCV camera-to-world rows, and OpenCV
 * radial-tangential distortion (k1, k2, p1, p2; zeros for none). CAMERA_FLOATS on the host
 * (rays/gpu-split.ts packs them). `camera_ray` is the one pixel-to-ray mapping of every kernel.
 */
export const cameraRay = /* wgsl */ `
struct Cam { k: vec4f, r0: vec4f, r1: vec4f, r2: vec4f, dist: vec4f, }
${rayStruct}
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
`;
export const CAMERA_FLOATS = 20;

/** Entry distance of a ray into a box and its exit distance (enter > exit when it misses). */
export const boxSlab = /* wgsl */ `
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

/**
 * The alpha mask (occupancy grid) as sampling and ray filtering read it: bits in [z][y][x] order
 * over its own box, in a storage array `mask_bits`; a point is occupied when any corner with
 * trilinear weight > 0 is set. The uniform values come from TensorField.maskUniform().
 */
export const occupancy = /* wgsl */ `
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
