// The field kernels against the f64 reference (src/field/field.ref.ts): forward colours and
// losses of whole ray batches, and every gradient (factors, basis, MLP) against central finite
// differences of the reference loss. Small random VM and CP fields, small random rays.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cross, dot, mat3Apply, sub, unit } from '../../src/camera/vec3.ts';
import type { PosedView } from '../../src/data/types.ts';
import { blurAxis, gaussianTaps } from '../../src/field/blur.ref.ts';
import { type BlurTensor, blurPasses } from '../../src/field/blur.ts';
import { recordDensityLattice } from '../../src/field/density-lattice.ts';
import { type RefModel, type RefRay, refDensityFeature, refRender, refSamples } from '../../src/field/field.ref.ts';
import { TensorField } from '../../src/field/field.ts';
import { type Box, contractedBox, gridUnits, NDC_BOX, type NdcFrame, toField, toWorld, type Vec3 } from '../../src/field/geometry.ts';
import { fieldKernel } from '../../src/field/kernels.ts';
import { placeTensors } from '../../src/field/layouts/strivec-lattice.ts';
import type { FieldSettings } from '../../src/field/settings.ts';
import { Encoder } from '../../src/gpu/kernel.ts';
import { nodeGpu } from '../../src/gpu/node.ts';
import { randomNormal } from '../../src/gpu/random.ts';
import { GRAD_SCALE } from '../../src/gpu/wgsl.ts';
import { packCameras } from '../../src/rays/gpu-split.ts';
import { RayBatch } from '../../src/render/ray-batch.ts';
import { CoarseToFine } from '../../src/train/coarse-to-fine.ts';
import { readRayLosses, recordLoss } from '../../src/train/loss.ts';
import { PoseRefiner, refineCamera } from '../../src/train/pose-refinement.ts';
import { SEEN_BOX, seenSettings } from '../fixtures/small-fields.ts';

const box: Box = SEEN_BOX;

// Strivec: two levels of local tensors around a random cloud in the middle of the box, so rays
// cross covered and uncovered space (where every level must cover a sample for it to count).
const cloud = randomNormal(3 * 40, 0.35, 5);
const lattice = placeTensors(cloud, [0.8, 0.5], [0.6, 0.375]);

const settings = (kind: 'vm' | 'cp' | 'strivec', shading: 'MLP_Fea' | 'SH'): FieldSettings => seenSettings(kind, shading, lattice.levels);

/**
 * Random rays through the middle of the box. Rays with a sample near the edge of the inside tolerance are
 * dropped: there f32 (GPU) and f64 (reference) may disagree on inside/outside.
 */
function randomRays(n: number, seed: number, ndc?: { frame: NdcFrame; grid: Vec3 }): WeightedRay[] {
  const r = randomNormal(n * 18, 1, seed);
  const model = ndc
    ? { settings: { ...settings('vm', 'SH'), ndc: ndc.frame }, box: NDC_BOX, grid: ndc.grid, values: new Map() }
    : { settings: settings('vm', 'SH'), box, grid: [7, 6, 5] as Vec3, values: new Map() };
  const all = Array.from({ length: 2 * n }, (_, i) => {
    const target: Vec3 = [r[i * 9]! * 0.3, r[i * 9 + 1]! * 0.3, r[i * 9 + 2]! * 0.3];
    const dir = [r[i * 9 + 3]!, r[i * 9 + 4]!, r[i * 9 + 5]!];
    // NDC: rays from about the reference camera towards the middle, as a forward-facing capture's.
    const from = ndc ? ndc.frame.centre.map((c, a) => c + 0.3 * dir[a]!) : null;
    const along = from ? target.map((v, a) => v - from[a]!) : dir;
    const d = along.map((v) => v / Math.hypot(along[0]!, along[1]!, along[2]!)) as Vec3;
    const o = (from ?? target.map((v, a) => v - 3 * d[a]!)) as Vec3;
    const rgb = [0, 1, 2].map((c) => 1 / (1 + Math.exp(-r[i * 9 + 6 + c]!))) as Vec3;
    // Loss weights as the edge-guided loss gives them (and 1).
    return { o, d, rgb, weight: [1, 1.5, 0.5][i % 3]! };
  });
  const clear = (ray: RefRay) => refSamples(model, ray, 0.1, 10, 1.5e-5).length === refSamples(model, ray, 0.1, 10, 0.5e-5).length;
  return all.filter(clear).slice(0, n);
}

