// WGSL kernels that read the tensor-factor fields: density forward and backward, appearance
// components forward and backward, and the density on a lattice (the alpha mask). Every kernel is
// the same loop over slots and components for every model; what a slot is and how a component is
// evaluated comes from the layout's snippet (layouts/*.wgsl.ts), which defines n_slots,
// slot_taps, slot_covered, family_bases, comp_value and comp_scatter. So the density used for
// training, rendering and the alpha mask is one implementation.
import { linearId } from '../gpu/wgsl.ts';
import { tapScatter } from './taps.wgsl.ts';

/** A layout's WGSL: component evaluation (needs `params_f`, `field`) and its gradient scatter. */
export interface LayoutWgsl {
  eval: string;
  scatter: string;
  /**
   * `comp_grad(m, b, t, k, r) -> vec3f`: a component's gradient in grid coordinates, for the
   * samples' position gradients of pose refinement. Absent for layouts refinement does not support
   * (Strivec: see train/config.ts).
   */
  grad?: string;
  /**
   * `texel_scatter(b, t, k, g)`: adds g times each texel's interpolation weight at the taps `t`
   * into component 0 of every factor texel of a slot (`b` its family_bases, `k` its components):
   * the texels' importance for compression (compress/importance.ts). Absent for layouts
   * compression does not support (Strivec).
   */
  texels?: string;
}

/** Shared uniform block describing the field. Positions are continuous grid indices u = (p - a0) / unit. */
export const fieldStruct = /* wgsl */ `
struct Field {
  grid: vec4u,          // Rx, Ry, Rz, -
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

/** Density feature of a point outside some level's tensors (Strivec): zero density, zero gradient. */
const UNCOVERED = '-1e30';

/** Read-only factor evaluation of a layout: density feature and appearance components. Needs `params_f`, `field`. */
const fieldEval = (layout: LayoutWgsl) => /* wgsl */ `
${layout.eval}
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
const fieldScatter = (layout: LayoutWgsl) => /* wgsl */ `
${tapScatter}
${layout.scatter}
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
export const densityForwardWgsl = (layout: LayoutWgsl) => /* wgsl */ `
struct Params { field: Field, count: u32, shift: f32, dist_scale: f32, }
${fieldBindings(false)}
@group(0) @binding(2) var<storage, read> samples: array<vec4f>;
@group(0) @binding(3) var<storage, read> counter: array<u32>;
@group(0) @binding(4) var<storage, read_write> sample_alpha: array<vec2f>;
var<private> field: Field;
${fieldEval(layout)}
${densityActivation}
${linearId}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  field = params.field;
  let i = linear_id(gid, nwg, 64u);
  if (i >= min(counter[0], params.count)) { return; }
  let s = samples[i];
  sample_alpha[i] = opacity(density_feature(s.xyz) + params.shift, s.w * params.dist_scale);
}
`;

/** dL/d(density feature) per sample -> density factor gradients. */
export const densityBackwardWgsl = (layout: LayoutWgsl) => /* wgsl */ `
struct Params { field: Field, count: u32, }
${fieldBindings(true)}
@group(0) @binding(3) var<storage, read> samples: array<vec4f>;
@group(0) @binding(4) var<storage, read> counter: array<u32>;
@group(0) @binding(5) var<storage, read> d_density: array<f32>;
var<private> field: Field;
${fieldEval(layout)}
${fieldScatter(layout)}
${linearId}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  field = params.field;
  let i = linear_id(gid, nwg, 64u);
  if (i >= min(counter[0], params.count)) { return; }
  let g = d_density[i];
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
 * Appearance component vector of shaded samples first + j: row j of `app_components` (width a_col.w).
 * `first` lets a batch be shaded in chunks whose buffers fit the device's binding size.
 */
