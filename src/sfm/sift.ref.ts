// SIFT features (Lowe 2004, in VLFeat's formulation that COLMAP uses) in f64 TypeScript: a
// Gaussian scale space of `levels` scales per octave, extrema of its difference of Gaussians
// refined to sub-pixel and sub-scale position (quadratic fit, contrast and edge checks), up to four
// orientations from a 36-bin gradient histogram, and the 4×4×8 gradient-histogram descriptor
// (clamped at 0.2), normalised as RootSIFT (L1, square root). Keypoints are in continuous image
// coordinates, pixel centres at +0.5, as the rest of the engine takes them.

export interface SiftOptions {
  /** Scales per octave (COLMAP's octave_resolution). */
  levels?: number;
  /** −1 upsamples the image twice first (more, smaller features), 0 starts at its size. */
  firstOctave?: number;
  /** Blur of the first level, in its octave's pixels. */
  sigma0?: number;
  /** Minimum |DoG| of a kept extremum (COLMAP's 0.02 / octave_resolution). */
  peakThreshold?: number;
  /** Maximum ratio of principal curvatures (COLMAP's edge_threshold). */
  edgeThreshold?: number;
  /** The strongest this many (by |DoG|) are kept. */
  maxFeatures?: number;
}

export interface Features {
  /** Per keypoint: x, y (continuous pixels), scale (σ in image pixels), orientation (radians, image axes: x right, y down). */
  keypoints: Float32Array;
  /** Per keypoint 128 RootSIFT values (unit L2 norm). */
  descriptors: Float32Array;
  count: number;
}

/** A grey image in [0, 1], row-major. */
export interface GreyImage {
  width: number;
  height: number;
  data: Float64Array;
}

export function greyOf(rgba: Uint8Array, width: number, height: number): GreyImage {
  const data = new Float64Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = (0.299 * rgba[i * 4]! + 0.587 * rgba[i * 4 + 1]! + 0.114 * rgba[i * 4 + 2]!) / 255;
  return { width, height, data };
}

export const SIFT_DEFAULTS = { levels: 3, firstOctave: -1, sigma0: 1.6, edgeThreshold: 10, maxFeatures: 2048 };
const DEFAULTS = SIFT_DEFAULTS;
/** The blur a photo is assumed to come with (Lowe's 0.5 pixel). */
export const NOMINAL_BLUR = 0.5;
const ORIENTATION_BINS = 36;
const MAX_ORIENTATIONS = 4;

/** Half-width of a Gaussian kernel of σ: 4σ, as VLFeat's. */
export const kernelRadius = (sigma: number): number => Math.ceil(4 * sigma);

/** A normalised Gaussian kernel of σ, 2·radius + 1 taps. */
export function gaussianKernel(sigma: number): Float64Array {
  const r = kernelRadius(sigma);
  const k = new Float64Array(2 * r + 1);
  let s = 0;
  for (let i = -r; i <= r; i++) s += k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i]! /= s;
  return k;
}

/** Separable Gaussian blur with clamped edges. */
export function blurRef(img: GreyImage, sigma: number): GreyImage {
  const { width: w, height: h } = img;
  const k = gaussianKernel(sigma);
  const r = (k.length - 1) / 2;
  const tmp = new Float64Array(w * h);
  const out = new Float64Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let i = -r; i <= r; i++) s += k[i + r]! * img.data[y * w + Math.min(w - 1, Math.max(0, x + i))]!;
      tmp[y * w + x] = s;
    }
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let i = -r; i <= r; i++) s += k[i + r]! * tmp[Math.min(h - 1, Math.max(0, y + i)) * w + x]!;
      out[y * w + x] = s;
    }
  return { width: w, height: h, data: out };
}

/** The image twice the size, bilinear (pixel j samples the original at index j / 2). */
function upsample(img: GreyImage): GreyImage {
  const w = img.width * 2;
  const h = img.height * 2;
  const out = new Float64Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const sx = x / 2;
      const sy = y / 2;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const x1 = Math.min(img.width - 1, x0 + 1);
      const y1 = Math.min(img.height - 1, y0 + 1);
      const fx = sx - x0;
      const fy = sy - y0;
      const at = (xx: number, yy: number) => img.data[yy * img.width + xx]!;
      out[y * w + x] = (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x1, y0)) + fy * ((1 - fx) * at(x0, y1) + fx * at(x1, y1));
    }
  return { width: w, height: h, data: out };
}

