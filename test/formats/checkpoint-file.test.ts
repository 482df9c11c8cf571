// The checkpoint file: a round trip keeps every value, and a damaged, truncated, foreign or
// hostile file is refused with a message naming the file and the problem (never a crash, never a
// field built from garbage).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { proceduralDataset } from '../../src/data/procedural.ts';
import { CHECKPOINT_VERSION, CheckpointError, decodeCheckpoint, encodeCheckpoint, summarizeCheckpoint } from '../../src/formats/checkpoint-file.ts';
import { nodeGpu } from '../../src/gpu/node.ts';
import { xorshift } from '../../src/gpu/random.ts';
import { TrainingRun } from '../../src/run/training-run.ts';
import { resolveConfig } from '../../src/train/config.ts';
import { withHeader } from '../fixtures/headers.ts';

const ds = proceduralDataset({ size: 16, train: 6, test: 1 });

async function checkpointBytes(dataset = ds, extra: Record<string, unknown> = {}): Promise<Uint8Array> {
  const ctx = await nodeGpu();
  const cfg = resolveConfig('slimmerf8', {
    ...extra,
    N_voxel_init: 12 ** 3,
    N_voxel_final: 14 ** 3,
    upsamp_list: [2],
    update_AlphaMask_list: [3],
    featureC: 8,
    batch_size: 64,
    n_iters: 4,
    rank_upsilon: 0.05,
  });
  // A strong, varied initial density, so the alpha mask at iteration 3 holds something.
  const strong = { ...cfg, settings: { ...cfg.settings, densityShift: -3, initStd: 0.8, alphaMaskThres: 0.05 } };
  const written: Uint8Array[] = [];
  const run = new TrainingRun(ctx, dataset, strong, {
    seed: 1,
    checkpoint: {
      everyIterations: 100,
      sink: async (b) => {
        written.push(b);
      },
    },
  });
  await run.run();
  run.dispose();
  return written.at(-1)!;
}

test('checkpoint file: a round trip keeps every tensor, both moments, the mask, the valid rays and the state', async () => {
  const bytes = await checkpointBytes();
  const cp = decodeCheckpoint(bytes, 'run.slimckpt');
  assert.equal(cp.trainer.iter, 4);
  assert.ok(cp.mask, 'the alpha mask of the update at 3');
  assert.ok(cp.validRays.some((w) => w !== 0) && cp.adamV.get('basis')!.some((v) => v > 0), 'valid rays and moments hold something');
  assert.deepEqual(decodeCheckpoint(encodeCheckpoint(cp), 'again.slimckpt'), cp, 'encoded again, it decodes to the same checkpoint');
  const s = summarizeCheckpoint(bytes, 'run.slimckpt');
  assert.deepEqual({ iter: s.iter, nIters: s.nIters, kind: s.kind, views: s.dataset.splits.train?.views }, { iter: 4, nIters: 4, kind: 'vm', views: 6 });
});

test('checkpoint file: a contracted run (unbounded scene) keeps its inner box and option; a broken inner box is refused', async () => {
  const env = proceduralDataset({ size: 16, train: 6, test: 1, background: 'environment' });
  const bytes = await checkpointBytes(env, { contract: true });
  const cp = decodeCheckpoint(bytes, 'run.slimckpt');
  assert.deepEqual(cp.settings.contraction, { lo: env.aabb[0], hi: env.aabb[1] });
  assert.equal(cp.train.contract, true);
  // The field box is the contracted space [-3, 3]^3 around the inner box (or what the shrink kept of it).
  assert.ok([...cp.box.lo, ...cp.box.hi].every((v) => Math.abs(v) <= 3) && cp.box.hi[0] - cp.box.lo[0] > 3, `${JSON.stringify(cp.box)}`);
  assert.throws(
    () =>
      decodeCheckpoint(
        withHeader(bytes, (h) => (((h.settings as Record<string, unknown>).contraction as { hi: number[] }).hi[1] = -9)),
        'run.slimckpt',
      ),
    /run\.slimckpt: .*settings\.contraction is empty or inverted/,
  );
  assert.throws(
    () =>
      decodeCheckpoint(
        withHeader(bytes, (h) => ((h.train as Record<string, unknown>).contract = 'yes')),
        'run.slimckpt',
      ),
    /train\.contract must be true, false or "ndc"/,
  );
});

