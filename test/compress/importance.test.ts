// The importance pass (src/compress/importance.ts) against its f64 reference: every factor
// texel's summed blend weight times interpolation weight over the pixels of two small cameras,
// for VM and CP fields, with several passes and drains of the fixed-point sums; and the same bits
// on a second run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { refTexelImportance } from '../../src/compress/importance.ref.ts';
import { texelImportance } from '../../src/compress/importance.ts';
import type { RefModel } from '../../src/field/field.ref.ts';
import { TensorField } from '../../src/field/field.ts';
import type { Vec3 } from '../../src/field/geometry.ts';
import { nodeGpu } from '../../src/gpu/node.ts';
import { pixelRays, SEEN_BOX, SEEN_NEAR_FAR, SEEN_VIEWS, seenSettings } from '../fixtures/small-fields.ts';

for (const kind of ['vm', 'cp'] as const) {
  test(`${kind.toUpperCase()}: texel importance over two cameras' pixels matches the f64 reference, run to run bit for bit`, async () => {
    const ctx = await nodeGpu();
    const grid: Vec3 = [7, 6, 5];
    const field = new TensorField(ctx, seenSettings(kind), SEEN_BOX, grid, 7);
    const values = await field.arena.download(ctx);
    const model: RefModel = { settings: field.settings, box: field.box, grid: field.grid, values };
    const views = SEEN_VIEWS;
    const nearFar = SEEN_NEAR_FAR;
    // 196 and 144 rays in passes of 32, drained every 64: several of each.
    const opts = { nearFar, raysPerPass: 32, drainRays: 64 };
    const got = await texelImportance(ctx, field, views, opts);
    const again = await texelImportance(ctx, field, views, opts);
    const rays = pixelRays(views);
    const ref = refTexelImportance(model, rays, ...nearFar);
    const factors = field.arena.segments.filter((s) => s.group === 'factor').map((s) => s.name);
    assert.deepEqual([...got.keys()].sort(), [...factors].sort());
    for (const name of factors) {
      const g = got.get(name)!;
      const r = ref.get(name)!;
      assert.equal(g.length, r.length, `${name}: texels`);
      assert.deepEqual(again.get(name), g, `${name}: the same bits on a second run`);
      const peak = Math.max(...r);
      assert.ok(peak > 1, `${name}: seen by the rays (peak ${peak})`);
      let diff = 0;
      let sum = 0;
      for (let t = 0; t < r.length; t++) {
        diff += Math.abs(g[t]! - r[t]!);
        sum += r[t]!;
        // f32 against f64 (and a sample on a box face may fall either side): a few thousandths of the peak.
        assert.ok(Math.abs(g[t]! - r[t]!) <= 5e-3 * peak, `${name} texel ${t}: ${g[t]} against ${r[t]}`);
      }
      assert.ok(diff <= 1e-3 * sum, `${name}: summed difference ${diff} of ${sum}`);
    }
  });
}
