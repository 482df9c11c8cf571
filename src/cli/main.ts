// Slimfield command line: train, evaluate and render TensoRF fields headless (Node + Dawn).
// Progress goes to stderr; the last line of stdout is one JSON object.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultFinetuneIters, FINETUNE_BATCH } from '../compress/finetune.ts';
import { encodePng } from '../data/image-node.ts';
import { evenlySpacedViews } from '../data/views.ts';
import { evaluate } from '../eval/evaluate.ts';
import { evaluateRanks } from '../eval/rank-curve.ts';
import { exportGeometry } from '../export/exports.ts';
import { DEFAULT_LEVEL, DEFAULT_RESOLUTION } from '../export/surface.ts';
import type { TensorField } from '../field/field.ts';
import { boxSize } from '../field/geometry.ts';
import { MODEL_PRESETS, type PresetName } from '../field/presets.ts';
import { decodeCheckpoint } from '../formats/checkpoint-file.ts';
import { PRECISIONS, type Precision } from '../formats/scene-file/header.ts';
import { exportScene } from '../formats/scene-file/writer.ts';
import { LimitError } from '../gpu/context.ts';
import { nodeGpu } from '../gpu/node.ts';
import { ViewRenderer } from '../render/view-renderer.ts';
import { compactScene } from '../run/compact-scene.ts';
import { BLUR_SCHEDULE_BLENDER } from '../train/coarse-to-fine.ts';
import { ConfigError, checkReferenceOptions, resolveConfig } from '../train/config.ts';
import { type CameraPath, fittedPath, frameCamera, frameCount, framePose, parseCameraPath } from '../view/camera-path.ts';
import { rgbPixels } from '../view/view-images.ts';
import { adviceForCli, isPlainPhotos, loadModel, log, openDataset, posePhotosNode, posingCache, writeFiles } from './node-io.ts';
import { logRank, parseRanks, runTraining } from './run-training.ts';

const USAGE = `usage:
  npm run cli -- train --data DIR|builtin:demo|builtin:environment|builtin:forward --model vm192|vm48|cp384|slimmerf16|slimmerf8|strivec [--config FILE.json]
                       [--iters N] [--batch N] [--downscale K] [--hold-out N] [--test-views N] [--train-views N]
                       [--upsilon U] [--eta N] [--ranks 1,2,4] [--contract auto|on|off|ndc] [--coarse-to-fine] [--out FILE]
                       [--refine-poses [--export-poses DIR]] [--checkpoint FILE.slimckpt [--checkpoint-every N]]
  npm run cli -- train --resume FILE.slimckpt --data DIR [--downscale K] [--test-views N] [--ranks 1,2,4] [--out FILE]
                       [--export-poses DIR] [--checkpoint FILE.slimckpt [--checkpoint-every N]]
  npm run cli -- eval --model FILE --data DIR [--downscale K] [--test-views N] [--ranks 1,2,4,8,16]
  npm run cli -- render --model FILE --data DIR --view N --out PNG [--downscale K] [--rank K]
  npm run cli -- export --model FILE [--rank K] [--precision fp32|fp16|int8] --out FILE.slimscene
  npm run cli -- export --model FILE --precision compact --data DIR [--downscale K] [--rank K] [--finetune-iters N] [--batch N]
                        --out FILE.slimscene
  npm run cli -- mesh --model FILE [--rank K] [--resolution N] [--level A] [--simplify F] --out FILE.glb|FILE.ply
  npm run cli -- points --model FILE [--rank K] [--resolution N] [--level A] --out FILE.ply
  npm run cli -- splats --model FILE [--rank K] [--resolution N] [--level A] [--sh-degree 0|1] --out FILE.ply
  npm run cli -- video --model FILE [--path PATH.json|orbit|spiral] [--data DIR] [--width W] [--height H] [--fps F]
                       [--seconds S] [--rank K] --out DIR   (PNG frames, and the ffmpeg line that encodes them)
  npm run cli -- poses --data DIR|ZIP|VIDEO [--max-images N] [--downscale K] [--max-size PX] [--fov DEG] [--seed N]
                       [--keyframes N] [--cache DIR|off] --out DIR
  (--model of eval, render and export takes a model file or a scene file; Ctrl-C during train
   stops after the current iteration and, with --checkpoint, saves where it stopped; --data takes a
   Blender, instant-ngp/nerfstudio, COLMAP or LLFF folder or a .zip of one; --hold-out N makes every Nth
   view of a capture without a test split a test view, 8 by default, 0 to train on all; --contract
   on models an unbounded scene's surroundings in a contracted space, ndc in the normalised device
   coordinates of the mean camera (forward-facing captures, as TensoRF trains LLFF), off keeps the
   box only, auto (the default) models the surroundings of captures whose photos show them: NDC
   when every camera faces one way, the contraction otherwise; --coarse-to-fine blurs the field with a
   Gaussian that narrows to nothing by 30% of training, the schedule of joint pose refinement's
   reference (Blender's widths; blur_schedule in --config sets others); --refine-poses trains a
   correction of every training camera with the field (VM and CP), through that blur unless --config
   gives blur_schedule, and evaluates the test views aligned to the refined cameras; --export-poses
   writes the training images with their refined cameras to DIR as transforms.json, a COLMAP
   model (sparse/0) and images/, a capture that opens again; poses computes the camera poses of
   plain photos (JPEG, PNG, WebP, HEIC) or a video's keyframes (MP4, MOV, M4V, WebM, MKV, decoded
   by ffmpeg, which must be installed; --keyframes N, 100 by default, the sharpest of each stretch
   taken when the camera has moved; posed in order) by structure from motion on the GPU, at a working size of 1024 pixels
   on the long edge unless --downscale K or --max-size PX says otherwise (without a focal length in
   the photos' EXIF it searches for one, or takes --fov DEG across the long edge), and writes the posed
   capture to DIR: sparse/0 (COLMAP binary and text), images/ (the photos under their own names)
   and transforms.json; train --data on a folder of plain photos poses them first and writes the
   capture beside its checkpoint or model, FILE.poses/, where a resumed run finds it; both keep
   each photo's features and each pair's matches by content in --cache DIR, by default
   $SLIMFIELD_CACHE or ~/.cache/slimfield, so a second run over the same photos or more of them
   reads them back; off keeps nothing; export --precision compact fine-tunes the quantised field on
   the training images for --finetune-iters iterations of --batch rays, by default a quarter of the
   iterations the model file records, of its run's batch (4096 rays if it has none), 0 for no fine-tune)`;

