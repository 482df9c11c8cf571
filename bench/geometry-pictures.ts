// Pictures of a model's geometric exports for docs/BENCHMARKS.md, drawn here on the CPU so they
// show the exported data itself, not our field renderer: the mesh (its triangles with their vertex
// colours and a head light, z-buffered) and the splats (each splat's Gaussian footprint in the
// screen, blended back to front), both from the same camera, beside the field's own render.
//
//   npx tsx bench/geometry-pictures.ts --model lego.slim --out docs/images [--resolution 256] [--size 400]
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModel } from '../src/cli/node-io.ts';
import { encodePng } from '../src/data/image-node.ts';
import { orbitCamera } from '../src/data/procedural.ts';
import type { PosedView } from '../src/data/types.ts';
import { surfaceSplats } from '../src/export/splats.ts';
import { DEFAULT_LEVEL, extractSurface, SH_C0 } from '../src/export/surface.ts';
import { boxCentre, boxSize } from '../src/field/geometry.ts';
import { nodeGpu } from '../src/gpu/node.ts';
import { ViewRenderer } from '../src/render/view-renderer.ts';
import { rgbPixels } from '../src/view/view-images.ts';

const { values } = parseArgs({
  options: { model: { type: 'string' }, out: { type: 'string' }, resolution: { type: 'string' }, size: { type: 'string' } },
});
if (!values.model || !values.out) throw new Error('usage: --model FILE --out DIR [--resolution N] [--size PX]');
const size = Number(values.size ?? 400);
const resolution = Number(values.resolution ?? 256);

/** Pixel coordinates and depth of a world point seen by `cam` (OpenCV axes in its c2w). */
function project(cam: PosedView, p: ArrayLike<number>): [number, number, number] {
  const m = cam.c2w;
  const d = [p[0]! - m[3]!, p[1]! - m[7]!, p[2]! - m[11]!];
  const x = m[0]! * d[0]! + m[4]! * d[1]! + m[8]! * d[2]!;
  const y = m[1]! * d[0]! + m[5]! * d[1]! + m[9]! * d[2]!;
  const z = m[2]! * d[0]! + m[6]! * d[1]! + m[10]! * d[2]!;
  return [cam.cx + (cam.fx * x) / z, cam.cy + (cam.fy * y) / z, z];
}

function white(n: number): Float32Array {
  return new Float32Array(n * 3).fill(1);
}

/** The mesh, z-buffered, each pixel its triangle's interpolated vertex colour times a head light. */
function drawMesh(cam: PosedView, positions: Float32Array, normals: Float32Array, colors: Uint8Array, indices: Uint32Array): Float32Array {
  const { width: w, height: h } = cam;
  const rgb = white(w * h);
  const depth = new Float32Array(w * h).fill(Number.POSITIVE_INFINITY);
  const eye = [cam.c2w[3]!, cam.c2w[7]!, cam.c2w[11]!];
  const screen = Array.from({ length: positions.length / 3 }, (_, i) => project(cam, positions.subarray(i * 3, i * 3 + 3)));
  for (let t = 0; t < indices.length; t += 3) {
    const [a, b, c] = [indices[t]!, indices[t + 1]!, indices[t + 2]!];
    const [pa, pb, pc] = [screen[a]!, screen[b]!, screen[c]!];
    if (pa[2] <= 0 || pb[2] <= 0 || pc[2] <= 0) continue;
    const area = (pb[0] - pa[0]) * (pc[1] - pa[1]) - (pc[0] - pa[0]) * (pb[1] - pa[1]);
    if (area === 0) continue;
    const [x0, x1] = [Math.max(0, Math.floor(Math.min(pa[0], pb[0], pc[0]))), Math.min(w - 1, Math.ceil(Math.max(pa[0], pb[0], pc[0])))];
    const [y0, y1] = [Math.max(0, Math.floor(Math.min(pa[1], pb[1], pc[1]))), Math.min(h - 1, Math.ceil(Math.max(pa[1], pb[1], pc[1])))];
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const [px, py] = [x + 0.5, y + 0.5];
        const wa = ((pb[0] - px) * (pc[1] - py) - (pc[0] - px) * (pb[1] - py)) / area;
        const wb = ((pc[0] - px) * (pa[1] - py) - (pa[0] - px) * (pc[1] - py)) / area;
        const wc = 1 - wa - wb;
        if (wa < 0 || wb < 0 || wc < 0) continue;
        const z = wa * pa[2] + wb * pb[2] + wc * pc[2];
        const k = y * w + x;
        if (z >= depth[k]!) continue;
        depth[k] = z;
        // Head light: brightness from the normal against the direction to the eye.
        const v = [a, b, c];
        const ws = [wa, wb, wc];
        let shade = 0;
        for (let j = 0; j < 3; j++) {
          const i = v[j]! * 3;
          const to = [eye[0]! - positions[i]!, eye[1]! - positions[i + 1]!, eye[2]! - positions[i + 2]!];
          const l = Math.hypot(to[0]!, to[1]!, to[2]!);
          shade += (ws[j]! * Math.abs(normals[i]! * to[0]! + normals[i + 1]! * to[1]! + normals[i + 2]! * to[2]!)) / l;
        }
        for (let ch = 0; ch < 3; ch++) {
          const col = (wa * colors[a * 3 + ch]! + wb * colors[b * 3 + ch]! + wc * colors[c * 3 + ch]!) / 255;
          rgb[k * 3 + ch] = col * (0.55 + 0.45 * shade);
        }
      }
    }
  }
  return rgb;
}

