// One pose-refinement step per training camera (one thread each): the camera's share of the
// batch's ray gradients, summed in ray order (deterministic), turned into the gradient of its
// correction (ω, τ), an Adam step, and the refined camera written for the next batch's rays.
//
// The correction of camera-to-world (R, c) is c2w' = (R·exp([ω]×), c + R·τ): a rotation vector
// and a translation in the camera's own frame (nerfstudio's "SO3xR3"), rather than BARF's coupled
// se(3) twist, so each half has a plain gradient. With R' = R·exp([ω]×), a ray d' = R'·d_c from
// origin c' gives
//   dL/dτ = Rᵀ Σ dL/do,   dL/dω = J_r(ω)ᵀ R'ᵀ Σ d' × dL/dd
// (J_r the right Jacobian of SO(3): a small change δ of ω turns R' by exp([J_r δ]×) on the right).
import { cameraRay } from '../camera/camera-ray.wgsl.ts';
import { linearId } from '../gpu/wgsl.ts';

export const poseStepWgsl = /* wgsl */ `
struct Params {
  n_cams: u32, n_rays: u32,
  update: u32,        // 0: only write the refined cameras from the current corrections
  grad_scale: f32,    // per-ray sums -> batch means
  step_size: f32,     // lr / (1 - beta1^t)
  inv_sqrt_bc2: f32,  // 1 / sqrt(1 - beta2^t)
  beta1: f32, beta2: f32, eps: f32,
}
${cameraRay}
${linearId}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> cams: array<Cam>;
@group(0) @binding(2) var<storage, read_write> refined: array<Cam>;
@group(0) @binding(3) var<storage, read> rays: array<Ray>;
@group(0) @binding(4) var<storage, read> ray_grads: array<vec4f>;
// Per camera two vec4f (xyz used): ω then τ; the same for Adam's moments and the last gradient.
@group(0) @binding(5) var<storage, read_write> pose: array<vec4f>;
@group(0) @binding(6) var<storage, read_write> adam_m: array<vec4f>;
@group(0) @binding(7) var<storage, read_write> adam_v: array<vec4f>;
@group(0) @binding(8) var<storage, read_write> pose_grads: array<vec4f>;
fn skew(w: vec3f) -> mat3x3f {
  return mat3x3f(vec3f(0.0, w.z, -w.y), vec3f(-w.z, 0.0, w.x), vec3f(w.y, -w.x, 0.0));
}
// (sin θ/θ, (1 - cos θ)/θ², (θ - sin θ)/θ³), by series near 0.
fn rodrigues_coefs(w: vec3f) -> vec3f {
  let t2 = dot(w, w);
  if (t2 < 1e-6) { return vec3f(1.0 - t2 / 6.0, 0.5 - t2 / 24.0, 1.0 / 6.0 - t2 / 120.0); }
  let th = sqrt(t2);
  let sc = sin_cos(th);
  return vec3f(sc.x / th, (1.0 - sc.y) / t2, (th - sc.x) / (t2 * th));
}
fn rotation(w: vec3f) -> mat3x3f {
  let c = rodrigues_coefs(w);
  let k = skew(w);
  return mat3x3f(vec3f(1.0, 0.0, 0.0), vec3f(0.0, 1.0, 0.0), vec3f(0.0, 0.0, 1.0)) + c.x * k + c.y * (k * k);
}
fn adam(i: u32, g: vec3f) -> vec3f {
  let m = params.beta1 * adam_m[i].xyz + (1.0 - params.beta1) * g;
  let v = params.beta2 * adam_v[i].xyz + (1.0 - params.beta2) * g * g;
  adam_m[i] = vec4f(m, 0.0);
  adam_v[i] = vec4f(v, 0.0);
  return params.step_size * m / (sqrt(v) * params.inv_sqrt_bc2 + params.eps);
}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let k = linear_id(gid, nwg, 64u);
  if (k >= params.n_cams) { return; }
  let cam = cams[k];
  // rt = Rᵀ (WGSL matrices are built from columns: the rows of R).
  let rt = mat3x3f(cam.r0.xyz, cam.r1.xyz, cam.r2.xyz);
  var w = pose[2u * k].xyz;
  var tau = pose[2u * k + 1u].xyz;
  if (params.update == 1u) {
    var go = vec3f(0.0);
    var gw = vec3f(0.0);
    for (var b = 0u; b < params.n_rays; b++) {
      if (u32(rays[b].o.w) != k) { continue; }
      go += ray_grads[2u * b].xyz;
      gw += cross(rays[b].d.xyz, ray_grads[2u * b + 1u].xyz);
    }
    let c = rodrigues_coefs(w);
    let sk = skew(w);
    // J_r(ω)ᵀ = I + b [ω]× + c [ω]×² (J_r = I − b [ω]× + c [ω]×²).
    let jrt = mat3x3f(vec3f(1.0, 0.0, 0.0), vec3f(0.0, 1.0, 0.0), vec3f(0.0, 0.0, 1.0)) + c.y * sk + c.z * (sk * sk);
    let g_w = params.grad_scale * (jrt * (transpose(rotation(w)) * (rt * gw)));
    let g_tau = params.grad_scale * (rt * go);
    pose_grads[2u * k] = vec4f(g_w, 0.0);
    pose_grads[2u * k + 1u] = vec4f(g_tau, 0.0);
    w -= adam(2u * k, g_w);
    tau -= adam(2u * k + 1u, g_tau);
    pose[2u * k] = vec4f(w, 0.0);
    pose[2u * k + 1u] = vec4f(tau, 0.0);
  }
  // R' = R·exp([ω]×): its rows are the columns of R'ᵀ = exp([ω]×)ᵀ Rᵀ; c' = c + R τ.
  let rpt = transpose(rotation(w)) * rt;
  let centre = vec3f(cam.r0.w, cam.r1.w, cam.r2.w) + transpose(rt) * tau;
  var out = cam;
  out.r0 = vec4f(rpt[0], centre.x);
  out.r1 = vec4f(rpt[1], centre.y);
  out.r2 = vec4f(rpt[2], centre.z);
  refined[k] = out;
}
`;