/** A ray with its loss weight (rgb.w on the GPU: the edge-guided loss's, else 1). */
type WeightedRay = RefRay & { weight?: number };

function packRays(rays: WeightedRay[]): Float32Array {
  const out = new Float32Array(rays.length * 12);
  rays.forEach((r, i) => {
    out.set([...r.o, 0, ...r.d, 0, ...r.rgb, r.weight ?? 1], i * 12);
  });
  return out;
}

/** The loss the gradients are of: each ray's loss times its weight, summed. */
const weightedSum = (rays: WeightedRay[], losses: number[]) => losses.reduce((sum, l, i) => sum + (rays[i]!.weight ?? 1) * l, 0);

/** A contracted field's inner box (unbounded scenes): its field box is the contracted space around it. */
const inner: Box = { lo: [-0.5, -0.6, -0.45], hi: [0.55, 0.5, 0.5] };
/** An NDC field's reference camera (forward-facing scenes): 2.5 in front of the middle, looking along +y, tilted. */
const ndcFrame: NdcFrame = (() => {
  const forward: Vec3 = [0.1, 0.99, -0.1].map((v, _, a) => v / Math.hypot(...a)) as Vec3;
  const right: Vec3 = [forward[1], -forward[0], 0].map((v, _, a) => v / Math.hypot(...a)) as Vec3;
  const down: Vec3 = [
    forward[1] * right[2] - forward[2] * right[1],
    forward[2] * right[0] - forward[0] * right[2],
    forward[0] * right[1] - forward[1] * right[0],
  ];
  return { centre: forward.map((v) => -2.5 * v) as Vec3, right, down, forward, ax: 1.2, ay: 1.1, near: 1.2 };
})();
const NDC_GRID: Vec3 = [12, 13, 9];

type Space = 'box' | 'contract' | 'ndc';

async function setup(kind: 'vm' | 'cp' | 'strivec', shading: 'MLP_Fea' | 'SH', grid: Vec3, space: Space = 'box') {
  const ctx = await nodeGpu();
  const tables = kind === 'strivec' ? new Map(lattice.tables.map((t, l) => [`lattice.level${l}`, t] as const)) : undefined;
  const st = settings(kind, shading);
  const field =
    space === 'contract'
      ? new TensorField(ctx, { ...st, contraction: inner }, contractedBox(inner), grid, 7, tables)
      : space === 'ndc'
        ? // NDC's world steps grow with the depth squared: a lower density keeps the rays from
          // saturating in their first samples, so the later ones carry gradient too.
          new TensorField(ctx, { ...st, ndc: ndcFrame, densityShift: -6 }, NDC_BOX, grid, 7, tables)
        : new TensorField(ctx, st, box, grid, 7, tables);
  const values = await field.arena.download(ctx);
  const model: RefModel = { settings: field.settings, box: field.box, grid: field.grid, values };
  return { ctx, field, values, model };
}

/** The factors blurred as field/blur.ts does (its passes, in f64), for the reference's loss. */
function blurredValues(values: Map<string, ArrayLike<number>>, tensors: readonly BlurTensor[]): Map<string, ArrayLike<number>> {
  const out = new Map(values);
  for (const t of tensors) {
    const taps = gaussianTaps(t.sigma);
    out.set(
      t.shape.name,
      blurPasses(t.shape).reduce<ArrayLike<number>>((x, p) => blurAxis(x, p.outer, p.len, p.inner, taps), values.get(t.shape.name)!),
    );
  }
  return out;
}

