// WGSL for reading and scattering into channels-last factor tensors: every plane is [H][W][K] and
// every line [L][K] inside the parameter arena, so one bilinear tap reads K contiguous floats and
// rendering at a lower rank just stops the component loop early. The layouts' snippets
// (layouts/*.wgsl.ts) are written with these.
import { fixedPoint } from '../gpu/wgsl.ts';

/** Linear and bilinear taps with align-corners, and reads of one component through them. Needs `params_f`. */
export const tapReads = /* wgsl */ `
struct Taps2 { i00: u32, i01: u32, i10: u32, i11: u32, w: vec4f }
struct Taps1 { i0: u32, i1: u32, w: vec2f }
// Align-corners linear taps; at the upper edge the base index is clamped to n-2 with fraction 1.
fn taps1(x: f32, n: u32) -> Taps1 {
  let x0 = u32(clamp(floor(x), 0.0, f32(n) - 2.0));
  let f = x - f32(x0);
  return Taps1(x0, x0 + 1u, vec2f(1.0 - f, f));
}
fn taps2(x: f32, y: f32, w: u32, h: u32) -> Taps2 {
  let tx = taps1(x, w);
  let ty = taps1(y, h);
  return Taps2(ty.i0 * w + tx.i0, ty.i0 * w + tx.i1, ty.i1 * w + tx.i0, ty.i1 * w + tx.i1,
               vec4f(tx.w.x * ty.w.x, tx.w.y * ty.w.x, tx.w.x * ty.w.y, tx.w.y * ty.w.y));
}
fn plane_at(base: u32, t: Taps2, k: u32, r: u32) -> f32 {
  return t.w.x * params_f[base + t.i00 * k + r] + t.w.y * params_f[base + t.i01 * k + r]
       + t.w.z * params_f[base + t.i10 * k + r] + t.w.w * params_f[base + t.i11 * k + r];
}
fn line_at(base: u32, t: Taps1, k: u32, r: u32) -> f32 {
  return t.w.x * params_f[base + t.i0 * k + r] + t.w.y * params_f[base + t.i1 * k + r];
}
`;

/**
 * Slopes of the same interpolation along its coordinates (per grid unit), for the field's spatial
 * gradient (pose refinement moves the samples). Beyond the grid's edge the taps extrapolate, so
 * the slope is that of the edge cell, as in the reads. Needs tapReads.
 */
export const tapSlopes = /* wgsl */ `
// (d/dx, d/dy) of plane_at: the fractions are recovered from the bilinear weights.
fn plane_slope(base: u32, t: Taps2, k: u32, r: u32) -> vec2f {
  let v00 = params_f[base + t.i00 * k + r];
  let v01 = params_f[base + t.i01 * k + r];
  let v10 = params_f[base + t.i10 * k + r];
  let v11 = params_f[base + t.i11 * k + r];
  let fy = t.w.z + t.w.w;
  let fx = t.w.y + t.w.w;
  return vec2f((1.0 - fy) * (v01 - v00) + fy * (v11 - v10), (1.0 - fx) * (v10 - v00) + fx * (v11 - v01));
}
fn line_slope(base: u32, t: Taps1, k: u32, r: u32) -> f32 {
  return params_f[base + t.i1 * k + r] - params_f[base + t.i0 * k + r];
}
`;

/** Gradient scatter through the same taps (fixed-point atomics). Needs `grads`. */
export const tapScatter = /* wgsl */ `
${fixedPoint}
fn add_plane(base: u32, t: Taps2, k: u32, r: u32, g: f32) {
  atomicAdd(&grads[base + t.i00 * k + r], to_fixed(g * t.w.x));
  atomicAdd(&grads[base + t.i01 * k + r], to_fixed(g * t.w.y));
  atomicAdd(&grads[base + t.i10 * k + r], to_fixed(g * t.w.z));
  atomicAdd(&grads[base + t.i11 * k + r], to_fixed(g * t.w.w));
}
fn add_line(base: u32, t: Taps1, k: u32, r: u32, g: f32) {
  atomicAdd(&grads[base + t.i0 * k + r], to_fixed(g * t.w.x));
  atomicAdd(&grads[base + t.i1 * k + r], to_fixed(g * t.w.y));
}
`;
