// The camera path kept with its dataset: what one visit keeps the next reads back, per dataset;
// damaged or refused storage loses only the convenience. Node has no localStorage, so the test
// gives it the Web Storage API's four methods over a Map.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DatasetFingerprint } from '../../src/run/session.ts';
import { keepPath, keptPath } from '../../src/ui/path-store.ts';
import { orbitPath } from '../../src/view/camera-path.ts';

class MemoryStorage {
  readonly items = new Map<string, string>();
  full = false;
  getItem(k: string) {
    return this.items.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    if (this.full) throw new DOMException('quota', 'QuotaExceededError');
    this.items.set(k, v);
  }
  removeItem(k: string) {
    this.items.delete(k);
  }
}

const dataset = (crc: number): DatasetFingerprint => ({ name: 'photos', format: 'colmap', splits: {}, crc });

test('a camera path is kept per dataset and read back; damaged or refused storage is survived', () => {
  const storage = new MemoryStorage();
  Object.assign(globalThis, { localStorage: storage });
  const path = orbitPath([0, 0, 0.2], 3, 0.4, 5);
  keepPath(dataset(1), path);
  assert.deepEqual(keptPath(dataset(1)), path);
  assert.equal(keptPath(dataset(2)), null, 'another dataset has its own path');
  assert.equal(keptPath(null), null, 'no dataset, nothing kept');
  keepPath(dataset(1), null);
  assert.equal(keptPath(dataset(1)), null, 'a cleared path is forgotten');
  storage.items.set('slimfield-camera-path-00000003', '{broken');
  assert.equal(keptPath(dataset(3)), null, 'a damaged entry reads as none');
  storage.full = true;
  assert.doesNotThrow(() => keepPath(dataset(4), path), 'a full storage does not break the panel');
});
