// COLMAP's sparse model, binary (cameras.bin, images.bin, points3D.bin) and text (cameras.txt,
// images.txt, points3D.txt), as COLMAP writes them (src/colmap/scene/reconstruction_io.cc). Every
// count is checked against the bytes left before anything is allocated, every number for
// finiteness, and a message names the file and the record (camera, image or point id).

import { quaternionOf } from '../camera/rotation.ts';
import { Bytes } from './bytes.ts';
import { DatasetError } from './types.ts';

/** COLMAP's camera models by id, with their parameter names in file order. */
export const CAMERA_MODELS = [
  { id: 0, name: 'SIMPLE_PINHOLE', params: ['f', 'cx', 'cy'] },
  { id: 1, name: 'PINHOLE', params: ['fx', 'fy', 'cx', 'cy'] },
  { id: 2, name: 'SIMPLE_RADIAL', params: ['f', 'cx', 'cy', 'k'] },
  { id: 3, name: 'RADIAL', params: ['f', 'cx', 'cy', 'k1', 'k2'] },
  { id: 4, name: 'OPENCV', params: ['fx', 'fy', 'cx', 'cy', 'k1', 'k2', 'p1', 'p2'] },
  { id: 5, name: 'OPENCV_FISHEYE', params: ['fx', 'fy', 'cx', 'cy', 'k1', 'k2', 'k3', 'k4'] },
  { id: 6, name: 'FULL_OPENCV', params: ['fx', 'fy', 'cx', 'cy', 'k1', 'k2', 'p1', 'p2', 'k3', 'k4', 'k5', 'k6'] },
  { id: 7, name: 'FOV', params: ['fx', 'fy', 'cx', 'cy', 'omega'] },
  { id: 8, name: 'SIMPLE_RADIAL_FISHEYE', params: ['f', 'cx', 'cy', 'k'] },
  { id: 9, name: 'RADIAL_FISHEYE', params: ['f', 'cx', 'cy', 'k1', 'k2'] },
  { id: 10, name: 'THIN_PRISM_FISHEYE', params: ['fx', 'fy', 'cx', 'cy', 'k1', 'k2', 'p1', 'p2', 'k3', 'k4', 'sx1', 'sy1'] },
] as const;
export type CameraModelName = (typeof CAMERA_MODELS)[number]['name'];

export interface ColmapCamera {
  id: number;
  model: CameraModelName;
  width: number;
  height: number;
  /** The model's parameters by name (f, fx, cx, k1, ...). */
  params: Record<string, number>;
}

export interface ColmapImage {
  id: number;
  /** World-to-camera rotation as a unit quaternion (w, x, y, z) and translation, OpenCV axes. */
  q: [number, number, number, number];
  t: [number, number, number];
  cameraId: number;
  /** Path below the images folder, '/'-separated. */
  name: string;
}

export interface ColmapModel {
  cameras: Map<number, ColmapCamera>;
  images: ColmapImage[];
  /** Sparse points: xyz per point, and their colours (RGB8). */
  points: { xyz: Float64Array; rgb: Uint8Array };
}

// ---------------------------------------------------------------------------------------------
// Binary

