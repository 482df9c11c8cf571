// The geometric exports: marching cubes against an analytic sphere (closed, on the surface,
// outward normals and winding), then a trained field's mesh, points and splats, each file read by
// an independent reader: the Khronos glTF validator, three.js's PLY loader and PlayCanvas's
// splat-transform (which also converts our splats to its compact formats).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
// @ts-expect-error: the validator ships no types
import validator from 'gltf-validator';
import { PLYLoader } from 'three/examples/jsm/loaders/PLYLoader.js';
import { proceduralDataset, proceduralSpheres } from '../../src/data/procedural.ts';
import { exportGeometry } from '../../src/export/exports.ts';
import { marchingCubes } from '../../src/export/marching-cubes.ts';
import { simplifyMesh } from '../../src/export/simplify.ts';
import { surfaceSplats } from '../../src/export/splats.ts';
import { extractSurface, SH_C0, SH_C1 } from '../../src/export/surface.ts';
import type { Box, Vec3 } from '../../src/field/geometry.ts';
import { nodeGpu } from '../../src/gpu/node.ts';
import { TrainingRun } from '../../src/run/training-run.ts';
import { resolveConfig } from '../../src/train/config.ts';

/** Marching cubes on the signed distance of a sphere of radius 0.7 about the origin. */
async function sphereMesh() {
  const n = 33;
  const box: Box = { lo: [-1, -1.2, -1], hi: [1, 1, 1.1] };
  const r = 0.7;
  const values = new Float32Array(n * n * n);
  const at = (a: number, i: number) => box.lo[a]! + (i * (box.hi[a]! - box.lo[a]!)) / (n - 1);
  for (let z = 0; z < n; z++)
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) values[(z * n + y) * n + x] = r - Math.hypot(at(0, x), at(1, y), at(2, z));
  return marchingCubes(values, [n, n, n], box, 0);
}

/** Checks a mesh of the sphere: vertices on it within `tol`, normals outward, closed, counter-clockwise. */
function assertSphere(s: { positions: Float32Array; normals: Float32Array; indices: Uint32Array }, tol: number) {
  const r = 0.7;
  const nv = s.positions.length / 3;
  const nt = s.indices.length / 3;
  // On the sphere (linear interpolation of a distance is exact along lattice edges up to its curvature).
  for (let i = 0; i < nv; i++) {
    const p = [s.positions[i * 3]!, s.positions[i * 3 + 1]!, s.positions[i * 3 + 2]!];
    const d = Math.hypot(p[0]!, p[1]!, p[2]!);
    assert.ok(Math.abs(d - r) < tol, `vertex ${i} at radius ${d}`);
    const dotN = (p[0]! * s.normals[i * 3]! + p[1]! * s.normals[i * 3 + 1]! + p[2]! * s.normals[i * 3 + 2]!) / d;
    assert.ok(dotN > 0.98, `vertex ${i}: normal not outward (${dotN})`);
  }
  // Closed and two-manifold: every edge in exactly two triangles, once each way; Euler characteristic 2.
  const edges = new Map<string, number>();
  for (let t = 0; t < nt; t++) {
    for (let k = 0; k < 3; k++) {
      const a = s.indices[t * 3 + k]!;
      const b = s.indices[t * 3 + ((k + 1) % 3)]!;
      edges.set(`${a},${b}`, (edges.get(`${a},${b}`) ?? 0) + 1);
    }
    // Counter-clockwise seen from outside: the face normal points away from the centre.
    const v = [0, 1, 2].map((k) => [0, 1, 2].map((c) => s.positions[s.indices[t * 3 + k]! * 3 + c]!));
    const e1 = [0, 1, 2].map((c) => v[1]![c]! - v[0]![c]!);
    const e2 = [0, 1, 2].map((c) => v[2]![c]! - v[0]![c]!);
    const fn = [e1[1]! * e2[2]! - e1[2]! * e2[1]!, e1[2]! * e2[0]! - e1[0]! * e2[2]!, e1[0]! * e2[1]! - e1[1]! * e2[0]!];
    assert.ok(fn[0]! * v[0]![0]! + fn[1]! * v[0]![1]! + fn[2]! * v[0]![2]! > 0, `triangle ${t} winds inward`);
  }
  for (const [k, count] of edges) {
    const [a, b] = k.split(',');
    assert.equal(count, 1, `edge ${k} used ${count} times in one direction`);
    assert.ok(edges.has(`${b},${a}`), `edge ${k} has no twin: the surface is open`);
  }
  assert.equal(nv - edges.size / 2 + nt, 2, 'Euler characteristic of a sphere');
}

