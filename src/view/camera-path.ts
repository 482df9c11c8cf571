// Camera paths for videos: keyframes are viewport poses (target, distance, azimuth, elevation, the
// one representation every navigation uses), interpolated with uniform Catmull-Rom splines on the
// target, the log of the distance and the unwrapped angles. Interpolating the angles rather than
// slerping rotations keeps world +z up in every frame (no roll creeps in between keyframes) and
// turns the shorter way round between neighbours. A closed path (an orbit) wraps its neighbours.
// No DOM here: the studio, the CLI and the tests share it.

import { cross, dot, unit } from '../camera/vec3.ts';
import type { PosedView } from '../data/types.ts';
import { facesForward } from '../data/views.ts';
import { type Box, boxCentre } from '../field/geometry.ts';
import { poseCamera, type Vec3, VIEW_FOV_DEG, type ViewPose } from './view-camera.ts';

export interface CameraPath {
  /** Keyframes in order; at least two. */
  keyframes: ViewPose[];
  /** Length of the whole path. */
  seconds: number;
  /** Vertical field of view. */
  fovDeg: number;
  /** The last keyframe leads back to the first (an orbit). */
  closed: boolean;
}

/** The JSON a path is saved as (and read back from): the path with a format marker. */
export const PATH_FORMAT = 'slimfield-camera-path';

/** Azimuths unwrapped so that each keyframe is within half a turn of the one before it. */
function unwrapped(keys: ViewPose[]): number[] {
  const az = [keys[0]!.azimuth];
  for (let i = 1; i < keys.length; i++) az.push(az[i - 1]! + wrapDelta(az[i - 1]!, keys[i]!.azimuth));
  return az;
}

/** The values a spline runs through, one row per keyframe. */
function rows(path: CameraPath): number[][] {
  const az = unwrapped(path.keyframes);
  return path.keyframes.map((k, i) => [k.target[0], k.target[1], k.target[2], Math.log(k.distance), az[i]!, k.elevation]);
}

function catmullRom(p0: number, p1: number, p2: number, p3: number, t: number): number {
  const t2 = t * t;
  const t3 = t2 * t;
  return 0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2 + (3 * p1 - p0 - 3 * p2 + p3) * t3);
}

/** The pose a fraction `u` ∈ [0, 1] of the way along the path. */
export function poseAt(path: CameraPath, u: number): ViewPose {
  const r = rows(path);
  const n = r.length;
  const segments = path.closed ? n : n - 1;
  const s = Math.min(Math.max(u, 0), 1) * segments;
  const i = Math.min(Math.floor(s), segments - 1);
  const t = s - i;
  // A closed path's angles keep turning past the last keyframe: a full turn on from the first.
  const turn = path.closed ? r[n - 1]![4]! - r[0]![4]! + wrapDelta(r[n - 1]![4]!, r[0]![4]!) : 0;
  const at = (k: number): number[] => {
    if (!path.closed) return r[Math.min(Math.max(k, 0), n - 1)]!;
    const wraps = Math.floor(k / n);
    const row = [...r[((k % n) + n) % n]!];
    row[4] = row[4]! + wraps * turn;
    return row;
  };
  const [a, b, c, d] = [at(i - 1), at(i), at(i + 1), at(i + 2)];
  const v = b.map((_, j) => catmullRom(a[j]!, b[j]!, c[j]!, d[j]!, t));
  return { target: [v[0]!, v[1]!, v[2]!], distance: Math.exp(v[3]!), azimuth: v[4]!, elevation: v[5]! };
}

/** The signed angle from `from` to `to`, within half a turn. */
function wrapDelta(from: number, to: number): number {
  const d = to - from;
  return ((((d + Math.PI) % (2 * Math.PI)) + 2 * Math.PI) % (2 * Math.PI)) - Math.PI;
}

/** Frames of a video of the path at `fps` (a closed path does not repeat its first frame at the end). */
export function frameCount(path: CameraPath, fps: number): number {
  return Math.max(2, Math.round(path.seconds * fps));
}

/** The pose of frame `i` of `count`. */
export function framePose(path: CameraPath, i: number, count: number): ViewPose {
  return poseAt(path, path.closed ? i / count : i / Math.max(1, count - 1));
}

