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
 * rays; w = 1 when set). A training ray's o.w is the index of its image in the training split
 * (pose refinement sums its gradients per camera). 48 bytes: RAY_BYTES on the host.
 */
export const rayStruct = /* wgsl */ `
struct Ray { o: vec4f, d: vec4f, rgb: vec4f, }
`;
export const RAY_BYTES = 48;

/**
 * sin and cos to ~1 ulp for |x| up to ~1e4. The built-ins are not good enough here: Vulkan only
 * requires 2^-11 absolute error (SwiftShader, and several real drivers, use fast approximations),
 * and an error of ~5e-4 in the PE inputs flips ReLU masks of near-zero units, which visibly shifts
 * the first layer's gradients away from the reference. Cody-Waite reduction by pi/2 in three parts
 * (the first two have few enough bits that q·part is exact) plus Cephes' minimax polynomials on
 * [-pi/4, pi/4].
 */
export const sinCos = /* wgsl */ `
fn sin_cos(x: f32) -> vec2f {
  let q = round(x * 0.63661977236758134);
  let r = ((x - q * 1.5703125) - q * 4.837512969970703125e-4) - q * 7.54978995489188216e-8;
  let r2 = r * r;
  let s = r + r * r2 * (-1.6666654611e-1 + r2 * (8.3321608736e-3 + r2 * -1.9515295891e-4));
  let c = 1.0 - 0.5 * r2 + r2 * r2 * (4.166664568298827e-2 + r2 * (-1.388731625493765e-3 + r2 * 2.443315711809948e-5));
  switch (i32(q) & 3) {
    case 0: { return vec2f(s, c); }
    case 1: { return vec2f(c, -s); }
    case 2: { return vec2f(-s, -c); }
    default: { return vec2f(-c, s); }
  }
}
`;

/**
 * How world space maps into the field's box (field/geometry.ts SpaceWarp, its f64 twin). lo.w is
 * the kind: 0 none (bounded), 1 the L∞ contraction around the inner box lo.xyz-hi.xyz, 2 NDC of a
 * reference camera whose world-to-camera rows are r0 (right), r1 (down), r2 (forward), each with
 * its translation in w, and ndc = (ax, ay, near, 0). contract_point maps world to field space,
 * uncontract_point back (depth), march_start is where a warped field's march begins and
 * march_step the world step that moves about `step` in field space.
 */
