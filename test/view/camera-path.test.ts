import assert from 'node:assert/strict';
import { test } from 'node:test';
import { orbitCamera } from '../../src/data/procedural.ts';
import {
  type CameraPath,
  cameraPathJson,
  facesForward,
  fittedOrbit,
  fittedSpiral,
  frameCamera,
  frameCount,
  framePose,
  orbitPath,
  parseCameraPath,
  poseAt,
} from '../../src/view/camera-path.ts';
import { axesOf, eyeOf, type ViewPose } from '../../src/view/view-camera.ts';

const close = (a: number, b: number, tol = 1e-9) => Math.abs(a - b) <= tol;

test('a path passes through its keyframes and moves smoothly between them', () => {
  const keyframes: ViewPose[] = [
    { target: [0, 0, 0], distance: 4, azimuth: 0, elevation: 0.2 },
    { target: [0.5, 0, 0], distance: 2, azimuth: 1, elevation: 0.5 },
    { target: [0, 0.5, 0.2], distance: 3, azimuth: 2.5, elevation: 0.1 },
  ];
  const path: CameraPath = { keyframes, seconds: 4, fovDeg: 40, closed: false };
  for (const [u, k] of [
    [0, 0],
    [0.5, 1],
    [1, 2],
  ] as const) {
    const p = poseAt(path, u);
    const want = keyframes[k]!;
    assert.ok(close(p.distance, want.distance) && close(p.azimuth, want.azimuth) && close(p.elevation, want.elevation), `keyframe ${k} at u=${u}`);
    assert.ok(p.target.every((x, i) => close(x, want.target[i]!)));
  }
  // Smooth: the eye moves by similar amounts between neighbouring frames (no jumps at keyframes).
  const n = frameCount(path, 30);
  assert.equal(n, 120);
  const eyes = Array.from({ length: n }, (_, i) => eyeOf(framePose(path, i, n)));
  const steps = eyes.slice(1).map((e, i) => Math.hypot(e[0] - eyes[i]![0], e[1] - eyes[i]![1], e[2] - eyes[i]![2]));
  for (let i = 1; i < steps.length; i++) assert.ok(Math.abs(steps[i]! - steps[i - 1]!) < 0.02, `frame ${i}: step ${steps[i]} after ${steps[i - 1]}`);
});

test('angles turn the shorter way between keyframes, and an orbit closes on itself', () => {
  const across: CameraPath = {
    keyframes: [
      { target: [0, 0, 0], distance: 4, azimuth: 3, elevation: 0 },
      { target: [0, 0, 0], distance: 4, azimuth: -3, elevation: 0 },
    ],
    seconds: 1,
    fovDeg: 40,
    closed: false,
  };
  // From 3 rad to -3 rad the short way passes π, not 0.
  assert.ok(Math.abs(Math.cos(poseAt(across, 0.5).azimuth) + 1) < 1e-3);

  const orbit = orbitPath([0, 0, 0.1], 4, 0.4, 8);
  const n = frameCount(orbit, 10);
  const first = framePose(orbit, 0, n);
  const last = framePose(orbit, n - 1, n);
  const full = poseAt(orbit, 1);
  assert.ok(close(full.azimuth, first.azimuth + 2 * Math.PI, 1e-9), 'one full turn');
  assert.ok(Math.abs(last.azimuth - (first.azimuth + (2 * Math.PI * (n - 1)) / n)) < 1e-6, 'the last frame is one step short of the first');
  for (let i = 0; i < n; i++) {
    const p = framePose(orbit, i, n);
    assert.ok(close(p.distance, 4, 1e-9) && close(p.elevation, 0.4, 1e-9), 'an orbit keeps its radius and elevation');
  }
});

test("the orbit fitted to a capture has its cameras' median radius, elevation and field of view", () => {
  const cams = [0, 1, 2, 3, 4].map((i) => orbitCamera(i * 1.3, 0.3 + 0.01 * i, 64, 50, 3.5));
  cams.push(orbitCamera(0, 1.2, 64, 50, 40)); // a stray camera far away
  const path = fittedOrbit(cams, [0, 0, 0]);
  const p = path.keyframes[0]!;
  assert.ok(close(p.distance, 3.5, 1e-6), `radius ${p.distance}`);
  assert.ok(p.elevation > 0.3 && p.elevation < 0.36, `elevation ${p.elevation}`);
  assert.ok(close(path.fovDeg, 50, 1e-6), `fov ${path.fovDeg}`);
  assert.ok(path.closed);
});