test('marching cubes: a sphere comes out closed, on the surface, with outward normals and outward winding', async () => {
  const s = await sphereMesh();
  assert.ok(s.positions.length / 3 > 500, `${s.positions.length / 3} vertices`);
  assertSphere(s, 0.01);
});

test('simplification keeps a quarter of the triangles and the sphere: closed, on the surface, no unused vertices', async () => {
  const s = await sphereMesh();
  const t = await simplifyMesh(s, 0.25);
  const [before, after] = [s.indices.length / 3, t.indices.length / 3];
  assert.ok(after <= 0.26 * before && after > 0.1 * before, `${before} → ${after} triangles`);
  assertSphere(t, 0.03);
  const used = new Set(t.indices);
  assert.equal(used.size, t.positions.length / 3, 'every vertex is used');
  assert.equal(await simplifyMesh(s, 1), s, 'keep 1: the mesh itself');
});

/** A field trained briefly on the procedural scene (its spheres are the truth the exports are checked against). */
async function trainedDemo(layout: 'sphere' | 'forward' = 'sphere') {
  const ctx = await nodeGpu();
  // Forward-facing: the objects in their surroundings, trained in NDC.
  const ds =
    layout === 'forward'
      ? proceduralDataset({ size: 32, train: 40, test: 2, layout, background: 'environment' })
      : proceduralDataset({ size: 32, train: 40, test: 2 });
  const cfg = resolveConfig('vm48', {
    ...(layout === 'forward' ? { contract: 'ndc' } : {}),
    N_voxel_init: 16 ** 3,
    N_voxel_final: 40 ** 3,
    upsamp_list: [40, 80],
    update_AlphaMask_list: [60],
    featureC: 16,
    batch_size: 512,
    n_iters: 140,
  });
  const run = new TrainingRun(ctx, ds, cfg, { seed: 1 });
  const result = await run.run();
  return { ctx, run, field: result!.field, renderer: run.renderer! };
}

test('a trained field exports a coloured mesh (glb, ply), points and splats that independent readers open', async (t) => {
  const { run, field, renderer } = await trainedDemo();
  const dir = mkdtempSync(join(tmpdir(), 'slimfield-export-'));
  const opt = { resolution: 48, level: 0.005 };
  const surface = await extractSurface(field, renderer, opt);
  const nv = surface.positions.length / 3;
  t.diagnostic(`surface at 48: ${nv} vertices, ${surface.indices.length / 3} triangles`);
  // The red sphere's surface: vertices near it are mostly there and mostly red.
  const red = proceduralSpheres[0]!;
  let near = 0;
  const mean = [0, 0, 0];
  for (let i = 0; i < nv; i++) {
    const d = Math.hypot(...([0, 1, 2].map((a) => surface.positions[i * 3 + a]! - red.c[a]!) as Vec3));
    if (Math.abs(d - red.r) > 0.08) continue;
    near++;
    for (let c = 0; c < 3; c++) mean[c]! += surface.colors[i * 3 + c]! / 255;
  }
  assert.ok(near > 100, `${near} vertices on the red sphere`);
  const colour = mean.map((v) => v / near);
  t.diagnostic(`red sphere: mean vertex colour ${colour.map((v) => v.toFixed(2))}, truth ${red.color}`);
  assert.ok(colour[0]! > colour[1]! + 0.2 && colour[0]! > colour[2]! + 0.2, `red sphere coloured ${colour}`);

  // glb: the Khronos validator finds no errors; the counts are ours.
  const glb = await exportGeometry(field, renderer, 'mesh-glb', opt);
  const report = await validator.validateBytes(glb.bytes);
  assert.equal(report.issues.numErrors, 0, JSON.stringify(report.issues.messages.slice(0, 5)));
  assert.equal(report.info.totalVertexCount, nv);
  assert.equal(report.info.totalTriangleCount, surface.indices.length / 3);

  // PLY mesh and points: three.js's loader reads positions, normals, colours and faces.
  const loader = new PLYLoader();
  const mesh = loader.parse((await exportGeometry(field, renderer, 'mesh-ply', opt)).bytes.slice().buffer);
  assert.equal(mesh.getAttribute('position').count, nv);
  assert.equal(mesh.getIndex()!.count, surface.indices.length);
  assert.equal(mesh.getAttribute('color').count, nv);
  assert.ok(Math.abs(mesh.getAttribute('normal').getX(0) - surface.normals[0]!) < 1e-6);
  const points = loader.parse((await exportGeometry(field, renderer, 'points', opt)).bytes.slice().buffer);
  assert.equal(points.getAttribute('position').count, nv);
  assert.equal(points.getIndex(), null);

  // Splats: splat-transform reads them as Gaussians and converts them to SPZ and compressed PLY.
  const splats = await exportGeometry(field, renderer, 'splats', opt);
  const file = join(dir, 'demo.splats.ply');
  writeFileSync(file, splats.bytes);
  const cli = join(import.meta.dirname, '../../node_modules/@playcanvas/splat-transform/bin/cli.mjs');
  const stats = JSON.parse(execFileSync(process.execPath, [cli, '-q', file, '--stats', 'json', 'null'], { encoding: 'utf8' }));
  assert.equal(stats.numGaussians, nv);
  assert.equal(stats.shBands, 1, 'degree-1 SH: view-dependent colour');
  const flat = await exportGeometry(field, renderer, 'splats', { ...opt, viewDependent: false });
  writeFileSync(join(dir, 'flat.ply'), flat.bytes);
  assert.equal(JSON.parse(execFileSync(process.execPath, [cli, '-q', join(dir, 'flat.ply'), '--stats', 'json', 'null'], { encoding: 'utf8' })).shBands, 0);
  const cols: string[] = stats.stats[0].columns;
  const meanOf = (c: string) => stats.stats[0].data.mean[cols.indexOf(c)];
  const ourMean = (a: number) => surface.positions.filter((_, i) => i % 3 === a).reduce((s, v) => s + v, 0) / nv;
  for (const [a, c] of ['x', 'y', 'z'].entries()) assert.ok(Math.abs(meanOf(c) - ourMean(a)) < 1e-3, `mean ${c}`);
  assert.ok(Math.abs(meanOf('opacity') - 0.9) < 1e-4, 'opacity 0.9 after the sigmoid');
  for (const out of ['demo.spz', 'demo.compressed.ply']) {
    execFileSync(process.execPath, [cli, '-q', '-w', file, join(dir, out)]);
    const back = JSON.parse(execFileSync(process.execPath, [cli, '-q', join(dir, out), '--stats', 'json', 'null'], { encoding: 'utf8' }));
    assert.equal(back.numGaussians, nv, `${out} holds every splat`);
    assert.ok(readFileSync(join(dir, out)).length < splats.bytes.length, `${out} is smaller than our PLY`);
  }
  run.dispose();
});