/** Every other pixel from the first (octave pixel i is pixel 2i of the finer octave). */
function downsample(img: GreyImage): GreyImage {
  const w = Math.floor((img.width + 1) / 2);
  const h = Math.floor((img.height + 1) / 2);
  const out = new Float64Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[y * w + x] = img.data[2 * y * img.width + 2 * x]!;
  return { width: w, height: h, data: out };
}

/** One octave of the scale space: levels + 3 Gaussian images and their levels + 2 differences. */
export interface Octave {
  /** The octave's index: its pixels are 2^o image pixels. */
  o: number;
  gauss: GreyImage[];
  dog: GreyImage[];
}

/** The increments of blur from level s − 1 to level s of an octave, in its pixels. */
export function levelIncrements(levels: number, sigma0: number): number[] {
  const sigma = (s: number) => sigma0 * 2 ** (s / levels);
  return Array.from({ length: levels + 3 }, (_, s) => (s === 0 ? 0 : Math.sqrt(sigma(s) ** 2 - sigma(s - 1) ** 2)));
}

/** The octaves of an image's scale space, down to 16 pixels on the short side. */
export function scaleSpaceRef(image: GreyImage, opts: SiftOptions = {}): Octave[] {
  const levels = opts.levels ?? DEFAULTS.levels;
  const first = opts.firstOctave ?? DEFAULTS.firstOctave;
  const sigma0 = opts.sigma0 ?? DEFAULTS.sigma0;
  let base = first < 0 ? upsample(image) : image;
  // The first level has σ0 in its octave's pixels; the photo's own blur counts towards it.
  const had = NOMINAL_BLUR * 2 ** -first;
  base = sigma0 > had ? blurRef(base, Math.sqrt(sigma0 * sigma0 - had * had)) : base;
  const inc = levelIncrements(levels, sigma0);
  const octaves: Octave[] = [];
  for (let o = first; Math.min(base.width, base.height) >= 16; o++) {
    const gauss = [base];
    for (let s = 1; s < levels + 3; s++) gauss.push(blurRef(gauss[s - 1]!, inc[s]!));
    const dog = gauss.slice(1).map((g, s) => ({ width: g.width, height: g.height, data: g.data.map((v, i) => v - gauss[s]!.data[i]!) }));
    octaves.push({ o, gauss, dog });
    base = downsample(gauss[levels]!);
  }
  return octaves;
}

/** A refined extremum in its octave: sub-pixel x, y, sub-level s, and the DoG there. */
export interface Extremum {
  octave: number;
  x: number;
  y: number;
  s: number;
  value: number;
}

/** Pixels this far from an octave's border are not searched (the refinement's and the gradients' reach). */
export const BORDER = 5;

/** Refined extrema of one octave's DoG (levels 1 … levels), VLFeat's checks. */
export function extremaRef(oct: Octave, opts: SiftOptions = {}): Extremum[] {
  const levels = opts.levels ?? DEFAULTS.levels;
  const peak = opts.peakThreshold ?? 0.02 / levels;
  const edge = opts.edgeThreshold ?? DEFAULTS.edgeThreshold;
  const { width: w, height: h } = oct.dog[0]!;
  const D = (s: number, x: number, y: number) => oct.dog[s]!.data[y * w + x]!;
  const out: Extremum[] = [];
  for (let s = 1; s <= levels; s++) {
    for (let y = BORDER; y < h - BORDER; y++) {
      for (let x = BORDER; x < w - BORDER; x++) {
        const v = D(s, x, y);
        if (Math.abs(v) < 0.8 * peak) continue;
        let isMax = true;
        let isMin = true;
        for (let ds = -1; ds <= 1; ds++)
          for (let dy = -1; dy <= 1; dy++)
            for (let dx = -1; dx <= 1; dx++) {
              if (ds === 0 && dy === 0 && dx === 0) continue;
              const u = D(s + ds, x + dx, y + dy);
              if (u >= v) isMax = false;
              if (u <= v) isMin = false;
            }
        if (!isMax && !isMin) continue;
        const e = refineExtremum(D, w, h, levels, x, y, s, peak, edge);
        if (e) out.push({ octave: oct.o, ...e });
      }
    }
  }
  return out;
}

/**
 * Sub-pixel, sub-level position of an extremum by Newton steps on the DoG's quadratic model,
 * moving to a neighbouring pixel while the offset exceeds 0.6 (at most 5 moves, as VLFeat); null
 * where it leaves the octave, its contrast is under `peak` or it lies on an edge.
 */
