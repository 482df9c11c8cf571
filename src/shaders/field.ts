// WGSL for the tensor-factor fields (TensoRF VM and CP, Strivec). Every kernel composes the same
// snippets: the `Field` uniform, the factor evaluation of its layout and one entry point, so the
// density used for training, rendering and the alpha mask is one implementation.
//
// Factor layout (see src/fields/tensorf.ts): every plane is [H][W][K] and every line [L][K]
// (channels-last) inside the parameter arena, so one bilinear tap reads K contiguous floats and
// rendering at a lower rank just stops the component loop early.
//
// The kernels loop over slots and components through five functions each layout defines:
// n_slots, slot_taps (where a point reads a slot's factors), family_bases, comp_value and
// comp_scatter. The 'global' layout (VM, CP) reads factors spanning the grid; the 'local' one
// (Strivec) gathers a level's nearest local tensors.
import type { FactorLayout } from '../fields/tensorf.ts';
import { fixedPoint, linearId } from './common.ts';

/** Shared uniform block describing the field. Positions are continuous grid indices u = (p - a0) / unit. */
export const fieldStruct = /* wgsl */ `
struct Field {
  grid: vec4u,          // Rx, Ry, Rz, mode (0 = VM, 1 = CP)
  d_plane: vec4u,       // arena offsets of the density planes (VM) per slot
  d_line: vec4u,        // arena offsets of the density lines per slot
  a_plane: vec4u,       // appearance planes
  a_line: vec4u,        // appearance lines
  d_k: vec4u,           // density components per slot (stride)
  a_k: vec4u,           // appearance components per slot (stride)
  d_active: vec4u,      // density components evaluated per slot (<= d_k; rank slimming)
  a_active: vec4u,      // appearance components evaluated per slot
  a_col: vec4u,         // first column of each slot in the appearance component vector; w = total
  levels: array<Level, 3>,  // Strivec's lattices (slot m = level m)
  n_levels: vec4u,      // x: Strivec levels (0 for VM and CP)
}
// A Strivec level in grid coordinates: tensor (i, j, k) sits at origin + (i, j, k) * spacing.
struct Level {
  dims: vec4u,          // lattice cells per axis; w = arena offset of the lattice table
  origin: vec4f,        // centre of cell 0; w = tensor half-size in cells
  spacing: vec4f,       // cell size per axis; w = samples per line
}
`;

/** Slot geometry of the reference (matMode [[0,1],[0,2],[1,2]], vecMode [2,1,0]). */
const slotGeometry = /* wgsl */ `
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
`;

const tapReads = /* wgsl */ `
${slotGeometry}
fn plane_at(base: u32, t: Taps2, k: u32, r: u32) -> f32 {
  return t.w.x * params_f[base + t.i00 * k + r] + t.w.y * params_f[base + t.i01 * k + r]
       + t.w.z * params_f[base + t.i10 * k + r] + t.w.w * params_f[base + t.i11 * k + r];
}
fn line_at(base: u32, t: Taps1, k: u32, r: u32) -> f32 {
  return t.w.x * params_f[base + t.i0 * k + r] + t.w.y * params_f[base + t.i1 * k + r];
}
`;

/** VM and CP: factors spanning the grid. */
const globalEval = /* wgsl */ `
${tapReads}
// One component's taps at a point: VM slot m uses a plane (tp) and a line (tl); CP, a single
// "slot", uses three lines (tl along z, tx along y, ty along x).
struct SlotTaps { tp: Taps2, tl: Taps1, tx: Taps1, ty: Taps1, }
fn is_cp() -> bool { return field.grid.w == 1u; }
fn n_slots() -> u32 { return select(3u, 1u, is_cp()); }
fn slot_taps(m: u32, u: vec3f) -> SlotTaps {
  let none1 = Taps1(0u, 0u, vec2f(0.0));
  if (!is_cp()) {
    let c = slot_coords(m, u);
    let d = slot_dims(m, field.grid.xyz);
    return SlotTaps(taps2(c.x, c.y, d.x, d.y), taps1(c.z, d.z), none1, none1);
  }
  let g = field.grid.xyz;
  return SlotTaps(Taps2(0u, 0u, 0u, 0u, vec4f(0.0)), taps1(u.z, g.z), taps1(u.y, g.y), taps1(u.x, g.x));
}
// Every point is covered by the global factors.
fn slot_covered(t: SlotTaps) -> bool { return true; }
// Arena offsets of a family's tensors for slot m (family 0 density, 1 appearance).
fn family_bases(family: u32, m: u32) -> vec3u {
  if (!is_cp()) {
    if (family == 0u) { return vec3u(field.d_plane[m], field.d_line[m], 0u); }
    return vec3u(field.a_plane[m], field.a_line[m], 0u);
  }
  if (family == 0u) { return field.d_line.xyz; }
  return field.a_line.xyz;
}
fn comp_value(b: vec3u, t: SlotTaps, k: u32, r: u32) -> f32 {
  if (!is_cp()) { return plane_at(b.x, t.tp, k, r) * line_at(b.y, t.tl, k, r); }
  return line_at(b.x, t.tl, k, r) * line_at(b.y, t.tx, k, r) * line_at(b.z, t.ty, k, r);
}
`;

