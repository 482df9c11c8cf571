// A small scene the project makes itself: coloured spheres and a box on a plinth, rendered by an
// analytic CPU ray tracer from cameras on a sphere, in Blender's conventions (RGBA on a
// transparent background, white compositing, AABB [-1.5, 1.5]^3, near/far 2/6). Used by tests
// and as the studio's demo scene, so nothing needs downloading and no licence applies.
// With `background: 'environment'` the objects stand in a world that fills every pixel: a
// checkered ground inside a painted round wall 6 units out, under a sky, all outside the box, as
// a phone capture's room is (the unbounded test scene).

import { cross, dot, sub, unit, type V3 } from '../camera/vec3.ts';
import type { Dataset, PosedView, Split } from './types.ts';

interface Hit {
  t: number;
  n: V3;
  color: V3;
}

/** The scene's spheres (tests compare what a model learnt with them). */
export const proceduralSpheres: readonly { c: V3; r: number; color: V3 }[] = [
  { c: [0.45, 0.0, 0.05], r: 0.45, color: [0.9, 0.25, 0.2] },
  { c: [-0.5, 0.35, -0.05], r: 0.35, color: [0.2, 0.6, 0.95] },
  { c: [-0.1, -0.55, -0.15], r: 0.25, color: [0.95, 0.8, 0.2] },
];
const boxLo: V3 = [-0.8, -0.8, -0.65];
const boxHi: V3 = [0.8, 0.8, -0.4];

