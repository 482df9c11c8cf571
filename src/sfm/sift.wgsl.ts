// SIFT on the GPU, kernel by kernel the twin of sift.ref.ts (f64 TypeScript): the scale space
// (upsampling, separable Gaussian blur with clamped edges, subsampling, differences of Gaussians),
// the DoG extrema with their sub-pixel, sub-level refinement and contrast and edge checks, the
// orientations of the kept extrema and their RootSIFT descriptors. An octave's Gaussian levels
// lie one after another in one buffer (level s at s·w·h), as do its DoG levels. Each thread sums
// its own values in a fixed order, so a run gives the same features bit for bit; extrema are
// appended in whatever order threads run and sorted on the host.
import { linearId } from '../gpu/wgsl.ts';

export const SIFT_WORKGROUP = 64;

/** Pixels an extremum keeps from its octave's border (the refinement's and the gradients' reach), as the reference's BORDER. */
export const SIFT_BORDER = 5;

const header = (params: string) => /* wgsl */ `
${linearId}
struct Params { ${params} }
@group(0) @binding(0) var<uniform> params: Params;
`;

/** Every kernel's entry: one thread an item, its index i. */
const entry = /* wgsl */ `@compute @workgroup_size(${SIFT_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, ${SIFT_WORKGROUP}u);`;

/** The image twice the size, bilinear: pixel j samples the source at index j / 2. */
export const upsampleWgsl = /* wgsl */ `
${header('w: u32, h: u32,')}
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
${entry}
  let W = params.w * 2u;
  if (i >= W * params.h * 2u) { return; }
  let x = i % W;
  let y = i / W;
  let x0 = x / 2u;
  let y0 = y / 2u;
  let x1 = min(params.w - 1u, x0 + 1u);
  let y1 = min(params.h - 1u, y0 + 1u);
  let fx = f32(x % 2u) * 0.5;
  let fy = f32(y % 2u) * 0.5;
  let w = params.w;
  dst[i] = (1.0 - fy) * ((1.0 - fx) * src[y0 * w + x0] + fx * src[y0 * w + x1]) + fy * ((1.0 - fx) * src[y1 * w + x0] + fx * src[y1 * w + x1]);
}
`;

/** One pass of the separable blur: along rows (axis 0) from src at src_at into dst at dst_at, or along columns (axis 1). */
export const blurWgsl = /* wgsl */ `
${header('w: u32, h: u32, radius: u32, axis: u32, src_at: u32, dst_at: u32,')}
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> taps: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
${entry}
  if (i >= params.w * params.h) { return; }
  let x = i32(i % params.w);
  let y = i32(i / params.w);
  let r = i32(params.radius);
  var s = 0.0;
  for (var k = -r; k <= r; k++) {
    var at: u32;
    if (params.axis == 0u) {
      at = u32(y) * params.w + u32(clamp(x + k, 0, i32(params.w) - 1));
    } else {
      at = u32(clamp(y + k, 0, i32(params.h) - 1)) * params.w + u32(x);
    }
    s += taps[u32(k + r)] * src[params.src_at + at];
  }
  dst[params.dst_at + i] = s;
}
`;

/** Every other pixel from the first, of the level at src_at of a w × h octave. */
export const downsampleWgsl = /* wgsl */ `
${header('w: u32, h: u32, src_at: u32,')}
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
${entry}
  let W = (params.w + 1u) / 2u;
  if (i >= W * ((params.h + 1u) / 2u)) { return; }
  dst[i] = src[params.src_at + 2u * (i / W) * params.w + 2u * (i % W)];
}
`;

/** An octave's differences of Gaussians: DoG level s is Gaussian level s + 1 less level s. */
export const dogWgsl = /* wgsl */ `
${header('n: u32, plane: u32,')}
@group(0) @binding(1) var<storage, read> gauss: array<f32>;
@group(0) @binding(2) var<storage, read_write> dog: array<f32>;
${entry}
  if (i >= params.n) { return; }
  dog[i] = gauss[i + params.plane] - gauss[i];
}
`;

/**
 * DoG extrema of levels 1 … levels of a w × h octave (strict among their 26 neighbours, |D| at
 * least 0.8 × peak), each refined as refineExtremum does: Newton steps on the quadratic model,
 * moving to the neighbour while the offset exceeds 0.6 (at most 5 moves); kept where the offset
 * stays within 1.5, the interpolated |D| reaches peak and the curvature ratio is under the edge
 * threshold. Appended as (x, y, s, D) in octave pixels.
 */