/** Little-endian reads that refuse to run past the end, naming the file and what was being read. */
class Reader {
  private view: DataView;
  at = 0;
  constructor(
    private readonly bytes: Uint8Array,
    readonly file: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get left(): number {
    return this.bytes.length - this.at;
  }
  need(n: number, what: string): void {
    if (n > this.left) throw new DatasetError(this.file, `the file ends in ${what} (${n} bytes needed at byte ${this.at}, ${this.left} left): it is truncated`);
  }
  i32(what: string): number {
    this.need(4, what);
    const v = this.view.getInt32(this.at, true);
    this.at += 4;
    return v;
  }
  u8(what: string): number {
    this.need(1, what);
    return this.bytes[this.at++]!;
  }
  /** A u64 that must fit a JS number exactly (ids, counts, sizes). */
  u64(what: string): number {
    this.need(8, what);
    const v = this.view.getBigUint64(this.at, true);
    this.at += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DatasetError(this.file, `${what} is ${v}, which no real model has: the file is damaged`);
    return Number(v);
  }
  f64(what: string): number {
    this.need(8, what);
    const v = this.view.getFloat64(this.at, true);
    this.at += 8;
    return v;
  }
  /** A NUL-terminated UTF-8 string. */
  string(what: string): string {
    const end = this.bytes.indexOf(0, this.at);
    if (end < 0) throw new DatasetError(this.file, `the file ends in ${what} (no terminating NUL): it is truncated`);
    const s = new TextDecoder('utf-8', { fatal: false }).decode(this.bytes.subarray(this.at, end));
    this.at = end + 1;
    return s;
  }
  skip(n: number, what: string): void {
    this.need(n, what);
    this.at += n;
  }
  /** A record count, refused when even the smallest records could not fit in the bytes left. */
  count(what: string, minRecordBytes: number): number {
    const n = this.u64(`the number of ${what}`);
    if (n * minRecordBytes > this.left) {
      throw new DatasetError(
        this.file,
        `it says it holds ${n.toLocaleString()} ${what}, more than its ${this.left.toLocaleString()} remaining bytes can: the file is truncated or damaged`,
      );
    }
    return n;
  }
}

export function readCamerasBin(bytes: Uint8Array, file: string): Map<number, ColmapCamera> {
  const r = new Reader(bytes, file);
  const n = r.count('cameras', 24);
  const cameras = new Map<number, ColmapCamera>();
  for (let i = 0; i < n; i++) {
    const id = r.i32(`camera ${i + 1}'s id`);
    const modelId = r.i32(`camera ${id}'s model`);
    const model = CAMERA_MODELS.find((m) => m.id === modelId);
    if (!model) throw new DatasetError(file, `camera ${id} has model id ${modelId}, which COLMAP does not define (0 to ${CAMERA_MODELS.length - 1})`);
    const width = r.u64(`camera ${id}'s width`);
    const height = r.u64(`camera ${id}'s height`);
    const values = model.params.map((p) => r.f64(`camera ${id}'s ${p}`));
    addCamera(cameras, { id, model: model.name, width, height, params: Object.fromEntries(model.params.map((p, k) => [p, values[k]!])) }, file);
  }
  return cameras;
}

export function readImagesBin(bytes: Uint8Array, file: string): ColmapImage[] {
  const r = new Reader(bytes, file);
  // id, pose, camera id, a name of at least one character and its NUL, the point count.
  const n = r.count('images', 4 + 7 * 8 + 4 + 2 + 8);
  const images: ColmapImage[] = [];
  for (let i = 0; i < n; i++) {
    const id = r.i32(`image ${i + 1}'s id`);
    const pose = Array.from({ length: 7 }, () => r.f64(`image ${id}'s pose`));
    const cameraId = r.i32(`image ${id}'s camera id`);
    const name = r.string(`image ${id}'s name`);
    // The 2D observations (x, y, point id) are not needed: the points carry their own positions.
    const observations = r.count(`2D points of image ${id}`, 24);
    r.skip(observations * 24, `image ${id}'s 2D points`);
    images.push(checkImage({ id, q: pose.slice(0, 4) as ColmapImage['q'], t: pose.slice(4) as ColmapImage['t'], cameraId, name }, file));
  }
  return images;
}

export function readPointsBin(bytes: Uint8Array, file: string): ColmapModel['points'] {
  const r = new Reader(bytes, file);
  const n = r.count('points', 8 + 24 + 3 + 8 + 8);
  const xyz = new Float64Array(n * 3);
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const id = r.u64(`point ${i + 1}'s id`);
    for (let k = 0; k < 3; k++) xyz[i * 3 + k] = r.f64(`point ${id}'s position`);
    for (let k = 0; k < 3; k++) rgb[i * 3 + k] = r.u8(`point ${id}'s colour`);
    r.f64(`point ${id}'s error`);
    const track = r.count(`track entries of point ${id}`, 8);
    r.skip(track * 8, `point ${id}'s track`);
    checkFinite(xyz.subarray(i * 3, i * 3 + 3), file, `point ${id}'s position`);
  }
  return { xyz, rgb };
}

// ---------------------------------------------------------------------------------------------
// Text