function trace(o: V3, d: V3, texture: ProceduralTexture = 'plain'): Hit | null {
  let best: Hit | null = null;
  for (const s of proceduralSpheres) {
    const oc = sub(o, s.c);
    const b = dot(oc, d);
    const disc = b * b - (dot(oc, oc) - s.r * s.r);
    if (disc < 0) continue;
    const t = -b - Math.sqrt(disc);
    if (t > 1e-4 && (!best || t < best.t)) {
      const p: V3 = [o[0] + d[0] * t, o[1] + d[1] * t, o[2] + d[2] * t];
      best = { t, n: unit(sub(p, s.c)), color: texture === 'noise' ? textured(s.color, p) : s.color };
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
    const base: V3 = checker ? [0.85, 0.85, 0.8] : [0.3, 0.35, 0.3];
    best = { t: t0, n, color: texture === 'noise' ? textured([0.6, 0.6, 0.55], p) : base };
  }
  return best;
}

const light = unit([0.4, -0.3, 1]);

/** The environment: a ground plane at GROUND_Z inside a round wall of WALL_RADIUS and WALL_TOP, under a sky dome of SKY_RADIUS. */
const GROUND_Z = -0.65;
const WALL_RADIUS = 6;
const WALL_TOP = 2.5;
const SKY_RADIUS = 30;

/**
 * Colour of the environment along a ray that misses the objects (unlit). The wall and the ground
 * are near enough that views from different places see them shift against the objects, as a
 * room does around an object on a table; only the sky is far enough to be a backdrop.
 */
function environment(o: V3, d: V3, texture: ProceduralTexture = 'plain'): V3 {
  const c = plainEnvironment(o, d);
  if (texture === 'plain') return c;
  // The textured world: the surface point's solid noise (the sky is far: its own, coarser).
  const far = farthestHit(o, d);
  return textured(c, far);
}

/** Where a ray that misses the objects meets the ground, the wall or the sky. */
function farthestHit(o: V3, d: V3): V3 {
  const a = d[0] * d[0] + d[1] * d[1];
  const b = o[0] * d[0] + o[1] * d[1];
  const tWall = a > 1e-12 ? (-b + Math.sqrt(b * b - a * (o[0] * o[0] + o[1] * o[1] - WALL_RADIUS * WALL_RADIUS))) / a : Infinity;
  const tGround = d[2] < -1e-9 ? (GROUND_Z - o[2]) / d[2] : Infinity;
  let t = Math.min(tWall, tGround);
  if (tGround >= tWall && o[2] + d[2] * tWall >= WALL_TOP) {
    const bb = dot(o, d);
    t = -bb + Math.sqrt(bb * bb - (dot(o, o) - SKY_RADIUS * SKY_RADIUS));
  }
  return [o[0] + d[0] * t, o[1] + d[1] * t, o[2] + d[2] * t];
}

/**
 * A colour modulated by seeded, non-periodic value noise fixed to the surface point (four
 * octaves, 3 to 24 cycles a unit): texture that looks the same from every view and never repeats,
 * so structure from motion has something to match that cannot alias (a checker would).
 */
function textured(color: V3, p: V3): V3 {
  let n = 0;
  let amp = 0.5;
  for (let oct = 0; oct < 4; oct++) {
    n += amp * valueNoise(p[0] * 3 * 2 ** oct, p[1] * 3 * 2 ** oct, p[2] * 3 * 2 ** oct, oct);
    amp /= 2;
  }
  const k = 0.35 + 1.3 * n; // n in [0, 0.94]
  return [Math.min(1, color[0] * k), Math.min(1, color[1] * k), Math.min(1, color[2] * k)];
}

/** Trilinear value noise in [0, 1] from an integer hash of the lattice corners (octave `seed`). */
function valueNoise(x: number, y: number, z: number, seed: number): number {
  const [x0, y0, z0] = [Math.floor(x), Math.floor(y), Math.floor(z)];
  const [fx, fy, fz] = [x - x0, y - y0, z - z0];
  const s = (t: number) => t * t * (3 - 2 * t);
  const [u, v, w] = [s(fx), s(fy), s(fz)];
  const h = (i: number, j: number, k: number) => {
    let a = Math.imul(i, 0x27d4eb2d) ^ Math.imul(j, 0x165667b1) ^ Math.imul(k, 0x9e3779b1) ^ Math.imul(seed + 1, 0x85ebca6b);
    a = Math.imul(a ^ (a >>> 15), 0x2c1b3c6d);
    a = Math.imul(a ^ (a >>> 12), 0x297a2d39);
    return ((a ^ (a >>> 15)) >>> 0) / 4294967296;
  };
  const lerp = (a: number, b: number, t: number) => a + (b - a) * t;
  return lerp(
    lerp(lerp(h(x0, y0, z0), h(x0 + 1, y0, z0), u), lerp(h(x0, y0 + 1, z0), h(x0 + 1, y0 + 1, z0), u), v),
    lerp(lerp(h(x0, y0, z0 + 1), h(x0 + 1, y0, z0 + 1), u), lerp(h(x0, y0 + 1, z0 + 1), h(x0 + 1, y0 + 1, z0 + 1), u), v),
    w,
  );
}

function plainEnvironment(o: V3, d: V3): V3 {
  // The wall: the cylinder x² + y² = WALL_RADIUS², seen from inside.
  const a = d[0] * d[0] + d[1] * d[1];
  const b = o[0] * d[0] + o[1] * d[1];
  const tWall = a > 1e-12 ? (-b + Math.sqrt(b * b - a * (o[0] * o[0] + o[1] * o[1] - WALL_RADIUS * WALL_RADIUS))) / a : Infinity;
  const tGround = d[2] < -1e-9 ? (GROUND_Z - o[2]) / d[2] : Infinity;
  if (tGround < tWall) {
    const x = o[0] + d[0] * tGround;
    const y = o[1] + d[1] * tGround;
    const checker = (Math.floor(x) + Math.floor(y)) % 2 === 0;
    return checker ? [0.6, 0.55, 0.45] : [0.25, 0.35, 0.2];
  }
  const z = o[2] + d[2] * tWall;
  if (z < WALL_TOP) {
    const azimuth = Math.atan2(o[1] + d[1] * tWall, o[0] + d[0] * tWall);
    const panel = Math.floor((azimuth / Math.PI) * 8 + 8);
    const band = z > 1 && z < 1.5;
    return band ? [0.9, 0.85, 0.3] : panel % 2 === 0 ? [0.75, 0.4, 0.35] : [0.35, 0.45, 0.7];
  }
  // The sky dome, centred on the origin: the ray's far hit, brighter towards the zenith.
  const bb = dot(o, d);
  const t = -bb + Math.sqrt(bb * bb - (dot(o, o) - SKY_RADIUS * SKY_RADIUS));
  const up = (o[2] + d[2] * t) / SKY_RADIUS;
  return [0.45 + 0.3 * up, 0.6 + 0.25 * up, 0.9];
}

/** Camera on a sphere of radius 4 looking at `target` (the origin; world +z up), in OpenCV convention. */
export function orbitCamera(azimuth: number, elevation: number, size: number, fovDeg = 40, radius = 4, target: Readonly<V3> = [0, 0, 0]): PosedView {
  const eye: V3 = [
    target[0] + radius * Math.cos(elevation) * Math.cos(azimuth),
    target[1] + radius * Math.cos(elevation) * Math.sin(azimuth),
    target[2] + radius * Math.sin(elevation),
  ];
  const z = unit(sub(target as V3, eye)); // forward
  const x = unit(cross(z, [0, 0, 1])); // right
  const y = cross(z, x); // down
  const f = (0.5 * size) / Math.tan((fovDeg * Math.PI) / 360);
  const c2w = new Float64Array([x[0], y[0], z[0], eye[0], x[1], y[1], z[1], eye[1], x[2], y[2], z[2], eye[2]]);
  return { width: size, height: size, fx: f, fy: f, cx: size / 2, cy: size / 2, c2w };
}

/** Where the ray through pixel (px, py) of `cam` first hits the scene, or null (tests use the visible surfaces). */
export function demoSurfacePoint(cam: PosedView, px: number, py: number): V3 | null {
  const m = cam.c2w;
  const o: V3 = [m[3]!, m[7]!, m[11]!];
  const dc = unit([(px - cam.cx) / cam.fx, (py - cam.cy) / cam.fy, 1]);
  const d = unit([
    m[0]! * dc[0] + m[1]! * dc[1] + m[2]! * dc[2],
    m[4]! * dc[0] + m[5]! * dc[1] + m[6]! * dc[2],
    m[8]! * dc[0] + m[9]! * dc[1] + m[10]! * dc[2],
  ]);
  const hit = trace(o, d);
  return hit ? [o[0] + d[0] * hit.t, o[1] + d[1] * hit.t, o[2] + d[2] * hit.t] : null;
}

/** Renders one RGBA8 view: alpha 0 where the ray misses the objects, or opaque with the environment around them. */
export function renderProcedural(cam: PosedView, supersample = 2, background: ProceduralBackground = 'none', texture: ProceduralTexture = 'plain'): Uint8Array {
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
          const dc = unit([(px - cam.cx) / cam.fx, (py - cam.cy) / cam.fy, 1]);
          const d: V3 = unit([
            m[0]! * dc[0] + m[1]! * dc[1] + m[2]! * dc[2],
            m[4]! * dc[0] + m[5]! * dc[1] + m[6]! * dc[2],
            m[8]! * dc[0] + m[9]! * dc[1] + m[10]! * dc[2],
          ]);
          const h = trace(o, d, texture);
          if (!h) {
            if (background === 'environment') {
              const e = environment(o, d, texture);
              for (let c = 0; c < 3; c++) acc[c]! += e[c]!;
              acc[3]! += 1;
            }
            continue;
          }
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

/** 'none': a transparent background (Blender's renders); 'environment': ground, wall and sky all around. */
export type ProceduralBackground = 'none' | 'environment';

/** 'plain': flat colours and checkers (the demo); 'noise': every surface under seeded non-periodic noise (structure from motion's photos). */
export type ProceduralTexture = 'plain' | 'noise';

function makeSplit(cams: PosedView[], prefix: string, background: ProceduralBackground, texture: ProceduralTexture): Split {
  return {
    names: cams.map((_, i) => `${prefix}/r_${i}`),
    cameras: cams,
    images: cams.map((c) => renderProcedural(c, 2, background, texture)),
    width: cams[0]!.width,
    height: cams[0]!.height,
  };
}

/**
 * 'sphere': cameras all around, looking at the objects (a 360° capture); 'forward': cameras with
 * one orientation, moved about in a patch of their image plane in front of the objects (an LLFF
 * forward-facing capture); 'orbit': a ring at one elevation, evenly spaced (a walk around an
 * object, as a phone user photographs it).
 */
export type ProceduralLayout = 'sphere' | 'forward' | 'orbit';

/** A forward-facing camera: the one orientation, its eye moved by (right, up) in its image plane. */
function forwardCamera(right: number, up: number, size: number): PosedView {
  const base = orbitCamera(-Math.PI / 2, 0.25, size, 50, 4);
  const c2w = Float64Array.from(base.c2w);
  for (let r = 0; r < 3; r++) c2w[r * 4 + 3] = base.c2w[r * 4 + 3]! + right * base.c2w[r * 4]! - up * base.c2w[r * 4 + 1]!;
  return { ...base, c2w };
}

/**
 * The procedural scene as a dataset. Sphere layout: `train` views on a spiral over the upper
 * hemisphere, `test` views between them. Forward layout: `train` eyes on a sunflower spiral in a
 * 1.6 × 0.9 patch of the image plane, `test` eyes between them. With the environment background it
 * is an unbounded capture: opaque images, a black background colour, near/far 0.1/100 (the
 * capture loaders' range).
 */
export function proceduralDataset(
  opts: { size?: number; train?: number; test?: number; background?: ProceduralBackground; layout?: ProceduralLayout; texture?: ProceduralTexture } = {},
): Dataset {
  const texture = opts.texture ?? 'plain';
  const size = opts.size ?? 64;
  const background = opts.background ?? 'none';
  const unbounded = background === 'environment';
  const nTrain = opts.train ?? 40;
  const nTest = opts.test ?? 8;
  const golden = Math.PI * (3 - Math.sqrt(5));
  const forward = opts.layout === 'forward';
  const sunflower = (i: number, n: number, turn: number) => {
    const r = Math.sqrt((i + 0.5) / n);
    return forwardCamera(0.8 * r * Math.cos(i * golden + turn), 0.45 * r * Math.sin(i * golden + turn), size);
  };
  const trainCams = Array.from({ length: nTrain }, (_, i) => {
    if (forward) return sunflower(i, nTrain, 0);
    if (opts.layout === 'orbit') return orbitCamera((2 * Math.PI * i) / nTrain, 0.4, size);
    const z = 0.1 + (0.85 * (i + 0.5)) / nTrain;
    return orbitCamera(i * golden, Math.asin(z), size);
  });
  const testCams = Array.from({ length: nTest }, (_, i) =>
    forward ? sunflower(i, nTest, golden / 2) : orbitCamera((2 * Math.PI * (i + 0.5)) / nTest, 0.5, size),
  );
  return {
    format: 'blender',
    name: 'procedural',
    splits: { train: makeSplit(trainCams, 'train', background, texture), test: makeSplit(testCams, 'test', background, texture) },
    aabb: [
      [-1.5, -1.5, -1.5],
      [1.5, 1.5, 1.5],
    ],
    nearFar: unbounded ? [0.1, 100] : [2, 6],
    whiteBackground: !unbounded,
    warnings: [],
    ...(unbounded ? { unbounded, name: 'procedural-environment' } : {}),
  };
}
