// Out of GPU memory: every large allocation is made in an out-of-memory error scope, and a failure
// is refused with advice while what existed before stays usable. The failures are real: the
// software adapter cannot allocate a buffer of its whole maxBufferSize (1 GiB; the driver answers
// VK_ERROR_OUT_OF_DEVICE_MEMORY at once, without touching memory), so the tests make one chosen
// allocation ask for that much (`starve`) and watch the engine cope with the driver's refusal.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { proceduralDataset } from '../../src/data/procedural.ts';
import { TensorField } from '../../src/field/field.ts';
import { type GpuContext, LimitError } from '../../src/gpu/context.ts';
import { nodeGpu } from '../../src/gpu/node.ts';
import { ParamArena } from '../../src/gpu/param-arena.ts';
import { RayBatch } from '../../src/render/ray-batch.ts';
import { ViewRenderer } from '../../src/render/view-renderer.ts';
import { TrainingRun } from '../../src/run/training-run.ts';
import { resolveConfig } from '../../src/train/config.ts';

const tiny = { N_voxel_init: 12 ** 3, N_voxel_final: 16 ** 3, upsamp_list: [8], update_AlphaMask_list: [12], featureC: 8, batch_size: 128 };
const ds = proceduralDataset({ size: 16, train: 8, test: 2 });

/**
 * Makes the buffers whose labels start with `prefix` ask for the adapter's whole maxBufferSize
 * (from the `skip`th such buffer on); returns a function that ends it.
 */
function starve(ctx: GpuContext, prefix: string, skip = 0): () => void {
  const device = ctx.device;
  const create = device.createBuffer.bind(device);
  let seen = 0;
  device.createBuffer = (d: GPUBufferDescriptor) =>
    create(d.label?.startsWith(prefix) && seen++ >= skip && !d.mappedAtCreation ? { ...d, size: device.limits.maxBufferSize } : d);
  return () => {
    device.createBuffer = create;
  };
}

let restore: (() => void) | null = null;
after(() => restore?.());

test('the software adapter really cannot hold a buffer of its maxBufferSize (what the other tests rely on)', async () => {
  const ctx = await nodeGpu();
  ctx.device.pushErrorScope('out-of-memory');
  const b = ctx.device.createBuffer({ size: ctx.limits.maxBufferSize, usage: GPUBufferUsage.STORAGE });
  const error = await ctx.device.popErrorScope();
  b.destroy();
  assert.ok(error instanceof GPUOutOfMemoryError, `expected an out-of-memory error, got ${error?.message ?? 'none'} on ${ctx.adapter.description}`);
});

test('guardMemory refuses with what was being made and the advice, and frees what it made; earlier buffers stay intact', async () => {
  const ctx = await nodeGpu();
  const keep = ctx.upload('keep', new Float32Array([1, 2, 3, 4]));
  const before = ctx.allocatedBytes;
  await assert.rejects(
    ctx.guardMemory(
      'making two buffers',
      [{ change: 'batch' }],
      () => [ctx.buffer('small', 1024), ctx.buffer('huge', ctx.limits.maxBufferSize)],
      (made) => {
        for (const b of made) ctx.destroy(b);
      },
    ),
    (e: Error) => {
      assert.ok(e instanceof LimitError, e.message);
      assert.match(e.message, /^The GPU ran out of memory making two buffers \(1\.0 GiB asked for, .* already in use\)$/);
      assert.deepEqual(e.advice, [{ change: 'batch' }]);
      return true;
    },
  );
  assert.equal(ctx.allocatedBytes, before, 'what was made is freed');
  assert.deepEqual([...(await ctx.readF32(keep, 4))], [1, 2, 3, 4]);
  const fine = await ctx.guardMemory(
    'making a small buffer',
    [],
    () => ctx.buffer('fine', 64),
    (b) => ctx.destroy(b),
  );
  ctx.destroy(fine);
  ctx.destroy(keep);
});

