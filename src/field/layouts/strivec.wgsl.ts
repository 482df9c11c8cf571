// Strivec in WGSL (notes 3.4-3.5): slot m is level m. A point reads the up to K = 4 nearest tensors
// of the level whose cubes contain it, found from the lattice (at most 2 centres per axis can reach
// a point, as a cube is 1.5 cells wide), blended with normalised inverse-distance weights. Each
// tensor's three lines [3][L][K] (x, y, z) follow one another in the level's segment.
// strivec-lattice.ts does the same lookup on the host.
import { tapReads, tapSlopes } from '../taps.wgsl.ts';

export const strivecEval = /* wgsl */ `
${tapReads}
const K_NEAREST = 4u;
// t[3c + axis]; q and d: each gathered tensor's offset from its centre (lattice cells) and its
// length; sum: the inverse distances' sum the weights were normalised by (the gradient needs them).
struct SlotTaps { n: u32, len: u32, id: vec4u, w: vec4f, t: array<Taps1, 12>, q: array<vec3f, 4>, d: vec4f, sum: f32, }
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
    out.q[c] = q[c];
    out.d[c] = dist[c];
    sum += out.w[c];
    // Line coordinate: [-half, half] cells onto samples [0, len - 1] (align corners).
    let x = (q[c] + vec3f(half)) / (2.0 * half) * f32(out.len - 1u);
    for (var a = 0u; a < 3u; a++) { out.t[3u * c + a] = taps1(x[a], out.len); }
  }
  out.w = out.w / max(sum, 1e-30);
  out.sum = sum;
  return out;
}
// The reference keeps a sample only where every level has a tensor (filterall).
fn slot_covered(t: SlotTaps) -> bool { return t.n > 0u; }
fn family_bases(family: u32, m: u32) -> vec3u {
  return vec3u(select(field.a_line[m], field.d_line[m], family == 0u), 0u, 0u);
}
// Gathered tensor c's lines in the family's segment: the arena offset of each (x, y, z), a line
// of len samples × k components apart.
fn tensor_lines(b: vec3u, t: SlotTaps, c: u32, k: u32) -> vec3u {
  let stride = t.len * k;
  let o = b.x + t.id[c] * 3u * stride;
  return vec3u(o, o + stride, o + 2u * stride);
}
// Their values for component r.
fn tensor_values(o: vec3u, t: SlotTaps, c: u32, k: u32, r: u32) -> vec3f {
  return vec3f(line_at(o.x, t.t[3u * c], k, r), line_at(o.y, t.t[3u * c + 1u], k, r), line_at(o.z, t.t[3u * c + 2u], k, r));
}
fn comp_value(b: vec3u, t: SlotTaps, k: u32, r: u32) -> f32 {
  var v = 0.0;
  for (var c = 0u; c < t.n; c++) {
    let l = tensor_values(tensor_lines(b, t, c, k), t, c, k, r);
    v += t.w[c] * l.x * l.y * l.z;
  }
  return v;
}
`;

// The product rule for each gathered tensor, scaled by its blend weight.
export const strivecScatter = /* wgsl */ `
fn comp_scatter(b: vec3u, t: SlotTaps, k: u32, r: u32, g: f32) {
  for (var c = 0u; c < t.n; c++) {
    let o = tensor_lines(b, t, c, k);
    let l = tensor_values(o, t, c, k, r);
    let gw = g * t.w[c];
    add_line(o.x, t.t[3u * c], k, r, gw * l.y * l.z);
    add_line(o.y, t.t[3u * c + 1u], k, r, gw * l.x * l.z);
    add_line(o.z, t.t[3u * c + 2u], k, r, gw * l.x * l.y);
  }
}
`;

// d(component r)/du: for each gathered tensor the product rule along its lines (line coordinates
// move (len - 1) / (2 half spacing) samples per grid unit), plus the blend weights' own change:
// w_c = v_c / S with v_c = 1 / (d_c + 1e-6), so d(Σ w_c P_c) = Σ w_c dP_c + (Σ dv_c P_c - C dS) / S.
// (The weights jump where a tensor's cube begins or ends: that is no gradient, as for the reference.)
export const strivecGrad = /* wgsl */ `
${tapSlopes}
fn comp_grad(m: u32, b: vec3u, t: SlotTaps, k: u32, r: u32) -> vec3f {
  let lv = field.levels[m];
  let to_line = f32(t.len - 1u) / (2.0 * lv.origin.w) / lv.spacing.xyz;
  var products = vec3f(0.0);
  var value = 0.0;
  var dv_sum = vec3f(0.0);
  var dv_p = vec3f(0.0);
  for (var c = 0u; c < t.n; c++) {
    let o = tensor_lines(b, t, c, k);
    let l = tensor_values(o, t, c, k, r);
    let p = l.x * l.y * l.z;
    let slope = vec3f(line_slope(o.x, t.t[3u * c], k, r), line_slope(o.y, t.t[3u * c + 1u], k, r), line_slope(o.z, t.t[3u * c + 2u], k, r));
    let dp = vec3f(slope.x * l.y * l.z, l.x * slope.y * l.z, l.x * l.y * slope.z) * to_line;
    products += t.w[c] * dp;
    value += t.w[c] * p;
    // d|q|/du = (q / |q|) / spacing (q is in cells); at the centre itself the distance has no gradient.
    let e = t.d[c] + 1e-6;
    let dv = select(vec3f(0.0), -(t.q[c] / t.d[c]) / lv.spacing.xyz / (e * e), t.d[c] > 0.0);
    dv_sum += dv;
    dv_p += dv * p;
  }
  return products + (dv_p - value * dv_sum) / max(t.sum, 1e-30);
}
`;