export const appForwardWgsl = (layout: LayoutWgsl) => /* wgsl */ `
struct Params { field: Field, count: u32, first: u32, }
${fieldBindings(false)}
@group(0) @binding(2) var<storage, read> samples: array<vec4f>;
@group(0) @binding(3) var<storage, read> shaded_index: array<u32>;
@group(0) @binding(4) var<storage, read> counter: array<u32>;
@group(0) @binding(5) var<storage, read_write> app_components: array<f32>;
var<private> field: Field;
${fieldEval(layout)}
${linearId}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  field = params.field;
  let j = linear_id(gid, nwg, 64u);
  if (j >= params.count || params.first + j >= counter[1]) { return; }
  let u = samples[shaded_index[params.first + j]].xyz;
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
      app_components[col + r] = v;
    }
  }
}
`;

/** dL/d(component vector) of shaded samples first + j (row j of d_app_components) -> appearance factor gradients. */
export const appBackwardWgsl = (layout: LayoutWgsl) => /* wgsl */ `
struct Params { field: Field, count: u32, first: u32, }
${fieldBindings(true)}
@group(0) @binding(3) var<storage, read> samples: array<vec4f>;
@group(0) @binding(4) var<storage, read> shaded_index: array<u32>;
@group(0) @binding(5) var<storage, read> counter: array<u32>;
@group(0) @binding(6) var<storage, read> d_app_components: array<f32>;
var<private> field: Field;
${fieldEval(layout)}
${fieldScatter(layout)}
${linearId}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  field = params.field;
  let j = linear_id(gid, nwg, 64u);
  if (j >= params.count || params.first + j >= counter[1]) { return; }
  let u = samples[shaded_index[params.first + j]].xyz;
  let row = j * field.a_col.w;
  for (var m = 0u; m < n_slots(); m++) {
    let t = slot_taps(m, u);
    let b = family_bases(1u, m);
    let k = field.a_k[m];
    let col = row + field.a_col[m];
    for (var r = 0u; r < field.a_active[m]; r++) {
      let g = d_app_components[col + r];
      if (g != 0.0) { comp_scatter(b, t, k, r, g); }
    }
  }
}
`;

/** A layout's texel snippet, or why there is none. */
function texelsOf(layout: LayoutWgsl): string {
  if (!layout.texels) throw new Error('this model has no texel-weight kernel (compression supports VM and CP)');
  return layout.texels;
}

/**
 * Each factor texel's share of the last forward's samples: every sample whose blend weight
 * (alpha times transmittance) passes the shading threshold adds that weight, times `scale`, times
 * the texel's interpolation weight, into component 0 of the texel's slot in `grads` (fixed point;
 * density and appearance factors alike). The sum over rays is the texels' importance.
 */
export const texelWeightWgsl = (layout: LayoutWgsl) => /* wgsl */ `
struct Params { field: Field, count: u32, weight_thres: f32, scale: f32, }
${fieldBindings(true)}
@group(0) @binding(3) var<storage, read> samples: array<vec4f>;
@group(0) @binding(4) var<storage, read> counter: array<u32>;
@group(0) @binding(5) var<storage, read> sample_alpha: array<vec2f>;
@group(0) @binding(6) var<storage, read> transmittance: array<f32>;
var<private> field: Field;
${fieldEval(layout)}
${fieldScatter(layout)}
${texelsOf(layout)}
${linearId}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  field = params.field;
  // The factors are bound whether or not the layout's taps read them (Strivec's lattice tables do).
  _ = &params_f;
  let i = linear_id(gid, nwg, 64u);
  if (i >= min(counter[0], params.count)) { return; }
  let w = sample_alpha[i].x * transmittance[i];
  if (w <= params.weight_thres) { return; }
  let u = samples[i].xyz;
  for (var m = 0u; m < n_slots(); m++) {
    let t = slot_taps(m, u);
    texel_scatter(family_bases(0u, m), t, field.d_k[m], w * params.scale);
    texel_scatter(family_bases(1u, m), t, field.a_k[m], w * params.scale);
  }
}
`;