for (const [kind, shading, chunk, space, blur] of [
  ['vm', 'MLP_Fea', Infinity, 'box', false],
  ['cp', 'MLP_Fea', Infinity, 'box', false],
  ['strivec', 'MLP_Fea', Infinity, 'box', false],
  ['vm', 'SH', Infinity, 'box', false],
  ['vm', 'MLP_Fea', 16, 'box', false],
  ['vm', 'MLP_Fea', Infinity, 'contract', false],
  ['vm', 'MLP_Fea', Infinity, 'ndc', false],
  ['vm', 'MLP_Fea', Infinity, 'box', true],
  ['cp', 'MLP_Fea', Infinity, 'box', true],
] as const) {
  const chunked =
    (chunk < Infinity ? `, shaded in chunks of ${chunk}` : '') + (blur ? ', through the coarse-to-fine blur (gradients of the sharp factors)' : '');
  const where =
    space === 'contract'
      ? ', scene contracted (rays marched out to the far plane)'
      : space === 'ndc'
        ? ", in a camera's NDC (forward-facing; rays from its near plane)"
        : '';
  test(`${kind.toUpperCase()} ${shading}${chunked}${where}: batch colours, losses and all gradients match the f64 reference`, async () => {
    // The contracted box is twice the inner box: a finer grid keeps as many samples per ray.
    const grid: Vec3 = space === 'contract' ? [14, 12, 10] : space === 'ndc' ? NDC_GRID : [7, 6, 5];
    const { ctx, field, values, model } = await setup(kind, shading, grid, space);
    const rays = randomRays(24, kind === 'vm' ? 3 : kind === 'cp' ? 4 : 6, space === 'ndc' ? { frame: ndcFrame, grid } : undefined);
    const batch = chunk < Infinity ? new RayBatch(ctx, field, rays.length, chunk) : new RayBatch(ctx, field, rays.length);
    batch.nearFar = [0.1, 10];
    ctx.write(batch.rays, packRays(rays));
    ctx.write(field.arena.grads!, new Float32Array(field.arena.total));
    // The blur as training applies it: a constant 0.25-unit width (about 0.7 voxels here).
    const c2f = blur ? new CoarseToFine(ctx, [0.25], 3) : null;
    const prep = new Encoder(ctx);
    const blurred = c2f?.prepare(prep, field, 0, 1) ?? null;
    prep.submit();
    const tensors = blurred?.tensors ?? [];
    if (blur)
      assert.ok(
        tensors.some((t) => t.shape.name.startsWith('density.') && t.sigma > 0.3),
        'the density is blurred this step',
      );
    const seen = blur ? blurredValues(values, tensors) : values;
    // Forward, loss, backward: the training step's order.
    await batch.forward(rays.length, { train: true, jitter: false, seed: 1, bg: 1, ...(blurred ? { factors: blurred.factors } : {}) });
    const stats = await batch.readCounts();
    if (chunk < Infinity) assert.ok(stats.shaded > 2 * batch.chunkRows, `${stats.shaded} shaded samples span three chunks or more`);
    assert.ok(stats.samples > 100 && stats.shaded > 20, `enough samples (${stats.samples}) and shaded samples (${stats.shaded})`);
    const enc = new Encoder(ctx);
    recordLoss(ctx, enc, batch, rays.length);
    batch.backward(enc);
    const sharpened = c2f ? c2f.backward(enc, field, tensors) : new Set<string>();
    enc.submit();
    const out = await batch.readOutputs(rays.length);
    const loss = await readRayLosses(ctx, batch, rays.length);
    if (space === 'ndc') assert.ok(out.acc.filter((a) => a < 0.99).length >= 6, `rays not saturated: ${[...out.acc].map((a) => a.toFixed(3))}`);
    const ref = refRender({ ...model, values: seen }, rays, 1, 0.1, 10);
    for (let i = 0; i < rays.length; i++) {
      for (let c = 0; c < 3; c++) assert.ok(Math.abs(out.rgb[i * 3 + c]! - ref.rgb[i]![c]!) < 2e-4, `ray ${i} colour`);
      assert.ok(Math.abs(loss[i]! - ref.loss[i]!) < 2e-4, `ray ${i} loss`);
      assert.ok(Math.abs(out.acc[i]! - ref.acc[i]!) < 2e-4, `ray ${i} accumulation`);
      assert.ok(Math.abs(out.depth[i]! - ref.depth[i]!) < 1e-3 * Math.max(1, ref.depth[i]!), `ray ${i} depth ${out.depth[i]} vs ${ref.depth[i]}`);
    }

    // Gradients of the per-ray summed loss, against central differences of the reference.
    const gradBits = await ctx.read(field.arena.grads!);
    const gi = new Int32Array(gradBits);
    const gf = new Float32Array(gradBits);
    const lossOf = (vals: Map<string, ArrayLike<number>>) =>
      weightedSum(rays, refRender({ ...model, values: blur ? blurredValues(vals, tensors) : vals }, rays, 1, 0.1, 10).loss);
    let checked = 0;
    let skipped = 0;
    for (const seg of field.arena.segments.filter((x) => x.group !== 'index')) {
      const v = values.get(seg.name)!;
      if (seg.group === 'factor') {
        let any = false;
        for (let i = 0; i < seg.count && !any; i++) any = gi[seg.offset + i] !== 0;
        assert.ok(any, `${seg.name} received gradient`);
      }
      // Entries with the largest gradients, plus a few at random.
      const grad = (i: number) => (seg.fixedPoint && !sharpened.has(seg.name) ? gi[seg.offset + i]! / GRAD_SCALE : gf[seg.offset + i]!);
      const order = Array.from({ length: seg.count }, (_, i) => i).sort((a, b) => Math.abs(grad(b)) - Math.abs(grad(a)));
      const pick = [
        ...order.slice(0, 6),
        ...order
          .slice(6)
          .filter((_, j) => j % 37 === 5)
          .slice(0, 3),
      ];
      for (const i of pick) {
        const fdAt = (eps: number) => {
          const plus = new Float64Array(v);
          plus[i]! += eps;
          const minus = new Float64Array(v);
          minus[i]! -= eps;
          const withValue = (x: Float64Array) => new Map<string, ArrayLike<number>>(values).set(seg.name, x);
          return (lossOf(withValue(plus)) - lossOf(withValue(minus))) / (2 * eps);
        };
        const fd = fdAt(1e-4);
        // The loss is not smooth where a sample's weight crosses the shading threshold or a colour
        // hits the clamp; there two step sizes disagree and the point is skipped (and counted).
        if (Math.abs(fd - fdAt(2.5e-5)) > 1e-3 + 1e-2 * Math.abs(fd)) {
          skipped++;
          continue;
        }
        const err = Math.abs(grad(i) - fd);
        const tol = 3e-5 + 1e-2 * Math.abs(fd);
        assert.ok(err < tol, `${seg.name}[${i}]: GPU ${grad(i)} vs finite difference ${fd}`);
        checked++;
      }
    }
    assert.ok(skipped <= checked / 10, `${skipped} non-smooth points skipped, ${checked} checked`);
    assert.ok(checked > 60, `checked ${checked} gradients`);
    c2f?.destroy();
    batch.destroy();
    field.destroy();
  });
}