export const extremaWgsl = /* wgsl */ `
${header('w: u32, h: u32, levels: u32, capacity: u32, peak: f32, edge: f32,')}
@group(0) @binding(1) var<storage, read> dog: array<f32>;
@group(0) @binding(2) var<storage, read_write> found: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> count: array<atomic<u32>>;

const BORDER: i32 = ${SIFT_BORDER};

fn D(s: i32, x: i32, y: i32) -> f32 {
  return dog[(u32(s) * params.h + u32(y)) * params.w + u32(x)];
}

fn det3(m: array<f32, 9>) -> f32 {
  return m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
}

/** x with A x = b for a symmetric 3×3 A, by Cramer's rule (non-finite where singular). */
fn solve3(A: array<f32, 9>, b: vec3f) -> vec3f {
  let d = det3(A);
  var out = vec3f(0.0);
  for (var c = 0u; c < 3u; c++) {
    var m = A;
    m[c] = b.x;
    m[3u + c] = b.y;
    m[6u + c] = b.z;
    out[c] = det3(m) / d;
  }
  return out;
}

fn finite(v: f32) -> bool {
  return v == v && abs(v) <= 3.0e38;
}

${entry}
  let plane = params.w * params.h;
  if (i >= plane * params.levels) { return; }
  let s = i32(i / plane) + 1;
  let x0 = i32(i % params.w);
  let y0 = i32((i % plane) / params.w);
  let w = i32(params.w);
  let h = i32(params.h);
  if (x0 < BORDER || y0 < BORDER || x0 >= w - BORDER || y0 >= h - BORDER) { return; }
  let v0 = D(s, x0, y0);
  if (abs(v0) < 0.8 * params.peak) { return; }
  var is_max = true;
  var is_min = true;
  for (var ds = -1; ds <= 1; ds++) {
    for (var dy = -1; dy <= 1; dy++) {
      for (var dx = -1; dx <= 1; dx++) {
        if (ds == 0 && dy == 0 && dx == 0) { continue; }
        let u = D(s + ds, x0 + dx, y0 + dy);
        if (u >= v0) { is_max = false; }
        if (u <= v0) { is_min = false; }
      }
    }
  }
  if (!is_max && !is_min) { return; }

  var x = x0;
  var y = y0;
  var off = vec3f(0.0);
  var g = vec3f(0.0);
  var H = array<f32, 9>(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
  for (var iter = 0; iter < 5; iter++) {
    let v = D(s, x, y);
    g = vec3f((D(s, x + 1, y) - D(s, x - 1, y)) / 2.0, (D(s, x, y + 1) - D(s, x, y - 1)) / 2.0, (D(s + 1, x, y) - D(s - 1, x, y)) / 2.0);
    let dxx = D(s, x + 1, y) + D(s, x - 1, y) - 2.0 * v;
    let dyy = D(s, x, y + 1) + D(s, x, y - 1) - 2.0 * v;
    let dss = D(s + 1, x, y) + D(s - 1, x, y) - 2.0 * v;
    let dxy = (D(s, x + 1, y + 1) + D(s, x - 1, y - 1) - D(s, x - 1, y + 1) - D(s, x + 1, y - 1)) / 4.0;
    let dxs = (D(s + 1, x + 1, y) + D(s - 1, x - 1, y) - D(s - 1, x + 1, y) - D(s + 1, x - 1, y)) / 4.0;
    let dys = (D(s + 1, x, y + 1) + D(s - 1, x, y - 1) - D(s - 1, x, y + 1) - D(s + 1, x, y - 1)) / 4.0;
    H = array<f32, 9>(dxx, dxy, dxs, dxy, dyy, dys, dxs, dys, dss);
    off = solve3(H, -g);
    var mx = 0;
    if (off.x > 0.6 && x < w - BORDER - 1) { mx = 1; } else if (off.x < -0.6 && x > BORDER) { mx = -1; }
    var my = 0;
    if (off.y > 0.6 && y < h - BORDER - 1) { my = 1; } else if (off.y < -0.6 && y > BORDER) { my = -1; }
    if (mx == 0 && my == 0) { break; }
    x += mx;
    y += my;
  }
  if (!(finite(off.x) && finite(off.y) && finite(off.z)) || abs(off.x) > 1.5 || abs(off.y) > 1.5 || abs(off.z) > 1.5) { return; }
  let value = D(s, x, y) + 0.5 * dot(g, off);
  if (abs(value) < params.peak) { return; }
  let det = H[0] * H[4] - H[1] * H[1];
  let tr = H[0] + H[4];
  if (!(det > 0.0) || (tr * tr) / det >= ((params.edge + 1.0) * (params.edge + 1.0)) / params.edge) { return; }
  let ss = f32(s) + off.z;
  if (ss < 0.0 || ss > f32(params.levels) + 1.0) { return; }
  let k = atomicAdd(&count[0], 1u);
  if (k < params.capacity) { found[k] = vec4f(f32(x) + off.x, f32(y) + off.y, ss, value); }
}
`;

