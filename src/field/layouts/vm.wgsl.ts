// TensoRF-VM in WGSL: slot m pairs a plane with a line (the reference's matMode
// [[0,1],[0,2],[1,2]] and vecMode [2,1,0]); a component is plane · line.
import { tapReads, tapSlopes } from '../taps.wgsl.ts';

export const vmEval = /* wgsl */ `
${tapReads}
// (plane x coordinate, plane y coordinate, line coordinate) of slot m.
fn slot_coords(m: u32, u: vec3f) -> vec3f {
  if (m == 0u) { return vec3f(u.x, u.y, u.z); }
  if (m == 1u) { return vec3f(u.x, u.z, u.y); }
  return vec3f(u.y, u.z, u.x);
}
// (plane width, plane height, line length) of slot m.
fn slot_dims(m: u32, r: vec3u) -> vec3u {
  if (m == 0u) { return vec3u(r.x, r.y, r.z); }
  if (m == 1u) { return vec3u(r.x, r.z, r.y); }
  return vec3u(r.y, r.z, r.x);
}
struct SlotTaps { tp: Taps2, tl: Taps1, }
fn n_slots() -> u32 { return 3u; }
fn slot_taps(m: u32, u: vec3f) -> SlotTaps {
  let c = slot_coords(m, u);
  let d = slot_dims(m, field.grid.xyz);
  return SlotTaps(taps2(c.x, c.y, d.x, d.y), taps1(c.z, d.z));
}
// Every point is covered by the factors spanning the grid.
fn slot_covered(t: SlotTaps) -> bool { return true; }
// Arena offsets of a family's plane and line for slot m (family 0 density, 1 appearance).
fn family_bases(family: u32, m: u32) -> vec3u {
  if (family == 0u) { return vec3u(field.d_plane[m], field.d_line[m], 0u); }
  return vec3u(field.a_plane[m], field.a_line[m], 0u);
}
fn comp_value(b: vec3u, t: SlotTaps, k: u32, r: u32) -> f32 {
  return plane_at(b.x, t.tp, k, r) * line_at(b.y, t.tl, k, r);
}
`;

// dL/d(component r) = g into each factor: the product rule.
export const vmScatter = /* wgsl */ `
fn comp_scatter(b: vec3u, t: SlotTaps, k: u32, r: u32, g: f32) {
  let p = plane_at(b.x, t.tp, k, r);
  let l = line_at(b.y, t.tl, k, r);
  add_plane(b.x, t.tp, k, r, g * l);
  add_line(b.y, t.tl, k, r, g * p);
}
`;

// d(component r)/du: the product rule, with slot m's (plane x, plane y, line) put back on the
// grid axes (the inverse of slot_coords).
export const vmGrad = /* wgsl */ `
${tapSlopes}
fn comp_grad(m: u32, b: vec3u, t: SlotTaps, k: u32, r: u32) -> vec3f {
  let p = plane_at(b.x, t.tp, k, r);
  let l = line_at(b.y, t.tl, k, r);
  let dp = plane_slope(b.x, t.tp, k, r);
  let g = vec3f(dp.x * l, dp.y * l, p * line_slope(b.y, t.tl, k, r));
  if (m == 0u) { return g; }
  if (m == 1u) { return vec3f(g.x, g.z, g.y); }
  return vec3f(g.z, g.x, g.y);
}
`;

// Each texel's interpolation weight, into component 0 (compression's importance).
export const vmTexels = /* wgsl */ `
fn texel_scatter(b: vec3u, t: SlotTaps, k: u32, g: f32) {
  add_plane(b.x, t.tp, k, 0u, g);
  add_line(b.y, t.tl, k, 0u, g);
}
`;