test("an NDC field's surface comes back to the world: vertices on the red sphere's visible side, normals outward", async (t) => {
  const { run, field, renderer } = await trainedDemo('forward');
  assert.ok(field.settings.ndc);
  const surface = await extractSurface(field, renderer, { resolution: 64, level: 0.005 });
  const nv = surface.positions.length / 3;
  const red = proceduralSpheres[0]!;
  let near = 0;
  let outward = 0;
  for (let i = 0; i < nv; i++) {
    const v = [0, 1, 2].map((a) => surface.positions[i * 3 + a]! - red.c[a]!) as Vec3;
    const d = Math.hypot(...v);
    if (Math.abs(d - red.r) > 0.1) continue;
    near++;
    if (v.reduce((sum, x, a) => sum + x * surface.normals[i * 3 + a]!, 0) / d > 0.5) outward++;
  }
  // The mapped normals agree with the world triangles around them (NDC keeps the winding).
  const faces = new Float64Array(nv * 3);
  for (let f = 0; f < surface.indices.length; f += 3) {
    const [a, b, c] = [0, 1, 2].map((k) => surface.indices[f + k]!);
    const p = (v: number, k: number) => surface.positions[v * 3 + k]!;
    const e1 = [0, 1, 2].map((k) => p(b!, k) - p(a!, k));
    const e2 = [0, 1, 2].map((k) => p(c!, k) - p(a!, k));
    const n = [e1[1]! * e2[2]! - e1[2]! * e2[1]!, e1[2]! * e2[0]! - e1[0]! * e2[2]!, e1[0]! * e2[1]! - e1[1]! * e2[0]!];
    for (const v of [a!, b!, c!]) for (let k = 0; k < 3; k++) faces[v * 3 + k]! += n[k]!;
  }
  let agree = 0;
  for (let i = 0; i < nv; i++) if ([0, 1, 2].reduce((sum, k) => sum + faces[i * 3 + k]! * surface.normals[i * 3 + k]!, 0) > 0) agree++;
  t.diagnostic(
    `NDC surface at 64: ${nv} vertices, normals agreeing with their triangles ${agree}; ${near} on the red sphere, ${outward} of them with outward normals; element ${surface.spacing[0].toFixed(4)}`,
  );
  assert.ok(agree > 0.95 * nv, `${agree} of ${nv} normals agree with their triangles`);
  assert.ok(near > 50, `${near} vertices on the red sphere`);
  // A short run from the front only: the sphere's surface is there, with some floaters about it.
  assert.ok(outward > 0.6 * near, `${outward} of ${near} normals outward`);
  // The median element: NDC cells grow with depth (~0.1 at the objects, 4 away, ~0.25 at the walls).
  assert.ok(surface.spacing[0] > 0.02 && surface.spacing[0] < 0.5, `surface element ${surface.spacing[0]}`);
  run.dispose();
});

