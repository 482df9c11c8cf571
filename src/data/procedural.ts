// A small scene the project makes itself: coloured spheres and a box on a plinth, rendered by an
// analytic CPU ray tracer from cameras on a sphere, in Blender's conventions (RGBA on a
// transparent background, white compositing, AABB [-1.5, 1.5]^3, near/far 2/6). Used by tests
// and as the studio's demo scene, so nothing needs downloading and no licence applies.
import type { Camera, Dataset, Split } from './types.ts';

type V3 = [number, number, number];
const sub = (a: V3, b: V3): V3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const dot = (a: V3, b: V3) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const norm = (a: V3): V3 => {
  const l = Math.hypot(a[0], a[1], a[2]);
  return [a[0] / l, a[1] / l, a[2] / l];
};
const cross = (a: V3, b: V3): V3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];

interface Hit {
  t: number;
  n: V3;
  color: V3;
}

const spheres: { c: V3; r: number; color: V3 }[] = [
  { c: [0.45, 0.0, 0.05], r: 0.45, color: [0.9, 0.25, 0.2] },
  { c: [-0.5, 0.35, -0.05], r: 0.35, color: [0.2, 0.6, 0.95] },
  { c: [-0.1, -0.55, -0.15], r: 0.25, color: [0.95, 0.8, 0.2] },
];
const boxLo: V3 = [-0.8, -0.8, -0.65];
const boxHi: V3 = [0.8, 0.8, -0.4];

function trace(o: V3, d: V3): Hit | null {
  let best: Hit | null = null;
  for (const s of spheres) {
    const oc = sub(o, s.c);
    const b = dot(oc, d);
    const disc = b * b - (dot(oc, oc) - s.r * s.r);
    if (disc < 0) continue;
    const t = -b - Math.sqrt(disc);
    if (t > 1e-4 && (!best || t < best.t)) {
      const p: V3 = [o[0] + d[0] * t, o[1] + d[1] * t, o[2] + d[2] * t];
      best = { t, n: norm(sub(p, s.c)), color: s.color };
    }
  }
  // Slab test for the plinth, with a checker pattern so texture detail exists.
  let t0 = -Infinity;
  let t1 = Infinity;
  let axis = 0;
  for (let a = 0; a < 3; a++) {
    const inv = 1 / (Math.abs(d[a]!) < 1e-9 ? 1e-9 : d[a]!);
    let ta = (boxLo[a]! - o[a]!) * inv;
    let tb = (boxHi[a]! - o[a]!) * inv;
    if (ta > tb) [ta, tb] = [tb, ta];
    if (ta > t0) {
      t0 = ta;
      axis = a;
    }
    t1 = Math.min(t1, tb);
  }
  if (t0 < t1 && t0 > 1e-4 && (!best || t0 < best.t)) {
    const p: V3 = [o[0] + d[0] * t0, o[1] + d[1] * t0, o[2] + d[2] * t0];
    const n: V3 = [0, 0, 0];
    n[axis] = d[axis]! > 0 ? -1 : 1;
    const checker = (Math.floor(p[0] * 4 + 8) + Math.floor(p[1] * 4 + 8)) % 2 === 0;
    best = { t: t0, n, color: checker ? [0.85, 0.85, 0.8] : [0.3, 0.35, 0.3] };
  }
  return best;
}

const light = norm([0.4, -0.3, 1]);

/** Camera on a sphere of radius 4 looking at `target` (the origin; world +z up), in OpenCV convention. */
export function orbitCamera(azimuth: number, elevation: number, size: number, fovDeg = 40, radius = 4, target: Readonly<V3> = [0, 0, 0]): Camera {
  const eye: V3 = [
    target[0] + radius * Math.cos(elevation) * Math.cos(azimuth),
    target[1] + radius * Math.cos(elevation) * Math.sin(azimuth),
    target[2] + radius * Math.sin(elevation),
  ];
  const z = norm(sub(target as V3, eye)); // forward
  const x = norm(cross(z, [0, 0, 1])); // right
  const y = cross(z, x); // down
  const f = (0.5 * size) / Math.tan((fovDeg * Math.PI) / 360);
  const c2w = new Float64Array([x[0], y[0], z[0], eye[0], x[1], y[1], z[1], eye[1], x[2], y[2], z[2], eye[2]]);
  return { width: size, height: size, fx: f, fy: f, cx: size / 2, cy: size / 2, c2w };
}

