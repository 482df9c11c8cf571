// One 1-D pass of the coarse-to-fine Gaussian (blur.ref.ts) along the middle axis of a
// channels-last tensor [outer][len][inner] (a plane's rows or columns, a line, Strivec's lines one
// after another), with replicate padding; `adjoint` runs its transpose, which carries the blurred
// tensor's gradient back to the sharp one (read, with \`src_fixed\`, from the fixed-point
// gradients the factor scatter accumulates). One thread per output element gathers its inputs, so
// the result does not depend on scheduling (training stays deterministic).
import { GRAD_SCALE, linearId } from '../gpu/wgsl.ts';

export const blurWgsl = /* wgsl */ `
struct Params { src_offset: u32, dst_offset: u32, outer: u32, len: u32, inner: u32, radius: i32, taps_offset: u32, adjoint: u32, src_fixed: u32, }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> taps: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
${linearId}
fn tap(n: i32) -> f32 { return taps[params.taps_offset + u32(n + params.radius)]; }
fn src_at(at: u32) -> f32 {
  if (params.src_fixed == 1u) { return f32(bitcast<i32>(src[at])) / ${GRAD_SCALE.toFixed(1)}; }
  return src[at];
}
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, 256u);
  let inner = params.inner;
  let len = i32(params.len);
  if (i >= params.outer * params.len * inner) { return; }
  let c = i % inner;
  let j = i32((i / inner) % params.len);
  let row = (i / (inner * params.len)) * params.len * inner + c;
  let base = params.src_offset + row;
  let r = params.radius;
  var acc = 0.0;
  if (params.adjoint == 0u) {
    for (var n = -r; n <= r; n++) { acc += tap(n) * src_at(base + u32(clamp(j + n, 0, len - 1)) * inner); }
  } else {
    // g_x[j] = Σ_k g[k] · Σ_{n : clamp(k + n) = j} tap(n): one tap inside, a tail sum at either end.
    for (var k = max(j - r, 0); k <= min(j + r, len - 1); k++) {
      var w = 0.0;
      if (j > 0 && j < len - 1) {
        w = tap(j - k);
      } else {
        for (var n = -r; n <= r; n++) { if (clamp(k + n, 0, len - 1) == j) { w += tap(n); } }
      }
      acc += w * src_at(base + u32(k) * inner);
    }
  }
  dst[params.dst_offset + row + u32(j) * inner] = acc;
}
`;
