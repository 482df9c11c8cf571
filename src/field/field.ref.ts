// Plain f64 TypeScript reference of the field pipeline: TensoRF's sampling, the factor layouts'
// features (each layout's refComponents), softplus opacity, compositing and shading, straight from
// the notes (1.2, 1.7, 2.1). Tests compare the GPU kernels with it and take finite differences of
// it to check every gradient.
import { type MlpWeights, shadingForwardRef } from '../shading/shading.ref.ts';
import { gridUnits, isWarped, marchStart, marchStep, rayBoxSpan, samplesPerRay, stepSize, toField, toWorld, type Vec3 } from './geometry.ts';
import { layoutOf } from './layout.ts';
import type { FieldModel } from './settings.ts';

export type RefModel = FieldModel;

export interface RefRay {
  o: Vec3;
  d: Vec3;
  rgb: Vec3;
  /** The direction the shading sees, when it is not d (pose-gradient tests hold it fixed). */
  view?: Vec3;
}

/** Density feature of a point outside some slot's tensors (the kernels' UNCOVERED). */
const UNCOVERED = -1e30;

/** Density feature at grid coordinates u (before the shift); `active` limits the components per slot. */
export function refDensityFeature(model: RefModel, u: Vec3, active?: number[]): number {
  const st = model.settings;
  const layout = layoutOf(st.kind);
  let f = 0;
  // One component list per slot in every layout (CP: its one slot of three lines).
  for (let m = 0; m < st.densityComps.length; m++) {
    const c = layout.refComponents(model, 'density', m, u, active?.[m] ?? st.densityComps[m]!);
    if (!c) return UNCOVERED;
    for (const v of c) f += v;
  }
  return f;
}

/** Appearance component vector at u (slot-major, width = sum of appearance components). */
export function refAppComponents(model: RefModel, u: Vec3): number[] {
  const st = model.settings;
  const layout = layoutOf(st.kind);
  const out: number[] = [];
  st.appComps.forEach((k, m) => {
    out.push(...(layout.refComponents(model, 'app', m, u, k) ?? new Array<number>(k).fill(0)));
  });
  return out;
}

const softplus = (x: number) => (x > 20 ? x : Math.log1p(Math.exp(x)));

/** Tolerance of the inside-the-box test, as in the sampling kernel (rays/sample.wgsl.ts). */
export const INSIDE_EPS = 1e-5;

/**
 * Samples of one ray (no jitter, no mask): grid coordinates and segment length. `margin` widens
 * (or, negative, narrows) the inside test, so tests can find rays with samples on a box face.
 */
export function refSamples(model: RefModel, ray: RefRay, near: number, far: number, margin = INSIDE_EPS): { u: Vec3; delta: number }[] {
  const { box, grid, settings } = model;
  const warped = isWarped(settings);
  const step = stepSize(box, grid, settings.stepRatio);
  const n = samplesPerRay(grid, settings.stepRatio);
  const units = gridUnits(box, grid);
  // Bounded: from the box entry, evenly; warped (contracted or NDC): from the near plane (NDC's,
  // when that is further), with steps that grow with the distance.
  const t0 = warped ? marchStart(settings, ray.o, ray.d, near) : Math.min(Math.max(rayBoxSpan(ray.o, ray.d, box).enter, near), far);
  const out: { u: Vec3; delta: number }[] = [];
  let t = t0;
  for (let k = 0; k < n; k++) {
    if (!warped) t = t0 + step * k;
    else if (t > far) break;
    const w = [0, 1, 2].map((a) => ray.o[a]! + ray.d[a]! * t);
    const delta = marchStep(settings, w, step);
    t += delta;
    const p = toField(settings, w);
    if (p.some((v, a) => v < box.lo[a]! - margin || v > box.hi[a]! + margin)) continue;
    out.push({ u: p.map((v, a) => (v - box.lo[a]!) / units[a]!) as Vec3, delta: k === n - 1 ? 0 : delta });
  }
  return out;
}

/** Each sample's blend weight: its opacity times the transmittance before it. */
export function refBlendWeights(model: RefModel, samples: { u: Vec3; delta: number }[]): { u: Vec3; w: number }[] {
  const st = model.settings;
  let T = 1;
  return samples.map((s) => {
    const alpha = 1 - Math.exp(-softplus(refDensityFeature(model, s.u) + st.densityShift) * s.delta * st.distanceScale);
    const w = alpha * T;
    T *= 1 - alpha + 1e-10;
    return { u: s.u, w };
  });
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
export function refRender(
  model: RefModel,
  rays: RefRay[],
  bg: number,
  near: number,
  far: number,
  /** The samples of a ray: by default TensoRF's (refSamples); tests may hold them elsewhere. */
  samplesOf: (ray: RefRay) => { u: Vec3; delta: number }[] = (ray) => refSamples(model, ray, near, far),
): { rgb: Vec3[]; loss: number[]; acc: number[]; depth: number[] } {
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
    let acc = 0;
    let depth = 0;
    const c = [0, 0, 0];
    for (const { u, w } of refBlendWeights(model, samplesOf(ray))) {
      acc += w;
      const q = u.map((g, a) => model.box.lo[a]! + g * units[a]!);
      const p = toWorld(st, q);
      depth += w * p.reduce((sum, v, a) => sum + (v - ray.o[a]!) * ray.d[a]!, 0);
      if (w > st.rayMarchWeightThres) {
        const a = refAppComponents(model, u);
        const feat = Array.from({ length: D }, (_, o) => a.reduce((sum, v, i) => sum + basis[o * a.length + i]! * v, 0));
        const rgb = shadingForwardRef(st.shading, weights, 1, feat, [...(ray.view ?? ray.d), 0]);
        for (let ch = 0; ch < 3; ch++) c[ch]! += w * rgb[ch]!;
      }
    }
    const col = c.map((v) => Math.min(1, Math.max(0, v + (1 - acc) * bg))) as Vec3;
    rgbs.push(col);
    losses.push(col.reduce((s, v, ch) => s + (v - ray.rgb[ch]!) ** 2, 0) / 3);
    accs.push(acc);
    depths.push(depth);
  }
  return { rgb: rgbs, loss: losses, acc: accs, depth: depths };
}