test("a frame camera has the path's field of view at any aspect", () => {
  const pose: ViewPose = { target: [0, 0, 0], distance: 4, azimuth: 0.2, elevation: 0.3 };
  const cam = frameCamera(pose, 160, 90, 40);
  assert.equal(cam.width, 160);
  assert.equal(cam.height, 90);
  assert.equal(cam.cx, 80);
  assert.ok(close((360 / Math.PI) * Math.atan(90 / (2 * cam.fy)), 40, 1e-9));
  assert.equal(cam.fx, cam.fy);
});

test('paths round-trip through their JSON; broken files are refused naming the file and the problem', () => {
  const path = orbitPath([0, 0, 0], 4, 0.4, 6);
  assert.deepEqual(parseCameraPath(cameraPathJson(path), 'p.json'), path);
  const bad = (edit: (j: Record<string, unknown>) => void) => {
    const j = JSON.parse(cameraPathJson(path)) as Record<string, unknown>;
    edit(j);
    return JSON.stringify(j);
  };
  assert.throws(() => parseCameraPath('{', 'p.json'), /p\.json: not a camera path: invalid JSON/);
  assert.throws(
    () =>
      parseCameraPath(
        bad((j) => delete j.format),
        'p.json',
      ),
    /"format"/,
  );
  assert.throws(
    () =>
      parseCameraPath(
        bad((j) => (j.keyframes = [])),
        'p.json',
      ),
    /"keyframes"/,
  );
  assert.throws(
    () =>
      parseCameraPath(
        bad((j) => ((j.keyframes as ViewPose[])[3]!.distance = -1)),
        'p.json',
      ),
    /keyframe 3: "distance"/,
  );
  assert.throws(
    () =>
      parseCameraPath(
        bad((j) => ((j.keyframes as Record<string, unknown>[])[1]!.target = [0, 'x', 0])),
        'p.json',
      ),
    /keyframe 1: "target"/,
  );
  assert.throws(
    () =>
      parseCameraPath(
        bad((j) => (j.seconds = 0)),
        'p.json',
      ),
    /"seconds"/,
  );
  assert.throws(
    () =>
      parseCameraPath(
        bad((j) => (j.fovDeg = 'wide')),
        'p.json',
      ),
    /"fovDeg"/,
  );
});

test('a forward-facing capture gets a spiral among its cameras, looking the way they look; a ring of cameras does not face forward', () => {
  // Cameras on a 3×3 patch of a sphere of radius 4, all looking at the origin (within ~15°).
  const cams = [-1, 0, 1].flatMap((a) => [-1, 0, 1].map((e) => orbitCamera(0.12 * a, 0.2 + 0.1 * e, 64, 45, 4)));
  assert.ok(facesForward(cams));
  assert.ok(!facesForward([0, 1, 2, 3, 4, 5].map((i) => orbitCamera(i, 0.3, 64, 45, 4))), 'an orbit ring faces every way');
  const path = fittedSpiral(cams, [0, 0, 0]);
  assert.ok(path.closed);
  assert.ok(close(path.fovDeg, 45, 1e-6));
  const centre = [0, 1, 2].map((i) => cams.reduce((a, c) => a + c.c2w[i * 4 + 3]!, 0) / cams.length);
  const n = frameCount(path, 10);
  const eyes = Array.from({ length: n }, (_, i) => eyeOf(framePose(path, i, n)));
  const off = eyes.map((e) => Math.hypot(e[0] - centre[0]!, e[1] - centre[1]!, e[2] - centre[2]!));
  assert.ok(Math.max(...off) < 1.2 && Math.max(...off) > 0.2, `the eye stays among the cameras and moves (${Math.min(...off)}..${Math.max(...off)})`);
  for (let i = 0; i < n; i++) {
    const f = axesOf(framePose(path, i, n)).forward;
    const toOrigin = eyes[i]!.map((x) => -x);
    const cos = (f[0] * toOrigin[0]! + f[1] * toOrigin[1]! + f[2] * toOrigin[2]!) / Math.hypot(...toOrigin);
    assert.ok(cos > Math.cos((20 * Math.PI) / 180), `frame ${i} looks at the scene (cos ${cos})`);
  }
});
