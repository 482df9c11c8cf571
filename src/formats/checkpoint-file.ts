// The checkpoint file ("SLIMCKPT"): a training run's whole state (train/checkpoint.ts) as bytes, so a
// run continues exactly after a closed tab, a lost GPU or an interrupted CLI run.
//
// Layout (little-endian): 8-byte magic, u16 version, u16 reserved (0), u32 header length H (a
// multiple of 4), u32 CRC-32 of the header, the header (UTF-8 JSON padded with spaces), then three
// sections, each a u32 byte length, a u32 CRC-32 and the payload: the tensors (per segment in
// header order: values, first moment, second moment, f32), the alpha-mask bits (empty without a
// mask) and the valid-ray bits (u32). Every length follows from the header and is checked before
// anything is read, every section is checked against its CRC, every value must be finite, and the
// segments must be exactly those the settings, box and grid imply: a damaged or foreign file is
// refused with a CheckpointError naming the file and the problem.
import CRC32 from 'crc-32';
import type { DatasetFingerprint } from '../data/fingerprint.ts';
import type { Vec3 } from '../field/geometry.ts';
import { fieldSegments } from '../field/layout.ts';
import { maxRankOf } from '../field/rank.ts';
import type { Checkpoint, RunProgress } from '../train/checkpoint.ts';
import { DEFAULT_TRAIN, type TrainOptions } from '../train/config.ts';
import type { PoseState, TrainerState } from '../train/state.ts';
import { headerBytes, PREAMBLE, writeContainer } from './container.ts';
import { JsonChecks } from './json-checks.ts';

export const CHECKPOINT_MAGIC = 'SLIMCKPT';
export const CHECKPOINT_VERSION = 1;
export const CHECKPOINT_EXTENSION = '.slimckpt';

const MAX_HEADER_BYTES = 4 << 20;
const SECTIONS = ['tensors', 'alpha mask', 'valid rays'] as const;

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/** What a checkpoint says about itself without its tensors (listing saved runs). */
export interface CheckpointSummary {
  iter: number;
  nIters: number;
  kind: string;
  dataset: DatasetFingerprint;
  created: string;
}

interface Header {
  format: 'slimfield-checkpoint';
  created: string;
  settings: Checkpoint['settings'];
  train: TrainOptions;
  box: Checkpoint['box'];
  grid: Vec3;
  mask: { dims: Vec3; box: Checkpoint['box']; words: number } | null;
  segments: { name: string; count: number }[];
  validWords: number;
  trainer: TrainerState;
  dataset: DatasetFingerprint;
  progress: RunProgress;
}

/** The checkpoint as bytes. */
export function encodeCheckpoint(cp: Checkpoint, created = new Date().toISOString()): Uint8Array {
  const segments = fieldSegments(cp.settings, cp.box, cp.grid).map((s) => ({ name: s.name, count: s.count }));
  const header: Header = {
    format: 'slimfield-checkpoint',
    created,
    settings: cp.settings,
    train: cp.train,
    box: cp.box,
    grid: cp.grid,
    mask: cp.mask ? { dims: cp.mask.dims, box: cp.mask.box, words: cp.mask.bits.length } : null,
    segments,
    validWords: cp.validRays.length,
    trainer: cp.trainer,
    dataset: cp.dataset,
    progress: cp.progress,
  };
  const head = headerBytes(header);
  const floats = segments.reduce((n, s) => n + 3 * s.count, 0);
  const tensors = new Float32Array(floats);
  let at = 0;
  for (const s of segments) {
    for (const m of [cp.values, cp.adamM, cp.adamV]) {
      const v = m.get(s.name);
      if (!v || v.length !== s.count) throw new CheckpointError(`checkpoint: tensor ${s.name} has ${v?.length ?? 'no'} values, expected ${s.count}`);
      tensors.set(v, at);
      at += s.count;
    }
  }
  const payloads = [new Uint8Array(tensors.buffer), u32Bytes(cp.mask?.bits ?? new Uint32Array(0)), u32Bytes(cp.validRays)];
  return writeContainer(CHECKPOINT_MAGIC, CHECKPOINT_VERSION, head, payloads);
}

/** Little-endian bytes of u32 words (a copy: typed arrays are little-endian on every platform we run on, but say so). */
function u32Bytes(words: Uint32Array): Uint8Array {
  const out = new Uint8Array(words.length * 4);
  const dv = new DataView(out.buffer);
  words.forEach((w, i) => {
    dv.setUint32(4 * i, w, true);
  });
  return out;
}