/** The data lines of a COLMAP text file with their line numbers: comments dropped, CRLF and stray whitespace tolerated. */
function textLines(text: string, keepEmpty: boolean): { no: number; tokens: string[]; raw: string }[] {
  const out: { no: number; tokens: string[]; raw: string }[] = [];
  text.split(/\r?\n|\r/).forEach((line, i) => {
    const raw = line.trim();
    if (raw.startsWith('#')) return;
    if (raw === '' && !keepEmpty) return;
    out.push({ no: i + 1, tokens: raw === '' ? [] : raw.split(/\s+/), raw });
  });
  return out;
}

function number(token: string | undefined, file: string, where: string): number {
  const v = token === undefined ? Number.NaN : Number(token);
  if (token === undefined || token === '' || !Number.isFinite(v))
    throw new DatasetError(file, `${where} is ${token === undefined ? 'missing' : `"${token}"`}, not a finite number`);
  return v;
}

function integer(token: string | undefined, file: string, where: string): number {
  const v = number(token, file, where);
  if (!Number.isSafeInteger(v)) throw new DatasetError(file, `${where} is ${token}, not a whole number`);
  return v;
}

export function readCamerasText(text: string, file: string): Map<number, ColmapCamera> {
  const cameras = new Map<number, ColmapCamera>();
  for (const { no, tokens } of textLines(text, false)) {
    const at = `line ${no}`;
    const id = integer(tokens[0], file, `${at}: the camera id`);
    const model = CAMERA_MODELS.find((m) => m.name === tokens[1]);
    if (!model)
      throw new DatasetError(
        file,
        `${at}: camera ${id} has model "${tokens[1] ?? ''}", which COLMAP does not define (${CAMERA_MODELS.map((m) => m.name).join(', ')})`,
      );
    if (tokens.length !== 4 + model.params.length) {
      throw new DatasetError(
        file,
        `${at}: camera ${id} (${model.name}) has ${tokens.length - 4} parameters; ${model.name} has ${model.params.length} (${model.params.join(', ')})`,
      );
    }
    const width = integer(tokens[2], file, `${at}: camera ${id}'s width`);
    const height = integer(tokens[3], file, `${at}: camera ${id}'s height`);
    const params = Object.fromEntries(model.params.map((p, k) => [p, number(tokens[4 + k], file, `${at}: camera ${id}'s ${p}`)]));
    addCamera(cameras, { id, model: model.name, width, height, params }, file);
  }
  return cameras;
}

export function readImagesText(text: string, file: string): ColmapImage[] {
  // Two lines per image: the pose line, then its 2D points (possibly empty). Blank lines between
  // records, as some exporters write, are skipped only where a pose line is expected.
  const lines = textLines(text, true);
  const images: ColmapImage[] = [];
  for (let i = 0; i < lines.length; i++) {
    const { no, tokens, raw } = lines[i]!;
    if (tokens.length === 0) continue;
    const at = `line ${no}`;
    if (tokens.length < 10)
      throw new DatasetError(file, `${at}: an image line needs IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME, got ${tokens.length} fields`);
    const id = integer(tokens[0], file, `${at}: the image id`);
    const pose = tokens.slice(1, 8).map((t, k) => number(t, file, `${at}: image ${id}'s ${['qw', 'qx', 'qy', 'qz', 'tx', 'ty', 'tz'][k]}`));
    const cameraId = integer(tokens[8], file, `${at}: image ${id}'s camera id`);
    // The name is the rest of the line: names may hold spaces.
    const name = raw.replace(/^(\S+\s+){9}/, '');
    images.push(checkImage({ id, q: pose.slice(0, 4) as ColmapImage['q'], t: pose.slice(4) as ColmapImage['t'], cameraId, name }, file, at));
    // Its 2D points line follows: (X, Y, POINT3D_ID) triples of numbers. Some exporters leave it
    // out; the next line is then the next image's (ten fields, the last a name).
    const next = lines[i + 1];
    if (next && next.tokens.length % 3 === 0 && next.tokens.every((t) => Number.isFinite(Number(t)))) i++;
  }
  return images;
}