/** A layout's gradient snippet, or why there is none. */
function gradOf(layout: LayoutWgsl): string {
  if (!layout.grad) throw new Error('this model has no spatial gradient kernels');
  return layout.grad;
}

/**
 * Position gradients, appearance part: dL/du of shaded samples first + j from their component
 * gradients (row j of d_app_components), written (not added) to their sample's slot of
 * d_position. Shaded samples are distinct samples, so no two threads write one slot; the density
 * part adds its share afterwards.
 */
export const appPositionWgsl = (layout: LayoutWgsl) => /* wgsl */ `
struct Params { field: Field, count: u32, first: u32, }
${fieldBindings(false)}
@group(0) @binding(2) var<storage, read> samples: array<vec4f>;
@group(0) @binding(3) var<storage, read> shaded_index: array<u32>;
@group(0) @binding(4) var<storage, read> counter: array<u32>;
@group(0) @binding(5) var<storage, read> d_app_components: array<f32>;
@group(0) @binding(6) var<storage, read_write> d_position: array<vec4f>;
var<private> field: Field;
${fieldEval(layout)}
${gradOf(layout)}
${linearId}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  field = params.field;
  let j = linear_id(gid, nwg, 64u);
  if (j >= params.count || params.first + j >= counter[1]) { return; }
  let i = shaded_index[params.first + j];
  let u = samples[i].xyz;
  let row = j * field.a_col.w;
  var g = vec3f(0.0);
  for (var m = 0u; m < n_slots(); m++) {
    let t = slot_taps(m, u);
    let b = family_bases(1u, m);
    let k = field.a_k[m];
    let col = row + field.a_col[m];
    for (var r = 0u; r < field.a_active[m]; r++) {
      let gc = d_app_components[col + r];
      if (gc != 0.0) { g += gc * comp_grad(m, b, t, k, r); }
    }
  }
  d_position[i] = vec4f(g, 0.0);
}
`;

/** Position gradients, density part: dL/d(density feature) times its gradient, added to d_position. */
export const densityPositionWgsl = (layout: LayoutWgsl) => /* wgsl */ `
struct Params { field: Field, count: u32, }
${fieldBindings(false)}
@group(0) @binding(2) var<storage, read> samples: array<vec4f>;
@group(0) @binding(3) var<storage, read> counter: array<u32>;
@group(0) @binding(4) var<storage, read> d_density: array<f32>;
@group(0) @binding(5) var<storage, read_write> d_position: array<vec4f>;
var<private> field: Field;
${fieldEval(layout)}
${gradOf(layout)}
${linearId}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  field = params.field;
  let i = linear_id(gid, nwg, 64u);
  if (i >= min(counter[0], params.count)) { return; }
  let gd = d_density[i];
  if (gd == 0.0) { return; }
  let u = samples[i].xyz;
  var g = vec3f(0.0);
  for (var m = 0u; m < n_slots(); m++) {
    let t = slot_taps(m, u);
    let b = family_bases(0u, m);
    let k = field.d_k[m];
    for (var r = 0u; r < field.d_active[m]; r++) { g += comp_grad(m, b, t, k, r); }
  }
  d_position[i] += vec4f(gd * g, 0.0);
}
`;

/**
 * Density on every lattice point of the grid (the alpha-mask pass): alpha = 1 - exp(-sigma * step),
 * without the distance scale, as the reference does.
 */
export const densityGridWgsl = (layout: LayoutWgsl) => /* wgsl */ `
struct Params { field: Field, dims: vec4u, lo: vec4f, hi: vec4f, shift: f32, step: f32, }
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
  // Lattice point (x, y, z) of a dims-sized linspace over the region [lo, hi] (field grid
  // coordinates; the whole grid is [0, grid - 1]).
  let u = params.lo.xyz + vec3f(f32(x), f32(y), f32(z)) / vec3f(max(d - 1u, vec3u(1u))) * (params.hi.xyz - params.lo.xyz);
  alpha[i] = opacity(density_feature(u) + params.shift, params.step).x;
}
`;
