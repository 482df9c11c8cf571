// npm run bench:sfm: structure from motion on captures whose poses are known, posed from their
// images alone. Prints a JSON row per capture: photos placed, the rotation and camera-centre errors
// after the similarity that best aligns the centres (camera/align.ts) and the pairwise relative
// rotation error (no alignment), the reprojection error, the focal length found against the true
// one, seconds per stage and the adapter. `--data lego|fox|DIR` (default lego: its training
// images, a Blender capture, composited on white), `--downscale K` (default 4), `--max-images N`
// (evenly spaced), `--fov DEG` to skip the focal length search, `--fixed-intrinsics` to keep the
// focal length as given and k1 at 0, `--write-poses FILE` to keep the placed photos' poses,
// aligned to the true ones by the similarity of their centres, with the intrinsics found (`npm
// run bench -- --only slim-vm192-sfm-poses --sfm-poses FILE` trains on them), `--cache DIR|off` as
// `poses` takes it (features and matches from an earlier run are read back; the seconds say so),
// `--truth-drift` to add how far our tracks are from the truth (see truthDrift below).

import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { pairwiseRotationErrors, poseError, similarityAlign } from '../src/camera/align.ts';
import { unproject } from '../src/camera/lens.ts';
import { c2wOf, centreOf, mat3Mul, rotationOf, transpose3 } from '../src/camera/rotation.ts';
import { mat3Apply, type V3 } from '../src/camera/vec3.ts';
import { log, openDataset, posingCache } from '../src/cli/node-io.ts';
import type { PosedView } from '../src/data/types.ts';
import { nodeGpu } from '../src/gpu/node.ts';
import { type BundleObservation, bundleAdjust, projectRadial, type RadialCamera } from '../src/sfm/bundle.ts';
import { type Pose, poseToC2w, toCamera } from '../src/sfm/pose.ts';
import { posePhotos } from '../src/sfm/pose-photos.ts';
import { triangulate } from '../src/sfm/triangulate.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    data: { type: 'string' },
    downscale: { type: 'string' },
    'max-images': { type: 'string' },
    fov: { type: 'string' },
    'write-poses': { type: 'string' },
    'fixed-intrinsics': { type: 'boolean' },
    cache: { type: 'string' },
    'truth-drift': { type: 'boolean' },
  },
});
const name = values.data ?? 'lego';
const dir = name === 'lego' || name === 'fox' ? `../shared/data/${name}` : name;
const downscale = Number(values.downscale ?? 4);
const ds = await openDataset(dir, downscale, ['train'], 0);
const split = ds.splits.train!;
const every = values['max-images'] ? Math.max(1, split.images.length / Number(values['max-images'])) : 1;
const picked = Array.from({ length: Math.floor(split.images.length / every) }, (_, i) => Math.floor(i * every));
const truth = picked.map((i) => split.cameras[i]!);
const photos = picked.map((i) => {
  const c = split.cameras[i]!;
  const rgba = Uint8Array.from(split.images[i]!);
  // Transparent renders composited on white, as the Blender loader trains them.
  for (let p = 0; p < rgba.length; p += 4) {
    const a = rgba[p + 3]! / 255;
    for (let k = 0; k < 3; k++) rgba[p + k] = Math.round(rgba[p + k]! * a + 255 * (1 - a));
    rgba[p + 3] = 255;
  }
  return { name: split.names[i]!, width: c.width, height: c.height, rgba };
});
const ctx = await nodeGpu();
log(`adapter: ${ctx.adapter.label}; ${photos.length} photos of ${name} at 1/${downscale} (${photos[0]!.width}x${photos[0]!.height})`);
const t0 = performance.now();
const r = await posePhotos(ctx, photos, {
  fieldOfViewDeg: values.fov ? Number(values.fov) : undefined,
  refineIntrinsics: !values['fixed-intrinsics'],
  cache: posingCache(values.cache),
  onEvent: (e) => {
    // Features and matching by tenths, with the seconds so far; every placement and focal length tried.
    const tenth = (done: number, total: number) => Math.floor((10 * done) / total) !== Math.floor((10 * (done - 1)) / total);
    if ((e.stage === 'features' || e.stage === 'matching') && tenth(e.done, e.total))
      log(`${e.stage}: ${e.done} of ${e.total} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    if (e.stage === 'register' || e.stage === 'focal') log(JSON.stringify(e));
  },
});
const seconds = (performance.now() - t0) / 1000;
const placed = r.photos.map((p, i) => ({ p, i })).filter(({ p }) => p.pose);
const est: PosedView[] = placed.map(({ p }) => ({ ...truth[0]!, c2w: poseToC2w(p.pose!) }));
const tru = placed.map(({ i }) => truth[i]!);
const err = poseError(est, tru);
const rel = pairwiseRotationErrors(est, tru);
// Centre errors in units of the cameras' spread (their median distance from their mean).
const centres = tru.map((c) => [c.c2w[3]!, c.c2w[7]!, c.c2w[11]!]);
const mean = [0, 1, 2].map((k) => centres.reduce((s, c) => s + c[k]!, 0) / centres.length);
if (values['write-poses']) {
  const a = similarityAlign(
    est.map((c) => centreOf(c.c2w)),
    tru.map((c) => centreOf(c.c2w)),
  );
  const views = Object.fromEntries(
    placed.map(({ i }, k) => {
      const centre = mat3Apply(a.r, centreOf(est[k]!.c2w)).map((v, j) => a.s * v + a.t[j]!);
      return [photos[i]!.name, Array.from(c2wOf(mat3Mul(a.r, rotationOf(est[k]!.c2w)), centre))];
    }),
  );
  const record = { capture: name, downscale, width: photos[0]!.width, focalPx: r.cameras[0]!.f, k1: r.cameras[0]!.k1, views, unregistered: r.unregistered };
  await writeFile(values['write-poses'], JSON.stringify(record));
  log(`poses of ${placed.length} photos, aligned to the true ones, written to ${values['write-poses']}`);
}
const spread = centres.map((c) => Math.hypot(...c.map((v, k) => v - mean[k]!))).sort((x, y) => x - y)[centres.length >> 1]!;
process.stdout.write(
  `${JSON.stringify({
    capture: name,
    downscale,
    size: `${photos[0]!.width}x${photos[0]!.height}`,
    images: photos.length,
    registered: placed.length,
    medianRotationDeg: +err.medianRotationDeg.toFixed(3),
    meanRotationDeg: +err.rotationDeg.toFixed(3),
    medianPairRotationDeg: +(rel[rel.length >> 1] ?? 0).toFixed(3),
    medianCentreError: +(err.medianTranslation / spread).toFixed(4),
    reprojectionErrorPx: +r.reprojectionErrorPx.toFixed(3),
    focalPx: +r.cameras[0]!.f.toFixed(1),
    k1: +r.cameras[0]!.k1.toFixed(4),
    trueFocalPx: +truth[0]!.fx.toFixed(1),
    points: r.points.xyz.length / 3,
    unregistered: r.unregistered,
    notes: r.notes,
    secondsByStage: r.secondsByStage,
    seconds: +seconds.toFixed(1),
    ...(values['truth-drift'] ? { truthDrift: truthDrift() } : {}),
    adapter: ctx.adapter.label,
  })}\n`,
);
process.exit(0);

/**
 * How good our tracks are, apart from how we solved them: each keypoint undone through its photo's
 * true lens (camera/lens.ts: fox's has OpenCV distortion and an off-centre principal point) and
 * seen again by an ideal pinhole of the first photo's focal length; each track triangulated at
 * the true poses, its reprojection errors there, and where bundle adjustment (plain least squares,
 * the pinhole held) started at the truth settles: a floor the pipeline cannot beat.
 */
function truthDrift() {
  const t0 = truth[0]!;
  const pinhole: RadialCamera = { f: t0.fx, cx: t0.cx, cy: t0.cy, k1: 0 };
  const poseOf = (c: PosedView): Pose => {
    const r = transpose3(rotationOf(c.c2w));
    return { r, t: mat3Apply(r, centreOf(c.c2w)).map((v) => -v) as V3 };
  };
  const index = new Map(placed.map(({ i }, k) => [i, k]));
  const poses = placed.map(({ i }) => poseOf(truth[i]!));
  const points: V3[] = [];
  const observations: BundleObservation[] = [];
  const errors: number[] = [];
  for (const track of r.points.observations) {
    const seen = track.map((o) => ({ image: index.get(o.photo)!, x: unproject(truth[o.photo]!, o.x, o.y) }));
    const X = triangulate(seen.map(({ image, x }) => ({ pose: poses[image]!, x })));
    if (!X) continue;
    for (const { image, x } of seen) {
      const uv: [number, number] = [pinhole.f * x[0] + pinhole.cx, pinhole.f * x[1] + pinhole.cy];
      const at = projectRadial(pinhole, toCamera(poses[image]!, X));
      errors.push(at ? Math.hypot(at.uv[0] - uv[0], at.uv[1] - uv[1]) : Infinity);
      observations.push({ image, point: points.length, uv });
    }
    points.push(X);
  }
  errors.sort((a, b) => a - b);
  const at = (q: number) => +errors[Math.floor(q * (errors.length - 1))]!.toFixed(3);
  const images = poses.map((pose) => ({ camera: 0, pose }));
  const report = bundleAdjust(
    { cameras: [pinhole], images, points, observations },
    { iterations: 100, huber: 1e9, refineFocal: false, refineDistortion: false, fixedImages: new Set([0]), scaleImage: 1 },
  );
  const settled = pairwiseRotationErrors(
    images.map((im) => ({ ...t0, c2w: poseToC2w(im.pose) })),
    tru,
  ).sort((a, b) => a - b);
  return {
    errorAtTruthPx: { median: at(0.5), p90: at(0.9), p99: at(0.99) },
    settledReprojectionErrorPx: +report.finalRmse.toFixed(3),
    settledMedianPairRotationDeg: +settled[settled.length >> 1]!.toFixed(3),
  };
}