const options = {
  data: { type: 'string' },
  model: { type: 'string' },
  config: { type: 'string' },
  iters: { type: 'string' },
  batch: { type: 'string' },
  'finetune-iters': { type: 'string' },
  downscale: { type: 'string' },
  'hold-out': { type: 'string' },
  'test-views': { type: 'string' },
  out: { type: 'string' },
  view: { type: 'string' },
  'train-views': { type: 'string' },
  upsilon: { type: 'string' },
  eta: { type: 'string' },
  ranks: { type: 'string' },
  rank: { type: 'string' },
  precision: { type: 'string' },
  checkpoint: { type: 'string' },
  'checkpoint-every': { type: 'string' },
  resume: { type: 'string' },
  contract: { type: 'string' },
  'coarse-to-fine': { type: 'boolean' },
  'refine-poses': { type: 'boolean' },
  'export-poses': { type: 'string' },
  resolution: { type: 'string' },
  level: { type: 'string' },
  simplify: { type: 'string' },
  'sh-degree': { type: 'string' },
  path: { type: 'string' },
  width: { type: 'string' },
  height: { type: 'string' },
  fps: { type: 'string' },
  seconds: { type: 'string' },
  'max-images': { type: 'string' },
  'max-size': { type: 'string' },
  seed: { type: 'string' },
  fov: { type: 'string' },
  keyframes: { type: 'string' },
  cache: { type: 'string' },
  help: { type: 'boolean' },
} as const;

function intFlag(v: string | undefined, name: string, fallback: number, min = 1): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`--${name} must be an integer >= ${min}, got "${v}"`);
  return n;
}

/** --rank: rank groups to keep, the model's own by default, at most those it has. */
function rankFlag(a: Record<string, string | boolean | undefined>, field: TensorField): number {
  const rank = intFlag(a.rank as string, 'rank', field.rank);
  if (rank > field.rank) throw new ConfigError(`--rank ${rank}: the model has ${field.rank} rank groups`);
  return rank;
}

