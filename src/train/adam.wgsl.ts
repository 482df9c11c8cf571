// Adam over one ParamArena segment (PyTorch semantics, bias-corrected), with the extras the
// reference methods need:
// - gradients arrive either as fixed-point i32 (factor segments, atomically scattered) or as f32
//   bits (dense segments); both are read through one u32 view and decoded per dispatch;
// - grad_scale turns per-ray-summed gradients into batch means; l1 adds l1 · sign(p) (the L1
//   regulariser's gradient, weight already divided by the element count);
// - channels-last tensors may lock components >= active (SlimmeRF): those entries keep their
//   parameter and both moments bit-identical;
// - skip_zero (Strivec's masked Adam) skips entries whose total gradient is exactly zero;
// - every gradient entry of the segment is zeroed afterwards (locked and skipped ones too), so the
//   next iteration's scatter starts from zero without a separate clear.
import { fixedPoint, linearId } from '../gpu/wgsl.ts';

export const adamShader = /* wgsl */ `
struct Params {
  offset: u32,        // first float of the segment in the arena
  count: u32,         // elements in the segment
  fixed_point: u32,   // 1: grads are i32 fixed point; 0: f32 bits
  components: u32,    // channels-last component count (1 for dense tensors)
  active_components: u32, // components < active_components are updated
  skip_zero: u32,
  grad_scale: f32,
  l1: f32,
  step_size: f32,     // lr / (1 - beta1^t)
  inv_sqrt_bc2: f32,  // 1 / sqrt(1 - beta2^t)
  beta1: f32,
  beta2: f32,
  eps: f32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> p: array<f32>;
@group(0) @binding(2) var<storage, read_write> g: array<u32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
${linearId}
${fixedPoint}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = linear_id(gid, nwg, 256u);
  if (e >= params.count) { return; }
  let i = params.offset + e;
  let bits = g[i];
  g[i] = 0u;
  if (e % params.components >= params.active_components) { return; }

  var grad: f32;
  if (params.fixed_point != 0u) {
    grad = f32(bitcast<i32>(bits)) / GRAD_SCALE;
  } else {
    grad = bitcast<f32>(bits);
  }
  let w = p[i];
  grad = grad * params.grad_scale + params.l1 * sign(w);
  if (params.skip_zero != 0u && grad == 0.0) { return; }

  // PyTorch: m.lerp_(g, 1 - b1); v = b2 v + (1 - b2) g^2;
  //          p -= (lr / bc1) · m / (sqrt(v) / sqrt(bc2) + eps)
  let mi = m[i] + (grad - m[i]) * (1.0 - params.beta1);
  let vi = params.beta2 * v[i] + (1.0 - params.beta2) * grad * grad;
  m[i] = mi;
  v[i] = vi;
  p[i] = w - params.step_size * mi / (sqrt(vi) * params.inv_sqrt_bc2 + params.eps);
}
`;