export function refineExtremum(
  D: (s: number, x: number, y: number) => number,
  w: number,
  h: number,
  levels: number,
  x0: number,
  y0: number,
  s: number,
  peak: number,
  edge: number,
): { x: number; y: number; s: number; value: number } | null {
  let x = x0;
  let y = y0;
  let off = [0, 0, 0];
  let g = [0, 0, 0];
  let H: number[] = [];
  for (let iter = 0; iter < 5; iter++) {
    const v = D(s, x, y);
    g = [(D(s, x + 1, y) - D(s, x - 1, y)) / 2, (D(s, x, y + 1) - D(s, x, y - 1)) / 2, (D(s + 1, x, y) - D(s - 1, x, y)) / 2];
    const dxx = D(s, x + 1, y) + D(s, x - 1, y) - 2 * v;
    const dyy = D(s, x, y + 1) + D(s, x, y - 1) - 2 * v;
    const dss = D(s + 1, x, y) + D(s - 1, x, y) - 2 * v;
    const dxy = (D(s, x + 1, y + 1) + D(s, x - 1, y - 1) - D(s, x - 1, y + 1) - D(s, x + 1, y - 1)) / 4;
    const dxs = (D(s + 1, x + 1, y) + D(s - 1, x - 1, y) - D(s - 1, x + 1, y) - D(s + 1, x - 1, y)) / 4;
    const dys = (D(s + 1, x, y + 1) + D(s - 1, x, y - 1) - D(s - 1, x, y + 1) - D(s + 1, x, y - 1)) / 4;
    H = [dxx, dxy, dxs, dxy, dyy, dys, dxs, dys, dss];
    off = solveSymmetric3(
      H,
      g.map((a) => -a),
    );
    // Move to the neighbour the offset points at, and fit again there.
    const mx = off[0]! > 0.6 && x < w - BORDER - 1 ? 1 : off[0]! < -0.6 && x > BORDER ? -1 : 0;
    const my = off[1]! > 0.6 && y < h - BORDER - 1 ? 1 : off[1]! < -0.6 && y > BORDER ? -1 : 0;
    if (mx === 0 && my === 0) break;
    x += mx;
    y += my;
  }
  if (!off.every(Number.isFinite) || Math.abs(off[0]!) > 1.5 || Math.abs(off[1]!) > 1.5 || Math.abs(off[2]!) > 1.5) return null;
  const value = D(s, x, y) + 0.5 * (g[0]! * off[0]! + g[1]! * off[1]! + g[2]! * off[2]!);
  if (Math.abs(value) < peak) return null;
  const det = H[0]! * H[4]! - H[1]! * H[1]!;
  const tr = H[0]! + H[4]!;
  if (!(det > 0) || (tr * tr) / det >= ((edge + 1) * (edge + 1)) / edge) return null;
  const ss = s + off[2]!;
  if (ss < 0 || ss > levels + 1) return null;
  return { x: x + off[0]!, y: y + off[1]!, s: ss, value };
}

/** x with A x = b for a symmetric 3×3 A (Cramer's rule; NaN where singular). */
function solveSymmetric3(A: number[], b: number[]): number[] {
  const det3 = (m: number[]) => m[0]! * (m[4]! * m[8]! - m[5]! * m[7]!) - m[1]! * (m[3]! * m[8]! - m[5]! * m[6]!) + m[2]! * (m[3]! * m[7]! - m[4]! * m[6]!);
  const d = det3(A);
  return [0, 1, 2].map((c) => {
    const m = [...A];
    for (let r = 0; r < 3; r++) m[r * 3 + c] = b[r]!;
    return det3(m) / d;
  });
}

/** The gradient (magnitude, angle in [0, 2π)) of a Gaussian level at a pixel, by central differences (clamped). */
function gradientAt(img: GreyImage, x: number, y: number): [number, number] {
  const { width: w, height: h, data } = img;
  const at = (xx: number, yy: number) => data[Math.min(h - 1, Math.max(0, yy)) * w + Math.min(w - 1, Math.max(0, xx))]!;
  const gx = 0.5 * (at(x + 1, y) - at(x - 1, y));
  const gy = 0.5 * (at(x, y + 1) - at(x, y - 1));
  let a = Math.atan2(gy, gx);
  if (a < 0) a += 2 * Math.PI;
  return [Math.hypot(gx, gy), a];
}

