// Dropping a folder on the studio: the entry walk reaches every file, however deep and however
// many batches readEntries answers in, and the paths come out relative to the dropped folder.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type DropEntry, folderSource, walkDropped } from '../../src/data/browser-files.ts';
import { inputLimits } from '../../src/data/input-limits.ts';

const LIMITS = inputLimits(8 * 2 ** 30, 'in this test');

/** A folder tree as File and Directory Entries, with readEntries answering `batch` at a time. */
function tree(name: string, content: Record<string, string | Record<string, unknown>>, batch = 2): DropEntry {
  const children = Object.entries(content).map(([n, v]) =>
    typeof v === 'string'
      ? { isFile: true, isDirectory: false, name: n, file: (ok: (f: File) => void) => setTimeout(() => ok(new File([v], n)), 0) }
      : tree(n, v as Record<string, string>, batch),
  );
  return {
    isFile: false,
    isDirectory: true,
    name,
    createReader: () => {
      let at = 0;
      return {
        readEntries: (ok: (e: DropEntry[]) => void) => {
          const from = at;
          at += batch;
          setTimeout(() => ok(children.slice(from, at)), 0);
        },
      };
    },
  };
}

test('a dropped folder is walked to the bottom, in batches, paths relative to it', async () => {
  const images = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`r_${i}.png`, `png ${i}`]));
  const root = tree('lego', { 'transforms_train.json': '{}', train: images, test: { 'r_0.png': 'test png', deeper: { 'x.txt': 'x' } } });
  const files = await walkDropped([root], LIMITS);
  assert.deepEqual(
    files.map((f) => f.path).sort(),
    ['lego/test/deeper/x.txt', 'lego/test/r_0.png', ...Object.keys(images).map((n) => `lego/train/${n}`), 'lego/transforms_train.json'].sort(),
  );
  const src = folderSource(files, 'lego', LIMITS);
  assert.equal(await src.readText('train/r_3.png'), 'png 3');
  assert.equal(await src.readText('./transforms_train.json'), '{}');
  assert.deepEqual(await src.list('test'), ['r_0.png']);
  assert.ok(!(await src.exists('lego/transforms_train.json')), 'the dropped folder name is not part of the paths');
});

test('loose files dropped together keep their own names', async () => {
  const a = { isFile: true, isDirectory: false, name: 'transforms.json', file: (ok: (f: File) => void) => ok(new File(['{}'], 'transforms.json')) };
  const b = { isFile: true, isDirectory: false, name: 'a.png', file: (ok: (f: File) => void) => ok(new File(['p'], 'a.png')) };
  const src = folderSource(await walkDropped([a, b], LIMITS), 'selected files', LIMITS);
  assert.deepEqual(await src.list(''), ['a.png', 'transforms.json']);
});

test('a failing entry read rejects instead of hanging', async () => {
  const bad: DropEntry = { isFile: true, isDirectory: false, name: 'gone.png', file: (_ok, fail) => fail(new Error('NotFoundError')) };
  await assert.rejects(walkDropped([bad], LIMITS), /^DatasetError: gone.png: cannot be read \(NotFoundError\)$/);
});

test('a folder is read lazily: each file when asked for, nothing kept; too many files refused before any is read', async () => {
  let reads = 0;
  class Counted extends File {
    override async arrayBuffer(): Promise<ArrayBuffer> {
      reads++;
      return super.arrayBuffer();
    }
  }
  const files = Array.from({ length: 20 }, (_, i) => ({ file: new Counted([`photo ${i}`], `p${i}.jpg`), path: `walk/p${i}.jpg` }));
  const src = folderSource(files, 'walk', LIMITS);
  assert.equal(reads, 0);
  assert.equal(await src.readText('p7.jpg'), 'photo 7');
  assert.equal(await src.readText('p7.jpg'), 'photo 7');
  assert.equal(reads, 2, 'read each time it is asked for, not kept');
  await assert.rejects(src.readBytes('p99.jpg'), /p99\.jpg: file not found in walk/);
  assert.throws(() => folderSource(files, 'walk', { ...LIMITS, entries: 10 }), /walk: the folder holds 20 files; a dataset may have at most 10 files; refused/);
  assert.equal(reads, 2);
});