/** What the orientation and descriptor kernels share: a keypoint's level, σ and gradients. */
const gradients = /* wgsl */ `
const TAU: f32 = 6.283185307179586;

fn sigma_at(s: f32) -> f32 {
  return params.sigma0 * exp2(s / f32(params.levels));
}

/** The Gaussian level a keypoint at sub-level s reads (the nearest, within the octave). */
fn level_of(s: f32) -> u32 {
  return u32(clamp(floor(s + 0.5), 0.0, f32(params.levels + 2u)));
}

fn G(level: u32, x: i32, y: i32) -> f32 {
  let xx = clamp(x, 0, i32(params.w) - 1);
  let yy = clamp(y, 0, i32(params.h) - 1);
  return gauss[(level * params.h + u32(yy)) * params.w + u32(xx)];
}

/** The gradient's magnitude and angle in [0, 2π) by central differences. */
fn gradient_at(level: u32, x: i32, y: i32) -> vec2f {
  let gx = 0.5 * (G(level, x + 1, y) - G(level, x - 1, y));
  let gy = 0.5 * (G(level, x, y + 1) - G(level, x, y - 1));
  var a = atan2(gy, gx);
  if (a < 0.0) { a += TAU; }
  return vec2f(length(vec2f(gx, gy)), a);
}

fn inside(x: i32, y: i32) -> bool {
  return x >= 1 && y >= 1 && x <= i32(params.w) - 2 && y <= i32(params.h) - 2;
}
`;

/**
 * The (2W + 1)² window around the keypoint e (the nearest pixel to it at the centre), the pixels
 * inside the level's border only, as the reference's forEachGradient visits it: body runs with
 * the pixel x, y and its offset rx, ry from the keypoint.
 */
const windowLoop = (body: string) => /* wgsl */ `
  let xi = i32(floor(e.x + 0.5));
  let yi = i32(floor(e.y + 0.5));
  for (var dy = -W; dy <= W; dy++) {
    for (var dx = -W; dx <= W; dx++) {
      let x = xi + dx;
      let y = yi + dy;
      if (!inside(x, y)) { continue; }
      let rx = f32(x) - e.x;
      let ry = f32(y) - e.y;
${body}
    }
  }`;

export const ORIENTATION_BINS = 36;

/** Up to four orientations per extremum (x, y, s): peaks of the smoothed 36-bin histogram within 80% of its highest; unused slots −1. */
export const orientationWgsl = /* wgsl */ `
${header('w: u32, h: u32, levels: u32, n: u32, sigma0: f32,')}
@group(0) @binding(1) var<storage, read> gauss: array<f32>;
@group(0) @binding(2) var<storage, read> extrema: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> angles: array<vec4f>;
${gradients}
const BINS: i32 = ${ORIENTATION_BINS};

${entry}
  if (i >= params.n) { return; }
  let e = extrema[i];
  let level = level_of(e.z);
  let sigma_w = 1.5 * sigma_at(e.z);
  let W = i32(floor(3.0 * sigma_w));
  var hist: array<f32, ${ORIENTATION_BINS}>;
  ${windowLoop(`
      let r2 = rx * rx + ry * ry;
      if (r2 > f32(W * W) + 0.6) { continue; }
      let grad = gradient_at(level, x, y);
      let wgt = exp(-r2 / (2.0 * sigma_w * sigma_w));
      let fbin = f32(BINS) * grad.y / TAU - 0.5;
      let b0 = i32(floor(fbin));
      let frac = fbin - f32(b0);
      hist[(b0 + BINS) % BINS] += (1.0 - frac) * wgt * grad.x;
      hist[(b0 + 1 + BINS) % BINS] += frac * wgt * grad.x;