test('an arena that cannot grow keeps its layout, buffers and values, and grows later when memory allows', async () => {
  const ctx = await nodeGpu();
  const arena = new ParamArena();
  arena.add(
    'a',
    Float32Array.from({ length: 100 }, (_, i) => i),
    'factor',
    1,
  );
  arena.add(
    'b',
    Float32Array.from({ length: 50 }, (_, i) => -i),
    'dense',
  );
  arena.allocate(ctx, 'test');
  const layout = arena.segments.map((s) => [s.offset, s.count]);
  const bytes = arena.bytes;
  const values = await arena.download(ctx);
  restore = starve(ctx, 'test.params');
  await assert.rejects(arena.rebuild(ctx, new Map([['a', new Float32Array(200).fill(7)]]), 'test', [{ change: 'final-grid' }]), (e: Error) => {
    assert.ok(e instanceof LimitError && e.advice[0]?.change === 'final-grid', e.message);
    assert.match(e.message, /making the test's parameters/);
    return true;
  });
  restore();
  assert.deepEqual(
    arena.segments.map((s) => [s.offset, s.count]),
    layout,
  );
  assert.equal(arena.bytes, bytes);
  assert.deepEqual(await arena.download(ctx), values);
  await arena.rebuild(ctx, new Map([['a', new Float32Array(200).fill(7)]]), 'test');
  const grown = await arena.download(ctx);
  assert.deepEqual([...grown.get('a')!], new Array(200).fill(7));
  assert.deepEqual(grown.get('b'), values.get('b'));
  arena.destroy(ctx);
});

test('a ray batch that cannot grow refuses the batch and renders the same image once memory allows', async () => {
  const ctx = await nodeGpu();
  const cfg = resolveConfig('vm48', tiny);
  const field = await TensorField.make(ctx, cfg.settings, { lo: ds.aabb[0], hi: ds.aabb[1] }, [12, 12, 12], 3);
  const cam = ds.splits.test!.cameras[0]!;
  // A batch made for the coarse grid: after the upsample its rays may take more samples, so the
  // first render has to grow the sample buffers.
  const renderer = new ViewRenderer(ctx, field, ds.nearFar, 256, new RayBatch(ctx, field, 256));
  await field.upsample([24, 24, 24]);
  const reference = new ViewRenderer(ctx, field, ds.nearFar);
  const expected = await reference.render(cam, 1);
  reference.destroy();
  restore = starve(ctx, 'batch.samples');
  await assert.rejects(renderer.render(cam, 1), (e: Error) => {
    assert.ok(e instanceof LimitError, e.message);
    assert.match(e.message, /^The GPU ran out of memory growing the ray batch to [\d,]+ samples/);
    assert.deepEqual(
      e.advice.map((a) => a.change),
      ['batch', 'final-grid'],
    );
    return true;
  });
  restore();
  const image = await renderer.render(cam, 1);
  assert.deepEqual(image.rgb, expected.rgb, 'the batch is usable after the refusal');
  renderer.destroy();
  field.destroy();
});

test('a render whose gather buffer cannot be allocated is refused, and renders the same image once memory allows', async () => {
  const ctx = await nodeGpu();
  const cfg = resolveConfig('vm48', tiny);
  const field = await TensorField.make(ctx, cfg.settings, { lo: ds.aabb[0], hi: ds.aabb[1] }, [12, 12, 12], 3);
  const cam = ds.splits.test!.cameras[0]!;
  const renderer = new ViewRenderer(ctx, field, ds.nearFar);
  restore = starve(ctx, 'render.gather');
  await assert.rejects(renderer.render(cam, 1), (e: Error) => {
    assert.ok(e instanceof LimitError, e.message);
    assert.match(e.message, /^The GPU ran out of memory gathering a render's outputs \([\d.]+ [KMG]?i?B asked for/);
    return true;
  });
  restore();
  const image = await renderer.render(cam, 1);
  const reference = new ViewRenderer(ctx, field, ds.nearFar);
  assert.deepEqual(image.rgb, (await reference.render(cam, 1)).rgb, 'the renderer is usable after the refusal');
  reference.destroy();
  renderer.destroy();
  field.destroy();
});

test('a run whose upsample cannot be allocated stops with advice; its field keeps the grid it had and still renders', async () => {
  const ctx = await nodeGpu();
  const baseline = ctx.allocatedBytes;
  const run = new TrainingRun(ctx, ds, resolveConfig('vm48', { ...tiny, n_iters: 12 }), { seed: 1 });
  restore = starve(ctx, 'field at 16x16x16');
  const iters: number[] = [];
  await assert.rejects(
    run.run((e) => {
      if (e.type === 'step') iters.push(e.step.iter);
    }),
    (e: Error) => {
      assert.ok(e instanceof LimitError, e.message);
      assert.match(e.message, /^The GPU ran out of memory making the field at 16x16x16's parameters/);
      assert.deepEqual(
        e.advice.map((a) => a.change),
        ['final-grid', 'components'],
      );
      return true;
    },
  );
  restore();
  assert.deepEqual(iters, [1, 2, 3, 4, 5, 6, 7], 'trained until the upsample at iteration 8');
  const field = run.field!;
  assert.notDeepEqual(field.grid, [16, 16, 16]);
  const image = await run.renderer!.render(ds.splits.test!.cameras[0]!, 1);
  assert.ok(
    image.rgb.every((v) => Number.isFinite(v)),
    'the field renders',
  );
  run.dispose();
  assert.equal(ctx.allocatedBytes, baseline, 'nothing is left allocated');
});

test('a run whose trainer cannot be allocated is refused with the batch to lower, leaving nothing allocated', async () => {
  const ctx = await nodeGpu();
  const baseline = ctx.allocatedBytes;
  const run = new TrainingRun(ctx, ds, resolveConfig('vm48', { ...tiny, n_iters: 4 }), { seed: 1 });
  restore = starve(ctx, 'batch.rays');
  await assert.rejects(run.run(), (e: Error) => {
    assert.ok(e instanceof LimitError, e.message);
    assert.match(e.message, /^The GPU ran out of memory making the trainer \(128 rays per batch\)/);
    assert.equal(e.advice[0]?.change, 'batch');
    return true;
  });
  restore();
  run.dispose();
  assert.equal(ctx.allocatedBytes, baseline);
});
