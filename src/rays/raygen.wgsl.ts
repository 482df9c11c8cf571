// Ray generation on the GPU: rays are never precomputed for a whole dataset. Training draws random
// pixels of random images (with their colours); a camera render takes consecutive pixels of one
// image. Both map a pixel to a ray with the shared `camera_ray` (gpu/wgsl.ts).
import { cameraRay, linearId, random } from '../gpu/wgsl.ts';

/**
 * Training rays: random (image, pixel) pairs from a PCG hash of (seed, lane), rejection-sampled
 * against the valid-ray bits (set by the ray filter of train/alpha-mask.ts), with the pixel's
 * colour composited on white when the dataset says so.
 */
export const trainingRaysWgsl = /* wgsl */ `
struct Params {
  seed: u32, n_rays: u32, width: u32, height: u32,
  n_images: u32, white_bg: u32, use_valid: u32,
}
${cameraRay}
${random}
${linearId}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> cams: array<Cam>;
@group(0) @binding(2) var<storage, read> pixels: array<u32>;
@group(0) @binding(3) var<storage, read> valid: array<u32>;
@group(0) @binding(4) var<storage, read_write> rays: array<Ray>;
fn unpack_rgba(p: u32) -> vec4f {
  return vec4f(f32(p & 255u), f32((p >> 8u) & 255u), f32((p >> 16u) & 255u), f32(p >> 24u)) / 255.0;
}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let b = linear_id(gid, nwg, 64u);
  if (b >= params.n_rays) { return; }
  let per_image = params.width * params.height;
  let total = per_image * params.n_images;
  // Rejection sampling: up to 16 draws until a ray that passed filtering; the last draw is kept
  // otherwise (a ray through empty space only teaches background).
  var idx = 0u;
  for (var t = 0u; t < 16u; t++) {
    idx = pcg(pcg(params.seed * 16u + t) ^ pcg(b + 0x9e3779b9u)) % total;
    if (params.use_valid == 0u || (valid[idx >> 5u] & (1u << (idx & 31u))) != 0u) { break; }
  }
  let pix = idx % per_image;
  var ray = camera_ray(cams[idx / per_image], f32(pix % params.width), f32(pix / params.width));
  let c = unpack_rgba(pixels[idx]);
  var rgb = c.rgb;
  if (params.white_bg == 1u) { rgb = rgb * c.a + (1.0 - c.a); }
  ray.rgb = vec4f(rgb, 1.0);
  rays[b] = ray;
}
`;

/** Rays of consecutive pixels first_pixel + b of one camera's image (renders and evaluation). */
export const cameraRaysWgsl = /* wgsl */ `
struct Params { n_rays: u32, width: u32, first_pixel: u32, }
${cameraRay}
${linearId}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> cams: array<Cam>;
@group(0) @binding(2) var<storage, read_write> rays: array<Ray>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let b = linear_id(gid, nwg, 64u);
  if (b >= params.n_rays) { return; }
  let pix = params.first_pixel + b;
  rays[b] = camera_ray(cams[0], f32(pix % params.width), f32(pix / params.width));
}
`;