test('density feature on lattice points and at slimmed rank matches the reference', async () => {
  const { ctx, field, model } = await setup('vm', 'MLP_Fea', [5, 4, 6]);
  // Rank 1 of slot 0, all of the others: the same kernel path as full rank.
  const rays = randomRays(8, 11);
  const batch = new RayBatch(ctx, field, rays.length);
  batch.nearFar = [0.1, 10];
  ctx.write(batch.rays, packRays(rays));
  const rank = { density: [1, 2, 1], app: [1, 1, 1] };
  await batch.forward(rays.length, { train: false, jitter: false, seed: 0, bg: 0, rank });
  const out = (await batch.readOutputs(rays.length)).rgb;
  // Reference at the same rank: zero the components beyond it.
  const slim = new Map(model.values);
  for (const [prefix, keep, comps] of [
    ['density', rank.density, field.settings.densityComps],
    ['app', rank.app, field.settings.appComps],
  ] as const) {
    for (let m = 0; m < 3; m++) {
      for (const what of ['plane', 'line']) {
        const v = new Float64Array(slim.get(`${prefix}.${what}${m}`)!);
        for (let i = 0; i < v.length; i++) if (i % comps[m]! >= keep[m]!) v[i] = 0;
        slim.set(`${prefix}.${what}${m}`, v);
      }
    }
  }
  const ref = refRender({ ...model, values: slim }, rays, 0, 0.1, 10);
  for (let i = 0; i < rays.length; i++) {
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(out[i * 3 + c]! - ref.rgb[i]![c]!) < 2e-4, `ray ${i} colour at rank`);
  }
  assert.ok(Number.isFinite(refDensityFeature(model, [0, 0, 0])));
  batch.destroy();
  field.destroy();
});