/** Reads the preamble and the header, checked; `fail` throws naming the file. */
function readHeader(bytes: Uint8Array, fail: (why: string) => never): { header: Header; end: number } {
  if (bytes.length < PREAMBLE) fail('too short to be a Slimfield checkpoint');
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== CHECKPOINT_MAGIC) fail(`not a Slimfield checkpoint (magic ${JSON.stringify(magic)}, expected ${CHECKPOINT_MAGIC})`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint16(8, true);
  if (version !== CHECKPOINT_VERSION) fail(`checkpoint version ${version} is not supported (this build reads version ${CHECKPOINT_VERSION})`);
  if (dv.getUint16(10, true) !== 0) fail('reserved preamble bits are set: damaged file?');
  const headLen = dv.getUint32(12, true);
  if (headLen === 0 || headLen > MAX_HEADER_BYTES || headLen % 4 !== 0) fail(`header length ${headLen} is not plausible`);
  if (bytes.length < PREAMBLE + headLen) fail('truncated inside the header');
  const head = bytes.subarray(PREAMBLE, PREAMBLE + headLen);
  if (CRC32.buf(head) >>> 0 !== dv.getUint32(16, true)) fail('header checksum mismatch: the file is damaged');
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(head));
  } catch (e) {
    fail(`broken header: ${(e as Error).message}`);
  }
  return { header: checkHeader(raw, fail), end: PREAMBLE + headLen };
}

/** What a checkpoint holds, from its header alone (no tensors read). */
export function summarizeCheckpoint(bytes: Uint8Array, file: string): CheckpointSummary {
  const { header: h } = readHeader(bytes, (why) => {
    throw new CheckpointError(`${file}: ${why}`);
  });
  return { iter: h.trainer.iter, nIters: h.train.nIters, kind: h.settings.kind, dataset: h.dataset, created: h.created };
}

/** A checkpoint from its bytes, every part checked. */
export function decodeCheckpoint(bytes: Uint8Array, file: string): Checkpoint {
  const fail = (why: string): never => {
    throw new CheckpointError(`${file}: ${why}`);
  };
  const { header: h, end } = readHeader(bytes, fail);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const floats = h.segments.reduce((n, s) => n + 3 * s.count, 0);
  const lengths = [floats * 4, (h.mask?.words ?? 0) * 4, h.validWords * 4];
  const total = end + lengths.reduce((n, l) => n + 8 + l, 0);
  if (bytes.length !== total) {
    fail(`the header describes ${total} bytes but the file has ${bytes.length}: ${bytes.length < total ? 'truncated' : 'trailing bytes'}`);
  }
  const payloads: Uint8Array[] = [];
  let p = end;
  SECTIONS.forEach((label, i) => {
    const len = dv.getUint32(p, true);
    if (len !== lengths[i]) fail(`${label}: section length ${len}, the header implies ${lengths[i]}`);
    const payload = bytes.subarray(p + 8, p + 8 + len);
    if (CRC32.buf(payload) >>> 0 !== dv.getUint32(p + 4, true)) fail(`${label}: checksum mismatch, the file is damaged`);
    payloads.push(payload);
    p += 8 + len;
  });
  // Copies, aligned for typed arrays whatever the input's offset.
  const tensors = new Float32Array(payloads[0]!.slice().buffer);
  const words = (b: Uint8Array) => {
    const d = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return Uint32Array.from({ length: b.length / 4 }, (_, i) => d.getUint32(4 * i, true));
  };
  const values = new Map<string, Float32Array>();
  const adamM = new Map<string, Float32Array>();
  const adamV = new Map<string, Float32Array>();
  let at = 0;
  for (const s of h.segments) {
    for (const m of [values, adamM, adamV]) {
      const v = tensors.subarray(at, at + s.count);
      for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) fail(`tensors: ${s.name} holds a non-finite value`);
      m.set(s.name, v);
      at += s.count;
    }
  }
  return {
    settings: h.settings,
    train: h.train,
    box: h.box,
    grid: h.grid,
    mask: h.mask ? { dims: h.mask.dims, box: h.mask.box, bits: words(payloads[1]!) } : null,
    values,
    adamM,
    adamV,
    validRays: words(payloads[2]!),
    trainer: h.trainer,
    dataset: h.dataset,
    progress: h.progress,
  };
}