/**
 * Every pixel of the (2W + 1)² window around an extremum, inside the level's border: its offset
 * from the extremum (rx, ry) and its gradient's magnitude and angle. The orientation histogram and
 * the descriptor both sum over it.
 */
function forEachGradient(img: GreyImage, e: Extremum, W: number, visit: (rx: number, ry: number, mag: number, ang: number) => void): void {
  const xi = Math.round(e.x);
  const yi = Math.round(e.y);
  for (let dy = -W; dy <= W; dy++) {
    for (let dx = -W; dx <= W; dx++) {
      const x = xi + dx;
      const y = yi + dy;
      if (x < 1 || y < 1 || x > img.width - 2 || y > img.height - 2) continue;
      const [mag, ang] = gradientAt(img, x, y);
      visit(x - e.x, y - e.y, mag, ang);
    }
  }
}

/** σ of a keypoint at sub-level s, in its octave's pixels. */
export const sigmaAt = (s: number, levels: number, sigma0: number) => sigma0 * 2 ** (s / levels);

/** Up to four orientations of an extremum: peaks of its smoothed 36-bin histogram within 80% of the highest. */
export function orientationsRef(oct: Octave, e: Extremum, opts: SiftOptions = {}): number[] {
  const levels = opts.levels ?? DEFAULTS.levels;
  const sigma0 = opts.sigma0 ?? DEFAULTS.sigma0;
  const img = oct.gauss[Math.min(levels + 2, Math.max(0, Math.round(e.s)))]!;
  const sigmaW = 1.5 * sigmaAt(e.s, levels, sigma0);
  const W = Math.floor(3 * sigmaW);
  const hist = new Float64Array(ORIENTATION_BINS);
  forEachGradient(img, e, W, (rx, ry, mag, ang) => {
    const r2 = rx * rx + ry * ry;
    if (r2 > W * W + 0.6) return;
    const wgt = Math.exp(-r2 / (2 * sigmaW * sigmaW));
    const fbin = (ORIENTATION_BINS * ang) / (2 * Math.PI) - 0.5;
    const b0 = Math.floor(fbin);
    const frac = fbin - b0;
    hist[(b0 + ORIENTATION_BINS) % ORIENTATION_BINS] += (1 - frac) * wgt * mag;
    hist[(b0 + 1 + ORIENTATION_BINS) % ORIENTATION_BINS] += frac * wgt * mag;
  });
  for (let it = 0; it < 6; it++) {
    const prev = Float64Array.from(hist);
    for (let i = 0; i < ORIENTATION_BINS; i++)
      hist[i] = (prev[(i + ORIENTATION_BINS - 1) % ORIENTATION_BINS]! + prev[i]! + prev[(i + 1) % ORIENTATION_BINS]!) / 3;
  }
  let max = 0;
  for (const v of hist) max = Math.max(max, v);
  const angles: number[] = [];
  for (let i = 0; i < ORIENTATION_BINS && angles.length < MAX_ORIENTATIONS; i++) {
    const h0 = hist[i]!;
    const hm = hist[(i + ORIENTATION_BINS - 1) % ORIENTATION_BINS]!;
    const hp = hist[(i + 1) % ORIENTATION_BINS]!;
    if (h0 > 0.8 * max && h0 > hm && h0 > hp) {
      const di = (-0.5 * (hp - hm)) / (hp + hm - 2 * h0);
      const th = ((2 * Math.PI * (i + di + 0.5)) / ORIENTATION_BINS) % (2 * Math.PI);
      angles.push(th < 0 ? th + 2 * Math.PI : th);
    }
  }
  return angles;
}

/** Descriptor geometry: 4×4 spatial bins of 8 orientations, each spatial bin 3σ wide (VLFeat's magnification). */
const NBP = 4;
const NBO = 8;
const MAGNIFICATION = 3;

