// Total-variation regularizer of the reference (utils.TVLoss) on one channels-last factor tensor
// [H][W][K] (a plane; a line is H = L, W = 1):
//   TV = 2 * ( sum (x[h+1] - x[h])^2 / (K (H-1) W) + sum (x[w+1] - x[w])^2 / (K H max(W-1, 1)) ).
// The kernel converts the tensor's fixed-point gradient to f32 in place (unless it is f32 already:
// \`grads_f32\`, after coarse-to-fine's adjoint blur) and adds weight * dTV/dx in float: TV
// gradients are far below the fixed-point resolution, so they must not be quantized. Adam is then
// told that this segment's gradient is f32.
import { GRAD_SCALE, linearId } from '../gpu/wgsl.ts';

export const tvWgsl = /* wgsl */ `
struct Params { offset: u32, width: u32, height: u32, k: u32, weight: f32, grads_f32: u32, }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> p: array<f32>;
@group(0) @binding(2) var<storage, read_write> grads: array<u32>;
${linearId}
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, 256u);
  let w = params.width;
  let h = params.height;
  let k = params.k;
  if (i >= w * h * k) { return; }
  let x = (i / k) % w;
  let y = i / (k * w);
  let at = params.offset + i;
  let v = p[at];
  let count_h = f32(k * max(h - 1u, 1u) * w);
  let count_w = f32(k * h * max(w - 1u, 1u));
  var g = 0.0;
  if (y > 0u) { g += 2.0 * (v - p[at - w * k]) / count_h; }
  if (y + 1u < h) { g -= 2.0 * (p[at + w * k] - v) / count_h; }
  if (x > 0u) { g += 2.0 * (v - p[at - k]) / count_w; }
  if (x + 1u < w) { g -= 2.0 * (p[at + k] - v) / count_w; }
  let before = select(f32(bitcast<i32>(grads[at])) / ${GRAD_SCALE.toFixed(1)}, bitcast<f32>(grads[at]), params.grads_f32 == 1u);
  grads[at] = bitcast<u32>(before + params.weight * 2.0 * g);
}
`;