function need(v: string | undefined, name: string): string {
  if (!v) throw new ConfigError(`--${name} is required\n${USAGE}`);
  return v;
}

/** --hold-out N: every Nth view of a capture without a test split is a test view (8 by default; 0 trains on all). */
const holdOutFlag = (a: Record<string, string | boolean | undefined>) =>
  a['hold-out'] === undefined ? undefined : intFlag(a['hold-out'] as string, 'hold-out', 8, 0);

/** Iterations between checkpoints when --checkpoint is given without --checkpoint-every. */
const CHECKPOINT_EVERY = 100;

async function train(a: Record<string, string | boolean | undefined>): Promise<Record<string, unknown>> {
  const data = need(a.data as string, 'data');
  const common = {
    data,
    downscale: intFlag(a.downscale as string, 'downscale', 1),
    holdOut: holdOutFlag(a),
    testViews: intFlag(a['test-views'] as string, 'test-views', 25),
    out: a.out as string | undefined,
    exportPoses: a['export-poses'] as string | undefined,
    ranks: a.ranks ? ranksFlag(a.ranks as string) : undefined,
    checkpoint: a.checkpoint
      ? { file: a.checkpoint as string, every: intFlag(a['checkpoint-every'] as string, 'checkpoint-every', CHECKPOINT_EVERY) }
      : undefined,
    // Plain photos' poses are written beside the run's checkpoint (or model), where a resumed run finds them.
    posesDir: posesBeside((a.resume ?? a.checkpoint ?? a.out) as string | undefined),
  };
  if (a['checkpoint-every'] && !a.checkpoint) throw new ConfigError('--checkpoint-every needs --checkpoint FILE');
  if (a.resume) {
    // The checkpoint's own configuration continues; flags that would change it are refused.
    const changes = ['model', 'config', 'iters', 'batch', 'train-views', 'eta', 'upsilon', 'contract', 'coarse-to-fine', 'refine-poses'].filter(
      (f) => a[f] !== undefined,
    );
    if (changes.length) throw new ConfigError(`--resume continues the saved run's own configuration: drop ${changes.map((f) => `--${f}`).join(', ')}`);
    const file = a.resume as string;
    const cp = decodeCheckpoint(await readBytes(file), file);
    if (common.exportPoses && !cp.train.refinePoses) throw new ConfigError(`--export-poses: the run saved in ${file} does not refine poses`);
    return runTraining({ ...common, preset: cp.settings.kind, cfg: { settings: cp.settings, train: cp.train }, resumeFrom: cp });
  }
  const preset = need(a.model as string, 'model') as PresetName;
  if (!(preset in MODEL_PRESETS)) throw new ConfigError(`--model must be one of ${Object.keys(MODEL_PRESETS).join(', ')}, got "${preset}"`);
  let fileOpts: Record<string, unknown> = {};
  if (a.config) {
    const file = a.config as string;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new ConfigError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code})`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new ConfigError(`${file}: broken JSON (${(e as Error).message})`);
    }
    fileOpts = checkReferenceOptions(json, file);
  }
  if (a.iters) fileOpts.n_iters = intFlag(a.iters as string, 'iters', 1);
  if (a.batch) fileOpts.batch_size = intFlag(a.batch as string, 'batch', 1);
  if (a['train-views']) fileOpts.train_views = intFlag(a['train-views'] as string, 'train-views', 1);
  if (a.eta) fileOpts.rank_eta = intFlag(a.eta as string, 'eta', 0, 0);
  if (a.upsilon) {
    const u = Number(a.upsilon);
    if (!Number.isFinite(u) || u <= 0) throw new ConfigError(`--upsilon must be a positive number, got "${a.upsilon}"`);
    fileOpts.rank_upsilon = u;
  }
  if (a.contract !== undefined && a.contract !== 'auto') {
    if (a.contract !== 'on' && a.contract !== 'off' && a.contract !== 'ndc')
      throw new ConfigError(`--contract must be auto, on, off or ndc, got "${a.contract}"`);
    fileOpts.contract = a.contract === 'ndc' ? 'ndc' : a.contract === 'on';
  }
  if (a['coarse-to-fine'] && fileOpts.blur_schedule === undefined) fileOpts.blur_schedule = BLUR_SCHEDULE_BLENDER;
  // (Refinement comes with the blur unless the config sets a schedule: train/config.ts.)
  if (a['refine-poses']) fileOpts.refine_poses = true;
  // Poses we computed are refined with the field by default (refine_poses: false turns it off);
  // Strivec, which refinement does not support yet, trains on them as they are.
  if (fileOpts.refine_poses === undefined && (await isPlainPhotos(data))) {
    try {
      resolveConfig(preset, { ...fileOpts, refine_poses: true });
      fileOpts.refine_poses = true;
      log('note: the computed poses are refined with the field (refine_poses: false in --config turns it off)');
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      log(`note: the computed poses are used as they are: ${e.message}`);
    }
  }
  const cfg = resolveConfig(preset, fileOpts);
  if (common.exportPoses && !cfg.train.refinePoses) throw new ConfigError('--export-poses needs --refine-poses (or refine_poses in --config)');
  return runTraining({ ...common, preset, cfg });
}

function fovFlag(v: string): number {
  const fov = Number(v);
  if (!Number.isFinite(fov) || fov <= 1 || fov >= 179) throw new ConfigError(`--fov must be a field of view in degrees between 1 and 179, got "${v}"`);
  return fov;
}

/** The folder beside a run's file where the poses of its plain photos go: FILE without its extension, plus .poses. */
function posesBeside(file: string | undefined): string | undefined {
  return file ? `${file.replace(/\.[^./\\]+$/, '')}.poses` : undefined;
}

/**
 * Camera poses of plain photos (structure from motion): the posed capture written to --out
 * (sparse/0 binary and text, images/ under the photos' own names, transforms.json).
 */
async function posesCmd(a: Record<string, string | boolean | undefined>): Promise<Record<string, unknown>> {
  const data = need(a.data as string, 'data');
  const out = need(a.out as string, 'out');
  const poses = await posePhotosNode(data, {
    maxImages: a['max-images'] ? intFlag(a['max-images'] as string, 'max-images', 1) : undefined,
    downscale: a.downscale ? intFlag(a.downscale as string, 'downscale', 1) : undefined,
    maxSize: a['max-size'] ? intFlag(a['max-size'] as string, 'max-size', 16) : a.downscale ? Number.POSITIVE_INFINITY : undefined,
    seed: a.seed ? intFlag(a.seed as string, 'seed', 0, 0) : undefined,
    fieldOfViewDeg: a.fov ? fovFlag(a.fov as string) : undefined,
    cache: posingCache(a.cache as string | undefined),
    keyframes: a.keyframes ? intFlag(a.keyframes as string, 'keyframes', 0, 3) : undefined,
  });
  for (const w of poses.summary.warnings) log(`warning: ${w}`);
  for (const n of poses.summary.notes) log(`note: ${n}`);
  for (const u of poses.summary.unregistered) log(`not placed: ${u.file}: ${u.reason}`);
  if (poses.summary.registered === 0) throw new ConfigError(`${data}: no photo could be placed (${poses.summary.unregistered[0]?.reason ?? 'no photos'})`);
  await writeFiles(poses.capture.files, out);
  log(`placed ${poses.summary.registered} of ${poses.summary.images} photos; capture written to ${out} (sparse/0, images/, transforms.json)`);
  const ctx = await nodeGpu();
  return { ...poses.summary, out, adapter: ctx.adapter.label };
}

async function readBytes(file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(file));
  } catch (e) {
    throw new ConfigError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

function ranksFlag(v: string): number[] {
  try {
    return parseRanks(v);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
}

async function evalCmd(a: Record<string, string | boolean | undefined>): Promise<Record<string, unknown>> {
  const file = need(a.model as string, 'model');
  const data = need(a.data as string, 'data');
  const ranks = a.ranks ? ranksFlag(a.ranks as string) : null;
  const ctx = await nodeGpu();
  const { field, bytes } = await loadModel(ctx, file);
  const ds = await openDataset(data, intFlag(a.downscale as string, 'downscale', 1), ['test'], holdOutFlag(a));
  const split = ds.splits.test ?? ds.splits.train!;
  const views = evenlySpacedViews(split.cameras.length, intFlag(a['test-views'] as string, 'test-views', 25));
  const renderer = new ViewRenderer(ctx, field, ds.nearFar);
  const ev = await evaluate(renderer, ds, split, views, undefined, (i, n) => log(`evaluating: view ${i}/${n}`));
  const result: Record<string, unknown> = {
    model: file,
    psnr: +ev.psnr.toFixed(3),
    ssim: +ev.ssim.toFixed(4),
    testViews: ev.views,
    params: field.parameterCountAtRank(field.rank),
    bytes,
    rank: field.rank,
    adapter: ctx.adapter.label,
  };
  if (ranks) {
    if (ranks.some((r) => r > field.rank))
      log(`ranks above ${field.rank} skipped: the model has ${field.rank} trained rank groups; rank ${field.rank} evaluated instead`);
    result.ranks = await evaluateRanks(renderer, ds, split, views, ranks, logRank);
  }
  return result;
}

/** A render's colours as the PNG encoder's RGBA bytes. */
function pngBytes(rgb: Float32Array, width: number, height: number): Uint8Array {
  return new Uint8Array(rgbPixels(rgb, width, height).rgba.buffer);
}

async function renderCmd(a: Record<string, string | boolean | undefined>): Promise<Record<string, unknown>> {
  const file = need(a.model as string, 'model');
  const data = need(a.data as string, 'data');
  const out = need(a.out as string, 'out');
  const ctx = await nodeGpu();
  const { field } = await loadModel(ctx, file);
  const ds = await openDataset(data, intFlag(a.downscale as string, 'downscale', 1), ['test'], holdOutFlag(a));
  const split = ds.splits.test ?? ds.splits.train!;
  const view = intFlag(a.view as string, 'view', 0, 0);
  if (view >= split.cameras.length) throw new ConfigError(`--view ${view} is out of range: the split has ${split.cameras.length} views`);
  const renderer = new ViewRenderer(ctx, field, ds.nearFar);
  const rank = rankFlag(a, field);
  const img = await renderer.render(split.cameras[view]!, ds.whiteBackground ? 1 : 0, rank);
  await writeFile(out, encodePng(pngBytes(img.rgb, img.width, img.height), img.width, img.height));
  return { out, view, rank, width: img.width, height: img.height };
}

async function exportCmd(a: Record<string, string | boolean | undefined>): Promise<Record<string, unknown>> {
  const file = need(a.model as string, 'model');
  const out = need(a.out as string, 'out');
  const precision = (a.precision as string | undefined) ?? 'fp16';
  if (!PRECISIONS.includes(precision as Precision) && precision !== 'compact') {
    throw new ConfigError(`--precision must be one of ${PRECISIONS.join(', ')}, compact, got "${precision}"`);
  }
  if (precision === 'compact' && !a.data) throw new ConfigError('--precision compact needs --data DIR: the training images weigh which texels matter');
  const ctx = await nodeGpu();
  if (precision !== 'compact' && (a['finetune-iters'] !== undefined || a.batch !== undefined)) {
    throw new ConfigError('--finetune-iters and --batch apply to --precision compact only');
  }
  const { field, info } = await loadModel(ctx, file);
  const rank = rankFlag(a, field);
  if (precision === 'compact') {
    const finetuneIters =
      a['finetune-iters'] === undefined
        ? defaultFinetuneIters(typeof info.iters === 'number' ? info.iters : undefined)
        : intFlag(a['finetune-iters'] as string, 'finetune-iters', 0, 0);
    const recorded = typeof info.batch === 'number' && Number.isInteger(info.batch) && info.batch > 0 ? info.batch : FINETUNE_BATCH;
    const finetuneBatch = intFlag(a.batch as string | undefined, 'batch', recorded, 1);
    const dataset = await openDataset(a.data as string, intFlag(a.downscale as string, 'downscale', 1), ['train'], holdOutFlag(a));
    let shown = '';
    const c = await compactScene(field, {
      dataset,
      finetuneIters,
      finetuneBatch,
      rank,
      info: { source: file },
      onEvent: (e) => {
        const line = `compact: ${e.stage} ${e.done}/${e.total}`;
        if (line === shown || (e.done !== e.total && e.done % 10 !== 0)) return;
        shown = line;
        log(line);
      },
    });
    await writeFile(out, c.bytes);
    return {
      out,
      rank,
      maxRank: field.maxRank,
      precision,
      params: field.parameterCountAtRank(rank),
      bytes: c.bytes.length,
      prefixBytes: c.prefixBytes,
      texels: c.texels,
      finetuneIters,
      seconds: c.seconds,
    };
  }
  const values = await field.arena.download(ctx);
  const bytes = exportScene(
    { settings: field.settings, box: field.box, grid: field.grid, values, mask: field.mask },
    { rank, precision: precision as Precision, info: { source: file } },
  );
  await writeFile(out, bytes);
  return { out, rank, maxRank: field.maxRank, precision, params: field.parameterCountAtRank(rank), bytes: bytes.length };
}

/** mesh, points and splats: the field's surface at an opacity level, as a file other tools open. */
function geometryCmd(kind: 'mesh' | 'points' | 'splats') {
  return async (a: Record<string, string | boolean | undefined>): Promise<Record<string, unknown>> => {
    const file = need(a.model as string, 'model');
    const out = need(a.out as string, 'out');
    const ending = out.toLowerCase().endsWith('.glb') ? 'glb' : out.toLowerCase().endsWith('.ply') ? 'ply' : null;
    if (!ending || (kind !== 'mesh' && ending !== 'ply')) throw new ConfigError(`--out must end in ${kind === 'mesh' ? '.glb or .ply' : '.ply'}, got "${out}"`);
    const level = a.level === undefined ? DEFAULT_LEVEL : Number(a.level);
    if (!(level > 0 && level < 1)) throw new ConfigError(`--level must be an opacity between 0 and 1, got "${a.level}"`);
    const resolution = intFlag(a.resolution as string, 'resolution', DEFAULT_RESOLUTION, 8);
    const simplify = a.simplify === undefined ? 1 : Number(a.simplify);
    if (!(simplify > 0 && simplify <= 1)) throw new ConfigError(`--simplify must be the share of triangles to keep, in (0, 1], got "${a.simplify}"`);
    if (kind !== 'mesh' && a.simplify !== undefined) throw new ConfigError('--simplify applies to mesh only');
    const shDegree = a['sh-degree'] === undefined ? 1 : Number(a['sh-degree']);
    if (shDegree !== 0 && shDegree !== 1) throw new ConfigError(`--sh-degree must be 0 or 1, got "${a['sh-degree']}"`);
    if (kind !== 'splats' && a['sh-degree'] !== undefined) throw new ConfigError('--sh-degree applies to splats only');
    if (resolution > 1024) throw new ConfigError(`--resolution ${resolution}: at most 1024 lattice points per side`);
    const ctx = await nodeGpu();
    const { field } = await loadModel(ctx, file);
    const rank = rankFlag(a, field);
    const renderer = new ViewRenderer(ctx, field, [0, 1e6]);
    const what = kind === 'mesh' ? (ending === 'glb' ? 'mesh-glb' : 'mesh-ply') : kind;
    let shown = '';
    const r = await exportGeometry(field, renderer, what, {
      resolution,
      level,
      rank,
      simplify,
      viewDependent: shDegree === 1,
      onProgress: (step) => {
        if (step === shown) return;
        shown = step;
        log(`${kind}: ${step}`);
      },
    });
    await writeFile(out, r.bytes);
    return {
      out,
      rank,
      resolution,
      level,
      ...(kind === 'mesh'
        ? { simplify, vertices: r.vertices, triangles: r.triangles }
        : kind === 'points'
          ? { points: r.vertices }
          : { shDegree, splats: r.vertices }),
      bytes: r.bytes.length,
      seconds: +r.seconds.toFixed(2),
    };
  };
}

/**
 * video: the model rendered along a camera path as numbered PNG frames. The path is a saved one,
 * or fitted to --data's cameras (an orbit, or a spiral for a forward-facing capture), or an orbit
 * around the model's box. Node has no WebCodecs, so the frames are encoded by ffmpeg (the record
 * gives the line) or by the studio, which encodes in the browser.
 */
async function videoCmd(a: Record<string, string | boolean | undefined>): Promise<Record<string, unknown>> {
  const file = need(a.model as string, 'model');
  const out = need(a.out as string, 'out');
  const width = intFlag(a.width as string, 'width', 640, 16);
  const height = intFlag(a.height as string, 'height', 360, 16);
  if (width > 8192 || height > 8192) throw new ConfigError(`--width and --height: at most 8192 pixels, got ${width}×${height}`);
  const fps = intFlag(a.fps as string, 'fps', 30);
  if (fps > 240) throw new ConfigError(`--fps ${fps}: at most 240`);
  const seconds = a.seconds === undefined ? undefined : Number(a.seconds);
  if (seconds !== undefined && !(seconds > 0 && seconds <= 3600)) throw new ConfigError(`--seconds must be within (0, 3600], got "${a.seconds}"`);
  const ctx = await nodeGpu();
  const { field } = await loadModel(ctx, file);
  const rank = rankFlag(a, field);
  const ds = a.data ? await openDataset(a.data as string, intFlag(a.downscale as string, 'downscale', 1), ['train'], holdOutFlag(a)) : null;
  const spec = (a.path as string | undefined) ?? 'auto';
  let path: CameraPath;
  let chosen = spec;
  const cams = ds?.splits.train?.cameras ?? [];
  if (spec === 'spiral' && cams.length < 3) throw new ConfigError('--path spiral is fitted to the cameras: give --data');
  if (spec === 'orbit' || spec === 'spiral' || spec === 'auto') {
    const fitted = fittedPath(spec, cams, field.box, 1.35 * Math.max(...boxSize(field.box)));
    chosen = fitted.kind;
    path = fitted.path;
  } else {
    path = parseCameraPath(
      await readFile(spec, 'utf8').catch((e: NodeJS.ErrnoException) => Promise.reject(new Error(`${spec}: cannot read (${e.code ?? e.message})`))),
      spec,
    );
  }
  if (seconds !== undefined) path = { ...path, seconds };
  const renderer = new ViewRenderer(ctx, field, [0, 1e6]);
  const background = ds ? (ds.whiteBackground ? 1 : 0) : 1;
  await mkdir(out, { recursive: true });
  const frames = frameCount(path, fps);
  const t0 = performance.now();
  for (let i = 0; i < frames; i++) {
    const img = await renderer.render(frameCamera(framePose(path, i, frames), width, height, path.fovDeg), background, rank);
    await writeFile(join(out, `frame-${String(i).padStart(5, '0')}.png`), encodePng(pngBytes(img.rgb, width, height), width, height));
    if (i % 10 === 0 || i === frames - 1) log(`video: frame ${i + 1} / ${frames}`);
  }
  const secondsPerFrame = (performance.now() - t0) / 1000 / frames;
  const encode = `ffmpeg -framerate ${fps} -i ${join(out, 'frame-%05d.png')} -c:v libx264 -pix_fmt yuv420p -crf 18 video.mp4`;
  return { out, frames, width, height, fps, rank, path: chosen, secondsPerFrame: +secondsPerFrame.toFixed(3), encode };
}

async function main(): Promise<number> {
  const [cmd, ...rest] = process.argv.slice(2);
  const { values } = parseArgs({ args: rest, options, strict: true, allowPositionals: false });
  if (!cmd || values.help) {
    log(USAGE);
    return cmd ? 0 : 2;
  }
  const run = {
    train,
    eval: evalCmd,
    render: renderCmd,
    export: exportCmd,
    mesh: geometryCmd('mesh'),
    points: geometryCmd('points'),
    splats: geometryCmd('splats'),
    video: videoCmd,
    poses: posesCmd,
  }[cmd];
  if (!run) throw new ConfigError(`unknown command "${cmd}"\n${USAGE}`);
  const result = await run(values);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    const err = e as Error;
    // Known user errors get their message alone; anything else keeps its stack for bug reports.
    const known =
      ['ConfigError', 'DatasetError', 'LimitError', 'SceneError', 'CheckpointError'].includes(err.name) ||
      err instanceof ConfigError ||
      // Node's argument parser: an unknown flag, or a value that looks like a flag.
      String((err as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS') ||
      /^[^\s]+: /.test(err.message);
    const advice = err instanceof LimitError && err.advice.length ? `: ${adviceForCli(err.advice)}` : '';
    log(`error: ${known ? err.message + advice : (err.stack ?? err.message)}`);
    process.exit(1);
  },
);