`)}
  for (var it = 0; it < 6; it++) {
    let prev = hist;
    for (var b = 0; b < BINS; b++) {
      hist[b] = (prev[(b + BINS - 1) % BINS] + prev[b] + prev[(b + 1) % BINS]) / 3.0;
    }
  }
  var top = 0.0;
  for (var b = 0; b < BINS; b++) { top = max(top, hist[b]); }
  var out = vec4f(-1.0);
  var k = 0;
  for (var b = 0; b < BINS && k < 4; b++) {
    let h0 = hist[b];
    let hm = hist[(b + BINS - 1) % BINS];
    let hp = hist[(b + 1) % BINS];
    if (h0 > 0.8 * top && h0 > hm && h0 > hp) {
      let di = (-0.5 * (hp - hm)) / (hp + hm - 2.0 * h0);
      var th = TAU * (f32(b) + di + 0.5) / f32(BINS);
      th = th - TAU * floor(th / TAU);
      out[k] = th;
      k++;
    }
  }
  angles[i] = out;
}
`;

/** The 4×4×8 descriptor of each oriented keypoint (x, y, s, angle), normalised as RootSIFT: 128 floats each. */
export const descriptorWgsl = /* wgsl */ `
${header('w: u32, h: u32, levels: u32, n: u32, sigma0: f32,')}
@group(0) @binding(1) var<storage, read> gauss: array<f32>;
@group(0) @binding(2) var<storage, read> keypoints: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> descriptors: array<f32>;
${gradients}
const NBP: i32 = 4;
const NBO: i32 = 8;

${entry}
  if (i >= params.n) { return; }
  let e = keypoints[i];
  let angle = e.w;
  let level = level_of(e.z);
  let sbp = 3.0 * sigma_at(e.z);
  let W = i32(floor(sqrt(2.0) * sbp * f32(NBP + 1) * 0.5 + 0.5));
  let c = cos(angle);
  let sn = sin(angle);
  var desc: array<f32, 128>;
  ${windowLoop(`
      let grad = gradient_at(level, x, y);
      let nx = (c * rx + sn * ry) / sbp;
      let ny = (-sn * rx + c * ry) / sbp;
      var th = grad.y - angle;
      th = th - TAU * floor(th / TAU);
      let wgt = exp(-(nx * nx + ny * ny) / (2.0 * f32(NBP * NBP) / 4.0));
      let bx = nx + f32(NBP) / 2.0 - 0.5;
      let by = ny + f32(NBP) / 2.0 - 0.5;
      let bo = f32(NBO) * th / TAU;
      let x0 = i32(floor(bx));
      let y0 = i32(floor(by));
      let o0 = i32(floor(bo));
      let fx = bx - f32(x0);
      let fy = by - f32(y0);
      let fo = bo - f32(o0);
      for (var ix = 0; ix < 2; ix++) {
        let X = x0 + ix;
        if (X < 0 || X >= NBP) { continue; }
        let wx = select(1.0 - fx, fx, ix == 1);
        for (var iy = 0; iy < 2; iy++) {
          let Y = y0 + iy;
          if (Y < 0 || Y >= NBP) { continue; }
          let wy = select(1.0 - fy, fy, iy == 1);
          for (var io = 0; io < 2; io++) {
            let O = (o0 + io) % NBO;
            let wo = select(1.0 - fo, fo, io == 1);
            desc[(Y * NBP + X) * NBO + O] += grad.x * wgt * wx * wy * wo;
          }
        }
      }
`)}
  // Lowe's normalisation (unit L2, clamped at 0.2, unit L2 again), then RootSIFT (unit L1, square root).
  var n2 = 0.0;
  for (var k = 0; k < 128; k++) { n2 += desc[k] * desc[k]; }
  var n = select(sqrt(n2), 1.0, n2 == 0.0);
  n2 = 0.0;
  for (var k = 0; k < 128; k++) { desc[k] = min(0.2, desc[k] / n); n2 += desc[k] * desc[k]; }
  n = select(sqrt(n2), 1.0, n2 == 0.0);
  var l1 = 0.0;
  for (var k = 0; k < 128; k++) { desc[k] = desc[k] / n; l1 += abs(desc[k]); }
  if (l1 == 0.0) { l1 = 1.0; }
  for (var k = 0; k < 128; k++) { descriptors[i * 128u + u32(k)] = sqrt(desc[k] / l1); }
}
`;
