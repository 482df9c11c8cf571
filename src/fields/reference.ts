// Plain f64 TypeScript reference of the field pipeline: TensoRF's sampling, VM/CP features,
// softplus opacity, compositing and shading, straight from the notes (1.2, 1.7, 2.1). Tests
// compare the GPU kernels with it and take finite differences of it to check every gradient.
import { type Box, type Vec3, gridUnits, rayBoxSpan, samplesPerRay, slotDims, stepSize } from './geometry.ts';
import { shadingForwardRef, type MlpWeights } from './shading-ref.ts';
import { idwWeights, latticeCandidates, levelLineSamples } from './strivec.ts';
import type { FieldSettings } from './tensorf.ts';

export interface RefModel {
  settings: FieldSettings;
  box: Box;
  grid: Vec3;
  values: Map<string, ArrayLike<number>>;
}

export interface RefRay {
  o: Vec3;
  d: Vec3;
  rgb: Vec3;
}

/** Linear tap of component r of a channels-last line [n][k] starting at `offset`. */
function lin(v: ArrayLike<number>, x: number, n: number, k: number, r: number, offset = 0): number {
  const x0 = Math.min(Math.max(Math.floor(x), 0), n - 2);
  const t = x - x0;
  return (1 - t) * v[offset + x0 * k + r]! + t * v[offset + (x0 + 1) * k + r]!;
}

function bilin(v: ArrayLike<number>, x: number, y: number, w: number, h: number, k: number, r: number): number {
  const x0 = Math.min(Math.max(Math.floor(x), 0), w - 2);
  const y0 = Math.min(Math.max(Math.floor(y), 0), h - 2);
  const tx = x - x0;
  const ty = y - y0;
  const at = (xx: number, yy: number) => v[(yy * w + xx) * k + r]!;
  return (1 - ty) * ((1 - tx) * at(x0, y0) + tx * at(x0 + 1, y0)) + ty * ((1 - tx) * at(x0, y0 + 1) + tx * at(x0 + 1, y0 + 1));
}

const slotCoords = (m: number, u: Vec3): Vec3 => (m === 0 ? [u[0], u[1], u[2]] : m === 1 ? [u[0], u[2], u[1]] : [u[1], u[2], u[0]]);

/**
 * Strivec's component values of one level at grid coordinates u: the IDW blend of the nearest
 * covering tensors' CP components (notes 3.4), or null where no tensor of the level covers u.
 */
function refLevelComponents(model: RefModel, family: 'density' | 'app', l: number, u: Vec3, count: number): number[] | null {
  const { settings: st, box, grid, values } = model;
  const lv = st.levels![l]!;
  const units = gridUnits(box, grid);
  const p = u.map((g, a) => box.lo[a]! + g * units[a]!) as Vec3;
  const cands = latticeCandidates(lv, values.get(`lattice.level${l}`)!, p);
  if (!cands.length) return null;
  const w = idwWeights(cands);
  const k = (family === 'density' ? st.densityComps : st.appComps)[l]!;
  const len = levelLineSamples(lv, box, grid);
  const half = lv.halfSize / lv.spacing;
  const V = values.get(`${family}.level${l}`)!;
  const out = new Array<number>(count).fill(0);
  cands.forEach((c, ci) => {
    const x = c.local.map((q) => ((q + half) / (2 * half)) * (len - 1));
    for (let r = 0; r < count; r++) {
      let g = 1;
      for (let a = 0; a < 3; a++) g *= lin(V, x[a]!, len, k, r, (c.tensor * 3 + a) * len * k);
      out[r]! += w[ci]! * g;
    }
  });
  return out;
}

/** Density feature of a point outside some Strivec level's tensors (the kernels' UNCOVERED). */
const UNCOVERED = -1e30;

/** Density feature at grid coordinates u (before the shift). */
export function refDensityFeature(model: RefModel, u: Vec3, active?: number[]): number {
  const { settings: st, grid, values } = model;
  let f = 0;
  if (st.kind === 'strivec') {
    for (let l = 0; l < st.levels!.length; l++) {
      const c = refLevelComponents(model, 'density', l, u, active?.[l] ?? st.densityComps[l]!);
      if (!c) return UNCOVERED;
      f += c.reduce((a, b) => a + b, 0);
    }
  } else if (st.kind === 'vm') {
    for (let m = 0; m < 3; m++) {
      const [w, h, l] = slotDims(m, grid);
      const c = slotCoords(m, u);
      const k = st.densityComps[m]!;
      const P = values.get(`density.plane${m}`)!;
      const L = values.get(`density.line${m}`)!;
      for (let r = 0; r < (active?.[m] ?? k); r++) f += bilin(P, c[0], c[1], w, h, k, r) * lin(L, c[2], l, k, r);
    }
  } else {
    const k = st.densityComps[0]!;
    const [L0, L1, L2] = [0, 1, 2].map((m) => values.get(`density.line${m}`)!);
    for (let r = 0; r < (active?.[0] ?? k); r++) {
      f += lin(L0!, u[2], grid[2], k, r) * lin(L1!, u[1], grid[1], k, r) * lin(L2!, u[0], grid[0], k, r);
    }
  }
  return f;
}