/**
 * Strivec (notes 3.4-3.5): slot m is level m. A point reads the up to K = 4 nearest tensors of
 * the level whose cubes contain it, found from the lattice (at most 2 centres per axis can reach
 * a point, as a cube is 1.5 cells wide), blended with normalised inverse-distance weights.
 * Each tensor's three lines [3][L][K] (x, y, z) follow one another in the level's segment.
 */
const localEval = /* wgsl */ `
${tapReads}
const K_NEAREST = 4u;
struct SlotTaps { n: u32, len: u32, id: vec4u, w: vec4f, t: array<Taps1, 12>, }  // t[3c + axis]
fn n_slots() -> u32 { return field.n_levels.x; }
fn slot_taps(m: u32, u: vec3f) -> SlotTaps {
  var out: SlotTaps;
  let lv = field.levels[m];
  let half = lv.origin.w;
  out.len = u32(lv.spacing.w);
  let s = (u - lv.origin.xyz) / lv.spacing.xyz;
  let base = vec3i(floor(s));
  var dist = vec4f(0.0);
  var q: array<vec3f, 4>;
  for (var corner = 0u; corner < 8u; corner++) {
    let j = base + vec3i(vec3u(corner & 1u, (corner >> 1u) & 1u, corner >> 2u));
    let local = s - vec3f(j);
    if (any(abs(local) > vec3f(half)) || any(j < vec3i(0)) || any(j >= vec3i(lv.dims.xyz))) { continue; }
    let id = u32(params_f[lv.dims.w + (u32(j.z) * lv.dims.y + u32(j.y)) * lv.dims.x + u32(j.x)]);
    if (id == 0u) { continue; }
    let d = length(local);
    // Insertion into the sorted nearest K; equal distances keep corner order.
    var at = out.n;
    if (out.n < K_NEAREST) { out.n++; } else if (d < dist[K_NEAREST - 1u]) { at = K_NEAREST - 1u; } else { continue; }
    while (at > 0u && dist[at - 1u] > d) {
      dist[at] = dist[at - 1u];
      out.id[at] = out.id[at - 1u];
      q[at] = q[at - 1u];
      at--;
    }
    dist[at] = d;
    out.id[at] = id - 1u;
    q[at] = local;
  }
  var sum = 0.0;
  for (var c = 0u; c < out.n; c++) {
    out.w[c] = 1.0 / (dist[c] + 1e-6);
    sum += out.w[c];
    // Line coordinate: [-half, half] cells onto samples [0, len - 1] (align corners).
    let x = (q[c] + vec3f(half)) / (2.0 * half) * f32(out.len - 1u);
    for (var a = 0u; a < 3u; a++) { out.t[3u * c + a] = taps1(x[a], out.len); }
  }
  out.w = out.w / max(sum, 1e-30);
  return out;
}
// The reference keeps a sample only where every level has a tensor (filterall).
fn slot_covered(t: SlotTaps) -> bool { return t.n > 0u; }
fn family_bases(family: u32, m: u32) -> vec3u {
  return vec3u(select(field.a_line[m], field.d_line[m], family == 0u), 0u, 0u);
}
fn comp_value(b: vec3u, t: SlotTaps, k: u32, r: u32) -> f32 {
  let stride = t.len * k;
  var v = 0.0;
  for (var c = 0u; c < t.n; c++) {
    let o = b.x + t.id[c] * 3u * stride;
    v += t.w[c] * line_at(o, t.t[3u * c], k, r) * line_at(o + stride, t.t[3u * c + 1u], k, r) * line_at(o + 2u * stride, t.t[3u * c + 2u], k, r);
  }
  return v;
}
`;

/** Density feature of a point outside some level's tensors: zero density, zero gradient. */
const UNCOVERED = '-1e30';

/** Read-only factor evaluation of a layout: density feature and appearance components. Needs `params_f`, `field`. */
export const fieldEval = (layout: FactorLayout) => /* wgsl */ `
${layout === 'local' ? localEval : globalEval}
fn density_feature(u: vec3f) -> f32 {
  var f = 0.0;
  for (var m = 0u; m < n_slots(); m++) {
    let t = slot_taps(m, u);
    if (!slot_covered(t)) { return ${UNCOVERED}; }
    let b = family_bases(0u, m);
    let k = field.d_k[m];
    for (var r = 0u; r < field.d_active[m]; r++) { f += comp_value(b, t, k, r); }
  }
  return f;
}
`;