export function readPointsText(text: string, file: string): ColmapModel['points'] {
  const lines = textLines(text, false);
  const xyz = new Float64Array(lines.length * 3);
  const rgb = new Uint8Array(lines.length * 3);
  lines.forEach(({ no, tokens }, i) => {
    const at = `line ${no}`;
    if (tokens.length < 8) throw new DatasetError(file, `${at}: a point needs POINT3D_ID X Y Z R G B ERROR, got ${tokens.length} fields`);
    const id = tokens[0];
    for (let k = 0; k < 3; k++) xyz[i * 3 + k] = number(tokens[1 + k], file, `${at}: point ${id}'s ${'xyz'[k]}`);
    for (let k = 0; k < 3; k++) rgb[i * 3 + k] = Math.max(0, Math.min(255, integer(tokens[4 + k], file, `${at}: point ${id}'s ${'RGB'[k]}`)));
  });
  return { xyz, rgb };
}

// ---------------------------------------------------------------------------------------------
// Checks both forms share

function addCamera(cameras: Map<number, ColmapCamera>, cam: ColmapCamera, file: string): void {
  if (cameras.has(cam.id)) throw new DatasetError(file, `camera ${cam.id} is defined twice`);
  if (!(cam.width > 0 && cam.height > 0))
    throw new DatasetError(file, `camera ${cam.id} is ${cam.width}x${cam.height} pixels; a camera needs a positive width and height`);
  for (const [p, v] of Object.entries(cam.params)) {
    if (!Number.isFinite(v)) throw new DatasetError(file, `camera ${cam.id}'s ${p} is ${v}, not a finite number`);
  }
  for (const p of ['f', 'fx', 'fy'] as const) {
    const v = cam.params[p];
    if (v !== undefined && !(v > 0)) throw new DatasetError(file, `camera ${cam.id} (${cam.model}) has focal length ${p} = ${v}; it must be positive`);
  }
  cameras.set(cam.id, cam);
}

function checkFinite(values: ArrayLike<number>, file: string, what: string): void {
  for (let k = 0; k < values.length; k++) {
    if (!Number.isFinite(values[k]!)) throw new DatasetError(file, `${what} holds ${values[k]}, not a finite number`);
  }
}

function checkImage(img: ColmapImage, file: string, at = ''): ColmapImage {
  const where = `${at ? `${at}: ` : ''}image ${img.id}${img.name ? ` (${img.name})` : ''}`;
  checkFinite(img.q, file, `${where}'s rotation quaternion`);
  checkFinite(img.t, file, `${where}'s translation`);
  const norm = Math.hypot(...img.q);
  if (!(norm > 1e-6)) throw new DatasetError(file, `${where} has a zero rotation quaternion`);
  // COLMAP writes unit quaternions; one far from unit length is a damaged file, not rounding.
  if (Math.abs(norm - 1) > 1e-2) throw new DatasetError(file, `${where} has a rotation quaternion of length ${norm.toPrecision(4)}, not 1`);
  if (img.name.trim() === '') throw new DatasetError(file, `${where} has no file name`);
  return { ...img, q: img.q.map((v) => v / norm) as ColmapImage['q'] };
}

// Writing: a model as COLMAP's text files (as src/colmap/scene/reconstruction_io.cc writes them),
// for the refined cameras of pose refinement (export/capture.ts) and the tests' fixtures.

/** A model to write: cameras with their parameters in the model's file order. */
export interface ColmapSpecCamera {
  id: number;
  model: CameraModelName;
  width: number;
  height: number;
  params: number[];
}

export interface ColmapSpecImage {
  id: number;
  /** World-to-camera quaternion (w, x, y, z) and translation. */
  q: number[];
  t: number[];
  cameraId: number;
  name: string;
  /** Its 2D observations: x, y (continuous pixels) and the id of the point each sees (−1 for none). */
  points2D?: { xy: number[]; point3D: number[] };
}

export interface ColmapModelSpec {
  cameras: ColmapSpecCamera[];
  images: ColmapSpecImage[];
  /**
   * xyz per point, with RGB colours; point i has id i + 1. Where the model keeps them, each point's
   * track (image id and index of its 2D point, interleaved) and reprojection error.
   */
  points: { xyz: ArrayLike<number>; rgb: ArrayLike<number>; tracks?: number[][]; errors?: number[] };
}

