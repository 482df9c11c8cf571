// A render's passes shade only the chunks its renderer has seen them need; a pass that shades more
// is rendered again with every chunk, so the image is the one a renderer that shades every chunk
// gives, and no sample is dropped.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { proceduralDataset } from '../../src/data/procedural.ts';
import { TensorField } from '../../src/field/field.ts';
import { nodeGpu } from '../../src/gpu/node.ts';
import { RayBatch } from '../../src/render/ray-batch.ts';
import { ViewRenderer } from '../../src/render/view-renderer.ts';
import { resolveConfig } from '../../src/train/config.ts';

const ds = proceduralDataset({ size: 16, train: 2, test: 1 });

test('passes that shade more than the renderer has seen are rendered again with every chunk: the same image, one readback once learned', async () => {
  const ctx = await nodeGpu();
  const cfg = resolveConfig('vm48', { featureC: 8 });
  // A random field: most samples along a ray carry weight, so a pass shades many rows.
  const field = await TensorField.make(ctx, cfg.settings, { lo: ds.aabb[0], hi: ds.aabb[1] }, [12, 12, 12], 3);
  const cam = ds.splits.test!.cameras[0]!;
  const reference = new ViewRenderer(ctx, field, ds.nearFar);
  const expected = await reference.render(cam, 1);
  reference.destroy();

  // Chunks of 16 rows; the renderer first sees one ray, which shades a few of them.
  const renderer = new ViewRenderer(ctx, field, ds.nearFar, 64, new RayBatch(ctx, field, 64, 16));
  const c2w = cam.c2w;
  const eye = new Float32Array([c2w[3]!, c2w[7]!, c2w[11]!]);
  const ahead = new Float32Array([c2w[2]!, c2w[6]!, c2w[10]!]);
  await renderer.renderRays(eye, ahead, 1, ds.nearFar);
  assert.ok(renderer.batch.chunks > 4, `${renderer.batch.chunks} chunks could be needed`);

  const before = ctx.counts.readbacks;
  const first = await renderer.render(cam, 1);
  const again = ctx.counts.readbacks - before - 1;
  assert.ok(again > 0, 'passes were rendered again with every chunk');
  assert.deepEqual(first.rgb, expected.rgb, 'the image of a renderer that shades every chunk');

  const learned = ctx.counts.readbacks;
  const second = await renderer.render(cam, 1);
  assert.equal(ctx.counts.readbacks - learned, 1, 'once learned: one readback, the gathered outputs');
  assert.deepEqual(second.rgb, expected.rgb);
  renderer.destroy();
  field.destroy();
});
