// TensoRF-CP in WGSL: one "slot" of three lines (along z, y and x, the reference's vecMode
// [2,1,0]); a component is the product of the three lines.
import { tapReads, tapSlopes } from '../taps.wgsl.ts';

export const cpEval = /* wgsl */ `
${tapReads}
struct SlotTaps { tl: Taps1, tx: Taps1, ty: Taps1, }
fn n_slots() -> u32 { return 1u; }
fn slot_taps(m: u32, u: vec3f) -> SlotTaps {
  let g = field.grid.xyz;
  return SlotTaps(taps1(u.z, g.z), taps1(u.y, g.y), taps1(u.x, g.x));
}
// Every point is covered by the lines spanning the grid.
fn slot_covered(t: SlotTaps) -> bool { return true; }
// Arena offsets of a family's three lines (family 0 density, 1 appearance).
fn family_bases(family: u32, m: u32) -> vec3u {
  if (family == 0u) { return field.d_line.xyz; }
  return field.a_line.xyz;
}
fn comp_value(b: vec3u, t: SlotTaps, k: u32, r: u32) -> f32 {
  return line_at(b.x, t.tl, k, r) * line_at(b.y, t.tx, k, r) * line_at(b.z, t.ty, k, r);
}
`;

// dL/d(component r) = g into each line: the product rule.
export const cpScatter = /* wgsl */ `
fn comp_scatter(b: vec3u, t: SlotTaps, k: u32, r: u32, g: f32) {
  let l0 = line_at(b.x, t.tl, k, r);
  let l1 = line_at(b.y, t.tx, k, r);
  let l2 = line_at(b.z, t.ty, k, r);
  add_line(b.x, t.tl, k, r, g * l1 * l2);
  add_line(b.y, t.tx, k, r, g * l0 * l2);
  add_line(b.z, t.ty, k, r, g * l0 * l1);
}
`;

// d(component r)/du: the product rule (the lines lie along z, y and x).
export const cpGrad = /* wgsl */ `
${tapSlopes}
fn comp_grad(m: u32, b: vec3u, t: SlotTaps, k: u32, r: u32) -> vec3f {
  let lz = line_at(b.x, t.tl, k, r);
  let ly = line_at(b.y, t.tx, k, r);
  let lx = line_at(b.z, t.ty, k, r);
  return vec3f(lz * ly * line_slope(b.z, t.ty, k, r), lz * line_slope(b.y, t.tx, k, r) * lx, line_slope(b.x, t.tl, k, r) * ly * lx);
}
`;

// Each texel's interpolation weight, into component 0 (compression's importance).
export const cpTexels = /* wgsl */ `
fn texel_scatter(b: vec3u, t: SlotTaps, k: u32, g: f32) {
  add_line(b.x, t.tl, k, 0u, g);
  add_line(b.y, t.tx, k, 0u, g);
  add_line(b.z, t.ty, k, 0u, g);
}
`;