/** Appearance component vector at u (slot-major, width = sum of appearance components). */
export function refAppComponents(model: RefModel, u: Vec3): number[] {
  const { settings: st, grid, values } = model;
  const out: number[] = [];
  if (st.kind === 'strivec') {
    st.levels!.forEach((_, l) => out.push(...(refLevelComponents(model, 'app', l, u, st.appComps[l]!) ?? new Array<number>(st.appComps[l]!).fill(0))));
  } else if (st.kind === 'vm') {
    for (let m = 0; m < 3; m++) {
      const [w, h, l] = slotDims(m, grid);
      const c = slotCoords(m, u);
      const k = st.appComps[m]!;
      const P = values.get(`app.plane${m}`)!;
      const L = values.get(`app.line${m}`)!;
      for (let r = 0; r < k; r++) out.push(bilin(P, c[0], c[1], w, h, k, r) * lin(L, c[2], l, k, r));
    }
  } else {
    const k = st.appComps[0]!;
    const [L0, L1, L2] = [0, 1, 2].map((m) => values.get(`app.line${m}`)!);
    for (let r = 0; r < k; r++) out.push(lin(L0!, u[2], grid[2], k, r) * lin(L1!, u[1], grid[1], k, r) * lin(L2!, u[0], grid[0], k, r));
  }
  return out;
}

const softplus = (x: number) => (x > 20 ? x : Math.log1p(Math.exp(x)));

/** Tolerance of the inside-the-box test, as in the sampling kernel (shaders/rays.ts). */
export const INSIDE_EPS = 1e-5;

/**
 * Samples of one ray (no jitter, no mask): grid coordinates and segment length. `margin` widens
 * (or, negative, narrows) the inside test, so tests can find rays with samples on a box face.
 */
export function refSamples(model: RefModel, ray: RefRay, near: number, far: number, margin = INSIDE_EPS): { u: Vec3; delta: number }[] {
  const { box, grid, settings } = model;
  const step = stepSize(box, grid, settings.stepRatio);
  const n = samplesPerRay(grid, settings.stepRatio);
  const units = gridUnits(box, grid);
  const t0 = Math.min(Math.max(rayBoxSpan(ray.o, ray.d, box).enter, near), far);
  const out: { u: Vec3; delta: number }[] = [];
  for (let k = 0; k < n; k++) {
    const t = t0 + step * k;
    const p = [0, 1, 2].map((a) => ray.o[a]! + ray.d[a]! * t);
    if (p.some((v, a) => v < box.lo[a]! - margin || v > box.hi[a]! + margin)) continue;
    out.push({ u: p.map((v, a) => (v - box.lo[a]!) / units[a]!) as Vec3, delta: k === n - 1 ? 0 : step });
  }
  return out;
}

function mlpWeights(values: Map<string, ArrayLike<number>>): MlpWeights | null {
  if (!values.has('mlp.w0')) return null;
  const g = (n: string) => values.get(n)!;
  return { w0: g('mlp.w0'), b0: g('mlp.b0'), w1: g('mlp.w1'), b1: g('mlp.b1'), w2: g('mlp.w2'), b2: g('mlp.b2') };
}

/**
 * Colour and per-ray loss (squared error / 3) of each ray, composited on `bg`, with the
 * accumulated opacity and the expected depth Σ w t (not divided by the accumulation).
 */
export function refRender(model: RefModel, rays: RefRay[], bg: number, near: number, far: number): { rgb: Vec3[]; loss: number[]; acc: number[]; depth: number[] } {
  const st = model.settings;
  const D = st.shading.appDim;
  const basis = model.values.get('basis')!;
  const weights = mlpWeights(model.values);
  const rgbs: Vec3[] = [];
  const losses: number[] = [];
  const accs: number[] = [];
  const depths: number[] = [];
  const units = gridUnits(model.box, model.grid);
  for (const ray of rays) {
    let T = 1;
    let acc = 0;
    let depth = 0;
    const c = [0, 0, 0];
    for (const s of refSamples(model, ray, near, far)) {
      const sigma = softplus(refDensityFeature(model, s.u) + st.densityShift);
      const alpha = 1 - Math.exp(-sigma * s.delta * st.distanceScale);
      const w = alpha * T;
      acc += w;
      const p = s.u.map((g, a) => model.box.lo[a]! + g * units[a]!);
      depth += w * p.reduce((sum, v, a) => sum + (v - ray.o[a]!) * ray.d[a]!, 0);
      if (w > st.rayMarchWeightThres) {
        const a = refAppComponents(model, s.u);
        const feat = Array.from({ length: D }, (_, o) => a.reduce((sum, v, i) => sum + basis[o * a.length + i]! * v, 0));
        const rgb = shadingForwardRef(st.shading, weights, 1, feat, [...ray.d, 0]);
        for (let ch = 0; ch < 3; ch++) c[ch]! += w * rgb[ch]!;
      }
      T *= 1 - alpha + 1e-10;
    }
    const col = c.map((v) => Math.min(1, Math.max(0, v + (1 - acc) * bg))) as Vec3;
    rgbs.push(col);
    losses.push(col.reduce((s, v, ch) => s + (v - ray.rgb[ch]!) ** 2, 0) / 3);
    accs.push(acc);
    depths.push(depth);
  }
  return { rgb: rgbs, loss: losses, acc: accs, depth: depths };
}