test('checkpoint file: an NDC run (forward-facing scene) keeps its frame and option; a frame with skewed axes is refused', async () => {
  const fwd = proceduralDataset({ size: 16, train: 6, test: 1, background: 'environment', layout: 'forward' });
  const bytes = await checkpointBytes(fwd, { contract: 'ndc' });
  const cp = decodeCheckpoint(bytes, 'run.slimckpt');
  assert.equal(cp.train.contract, 'ndc');
  assert.ok(cp.settings.ndc && !cp.settings.contraction);
  assert.ok(cp.settings.ndc.near > 0 && Math.abs(Math.hypot(...cp.settings.ndc.forward) - 1) < 1e-9);
  assert.ok(
    [...cp.box.lo, ...cp.box.hi].every((v) => Math.abs(v) <= 1.67),
    `the NDC box or what the shrink kept: ${JSON.stringify(cp.box)}`,
  );
  assert.throws(
    () =>
      decodeCheckpoint(
        withHeader(bytes, (h) => (((h.settings as Record<string, unknown>).ndc as { down: number[] }).down = [0, 0, 1])),
        'run.slimckpt',
      ),
    /run\.slimckpt: .*settings\.ndc's axes must be unit length and orthogonal/,
  );
  assert.throws(
    () =>
      decodeCheckpoint(
        withHeader(bytes, (h) => ((h.settings as Record<string, unknown>).contraction = { lo: [0, 0, 0], hi: [1, 1, 1] })),
        'run.slimckpt',
      ),
    /both a contraction and an NDC frame/,
  );
});
test('checkpoint file: damaged, truncated, foreign and hostile files are refused, naming the file and the problem', async () => {
  const bytes = await checkpointBytes();
  const refuse = (b: Uint8Array, pattern: RegExp) =>
    assert.throws(
      () => decodeCheckpoint(b, 'run.slimckpt'),
      (e: unknown) => e instanceof CheckpointError && /^run\.slimckpt: /.test(e.message) && pattern.test(e.message),
      pattern.source,
    );
  const flip = (at: number) => {
    const b = bytes.slice();
    b[at]! ^= 0x40;
    return b;
  };
  refuse(bytes.subarray(0, 10), /too short to be a Slimfield checkpoint/);
  refuse(new TextEncoder().encode(`SLIMSCNE${' '.repeat(40)}`), /not a Slimfield checkpoint \(magic "SLIMSCNE"/);
  const v2 = bytes.slice();
  new DataView(v2.buffer).setUint16(8, CHECKPOINT_VERSION + 1, true);
  refuse(v2, new RegExp(`checkpoint version ${CHECKPOINT_VERSION + 1} is not supported`));
  refuse(flip(40), /header checksum mismatch/);
  refuse(flip(bytes.length - 3), /valid rays: checksum mismatch/);
  refuse(flip(bytes.length >> 1), /tensors: checksum mismatch/);
  refuse(bytes.subarray(0, bytes.length - 4), /truncated/);
  refuse(new Uint8Array([...bytes, 0, 0, 0, 0]), /trailing bytes/);
  refuse(
    withHeader(bytes, (h) => (h.format = 'slimfield-scene')),
    /format "slimfield-scene" is not "slimfield-checkpoint"/,
  );
  refuse(
    withHeader(bytes, (h) => ((h.grid as number[])[0]! += 1)),
    /tensor \d+ is "density\.plane0" of \d+ values, the model's is density\.plane0 of \d+/,
  );
  refuse(
    withHeader(bytes, (h) => ((h.trainer as Record<string, unknown>).iter = 99)),
    /trainer\.iter must be a number in \[0, 4\]/,
  );
  refuse(
    withHeader(bytes, (h) => ((h.train as Record<string, unknown>).nIters = 'many')),
    /train\.nIters must be a number/,
  );
  refuse(
    withHeader(bytes, (h) => ((h.train as Record<string, unknown>).surprise = 1)),
    /unknown training options surprise/,
  );
  refuse(
    withHeader(bytes, (h) => ((h.settings as Record<string, unknown>).kind = 'nerf')),
    /settings\.kind must be one of "vm", "cp", "strivec"/,
  );
  refuse(
    withHeader(bytes, (h) => (h.validWords = 2 ** 30)),
    /validWords must be a number/,
  );
  refuse(
    withHeader(bytes, (h) => ((h.mask as Record<string, unknown>).words = 1)),
    /mask\.words 1 does not match mask\.dims/,
  );
  // Random corruption of header and payload bytes: a clean refusal or a checkpoint whose every value is finite.
  const next = xorshift(11);
  for (let i = 0; i < 300; i++) {
    const b = bytes.slice();
    for (let j = 0; j < 1 + Math.floor(next() * 4); j++) b[Math.floor(next() * b.length)] = Math.floor(next() * 256);
    try {
      const cp = decodeCheckpoint(b, 'run.slimckpt');
      for (const v of cp.values.values()) assert.ok(v.every(Number.isFinite));
    } catch (e) {
      assert.ok(e instanceof CheckpointError, `mutation ${i}: ${(e as Error).stack}`);
    }
  }
});
