// The live viewport's camera: one pose that every navigation acts on. The eye sits at
// `distance` from `target` in the direction (azimuth, elevation) (world +z up, as the datasets).
// Orbit turns the eye around the target; look (fly mode) turns the target around the eye; pan
// and fly moves shift both; zoom changes the distance. Keeping one representation means the
// two modes can be switched at any time without the view jumping. No DOM here: unit-tested.

import { dot } from '../camera/vec3.ts';
import { orbitCamera } from '../data/procedural.ts';
import type { PosedView } from '../data/types.ts';
import { facesForward, meanCamera } from '../data/views.ts';
import type { NdcFrame } from '../field/geometry.ts';

export type Vec3 = [number, number, number];

export interface ViewPose {
  target: Vec3;
  distance: number;
  azimuth: number;
  elevation: number;
}

/** Elevations stop short of the poles, where "up" would flip. */
const MAX_ELEVATION = 1.5;
export const VIEW_FOV_DEG = 40;

const clampElevation = (e: number) => Math.max(-MAX_ELEVATION, Math.min(MAX_ELEVATION, e));

/** Unit vector from the target towards the eye. */
function outward(azimuth: number, elevation: number): Vec3 {
  return [Math.cos(elevation) * Math.cos(azimuth), Math.cos(elevation) * Math.sin(azimuth), Math.sin(elevation)];
}

export function initialPose(distance: number): ViewPose {
  return { target: [0, 0, 0], distance, azimuth: 0.6, elevation: 0.45 };
}

/** The pose whose eye is at `eye` looking along `forward` (unit) at a target `distance` ahead. */
export function poseLookingFrom(eye: Vec3, forward: Vec3, distance: number): ViewPose {
  const target = [0, 1, 2].map((a) => eye[a]! + distance * forward[a]!) as Vec3;
  return { target, distance, azimuth: Math.atan2(-forward[1], -forward[0]), elevation: clampElevation(Math.asin(Math.max(-1, Math.min(1, -forward[2])))) };
}

/**
 * Where a view starts. A forward-facing capture (or a model in a camera's NDC, which holds only
 * what lies in front of that camera) from its mean camera, looking where the capture looks;
 * anything else from the orbit at `radius` around the origin.
 */
export function homePose(radius: number, from: { cameras?: readonly PosedView[]; ndc?: NdcFrame } = {}): ViewPose {
  if (from.ndc) return poseLookingFrom(from.ndc.centre, from.ndc.forward, (2 * from.ndc.near) / 0.75);
  const cams = from.cameras ?? [];
  if (!facesForward(cams)) return initialPose(radius);
  const { centre: eye, forward } = meanCamera(cams);
  // The target where the view meets the plane through the origin (the scene's centre) facing it.
  const ahead = -dot(eye, forward);
  return poseLookingFrom(eye, forward, Math.max(ahead, 0.25 * Math.hypot(...eye), 1e-3));
}

export function eyeOf(p: ViewPose): Vec3 {
  const o = outward(p.azimuth, p.elevation);
  return [p.target[0] + p.distance * o[0], p.target[1] + p.distance * o[1], p.target[2] + p.distance * o[2]];
}

/** The camera's right, down and forward axes in world space (OpenCV convention, as its c2w). */
export function axesOf(p: ViewPose): { right: Vec3; down: Vec3; forward: Vec3 } {
  const c = orbitCamera(p.azimuth, p.elevation, 2, VIEW_FOV_DEG, p.distance, p.target).c2w;
  return { right: [c[0]!, c[4]!, c[8]!], down: [c[1]!, c[5]!, c[9]!], forward: [c[2]!, c[6]!, c[10]!] };
}

/** Turns the eye around the target (drag in orbit mode). */
export function orbit(p: ViewPose, dAzimuth: number, dElevation: number): ViewPose {
  return { ...p, azimuth: p.azimuth + dAzimuth, elevation: clampElevation(p.elevation + dElevation) };
}

/** Turns the view around the eye (drag in fly mode): positive yaw looks right, positive pitch up. */
export function look(p: ViewPose, yaw: number, pitch: number): ViewPose {
  const eye = eyeOf(p);
  // The eye looks along -outward, so looking right or up moves (azimuth, elevation) the other way.
  const azimuth = p.azimuth - yaw;
  const elevation = clampElevation(p.elevation - pitch);
  const o = outward(azimuth, elevation);
  return { ...p, azimuth, elevation, target: [eye[0] - p.distance * o[0], eye[1] - p.distance * o[1], eye[2] - p.distance * o[2]] };
}

/** Moves eye and target together along the camera's axes, in world units (fly keys, pan). */
export function move(p: ViewPose, right: number, up: number, forward: number): ViewPose {
  const a = axesOf(p);
  const t = p.target;
  const d = (i: number) => a.right[i]! * right - a.down[i]! * up + a.forward[i]! * forward;
  return { ...p, target: [t[0] + d(0), t[1] + d(1), t[2] + d(2)] };
}

/** Pans by a fraction of the view's height at the target (drag distance / canvas height). */
export function pan(p: ViewPose, dx: number, dy: number): ViewPose {
  const height = 2 * p.distance * Math.tan((VIEW_FOV_DEG * Math.PI) / 360);
  // Dragging right pulls the scene right, so the camera moves left.
  return move(p, -dx * height, dy * height, 0);
}

/** Zooms by `factor` (< 1 closer), keeping the target. */
export function zoom(p: ViewPose, factor: number, minDistance: number, maxDistance: number): ViewPose {
  return { ...p, distance: Math.max(minDistance, Math.min(maxDistance, p.distance * factor)) };
}

/** Wheel zoom: a wheel step of 100 changes the distance by ~10%, within 0.05 to 10 times `home`. */
export function wheelZoom(p: ViewPose, deltaY: number, home: number): ViewPose {
  return zoom(p, Math.exp(deltaY * 0.001), 0.05 * home, 10 * home);
}

/** The engine camera for a pose: a square image of `size` pixels. */
export function poseCamera(p: ViewPose, size: number, fovDeg = VIEW_FOV_DEG): PosedView {
  return orbitCamera(p.azimuth, p.elevation, size, fovDeg, p.distance, p.target);
}