/** The engine camera of a pose for a `width`×`height` frame with the path's vertical field of view. */
export function frameCamera(pose: ViewPose, width: number, height: number, fovDeg: number): PosedView {
  const square = poseCamera(pose, height, fovDeg);
  return { ...square, width, cx: width / 2 };
}

/** A closed orbit around `target` at a radius and elevation, as eight keyframes. */
export function orbitPath(target: Vec3, distance: number, elevation: number, seconds = 8, fovDeg = VIEW_FOV_DEG): CameraPath {
  const keyframes = Array.from({ length: 8 }, (_, i) => ({ target: [...target] as Vec3, distance, elevation, azimuth: 0.6 + (i * Math.PI) / 4 }));
  return { keyframes, seconds, fovDeg, closed: true };
}

/**
 * The orbit that suits a dataset: around `target` at the median distance and elevation of its
 * cameras (a capture's cameras ring the object; the median ignores a stray one).
 */
export function fittedOrbit(cameras: readonly PosedView[], target: Vec3, seconds = 8): CameraPath {
  const offsets = cameras.map((c) => [c.c2w[3]! - target[0], c.c2w[7]! - target[1], c.c2w[11]! - target[2]]);
  const dist = offsets.map((o) => Math.hypot(o[0]!, o[1]!, o[2]!));
  const elev = offsets.map((o, i) => Math.asin(Math.max(-1, Math.min(1, o[2]! / Math.max(dist[i]!, 1e-9)))));
  return orbitPath(target, median(dist), Math.max(-1.4, Math.min(1.4, median(elev))), seconds, medianFov(cameras));
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

/** The cameras' median vertical field of view, in degrees. */
function medianFov(cameras: readonly PosedView[]): number {
  return median(cameras.map((c) => (360 / Math.PI) * Math.atan(c.height / (2 * c.fy))));
}

/**
 * The forward-facing spiral that suits a capture whose cameras all look one way (LLFF's
 * `render_path_spiral`): the eye circles the cameras' mean position in their mean image plane,
 * with radii from the 90th percentile of their spread, and looks at a focus point ahead, where the
 * line of sight of the mean camera passes closest to `target`. Poses are built from eye and focus,
 * so world +z stays up as in every other path.
 */
export function fittedSpiral(cameras: readonly PosedView[], target: Vec3, seconds = 8, keys = 12): CameraPath {
  const n = cameras.length;
  const mean = (f: (c: PosedView) => number) => cameras.reduce((a, c) => a + f(c), 0) / n;
  const centre: Vec3 = [mean((c) => c.c2w[3]!), mean((c) => c.c2w[7]!), mean((c) => c.c2w[11]!)];
  // OpenCV axes in the c2w columns: x right, y down, z forward.
  const forward = unit([mean((c) => c.c2w[2]!), mean((c) => c.c2w[6]!), mean((c) => c.c2w[10]!)]);
  const right = unit([mean((c) => c.c2w[0]!), mean((c) => c.c2w[4]!), mean((c) => c.c2w[8]!)]);
  // right × forward = −down = up.
  const up = unit(cross(right, forward));
  const toTarget: Vec3 = [target[0] - centre[0], target[1] - centre[1], target[2] - centre[2]];
  const spread = cameras.map((c) => [c.c2w[3]! - centre[0], c.c2w[7]! - centre[1], c.c2w[11]! - centre[2]] as Vec3);
  const p90 = (v: number[]) => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(0.9 * v.length))]!;
  const rx = p90(spread.map((o) => Math.abs(dot(o, right))));
  const ry = p90(spread.map((o) => Math.abs(dot(o, up))));
  const depth = Math.max(dot(toTarget, forward), 0.1 * Math.max(Math.hypot(...toTarget), 1e-3));
  // The spiral's own size: the cameras' spread, at least a tenth of the focus depth so it moves.
  const [ax, ay] = [Math.max(rx, 0.1 * depth), Math.max(ry, 0.06 * depth)];
  const focus: Vec3 = [centre[0] + depth * forward[0], centre[1] + depth * forward[1], centre[2] + depth * forward[2]];
  const keyframes: ViewPose[] = Array.from({ length: keys }, (_, k) => {
    const th = (2 * Math.PI * k) / keys;
    const [a, b, c] = [ax * Math.cos(th), ay * Math.sin(th), 0.05 * depth * Math.sin(2 * th)];
    const eye = [0, 1, 2].map((i) => centre[i]! + a * right[i]! + b * up[i]! + c * forward[i]!) as Vec3;
    const o: Vec3 = [eye[0] - focus[0], eye[1] - focus[1], eye[2] - focus[2]];
    const distance = Math.hypot(...o);
    return {
      target: [...focus] as Vec3,
      distance,
      azimuth: Math.atan2(o[1], o[0]),
      elevation: Math.max(-1.4, Math.min(1.4, Math.asin(Math.max(-1, Math.min(1, o[2] / distance))))),
    };
  });
  return { keyframes, seconds, fovDeg: medianFov(cameras), closed: true };
}