/** Every header field a reader trusts, checked for type and range. */
function checkHeader(raw: unknown, fail: (why: string) => never): Header {
  const c = new JsonChecks(fail);
  const h = c.obj(raw, 'the header');
  if (h.format !== 'slimfield-checkpoint') fail(`header: format ${JSON.stringify(h.format)} is not "slimfield-checkpoint"`);
  const created = typeof h.created === 'string' ? h.created : fail('header: created must be a date string');
  const settings = c.settings(h.settings);
  const train = checkTrainOptions(c, h.train);
  const box = c.box(h.box, 'box');
  const grid = c.ints(h.grid, 'grid', 3, 2, 4096) as Vec3;
  // The tensors must be exactly those of this model at this box and grid.
  const want = fieldSegments(settings, box, grid);
  const segs = Array.isArray(h.segments) ? h.segments : fail('header: segments must be a list');
  if (segs.length !== want.length) fail(`header: ${segs.length} tensors listed, the model has ${want.length}`);
  const segments = want.map((w, i) => {
    const s = c.obj(segs[i], `segments[${i}]`);
    if (s.name !== w.name || s.count !== w.count)
      fail(`header: tensor ${i} is ${JSON.stringify(s.name)} of ${JSON.stringify(s.count)} values, the model's is ${w.name} of ${w.count}`);
    return { name: w.name, count: w.count };
  });
  let mask: Header['mask'] = null;
  if (h.mask !== null) {
    const m = c.obj(h.mask, 'mask');
    const dims = c.ints(m.dims, 'mask.dims', 3, 1, 4096) as Vec3;
    const words = c.int(m.words, 'mask.words', 1, 2 ** 31);
    if (words !== Math.ceil((dims[0] * dims[1] * dims[2]) / 32)) fail(`header: mask.words ${words} does not match mask.dims ${dims.join('x')}`);
    mask = { dims, box: c.box(m.box, 'mask.box'), words };
  }
  const validWords = c.int(h.validWords, 'validWords', 1, 2 ** 27);
  const t = c.obj(h.trainer, 'trainer');
  const iter = c.int(t.iter, 'trainer.iter', 0, train.nIters);
  let ranks: TrainerState['ranks'] = null;
  if (t.ranks !== null) {
    const r = c.obj(t.ranks, 'trainer.ranks');
    ranks = {
      rank: c.int(r.rank, 'trainer.ranks.rank', 1, maxRankOf(settings)),
      previous: r.previous === null ? null : c.num(r.previous, 'trainer.ranks.previous', 0),
      lastIncrement: c.int(r.lastIncrement, 'trainer.ranks.lastIncrement', 0, iter),
    };
  }
  const trainer: TrainerState = {
    iter,
    lastReset: c.int(t.lastReset, 'trainer.lastReset', 0, iter),
    l1Weight: c.num(t.l1Weight, 'trainer.l1Weight', 0),
    adamStep: c.int(t.adamStep, 'trainer.adamStep', 0, iter),
    rngState: c.int(t.rngState, 'trainer.rngState', 1, 2 ** 32 - 1),
    rank: c.int(t.rank, 'trainer.rank', 1, maxRankOf(settings)),
    ranks,
    samplesProcessed: c.num(t.samplesProcessed, 'trainer.samplesProcessed', 0),
    raysFiltered: typeof t.raysFiltered === 'boolean' ? t.raysFiltered : fail('header: trainer.raysFiltered must be true or false'),
    ...(t.blurRngState === undefined ? {} : { blurRngState: c.int(t.blurRngState, 'trainer.blurRngState', 1, 2 ** 32 - 1) }),
    ...(t.poses === undefined ? {} : { poses: checkPoses(c, t.poses, iter) }),
    ...(t.lastLoss === undefined ? {} : { lastLoss: c.num(t.lastLoss, 'trainer.lastLoss', 0) }),
  };
  const d = c.obj(h.dataset, 'dataset');
  const splits: DatasetFingerprint['splits'] = {};
  for (const [name, v] of Object.entries(c.obj(d.splits, 'dataset.splits'))) {
    const s = c.obj(v, `dataset.splits.${name}`);
    splits[name] = {
      views: c.int(s.views, `dataset.splits.${name}.views`, 1, 1e6),
      width: c.int(s.width, 'width', 1, 1e6),
      height: c.int(s.height, 'height', 1, 1e6),
    };
  }
  const dataset: DatasetFingerprint = {
    name: typeof d.name === 'string' ? d.name : fail('header: dataset.name must be a string'),
    format:
      d.format === 'blender' || d.format === 'instant-ngp' || d.format === 'colmap' || d.format === 'llff'
        ? d.format
        : fail('header: dataset.format is not a known format'),
    splits,
    crc: c.int(d.crc, 'dataset.crc', 0, 2 ** 32 - 1),
  };
  const pr = c.obj(h.progress, 'progress');
  const progress: RunProgress = {
    seconds: c.num(pr.seconds, 'progress.seconds', 0),
    coarseSeconds: c.num(pr.coarseSeconds, 'progress.coarseSeconds', 0),
    trainSeconds: c.num(pr.trainSeconds, 'progress.trainSeconds', 0),
    rankSteps: c.intList(pr.rankSteps, 'progress.rankSteps', 4096, 1, iter),
  };
  return { format: 'slimfield-checkpoint', created, settings, train, box, grid, mask, segments, validWords, trainer, dataset, progress };
}