test('Strivec: the alpha-mask grid kernel gives the reference opacity, zero where a level has no tensor', async () => {
  const { ctx, field, model } = await setup('strivec', 'MLP_Fea', [7, 6, 5]);
  const dims: Vec3 = [9, 8, 7];
  const n = dims[0] * dims[1] * dims[2];
  const alpha = ctx.buffer('test.alpha', n * 4);
  const step = field.step;
  const enc = new Encoder(ctx);
  recordDensityLattice(enc, field, dims, alpha);
  enc.submit();
  const got = await ctx.readF32(alpha, n);
  let zeros = 0;
  for (let i = 0; i < n; i++) {
    const idx = [i % dims[0], Math.floor(i / dims[0]) % dims[1], Math.floor(i / (dims[0] * dims[1]))];
    const u = idx.map((v, a) => (v / (dims[a]! - 1)) * (field.grid[a]! - 1)) as Vec3;
    const f = refDensityFeature(model, u) + field.settings.densityShift;
    const sigma = f > 20 ? f : Math.log1p(Math.exp(f));
    const want = 1 - Math.exp(-sigma * step);
    assert.ok(Math.abs(got[i]! - want) < 1e-5 + 1e-3 * want, `point ${idx}: ${got[i]} vs ${want}`);
    if (want === 0) zeros++;
  }
  assert.ok(zeros > 0 && zeros < n, `${zeros} of ${n} points uncovered`);
  ctx.destroy(alpha);
  field.destroy();
});

test('Strivec: a level may hold more than 32,767 tensors (the reference int16 limit)', async () => {
  const ctx = await nodeGpu();
  // A 200 x 200 sheet of points one cell thick: 40,000 tensors at a fine spacing. The first point
  // anchors the lattice at (-1, -1); the others sit at cell centres.
  const n = 200;
  const pts = new Float32Array((n * n + 1) * 3);
  pts.set([-1, -1, 0.001], 0);
  for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) pts.set([-1 + (i + 0.5) * 0.01, -1 + (j + 0.5) * 0.01, 0.001], (j * n + i + 1) * 3);
  const sheet = placeTensors(pts, [0.01], [0.0075]);
  assert.equal(sheet.levels[0]!.tensors, n * n);
  const s: FieldSettings = { ...settings('strivec', 'MLP_Fea'), densityComps: [1], appComps: [1], levels: sheet.levels };
  const sheetBox: Box = { lo: [-1, -1, -0.02], hi: [1, 1, 0.02] };
  const grid: Vec3 = [401, 401, 9];
  const field = new TensorField(ctx, s, sheetBox, grid, 3, new Map([['lattice.level0', sheet.tables[0]!]]));
  const values = await field.arena.download(ctx);
  const model: RefModel = { settings: field.settings, box: sheetBox, grid, values };
  // Points near the last tensors (ids above 32,767) and near the first ones.
  const probes: Vec3[] = [
    [0.9912, 0.9905, 0.001],
    [0.97, 0.955, 0.002],
    [-0.98, -0.97, 0.0],
  ];
  const units = [0, 1, 2].map((a) => (sheetBox.hi[a]! - sheetBox.lo[a]!) / (grid[a]! - 1));
  const us = probes.map((p) => p.map((v, a) => (v - sheetBox.lo[a]!) / units[a]!) as Vec3);
  const samples = ctx.upload('test.samples', new Float32Array(us.flatMap((u) => [...u, 0.01])));
  const counter = ctx.upload('test.counter', new Uint32Array([us.length, 0, 0, 0]));
  const sa = ctx.buffer('test.sa', us.length * 8);
  const enc = new Encoder(ctx);
  enc.dispatch(fieldKernel(ctx, field.settings, 'densityForward'), {
    params: { field: field.fieldUniform(), count: us.length, shift: 0, dist_scale: 1 },
    buffers: { params_f: field.arena.params!, samples, counter, sample_alpha: sa },
    workgroups: [1],
  });
  enc.submit();
  const got = await ctx.readF32(sa, us.length * 2);
  us.forEach((u, i) => {
    const f = refDensityFeature(model, u);
    const sigma = f > 20 ? f : Math.log1p(Math.exp(f));
    const want = 1 - Math.exp(-sigma * 0.01);
    assert.ok(Math.abs(got[i * 2]! - want) < 1e-6 + 1e-4 * want, `probe ${i}: ${got[i * 2]} vs ${want}`);
  });
  for (const b of [samples, counter, sa]) ctx.destroy(b);
  field.destroy();
});

