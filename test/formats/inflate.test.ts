// The native raw-DEFLATE decoder behind SceneReader.pushAsync (src/formats/scene-file/inflate.ts):
// it inflates what fflate wrote to the same bytes, and hands back null (for the checked decoder to
// name the problem) for a stream that would outgrow its section, fall short of it, or is not DEFLATE.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deflateSync } from 'fflate';
import { inflateNative } from '../../src/formats/scene-file/inflate.ts';
import { xorshift } from '../../src/gpu/random.ts';

test('the native inflater matches fflate, and refuses streams of the wrong length or not DEFLATE at all', async () => {
  const rng = xorshift(3);
  const raw = Uint8Array.from({ length: 50_000 }, (_, i) => (i % 7 === 0 ? Math.floor(rng() * 256) : i & 15));
  const packed = new Uint8Array(deflateSync(raw, { level: 9 }));
  assert.deepEqual(await inflateNative(packed, raw.length), raw);
  assert.equal(await inflateNative(packed, raw.length - 1), null, 'a stream that outgrows the section is stopped');
  assert.equal(await inflateNative(packed, raw.length + 1), null, 'one that falls short');
  // A bomb: a megabyte of zeros in about a kilobyte, against a section that expects 100 bytes.
  assert.equal(await inflateNative(new Uint8Array(deflateSync(new Uint8Array(1 << 20))), 100), null);
  assert.equal(await inflateNative(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]), 10), null, 'not DEFLATE');
});