/** Training options checkpoints made before them do not have. */
const ADDED_OPTIONS = new Set([
  'blurSchedule',
  'refinePoses',
  'lrPoseInit',
  'lrPoseFinal',
  'imageBlurSchedule',
  'edgeLoss',
  'strivecPlacement',
  'lineSamplesPerCell',
]);

/** Pose refinement's saved corrections and Adam moments: three lists of six numbers per camera. */
function checkPoses(c: JsonChecks, raw: unknown, iter: number): PoseState {
  const p = c.obj(raw, 'trainer.poses');
  const list = (v: unknown, what: string) =>
    Array.isArray(v) && v.length % 6 === 0 && v.length <= 6e6
      ? v.map((x, i) => c.num(x, `trainer.poses.${what}[${i}]`))
      : c.fail(`header: trainer.poses.${what} must list six numbers per camera`);
  const out: PoseState = {
    step: c.int(p.step, 'trainer.poses.step', 0, iter),
    correction: list(p.correction, 'correction'),
    adamM: list(p.adamM, 'adamM'),
    adamV: list(p.adamV, 'adamV'),
  };
  if (out.adamM.length !== out.correction.length || out.adamV.length !== out.correction.length) c.fail('header: trainer.poses lists differ in length');
  if (out.adamV.some((v) => v < 0)) c.fail('header: trainer.poses.adamV must not be negative');
  return out;
}

/** Training options: exactly the keys of DEFAULT_TRAIN, each of its type. */
function checkTrainOptions(c: JsonChecks, raw: unknown): TrainOptions {
  const o = c.obj(raw, 'train');
  const out: Record<string, unknown> = {};
  for (const [key, def] of Object.entries(DEFAULT_TRAIN)) {
    const v = o[key];
    const what = `train.${key}`;
    // Options added since the first checkpoints: absent means their default.
    if (v === undefined && ADDED_OPTIONS.has(key)) {
      out[key] = def;
      continue;
    }
    if (typeof def === 'boolean') out[key] = typeof v === 'boolean' ? v : c.fail(`header: ${what} must be true or false`);
    else if (key === 'strivecPlacement') out[key] = v === 'weights' || v === 'density' ? v : c.fail(`header: ${what} must be "weights" or "density"`);
    else if (Array.isArray(def)) {
      out[key] = Array.isArray(v) && v.length <= 4096 ? v.map((x, i) => c.num(x, `${what}[${i}]`, 0)) : c.fail(`header: ${what} must be a list of numbers`);
    } else out[key] = c.num(v, what, 0);
  }
  // The one optional option: absent means the dataset decided.
  if (o.contract !== undefined) {
    out.contract = typeof o.contract === 'boolean' || o.contract === 'ndc' ? o.contract : c.fail('header: train.contract must be true, false or "ndc"');
  }
  const unknown = Object.keys(o).filter((k) => !(k in DEFAULT_TRAIN) && k !== 'contract');
  if (unknown.length) c.fail(`header: unknown training options ${unknown.join(', ')}`);
  const t = out as unknown as TrainOptions;
  for (const key of ['nIters', 'batchSize', 'nVoxelInit', 'nVoxelFinal', 'seed', 'rankEta', 'trainViews', 'coarseIters', 'lineSamplesPerCell'] as const) {
    if (!Number.isInteger(t[key])) c.fail(`header: train.${key} must be an integer`);
  }
  if (t.nIters < 1 || t.batchSize < 1) c.fail('header: train.nIters and train.batchSize must be at least 1');
  return t;
}