/**
 * A camera at `centre` looking at `target` (OpenCV axes: x right, y down, z forward), as pose
 * refinement's tests need them: only the pose matters, the rays are made here.
 */
function lookAt(centre: Vec3, target: Vec3): PosedView {
  const f = unit(sub(target, centre));
  const right = unit(cross(f, [0, 0, 1]));
  const down = cross(f, right);
  const c2w = Float64Array.from([right[0], down[0], f[0], centre[0], right[1], down[1], f[1], centre[1], right[2], down[2], f[2], centre[2]]);
  return { width: 8, height: 8, fx: 8, fy: 8, cx: 4, cy: 4, c2w };
}

const rotationOfC2w = (c2w: ArrayLike<number>) => [c2w[0]!, c2w[1]!, c2w[2]!, c2w[4]!, c2w[5]!, c2w[6]!, c2w[8]!, c2w[9]!, c2w[10]!];

for (const [kind, shading, space] of [
  ['vm', 'MLP_Fea', 'box'],
  ['cp', 'SH', 'box'],
  ['strivec', 'MLP_Fea', 'box'],
  ['vm', 'SH', 'contract'],
  ['vm', 'MLP_Fea', 'ndc'],
] as const) {
  test(`pose refinement, ${kind.toUpperCase()} ${shading} ${space}: each camera's gradient matches central differences of the f64 reference loss`, async () => {
    const grid: Vec3 = space === 'contract' ? [14, 12, 10] : space === 'ndc' ? NDC_GRID : [7, 6, 5];
    const { ctx, field, model } = await setup(kind, shading, grid, space);
    // Three cameras around the middle (NDC: near its reference camera), with corrections already
    // under way, so the rotation's Jacobian is not the identity.
    const centres: Vec3[] =
      space === 'ndc'
        ? [0, 1, 2].map((k) => ndcFrame.centre.map((c, a) => c + 0.2 * (k - 1) * ndcFrame.right[a]!) as Vec3)
        : [
            [3, 0.5, 0.4],
            [-0.6, 3, -0.5],
            [0.4, -0.8, 3],
          ];
    const cameras = centres.map((c) => lookAt(c, [0.05, 0.02, -0.03]));
    const noise = randomNormal(18, 0.04, 17);
    const correction = Array.from(noise);
    const refined = cameras.map((c, k) => refineCamera(c, correction.slice(k * 6, k * 6 + 6)));
    const originals = ctx.upload('test.cameras', packCameras(cameras));
    const poses = new PoseRefiner(ctx, originals, cameras.length);
    poses.restore({ step: 0, correction, adamM: new Array(18).fill(0), adamV: new Array(18).fill(0) });
    const init = new Encoder(ctx);
    poses.record(init, null, 0, 0, 0);
    init.submit();
    // The kernel's refined cameras are the host's.
    const gpuCams = await ctx.readF32(poses.refined);
    const hostCams = packCameras(refined);
    for (let i = 0; i < hostCams.length; i++)
      assert.ok(Math.abs(gpuCams[i]! - hostCams[i]!) < 2e-6, `refined camera float ${i}: ${gpuCams[i]} vs ${hostCams[i]}`);

    // Rays of each refined camera through random pixels near the middle of its view, kept where
    // f32 and f64 agree on which samples are inside (as randomRays).
    const r = randomNormal(3 * 40 * 6, 1, 23);
    const rays: (RefRay & { cam: number; dc: Vec3 })[] = [];
    for (let k = 0; k < 3; k++) {
      const R = rotationOfC2w(refined[k]!.c2w);
      const o: Vec3 = [refined[k]!.c2w[3]!, refined[k]!.c2w[7]!, refined[k]!.c2w[11]!];
      for (let i = 0, kept = 0; i < 40 && kept < 8; i++) {
        const at = (k * 40 + i) * 6;
        const dc = unit([0.12 * r[at]!, 0.12 * r[at + 1]!, 1]);
        const ray = { o, d: mat3Apply(R, dc), rgb: [0, 1, 2].map((c) => 1 / (1 + Math.exp(-r[at + 3 + c]!))) as Vec3, cam: k, dc };
        if (refSamples(model, ray, 0.1, 10, 1.5e-5).length !== refSamples(model, ray, 0.1, 10, 0.5e-5).length) continue;
        if (refSamples(model, ray, 0.1, 10).length < 3) continue;
        rays.push(ray);
        kept++;
      }
    }
    const batch = new RayBatch(ctx, field, rays.length);
    batch.nearFar = [0.1, 10];
    batch.enablePositionGrads();
    const packed = packRays(rays);
    rays.forEach((ray, i) => {
      packed[i * 12 + 3] = ray.cam;
    });
    ctx.write(batch.rays, packed);
    ctx.write(field.arena.grads!, new Float32Array(field.arena.total));
    await batch.forward(rays.length, { train: true, jitter: false, seed: 1, bg: 1 });
    const enc = new Encoder(ctx);
    recordLoss(ctx, enc, batch, rays.length);
    batch.backward(enc);
    poses.record(enc, batch, rays.length, 0, 1);
    enc.submit();
    const grads = await ctx.readF32(poses.grads);

    // The reference: each ray's samples at the depths of its unperturbed samples (they do not move
    // with the camera), its shading direction held (the pose gradient leaves it out), and camera
    // k's rays regenerated from its correction moved by ±h in one coordinate.
    const units = gridUnits(model.box, model.grid);
    const depths = rays.map((ray) =>
      refSamples(model, ray, 0.1, 10).map((s) => {
        const p = toWorld(
          model.settings,
          s.u.map((v, a) => model.box.lo[a]! + v * units[a]!),
        );
        return { t: dot(sub(p as Vec3, ray.o), ray.d), delta: s.delta };
      }),
    );
    const lossOf = (k: number, corr: number[]) => {
      const cam = refineCamera(cameras[k]!, corr);
      const R = rotationOfC2w(cam.c2w);
      const o: Vec3 = [cam.c2w[3]!, cam.c2w[7]!, cam.c2w[11]!];
      const mine = rays.map((ray, i) => ({ ray, i })).filter((x) => x.ray.cam === k);
      const moved = mine.map(({ ray }) => ({ o, d: mat3Apply(R, ray.dc), rgb: ray.rgb, view: ray.d }));
      const samplesOf = (ray: RefRay) => {
        const i = mine[moved.indexOf(ray as (typeof moved)[number])]!.i;
        return depths[i]!.map(({ t, delta }) => ({
          u: toField(
            model.settings,
            [0, 1, 2].map((a) => ray.o[a]! + t * ray.d[a]!),
          ).map((v, a) => (v - model.box.lo[a]!) / units[a]!) as Vec3,
          delta,
        }));
      };
      return refRender(model, moved, 1, 0.1, 10, samplesOf).loss.reduce((a, b) => a + b, 0);
    };
    let checked = 0;
    for (let k = 0; k < 3; k++) {
      const base = correction.slice(k * 6, k * 6 + 6);
      const gpu = [0, 1, 2, 4, 5, 6].map((j) => grads[k * 8 + j]!);
      const central = (j: number, h: number) => {
        const plus = [...base];
        plus[j]! += h;
        const minus = [...base];
        minus[j]! -= h;
        return (lossOf(k, plus) - lossOf(k, minus)) / (2 * h);
      };
      const fd = [0, 1, 2, 3, 4, 5].map((j) => central(j, 1e-4));
      // Strivec's blend jumps where a tensor's cube begins or ends (or the 4 nearest change): a
      // difference whose step straddles a jump measures the jump. The one over an eighth of the
      // step usually does not; either may vouch for the gradient.
      const fine = kind === 'strivec' ? [0, 1, 2, 3, 4, 5].map((j) => central(j, 1.25e-5)) : fd;
      const scale = Math.max(...fd.map(Math.abs));
      assert.ok(scale > 1e-3, `camera ${k} has a pose gradient (${fd.map((v) => v.toExponential(2))})`);
      for (let j = 0; j < 6; j++) {
        const near = (v: number) => Math.abs(gpu[j]! - v) < 1e-4 + 2e-2 * scale;
        assert.ok(near(fd[j]!) || near(fine[j]!), `camera ${k} ${j < 3 ? 'ω' : 'τ'}${j % 3}: GPU ${gpu[j]} vs finite differences ${fd[j]}, ${fine[j]}`);
        checked++;
      }
    }
    assert.equal(checked, 18);
    poses.destroy();
    ctx.destroy(originals);
    batch.destroy();
    field.destroy();
  });
}
