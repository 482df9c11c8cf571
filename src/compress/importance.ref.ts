// f64 reference of the importance pass (importance.ts): the reference's samples and blend
// weights, each sample above the shading threshold adding its weight times every texel's
// interpolation weight (the layout's refTexelTaps).
import { type RefModel, type RefRay, refBlendWeights, refSamples } from '../field/field.ref.ts';
import { layoutOf } from '../field/layout.ts';

/** Each factor texel's importance over `rays` (no jitter, no mask), per segment. */
export function refTexelImportance(model: RefModel, rays: RefRay[], near: number, far: number): Map<string, Float64Array> {
  const st = model.settings;
  const layout = layoutOf(st.kind);
  if (!layout.refTexelTaps) throw new Error(`${layout.label}: no texel reference`);
  const out = new Map<string, Float64Array>();
  const add = (segment: string, texel: number, w: number) => {
    let v = out.get(segment);
    if (!v) {
      const values = model.values.get(segment)!;
      const k = layout.componentsOf(st, segment);
      v = new Float64Array(values.length / k);
      out.set(segment, v);
    }
    v[texel]! += w;
  };
  for (const ray of rays) {
    for (const { u, w } of refBlendWeights(model, refSamples(model, ray, near, far))) {
      if (!(w > st.rayMarchWeightThres)) continue;
      for (const family of ['density', 'app'] as const) {
        for (let m = 0; m < st.densityComps.length; m++) {
          for (const { segment, taps } of layout.refTexelTaps(model, family, m, u)) for (const [t, tw] of taps) add(segment, t, w * tw);
        }
      }
    }
  }
  return out;
}