export const contraction = /* wgsl */ `
struct Contraction { lo: vec4f, hi: vec4f, r0: vec4f, r1: vec4f, r2: vec4f, ndc: vec4f, }
fn contraction_radius(c: Contraction, p: vec3f) -> vec4f {
  let u = (2.0 * p - c.lo.xyz - c.hi.xyz) / (c.hi.xyz - c.lo.xyz);
  return vec4f(u, max(max(abs(u.x), abs(u.y)), abs(u.z)));
}
fn ndc_camera(c: Contraction, p: vec3f) -> vec3f {
  return vec3f(dot(c.r0.xyz, p) + c.r0.w, dot(c.r1.xyz, p) + c.r1.w, dot(c.r2.xyz, p) + c.r2.w);
}
fn contract_point(c: Contraction, p: vec3f) -> vec3f {
  if (c.lo.w == 0.0) { return p; }
  if (c.lo.w == 2.0) {
    let x = ndc_camera(c, p);
    // On or behind the camera plane: outside the box.
    if (x.z <= 1e-6 * c.ndc.z) { return vec3f(0.0, 0.0, -2.0); }
    return vec3f(c.ndc.x * x.x / x.z, c.ndc.y * x.y / x.z, 1.0 - 2.0 * c.ndc.z / x.z);
  }
  let u = contraction_radius(c, p);
  if (u.w <= 1.0) { return p; }
  return 0.5 * (c.lo.xyz + c.hi.xyz) + 0.5 * (c.hi.xyz - c.lo.xyz) * u.xyz * ((2.0 - 1.0 / u.w) / u.w);
}
// J(p)^T g for contract_point's Jacobian J at world point p: a field-space gradient g taken back
// to world space (pose refinement). NDC: q = (ax x/z, ay y/z, 1 - 2 near/z) of the camera point
// x = R p + t. Contraction: q = centre + h u s(r) with u = (p - centre)/h, r = max |u_k| and
// s(r) = 2/r - 1/r^2, so only the largest axis k carries the radius term.
fn contract_vjp(c: Contraction, p: vec3f, g: vec3f) -> vec3f {
  if (c.lo.w == 0.0) { return g; }
  if (c.lo.w == 2.0) {
    let x = ndc_camera(c, p);
    if (x.z <= 1e-6 * c.ndc.z) { return vec3f(0.0); }
    let iz = 1.0 / x.z;
    let gx = vec3f(c.ndc.x * iz * g.x, c.ndc.y * iz * g.y,
                   (2.0 * c.ndc.z * g.z - c.ndc.x * x.x * g.x - c.ndc.y * x.y * g.y) * iz * iz);
    return gx.x * c.r0.xyz + gx.y * c.r1.xyz + gx.z * c.r2.xyz;
  }
  let u = contraction_radius(c, p);
  if (u.w <= 1.0) { return g; }
  let h = 0.5 * (c.hi.xyz - c.lo.xyz);
  let r = u.w;
  var out = g * ((2.0 - 1.0 / r) / r);
  let radial = dot(h * u.xyz, g) * (2.0 - 2.0 * r) / (r * r * r);
  let a = abs(u.xyz);
  if (a.x >= a.y && a.x >= a.z) { out.x += sign(u.x) * radial / h.x; }
  else if (a.y >= a.z) { out.y += sign(u.y) * radial / h.y; }
  else { out.z += sign(u.z) * radial / h.z; }
  return out;
}
fn uncontract_point(c: Contraction, q: vec3f) -> vec3f {
  if (c.lo.w == 0.0) { return q; }
  if (c.lo.w == 2.0) {
    let z = 2.0 * c.ndc.z / max(1.0 - q.z, 1e-4);
    let x = vec3f(q.x * z / c.ndc.x, q.y * z / c.ndc.y, z);
    // The rows are orthonormal: the camera centre is -(R^T t).
    let centre = -(c.r0.w * c.r0.xyz + c.r1.w * c.r1.xyz + c.r2.w * c.r2.xyz);
    return centre + x.x * c.r0.xyz + x.y * c.r1.xyz + x.z * c.r2.xyz;
  }
  let u = contraction_radius(c, q);
  if (u.w <= 1.0) { return q; }
  // radius s = 2 - 1/r in field space: r = 1 / (2 - s), kept finite at the edge.
  let r = 1.0 / max(2.0 - u.w, 1e-4);
  return 0.5 * (c.lo.xyz + c.hi.xyz) + 0.5 * (c.hi.xyz - c.lo.xyz) * u.xyz * (r / u.w);
}
fn march_start(c: Contraction, o: vec3f, d: vec3f, near: f32) -> f32 {
  if (c.lo.w != 2.0) { return near; }
  let dz = dot(c.r2.xyz, d);
  let z0 = dot(c.r2.xyz, o) + c.r2.w;
  if (dz <= 1e-6) { return select(3.0e38, near, z0 >= c.ndc.z); }
  return max(near, (c.ndc.z - z0) / dz);
}
fn march_step(c: Contraction, p: vec3f, step: f32) -> f32 {
  if (c.lo.w == 0.0) { return step; }
  if (c.lo.w == 2.0) {
    let z = max(dot(c.r2.xyz, p) + c.r2.w, c.ndc.z);
    return step * z * z / (2.0 * c.ndc.z);
  }
  let r = max(contraction_radius(c, p).w, 1.0);
  return step * r * r;
}
`;

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