/** The 128-value RootSIFT descriptor of an oriented keypoint. */
export function descriptorRef(oct: Octave, e: Extremum, angle: number, opts: SiftOptions = {}): Float64Array {
  const levels = opts.levels ?? DEFAULTS.levels;
  const sigma0 = opts.sigma0 ?? DEFAULTS.sigma0;
  const img = oct.gauss[Math.min(levels + 2, Math.max(0, Math.round(e.s)))]!;
  const sbp = MAGNIFICATION * sigmaAt(e.s, levels, sigma0);
  const W = Math.floor(Math.SQRT2 * sbp * (NBP + 1) * 0.5 + 0.5);
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const desc = new Float64Array(NBP * NBP * NBO);
  forEachGradient(img, e, W, (rx, ry, mag, ang) => {
    // Into the keypoint's frame, in bins.
    const nx = (c * rx + s * ry) / sbp;
    const ny = (-s * rx + c * ry) / sbp;
    let th = ang - angle;
    th = ((th % (2 * Math.PI)) + 2 * Math.PI) % (2 * Math.PI);
    const wgt = Math.exp(-(nx * nx + ny * ny) / (2 * (NBP / 2) ** 2));
    const bx = nx + NBP / 2 - 0.5;
    const by = ny + NBP / 2 - 0.5;
    const bo = (NBO * th) / (2 * Math.PI);
    const x0 = Math.floor(bx);
    const y0 = Math.floor(by);
    const o0 = Math.floor(bo);
    const fx = bx - x0;
    const fy = by - y0;
    const fo = bo - o0;
    for (let ix = 0; ix < 2; ix++) {
      const X = x0 + ix;
      if (X < 0 || X >= NBP) continue;
      const wx = ix ? fx : 1 - fx;
      for (let iy = 0; iy < 2; iy++) {
        const Y = y0 + iy;
        if (Y < 0 || Y >= NBP) continue;
        const wy = iy ? fy : 1 - fy;
        for (let io = 0; io < 2; io++) {
          const O = (o0 + io) % NBO;
          const wo = io ? fo : 1 - fo;
          desc[(Y * NBP + X) * NBO + O] += mag * wgt * wx * wy * wo;
        }
      }
    }
  });
  return rootSift(desc);
}

/** Lowe's normalisation (unit L2, clamped at 0.2, unit L2 again), then RootSIFT (unit L1, square root). */
export function rootSift(desc: Float64Array): Float64Array {
  const l2 = (d: Float64Array) => Math.sqrt(d.reduce((a, v) => a + v * v, 0)) || 1;
  let n = l2(desc);
  for (let i = 0; i < desc.length; i++) desc[i] = Math.min(0.2, desc[i]! / n);
  n = l2(desc);
  for (let i = 0; i < desc.length; i++) desc[i]! /= n;
  const l1 = desc.reduce((a, v) => a + Math.abs(v), 0) || 1;
  for (let i = 0; i < desc.length; i++) desc[i] = Math.sqrt(desc[i]! / l1);
  return desc;
}

/** The image's features: every octave's extrema, the strongest `maxFeatures`, with their orientations and descriptors. */
export function siftRef(image: GreyImage, opts: SiftOptions = {}): Features {
  const levels = opts.levels ?? DEFAULTS.levels;
  const sigma0 = opts.sigma0 ?? DEFAULTS.sigma0;
  const octaves = scaleSpaceRef(image, opts);
  const extrema = octaves.flatMap((oct, i) => extremaRef(oct, opts).map((e) => ({ e, i })));
  const kept = selectStrongest(
    extrema.map(({ e }) => e),
    opts.maxFeatures ?? DEFAULTS.maxFeatures,
  );
  const kps: number[] = [];
  const descs: number[] = [];
  for (const k of kept) {
    const { e, i } = extrema[k]!;
    const oct = octaves[i]!;
    for (const angle of orientationsRef(oct, e, opts)) {
      kps.push(...keypointOf(e, angle, levels, sigma0));
      descs.push(...descriptorRef(oct, e, angle, opts));
    }
  }
  return { keypoints: Float32Array.from(kps), descriptors: Float32Array.from(descs), count: kps.length / 4 };
}

/** An oriented extremum as a keypoint: x, y in the image's continuous pixels, σ in its pixels, the angle. */
export function keypointOf(e: Extremum, angle: number, levels: number, sigma0: number): [number, number, number, number] {
  const scale = 2 ** e.octave;
  return [(e.x + 0.5 / scale) * scale, (e.y + 0.5 / scale) * scale, sigmaAt(e.s, levels, sigma0) * scale, angle];
}

/** Indices of the `max` extrema of largest |DoG| (ties: coarser octave, then position), in that order. */
export function selectStrongest(extrema: readonly Extremum[], max: number): number[] {
  const order = extrema.map((_, i) => i);
  order.sort((a, b) => {
    const ea = extrema[a]!;
    const eb = extrema[b]!;
    return Math.abs(eb.value) - Math.abs(ea.value) || eb.octave - ea.octave || ea.y - eb.y || ea.x - eb.x || ea.s - eb.s;
  });
  return order.slice(0, max);
}
