// WGSL snippets shared by many kernels. Kernels compose their source from these strings so each
// idea has one implementation.

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