export { facesForward };

/** The ready-made paths: 'auto' is the spiral for a forward-facing capture, the orbit otherwise. */
export type FittedPathKind = 'orbit' | 'spiral' | 'auto';

/**
 * A ready-made path for a scene (the studio's Orbit and Spiral buttons, the CLI's `--path`): fitted
 * to its training cameras when it has three or more, or an orbit round the box's centre at
 * `distance` (a scene file alone). The spiral needs the cameras.
 */
export function fittedPath(
  kind: FittedPathKind,
  cameras: readonly PosedView[],
  box: Box,
  distance: number,
  seconds = 8,
): { kind: 'orbit' | 'spiral'; path: CameraPath } {
  const centre = boxCentre(box);
  if (kind === 'spiral' || (kind === 'auto' && facesForward(cameras))) {
    if (cameras.length < 3) throw new Error('a spiral path is fitted to the cameras: open the dataset');
    return { kind: 'spiral', path: fittedSpiral(cameras, centre, seconds) };
  }
  return { kind: 'orbit', path: cameras.length >= 3 ? fittedOrbit(cameras, centre, seconds) : orbitPath(centre, distance, 0.45, seconds) };
}

/** A path as the JSON file the studio saves and the CLI's `video --path` reads. */
export function cameraPathJson(path: CameraPath): string {
  return JSON.stringify({ format: PATH_FORMAT, version: 1, ...path }, null, 1);
}

const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** Reads a saved path, naming the file and the first thing wrong with it. */
export function parseCameraPath(text: string, file: string): CameraPath {
  const fail = (what: string): never => {
    throw new Error(`${file}: not a camera path: ${what}`);
  };
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    return fail(`invalid JSON (${(e as Error).message})`);
  }
  if (typeof j !== 'object' || j === null || j.format !== PATH_FORMAT) fail(`"format" is not "${PATH_FORMAT}"`);
  if (!finite(j.seconds) || j.seconds <= 0 || j.seconds > 3600) fail('"seconds" must be a number of seconds in (0, 3600]');
  if (!finite(j.fovDeg) || j.fovDeg < 5 || j.fovDeg > 150) fail('"fovDeg" must be a field of view in degrees within [5, 150]');
  if (!Array.isArray(j.keyframes) || j.keyframes.length < 2 || j.keyframes.length > 1000) fail('"keyframes" must be a list of 2 to 1000 poses');
  const keyframes = (j.keyframes as unknown[]).map((k, i): ViewPose => {
    const p = k as Record<string, unknown>;
    const t = p?.target;
    if (!Array.isArray(t) || t.length !== 3 || !t.every(finite)) fail(`keyframe ${i}: "target" must be three finite numbers`);
    if (!finite(p.distance) || p.distance <= 0) fail(`keyframe ${i}: "distance" must be a positive number`);
    if (!finite(p.azimuth) || !finite(p.elevation) || Math.abs(p.elevation) >= Math.PI / 2)
      fail(`keyframe ${i}: "azimuth" and "elevation" must be angles in radians, elevation within ±π/2`);
    return { target: [...(t as number[])] as Vec3, distance: p.distance as number, azimuth: p.azimuth as number, elevation: p.elevation as number };
  });
  return { keyframes, seconds: j.seconds as number, fovDeg: j.fovDeg as number, closed: j.closed === true };
}