/** Gradient scatter into the factors (fixed-point atomics). Needs `params_f`, `grads`, `field`. */
export const fieldScatter = (layout: FactorLayout) => /* wgsl */ `
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
${layout === 'local' ? localScatter : globalScatter}
`;

// dL/d(component r) = g into each factor: the product rule over the component's factors.
const globalScatter = /* wgsl */ `
fn comp_scatter(b: vec3u, t: SlotTaps, k: u32, r: u32, g: f32) {
  if (!is_cp()) {
    let p = plane_at(b.x, t.tp, k, r);
    let l = line_at(b.y, t.tl, k, r);
    add_plane(b.x, t.tp, k, r, g * l);
    add_line(b.y, t.tl, k, r, g * p);
    return;
  }
  let l0 = line_at(b.x, t.tl, k, r);
  let l1 = line_at(b.y, t.tx, k, r);
  let l2 = line_at(b.z, t.ty, k, r);
  add_line(b.x, t.tl, k, r, g * l1 * l2);
  add_line(b.y, t.tx, k, r, g * l0 * l2);
  add_line(b.z, t.ty, k, r, g * l0 * l1);
}
`;

// The same for each gathered tensor, scaled by its blend weight.
const localScatter = /* wgsl */ `
fn comp_scatter(b: vec3u, t: SlotTaps, k: u32, r: u32, g: f32) {
  let stride = t.len * k;
  for (var c = 0u; c < t.n; c++) {
    let o = b.x + t.id[c] * 3u * stride;
    let tx = t.t[3u * c];
    let ty = t.t[3u * c + 1u];
    let tz = t.t[3u * c + 2u];
    let lx = line_at(o, tx, k, r);
    let ly = line_at(o + stride, ty, k, r);
    let lz = line_at(o + 2u * stride, tz, k, r);
    let gw = g * t.w[c];
    add_line(o, tx, k, r, gw * ly * lz);
    add_line(o + stride, ty, k, r, gw * lx * lz);
    add_line(o + 2u * stride, tz, k, r, gw * lx * ly);
  }
}
`;

/**
 * softplus density and opacity with its derivative. 1 - exp(-y) loses precision for tiny y in f32,
 * so a two-term series takes over there (notes 8.3).
 */
export const densityActivation = /* wgsl */ `
fn softplus(x: f32) -> f32 {
  if (x < -15.0) { return exp(x); }
  return max(x, 0.0) + log(1.0 + exp(-abs(x)));
}
fn sigmoid(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
// (alpha, d alpha / d x) for sigma = softplus(x) over an optical length scale (delta * distance scale).
fn opacity(x: f32, scale: f32) -> vec2f {
  let y = softplus(x) * scale;
  var a = 1.0 - exp(-y);
  if (y < 1e-4) { a = y - 0.5 * y * y; }
  return vec2f(a, scale * (1.0 - a) * sigmoid(x));
}
`;

const fieldBindings = (grads: boolean) => /* wgsl */ `
${fieldStruct}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> params_f: array<f32>;
${grads ? '@group(0) @binding(2) var<storage, read_write> grads: array<atomic<i32>>;' : ''}
`;

/**
 * Per-sample opacity: alpha = 1 - exp(-softplus(f + shift) * delta * distScale), written with
 * d alpha / d f so compositing needs neither the feature nor the segment length.
 * Samples are vec4: grid coordinates xyz, w = segment length (world units).
 */
export const densityForwardWgsl = (layout: FactorLayout) => /* wgsl */ `
struct Params { field: Field, count: u32, shift: f32, dist_scale: f32, }
${fieldBindings(false)}
@group(0) @binding(2) var<storage, read> samples: array<vec4f>;
@group(0) @binding(3) var<storage, read> counter: array<u32>;
@group(0) @binding(4) var<storage, read_write> sa: array<vec2f>;
var<private> field: Field;
${fieldEval(layout)}
${densityActivation}
${linearId}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  field = params.field;
  let i = linear_id(gid, nwg, 64u);
  if (i >= min(counter[0], params.count)) { return; }
  let s = samples[i];
  sa[i] = opacity(density_feature(s.xyz) + params.shift, s.w * params.dist_scale);
}
`;

