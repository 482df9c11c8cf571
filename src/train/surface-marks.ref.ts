// f64 reference of Strivec's surface marking (surface-marks.wgsl.ts, strivec-placement.ts
// surfacePoints): the reference's samples and blend weights; each sample whose weight reaches
// the threshold marks the lattice point nearest to it. Also says which points a float rounding
// could decide (a weight within `slack` of the threshold, or a sample halfway between points),
// where an f32 kernel may honestly disagree.
import { type RefModel, type RefRay, refBlendWeights, refSamples } from '../field/field.ref.ts';
import { gridUnits, type Vec3 } from '../field/geometry.ts';

export function refSurfaceMarks(
  model: RefModel,
  rays: RefRay[],
  near: number,
  far: number,
  dims: Vec3,
  minWeight: number,
  slack = 0.02,
): { marks: Uint8Array; doubtful: Uint8Array } {
  const { box, grid } = model;
  const units = gridUnits(box, grid);
  const toPoint = [0, 1, 2].map((a) => (units[a]! * (dims[a]! - 1)) / (box.hi[a]! - box.lo[a]!));
  const n = dims[0] * dims[1] * dims[2];
  const marks = new Uint8Array(n);
  const doubtful = new Uint8Array(n);
  for (const ray of rays) {
    for (const { u, w } of refBlendWeights(model, refSamples(model, ray, near, far))) {
      const x = u.map((g, a) => g * toPoint[a]!);
      const p = x.map(Math.round);
      if (p.some((v, a) => v < 0 || v >= dims[a]!)) continue;
      const j = (p[2]! * dims[1] + p[1]!) * dims[0] + p[0]!;
      const halfway = x.some((v) => Math.abs(v - Math.floor(v) - 0.5) < 1e-3);
      if (Math.abs(w - minWeight) <= slack * minWeight || halfway) {
        doubtful[j] = 1;
        // The neighbours a halfway sample may round to are as doubtful.
        if (halfway) {
          for (let a = 0; a < 3; a++) {
            const q = [...p];
            q[a] = x[a]! > p[a]! ? p[a]! + 1 : p[a]! - 1;
            if (q[a]! >= 0 && q[a]! < dims[a]!) doubtful[(q[2]! * dims[1] + q[1]!) * dims[0] + q[0]!] = 1;
          }
        }
      }
      if (w >= minWeight) marks[j] = 1;
    }
  }
  return { marks, doubtful };
}
