// The training loss per ray: the squared error of the rendered colour against the pixel's,
// averaged over the three channels (the reference's MSE), and its gradient dL/dC.
import { linearId, rayStruct } from '../gpu/wgsl.ts';
import { rayOutStruct } from '../render/composite.wgsl.ts';

/**
 * loss[b] = (dL/dC.rgb, L) with L = |C - target|² / 3. Gradients are of the per-ray summed loss,
 * each ray's weighted by its rgb.w (1, or the edge-guided loss's weight); the optimizer divides
 * by the ray count. L itself is unweighted: it is what the training PSNR reports.
 */
export const lossWgsl = /* wgsl */ `
struct Params { n_rays: u32, }
${linearId}
${rayStruct}
${rayOutStruct}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> rays: array<Ray>;
@group(0) @binding(2) var<storage, read> ray_out: array<RayOut>;
@group(0) @binding(3) var<storage, read_write> loss: array<vec4f>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let b = linear_id(gid, nwg, 64u);
  if (b >= params.n_rays) { return; }
  let err = ray_out[b].rgb.rgb - rays[b].rgb.rgb;
  loss[b] = vec4f(rays[b].rgb.w * 2.0 * err / 3.0, dot(err, err) / 3.0);
}
`;