/** COLMAP's image pose (world-to-camera) of an OpenCV camera-to-world. */
export function imagePose(c2w: Float64Array): { q: number[]; t: number[] } {
  const r = [c2w[0]!, c2w[4]!, c2w[8]!, c2w[1]!, c2w[5]!, c2w[9]!, c2w[2]!, c2w[6]!, c2w[10]!]; // Rᵀ
  const c = [c2w[3]!, c2w[7]!, c2w[11]!];
  const t = [0, 1, 2].map((i) => -(r[i * 3]! * c[0]! + r[i * 3 + 1]! * c[1]! + r[i * 3 + 2]! * c[2]!));
  return { q: quaternionOf(r), t };
}

export function colmapModelText(m: ColmapModelSpec): { cameras: string; images: string; points: string } {
  const cameras = ['# Camera list with one line of data per camera:', '#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]']
    .concat(m.cameras.map((c) => [c.id, c.model, c.width, c.height, ...c.params].join(' ')))
    .join('\n');
  const images = [
    '# Image list with two lines of data per image:',
    '#   IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME',
    '#   POINTS2D[] as (X, Y, POINT3D_ID)',
  ]
    .concat(
      m.images.flatMap((im) => [
        [im.id, ...im.q, ...im.t, im.cameraId, im.name].join(' '),
        (im.points2D?.point3D ?? []).flatMap((id, k) => [im.points2D!.xy[2 * k]!, im.points2D!.xy[2 * k + 1]!, id]).join(' '),
      ]),
    )
    .join('\n');
  const n = m.points.xyz.length / 3;
  const xyz = Array.from(m.points.xyz);
  const rgb = Array.from(m.points.rgb);
  const points = ['# 3D point list with one line of data per point:', '#   POINT3D_ID, X, Y, Z, R, G, B, ERROR, TRACK[] as (IMAGE_ID, POINT2D_IDX)']
    .concat(
      Array.from({ length: n }, (_, i) =>
        [i + 1, ...xyz.slice(i * 3, i * 3 + 3), ...rgb.slice(i * 3, i * 3 + 3), m.points.errors?.[i] ?? 0.5, ...(m.points.tracks?.[i] ?? [1, 0])].join(' '),
      ),
    )
    .join('\n');
  return { cameras: `${cameras}\n`, images: `${images}\n`, points: `${points}\n` };
}

/** cameras.bin, images.bin and points3D.bin of a model, as COLMAP's WriteBinary lays them out. */
export function colmapModelBinary(m: ColmapModelSpec): { cameras: Uint8Array; images: Uint8Array; points: Uint8Array } {
  const cams = new Bytes().u64(m.cameras.length);
  for (const c of m.cameras) {
    cams
      .i32(c.id)
      .i32(CAMERA_MODELS.find((k) => k.name === c.model)!.id)
      .u64(c.width)
      .u64(c.height);
    for (const p of c.params) cams.f64(p);
  }
  const imgs = new Bytes().u64(m.images.length);
  for (const im of m.images) {
    imgs.i32(im.id);
    for (const v of [...im.q, ...im.t]) imgs.f64(v);
    imgs.i32(im.cameraId).str(im.name);
    const ids = im.points2D?.point3D ?? [];
    imgs.u64(ids.length);
    // A 2D point that sees no 3D point has COLMAP's invalid id, the largest uint64 (−1 as int64).
    ids.forEach((id, k) => {
      imgs
        .f64(im.points2D!.xy[2 * k]!)
        .f64(im.points2D!.xy[2 * k + 1]!)
        .i64(id);
    });
  }
  const n = m.points.xyz.length / 3;
  const pts = new Bytes().u64(n);
  for (let i = 0; i < n; i++) {
    pts.u64(i + 1);
    for (let k = 0; k < 3; k++) pts.f64(m.points.xyz[i * 3 + k]!);
    for (let k = 0; k < 3; k++) pts.u8(m.points.rgb[i * 3 + k]!);
    const track = m.points.tracks?.[i] ?? [1, 0];
    pts.f64(m.points.errors?.[i] ?? 0.5).u64(track.length / 2);
    for (const v of track) pts.i32(v);
  }
  return { cameras: cams.done(), images: imgs.done(), points: pts.done() };
}