/** Where the ray through pixel (px, py) of `cam` first hits the scene, or null (tests use the visible surfaces). */
export function demoSurfacePoint(cam: Camera, px: number, py: number): V3 | null {
  const m = cam.c2w;
  const o: V3 = [m[3]!, m[7]!, m[11]!];
  const dc = norm([(px - cam.cx) / cam.fx, (py - cam.cy) / cam.fy, 1]);
  const d = norm([
    m[0]! * dc[0] + m[1]! * dc[1] + m[2]! * dc[2],
    m[4]! * dc[0] + m[5]! * dc[1] + m[6]! * dc[2],
    m[8]! * dc[0] + m[9]! * dc[1] + m[10]! * dc[2],
  ]);
  const hit = trace(o, d);
  return hit ? [o[0] + d[0] * hit.t, o[1] + d[1] * hit.t, o[2] + d[2] * hit.t] : null;
}

/** Renders one RGBA8 view (alpha 0 where the ray misses everything). */
export function renderProcedural(cam: Camera, supersample = 2): Uint8Array {
  const out = new Uint8Array(cam.width * cam.height * 4);
  const m = cam.c2w;
  const o: V3 = [m[3]!, m[7]!, m[11]!];
  for (let j = 0; j < cam.height; j++) {
    for (let i = 0; i < cam.width; i++) {
      const acc = [0, 0, 0, 0];
      for (let sy = 0; sy < supersample; sy++) {
        for (let sx = 0; sx < supersample; sx++) {
          const px = i + (sx + 0.5) / supersample;
          const py = j + (sy + 0.5) / supersample;
          const dc = norm([(px - cam.cx) / cam.fx, (py - cam.cy) / cam.fy, 1]);
          const d: V3 = norm([
            m[0]! * dc[0] + m[1]! * dc[1] + m[2]! * dc[2],
            m[4]! * dc[0] + m[5]! * dc[1] + m[6]! * dc[2],
            m[8]! * dc[0] + m[9]! * dc[1] + m[10]! * dc[2],
          ]);
          const h = trace(o, d);
          if (!h) continue;
          const shade = 0.35 + 0.65 * Math.max(0, dot(h.n, light));
          for (let c = 0; c < 3; c++) acc[c]! += h.color[c]! * shade;
          acc[3]! += 1;
        }
      }
      const ss = supersample * supersample;
      const a = acc[3]! / ss;
      const k = (j * cam.width + i) * 4;
      // Straight (non-premultiplied) alpha, like Blender's PNGs.
      for (let c = 0; c < 3; c++) out[k + c] = a > 0 ? Math.round((255 * acc[c]!) / acc[3]!) : 0;
      out[k + 3] = Math.round(255 * a);
    }
  }
  return out;
}

function makeSplit(cams: Camera[], prefix: string): Split {
  return {
    names: cams.map((_, i) => `${prefix}/r_${i}`),
    cameras: cams,
    images: cams.map((c) => renderProcedural(c)),
    width: cams[0]!.width,
    height: cams[0]!.height,
  };
}

/** The procedural scene as a dataset: `train` views on a spiral over the upper hemisphere, `test` views between them. */
export function proceduralDataset(opts: { size?: number; train?: number; test?: number } = {}): Dataset {
  const size = opts.size ?? 64;
  const nTrain = opts.train ?? 40;
  const nTest = opts.test ?? 8;
  const golden = Math.PI * (3 - Math.sqrt(5));
  const trainCams = Array.from({ length: nTrain }, (_, i) => {
    const z = 0.1 + (0.85 * (i + 0.5)) / nTrain;
    return orbitCamera(i * golden, Math.asin(z), size);
  });
  const testCams = Array.from({ length: nTest }, (_, i) => orbitCamera((2 * Math.PI * (i + 0.5)) / nTest, 0.5, size));
  return {
    format: 'blender',
    name: 'procedural',
    splits: { train: makeSplit(trainCams, 'train'), test: makeSplit(testCams, 'test') },
    aabb: [
      [-1.5, -1.5, -1.5],
      [1.5, 1.5, 1.5],
    ],
    nearFar: [2, 6],
    whiteBackground: true,
    warnings: [],
  };
}