/** dL/dfeature per sample -> density factor gradients. */
export const densityBackwardWgsl = (layout: FactorLayout) => /* wgsl */ `
struct Params { field: Field, count: u32, }
${fieldBindings(true)}
@group(0) @binding(3) var<storage, read> samples: array<vec4f>;
@group(0) @binding(4) var<storage, read> counter: array<u32>;
@group(0) @binding(5) var<storage, read> dfeat: array<f32>;
var<private> field: Field;
${fieldEval(layout)}
${fieldScatter(layout)}
${linearId}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  field = params.field;
  let i = linear_id(gid, nwg, 64u);
  if (i >= min(counter[0], params.count)) { return; }
  let g = dfeat[i];
  if (g == 0.0) { return; }
  let u = samples[i].xyz;
  for (var m = 0u; m < n_slots(); m++) {
    let t = slot_taps(m, u);
    let b = family_bases(0u, m);
    let k = field.d_k[m];
    for (var r = 0u; r < field.d_active[m]; r++) { comp_scatter(b, t, k, r, g); }
  }
}
`;

/**
 * Appearance component vector of shaded samples first + j: row j of `comps` (width a_col.w).
 * `first` lets a batch be shaded in chunks whose buffers fit the device's binding size.
 */
export const appForwardWgsl = (layout: FactorLayout) => /* wgsl */ `
struct Params { field: Field, count: u32, first: u32, }
${fieldBindings(false)}
@group(0) @binding(2) var<storage, read> samples: array<vec4f>;
@group(0) @binding(3) var<storage, read> app_index: array<u32>;
@group(0) @binding(4) var<storage, read> counter: array<u32>;
@group(0) @binding(5) var<storage, read_write> comps: array<f32>;
var<private> field: Field;
${fieldEval(layout)}
${linearId}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  field = params.field;
  let j = linear_id(gid, nwg, 64u);
  if (j >= params.count || params.first + j >= counter[1]) { return; }
  let u = samples[app_index[params.first + j]].xyz;
  let row = j * field.a_col.w;
  for (var m = 0u; m < n_slots(); m++) {
    let t = slot_taps(m, u);
    let b = family_bases(1u, m);
    let k = field.a_k[m];
    let col = row + field.a_col[m];
    // Components beyond the active rank are written as zero so the basis product ignores them.
    for (var r = 0u; r < k; r++) {
      var v = 0.0;
      if (r < field.a_active[m]) { v = comp_value(b, t, k, r); }
      comps[col + r] = v;
    }
  }
}
`;

/** dL/d(component vector) of shaded samples first + j (row j of dcomps) -> appearance factor gradients. */
export const appBackwardWgsl = (layout: FactorLayout) => /* wgsl */ `
struct Params { field: Field, count: u32, first: u32, }
${fieldBindings(true)}
@group(0) @binding(3) var<storage, read> samples: array<vec4f>;
@group(0) @binding(4) var<storage, read> app_index: array<u32>;
@group(0) @binding(5) var<storage, read> counter: array<u32>;
@group(0) @binding(6) var<storage, read> dcomps: array<f32>;
var<private> field: Field;
${fieldEval(layout)}
${fieldScatter(layout)}
${linearId}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  field = params.field;
  let j = linear_id(gid, nwg, 64u);
  if (j >= params.count || params.first + j >= counter[1]) { return; }
  let u = samples[app_index[params.first + j]].xyz;
  let row = j * field.a_col.w;
  for (var m = 0u; m < n_slots(); m++) {
    let t = slot_taps(m, u);
    let b = family_bases(1u, m);
    let k = field.a_k[m];
    let col = row + field.a_col[m];
    for (var r = 0u; r < field.a_active[m]; r++) {
      let g = dcomps[col + r];
      if (g != 0.0) { comp_scatter(b, t, k, r, g); }
    }
  }
}
`;

/**
 * Density on every lattice point of the grid (the alpha-mask pass): alpha = 1 - exp(-sigma * step),
 * without the distance scale, as the reference does.
 */
export const densityGridWgsl = (layout: FactorLayout) => /* wgsl */ `
struct Params { field: Field, dims: vec4u, shift: f32, step: f32, }
${fieldBindings(false)}
@group(0) @binding(2) var<storage, read_write> alpha: array<f32>;
var<private> field: Field;
${fieldEval(layout)}
${linearId}
${densityActivation}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  field = params.field;
  let i = linear_id(gid, nwg, 64u);
  let d = params.dims.xyz;
  if (i >= d.x * d.y * d.z) { return; }
  let x = i % d.x;
  let y = (i / d.x) % d.y;
  let z = i / (d.x * d.y);
  // Lattice point (x, y, z) of a dims-sized linspace over the field's AABB, in field grid coordinates.
  let g = vec3f(field.grid.xyz - 1u);
  let u = vec3f(f32(x), f32(y), f32(z)) / vec3f(max(d - 1u, vec3u(1u))) * g;
  alpha[i] = opacity(density_feature(u) + params.shift, params.step).x;
}
`;
