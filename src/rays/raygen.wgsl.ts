// Ray generation on the GPU: rays are never precomputed for a whole dataset. Training draws random
// pixels of random images (with their colours); a camera render takes consecutive pixels of one
// image. Both map a pixel to a ray with the shared `camera_ray` (camera/camera-ray.wgsl.ts).
import { cameraRay } from '../camera/camera-ray.wgsl.ts';
import { linearId, random } from '../gpu/wgsl.ts';

/**
 * The image a pixel of a split belongs to, and its column and row: `views` is gpu-split.ts's
 * viewTable (each image's first pixel and width, then the total), searched by bisection since
 * images may differ in size.
 */
export const pixelView = /* wgsl */ `
fn pixel_view(idx: u32, n_images: u32) -> vec3u {
  var lo = 0u;
  var hi = n_images;
  while (hi - lo > 1u) {
    let mid = (lo + hi) / 2u;
    if (views[mid].x <= idx) { lo = mid; } else { hi = mid; }
  }
  let pix = idx - views[lo].x;
  let w = views[lo].y;
  return vec3u(lo, pix % w, pix / w);
}
`;

/**
 * Training rays: random (image, pixel) pairs from a PCG hash of (seed, lane), rejection-sampled
 * against the valid-ray bits (set by the ray filter of train/alpha-mask.ts), with the pixel's
 * colour composited on white when the dataset says so. Pose refinement's supervision (notes §5):
 * with blur_frac > 0 the colour is the image blurred by a Gaussian of blur_frac · (W + H) / 2
 * pixels around the pixel (replicate padding, cut at 3σ, at most 33 taps a side: wider kernels
 * take every k-th pixel), and rgb.w is the ray's loss weight: edge_w on the edge bits, rest_w off
 * them (1 and 1 without the edge-guided loss).
 */
export const trainingRaysWgsl = /* wgsl */ `
struct Params {
  seed: u32, n_rays: u32, total: u32,
  n_images: u32, white_bg: u32, use_valid: u32,
  blur_frac: f32, use_edges: u32, edge_w: f32, rest_w: f32,
}
${cameraRay}
${random}
${linearId}
${pixelView}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> cams: array<Cam>;
@group(0) @binding(2) var<storage, read> pixels: array<u32>;
@group(0) @binding(3) var<storage, read> valid: array<u32>;
@group(0) @binding(4) var<storage, read_write> rays: array<Ray>;
@group(0) @binding(5) var<storage, read> views: array<vec2u>;
@group(0) @binding(6) var<storage, read> edges: array<u32>;
fn unpack_rgba(p: u32) -> vec4f {
  return vec4f(f32(p & 255u), f32((p >> 8u) & 255u), f32((p >> 16u) & 255u), f32(p >> 24u)) / 255.0;
}
fn pixel_rgb(idx: u32) -> vec3f {
  let c = unpack_rgba(pixels[idx]);
  if (params.white_bg == 1u) { return c.rgb * c.a + (1.0 - c.a); }
  return c.rgb;
}
// The Gaussian-blurred colour around pixel (at.y, at.z) of image at.x.
fn blurred_rgb(at: vec3u) -> vec3f {
  let first = views[at.x].x;
  let w = i32(views[at.x].y);
  let h = i32((views[at.x + 1u].x - first) / views[at.x].y);
  let sigma = params.blur_frac * 0.5 * f32(w + h);
  let reach = i32(ceil(3.0 * sigma));
  let stride = max(1, (reach + 15) / 16);
  let r = stride * ((reach + stride - 1) / stride);
  let k = -0.5 / (sigma * sigma);
  var acc = vec3f(0.0);
  var total = 0.0;
  for (var dy = -r; dy <= r; dy += stride) {
    let y = clamp(i32(at.z) + dy, 0, h - 1);
    let wy = exp(k * f32(dy * dy));
    for (var dx = -r; dx <= r; dx += stride) {
      let x = clamp(i32(at.y) + dx, 0, w - 1);
      let wt = wy * exp(k * f32(dx * dx));
      acc += wt * pixel_rgb(first + u32(y * w + x));
      total += wt;
    }
  }
  return acc / total;
}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let b = linear_id(gid, nwg, 64u);
  if (b >= params.n_rays) { return; }
  let total = params.total;
  // Rejection sampling: up to 16 draws until a ray that passed filtering; the last draw is kept
  // otherwise (a ray through empty space only teaches background).
  var idx = 0u;
  for (var t = 0u; t < 16u; t++) {
    idx = pcg(pcg(params.seed * 16u + t) ^ pcg(b + 0x9e3779b9u)) % total;
    if (params.use_valid == 0u || (valid[idx >> 5u] & (1u << (idx & 31u))) != 0u) { break; }
  }
  let at = pixel_view(idx, params.n_images);
  var ray = camera_ray(cams[at.x], f32(at.y), f32(at.z));
  var rgb = pixel_rgb(idx);
  if (params.blur_frac > 0.0) { rgb = blurred_rgb(at); }
  var weight = 1.0;
  if (params.use_edges == 1u) { weight = select(params.rest_w, params.edge_w, (edges[idx >> 5u] & (1u << (idx & 31u))) != 0u); }
  ray.rgb = vec4f(rgb, weight);
  ray.o.w = f32(at.x);
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