/**
 * The splats blended back to front, each an isotropic screen-space Gaussian of its in-surface
 * standard deviation (the flat axis ignored: a preview, not a 3DGS rasteriser).
 */
function drawSplats(cam: PosedView, s: ReturnType<typeof surfaceSplats>): Float32Array {
  const { width: w, height: h } = cam;
  const rgb = white(w * h);
  const n = s.positions.length / 3;
  const items = Array.from({ length: n }, (_, i) => ({ i, p: project(cam, s.positions.subarray(i * 3, i * 3 + 3)) }))
    .filter((o) => o.p[2] > 0)
    .sort((a, b) => b.p[2] - a.p[2]);
  for (const { i, p } of items) {
    const sigma = (cam.fx * Math.exp(s.logScales[i * 3]!)) / p[2];
    const alpha = 1 / (1 + Math.exp(-s.opacityLogits[i]!));
    const r = Math.ceil(3 * sigma);
    const col = [0, 1, 2].map((c) => Math.min(1, Math.max(0, 0.5 + SH_C0 * s.dc[i * 3 + c]!)));
    for (let y = Math.max(0, Math.floor(p[1] - r)); y <= Math.min(h - 1, Math.ceil(p[1] + r)); y++) {
      for (let x = Math.max(0, Math.floor(p[0] - r)); x <= Math.min(w - 1, Math.ceil(p[0] + r)); x++) {
        const d2 = (x + 0.5 - p[0]) ** 2 + (y + 0.5 - p[1]) ** 2;
        const a = alpha * Math.exp(-d2 / (2 * sigma * sigma));
        if (a < 1 / 255) continue;
        const k = (y * w + x) * 3;
        for (let c = 0; c < 3; c++) rgb[k + c] = rgb[k + c]! * (1 - a) + col[c]! * a;
      }
    }
  }
  return rgb;
}

const ctx = await nodeGpu();
const { field } = await loadModel(ctx, values.model);
const renderer = new ViewRenderer(ctx, field, [0, 1e6]);
const cam = orbitCamera(0.9, 0.5, size, 40, 1.6 * Math.max(...boxSize(field.box)), boxCentre(field.box));
const surface = await extractSurface(field, renderer, { resolution, level: DEFAULT_LEVEL });
const pictures: Record<string, Float32Array> = {
  field: (await renderer.render(cam, 1)).rgb,
  mesh: drawMesh(cam, surface.positions, surface.normals, surface.colors, surface.indices),
  splats: drawSplats(cam, surfaceSplats(surface)),
};
await mkdir(values.out, { recursive: true });
for (const [name, rgb] of Object.entries(pictures)) {
  const file = join(values.out, `${name}.png`);
  await writeFile(file, encodePng(new Uint8Array(rgbPixels(rgb, size, size).rgba.buffer), size, size));
  console.log(file);
}
console.log(`${surface.positions.length / 3} vertices, ${surface.indices.length / 3} triangles at resolution ${resolution}`);