test('splat colours: degree-1 SH keep the colour seen down the normal and follow the field seen from the side better than degree 0', async (t) => {
  const { run, field, renderer } = await trainedDemo();
  const surface = await extractSurface(field, renderer, { resolution: 40, level: 0.005, viewDependent: true });
  const g = surfaceSplats(surface);
  const n = surface.positions.length / 3;
  assert.ok(g.rest && g.rest.length === n * 9 && g.rest.every(Number.isFinite));
  /** The splat's colour seen along `d` (eye to splat), as 3DGS evaluates it. */
  const shade = (i: number, d: number[], degree: 0 | 1) =>
    [0, 1, 2].map((c) => {
      const f = g.rest!.subarray(i * 9 + c * 3, i * 9 + c * 3 + 3);
      const one = degree ? SH_C1 * (-d[1]! * f[0]! + d[2]! * f[1]! - d[0]! * f[2]!) : 0;
      return 0.5 + SH_C0 * g.dc[i * 3 + c]! + one;
    });
  // Down the normal: the vertex colour.
  for (let i = 0; i < n; i += 7) {
    const d = [0, 1, 2].map((c) => -surface.normals[i * 3 + c]!);
    shade(i, d, 1).forEach((v, c) => {
      assert.ok(Math.abs(v - surface.colors[i * 3 + c]! / 255) < 1e-4, `splat ${i}: straight colour`);
    });
  }
  // From 30° off the normal, in a direction the fit did not see: the field's own colour there.
  const picks = Array.from({ length: Math.min(400, n) }, (_, k) => Math.floor((k * n) / Math.min(400, n)));
  const origins = new Float32Array(picks.length * 3);
  const dirs = new Float32Array(picks.length * 3);
  const h = Math.max(...surface.spacing);
  picks.forEach((i, k) => {
    const nv = [0, 1, 2].map((c) => surface.normals[i * 3 + c]!);
    const helper = Math.abs(nv[2]!) < 0.9 ? [0, 0, 1] : [1, 0, 0];
    const cross = (a: number[], b: number[]) => [a[1]! * b[2]! - a[2]! * b[1]!, a[2]! * b[0]! - a[0]! * b[2]!, a[0]! * b[1]! - a[1]! * b[0]!];
    const u = cross(nv, helper);
    const un = u.map((x) => x / Math.hypot(...u));
    // Leaning 30° towards u + (n × u), half-way between two of the fit's side views.
    const vn = cross(nv, un);
    const side = [0, 1, 2].map((c) => (un[c]! + vn[c]!) / Math.SQRT2);
    const w = [0, 1, 2].map((c) => Math.cos(Math.PI / 6) * nv[c]! + Math.sin(Math.PI / 6) * side[c]!);
    for (let c = 0; c < 3; c++) {
      origins[k * 3 + c] = surface.positions[i * 3 + c]! + 2 * h * w[c]!;
      dirs[k * 3 + c] = -w[c]!;
    }
  });
  const seen = await renderer.renderRays(origins, dirs, 0, [0, 4 * h]);
  const err = [0, 0];
  picks.forEach((i, k) => {
    const d = [0, 1, 2].map((c) => dirs[k * 3 + c]!);
    const truth = [0, 1, 2].map((c) => Math.min(1, seen.rgb[k * 3 + c]! / Math.max(seen.acc[k]!, 1e-3)));
    for (const degree of [0, 1] as const) err[degree]! += shade(i, d, degree).reduce((a, v, c) => a + Math.abs(v - truth[c]!), 0) / (3 * picks.length);
  });
  t.diagnostic(`mean colour error seen 30° off the normal: degree 0 ${err[0]!.toFixed(4)}, degree 1 ${err[1]!.toFixed(4)}`);
  assert.ok(err[1]! < err[0]!, `degree 1 (${err[1]}) follows the side view better than degree 0 (${err[0]})`);
  run.dispose();
});
