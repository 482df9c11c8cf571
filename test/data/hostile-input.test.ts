// Hostile archives, folders and images are refused before they are read, naming the file, the
// problem and the limit with where it comes from, in bounded memory: zip bombs (overlapping
// entries, sizes that lie), names that climb out or are absolute, duplicate names, thousands of
// entries, headers claiming 60000x60000 pixels, symbolic-link loops, devices and deep folders.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { zipSync } from 'fflate';
import { type DropEntry, folderSource, walkDropped } from '../../src/data/browser-files.ts';
import { decodeImageNode } from '../../src/data/image-node.ts';
import { imageHeaderSize, inputLimits } from '../../src/data/input-limits.ts';
import { loadDataset } from '../../src/data/load.ts';
import { nodeFolderSource } from '../../src/data/node-source.ts';
import { mapSource, zipSource } from '../../src/data/sources.ts';
import { DatasetError, type FileSource } from '../../src/data/types.ts';
import { blenderDataset, datasetZip, deflated, jpegClaiming, pngClaiming, stored, zipBomb } from '../fixtures/hostile.ts';

/** A machine with 8 GiB of memory: datasets up to 2 GiB, images up to 128 MiB decoded, 10,000 files. */
const LIMITS = inputLimits(8 * 2 ** 30, 'in this test');
const BASIS = '(a quarter of the 8 GiB of memory in this test); refused';
const load = (src: FileSource) => loadDataset(src, { decode: decodeImageNode, limits: LIMITS });

function refused(what: () => unknown, message: string | RegExp): void {
  assert.throws(what, (e: unknown) => {
    assert.ok(e instanceof DatasetError, String(e));
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

async function refusedAsync(what: Promise<unknown>, message: string | RegExp): Promise<void> {
  await assert.rejects(what, (e: unknown) => {
    assert.ok(e instanceof DatasetError, String(e));
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

test('the fixtures are what they claim: a valid dataset zip loads', async () => {
  const ds = await load(zipSource(datasetZip(), 'ok.zip', LIMITS));
  assert.equal(ds.splits.train!.cameras.length, 2);
});

test('zip bomb: 40 overlapping entries of 64 MiB each are refused before anything inflates', () => {
  const bomb = zipBomb(40);
  assert.ok(bomb.length < 200_000, `the bomb is small (${bomb.length} bytes)`);
  const rss = process.memoryUsage().rss;
  refused(
    () => zipSource(bomb, 'bomb.zip', LIMITS),
    `bomb.zip: its 43 files inflate to 2.5 GiB (a zip bomb?), more than the 2 GiB a dataset may take here ${BASIS}`,
  );
  assert.ok(process.memoryUsage().rss - rss < 64 * 2 ** 20, 'nothing was inflated');
});

test('zip entries that lie about their sizes are refused', () => {
  const honest = deflated('train/big.bin', new Uint8Array(64 << 20));
  refused(
    () => zipSource(datasetZip([{ ...honest, size: 100 }]), 'liar.zip', LIMITS),
    /^liar\.zip: entry "train\/big\.bin" declares 100 B inflated from 63\.7 KiB, which no zip writer produces; refused$/,
  );
  refused(
    () => zipSource(datasetZip([{ ...honest, size: 2 ** 31 }]), 'liar.zip', LIMITS),
    /^liar\.zip: entry "train\/big\.bin" declares 2 GiB inflated from 63\.7 KiB, which no zip writer produces; refused$/,
  );
});

test('zip entries with ".." or absolute paths are refused, naming the entry', () => {
  const x = new Uint8Array([1]);
  refused(
    () => zipSource(datasetZip([stored('../../etc/cron.d/evil', x)]), 'climb.zip', LIMITS),
    'climb.zip: entry "../../etc/cron.d/evil" has a ".." that climbs out of the archive; refused',
  );
  refused(() => zipSource(datasetZip([stored('/etc/passwd', x)]), 'abs.zip', LIMITS), 'abs.zip: entry "/etc/passwd" has an absolute path; refused');
  refused(
    () => zipSource(datasetZip([stored('C:\\Windows\\evil.dll', x)]), 'drive.zip', LIMITS),
    'drive.zip: entry "C:\\Windows\\evil.dll" has an absolute path; refused',
  );
  // A ".." that stays inside is an ordinary path.
  assert.ok(zipSource(datasetZip([stored('train/../extra.txt', x)]), 'inside.zip', LIMITS));
});

test('duplicate zip entry names are refused', () => {
  const files = blenderDataset();
  refused(
    () => zipSource(datasetZip([stored('train/r_0.png', new Uint8Array(4))], files), 'dup.zip', LIMITS),
    'dup.zip: two entries are named "train/r_0.png"; which one is meant is unclear, so the archive is refused',
  );
  // Different spellings of one path are one name.
  refused(() => zipSource(datasetZip([stored('./train\\r_1.png', new Uint8Array(4))], files), 'dup.zip', LIMITS), /two entries are named "train\/r_1\.png"/);
});

test('thousands of tiny entries: past 10,000 the archive is refused', () => {
  const entries: Record<string, Uint8Array> = {};
  for (let i = 0; i < 12_000; i++) entries[`junk/${i}.txt`] = new Uint8Array([i & 255]);
  refused(
    () => zipSource(zipSync(entries, { level: 0 }), 'many.zip', LIMITS),
    'many.zip: the archive has more than 10,000 entries; a dataset may have at most 10,000 files; refused',
  );
  // 5,000 tiny entries beside a dataset are read, in bounded time.
  const some = Object.fromEntries(Object.entries(entries).slice(0, 5000));
  for (const [n, b] of blenderDataset()) some[n] = b;
  assert.ok(zipSource(zipSync(some, { level: 0 }), 'some.zip', LIMITS));
});

test('an image header claiming 60000x60000 pixels is refused before decoding (PNG and JPEG)', async () => {
  assert.deepEqual(imageHeaderSize(pngClaiming(60000, 60000)), { width: 60000, height: 60000 });
  assert.deepEqual(imageHeaderSize(jpegClaiming(60000, 60000)), { width: 60000, height: 60000 });
  for (const [image, kind] of [
    [pngClaiming(60000, 60000), 'png'],
    [jpegClaiming(60000, 60000), 'jpg'],
  ] as const) {
    const files = blenderDataset((f) => {
      f.delete('train/r_1.png');
      f.set(`train/r_1.${kind}`, image);
      const json = JSON.parse(new TextDecoder().decode(f.get('transforms_train.json')));
      json.frames[1].file_path = `./train/r_1.${kind}`;
      f.set('transforms_train.json', new TextEncoder().encode(JSON.stringify(json)));
    });
    await refusedAsync(
      load(mapSource(files, 'huge')),
      `huge/train/r_1.${kind}: its header claims 60000x60000 pixels (3,600 megapixels, 13.4 GiB decoded), more than the 134.2 megapixels an image may have here (512 MiB decoded, a sixteenth of the 8 GiB of memory in this test); refused`,
    );
  }
});

test('a browser folder past the limits is refused before it is read', async () => {
  const many = Array.from({ length: 10_001 }, (_, i) => ({ file: new File(['x'], `${i}.txt`), path: `big/${i}.txt` }));
  refused(() => folderSource(many, 'big', LIMITS), 'big: the folder holds 10,001 files; a dataset may have at most 10,000 files; refused');
  // A file's size is known without reading it: a sparse 3 GiB blob is never read.
  const huge = { file: { size: 3 * 2 ** 30, name: 'x.bin', arrayBuffer: () => Promise.reject(new Error('read')) } as unknown as File, path: 'big/x.bin' };
  await refusedAsync(folderSource([huge], 'big', LIMITS).readBytes('x.bin'), `big/x.bin: it holds 3 GiB, more than the 2 GiB a dataset may take here ${BASIS}`);
});

test('a dropped folder that loops back on itself (a symbolic link) is refused at 32 levels', async () => {
  // A folder whose reader returns the folder itself, as a link to its parent does.
  const loop: DropEntry = {
    isFile: false,
    isDirectory: true,
    name: 'loop',
    createReader: () => {
      let done = false;
      return {
        readEntries: (ok) => {
          ok(done ? [] : [loop]);
          done = true;
        },
      };
    },
  };
  await refusedAsync(walkDropped([loop], LIMITS), /^loop(\/loop){32}: folders nest more than 32 deep here \(a symbolic link that points back up\?\); refused$/);
});

test('Node folders: symbolic-link loops, devices and paths that climb out are refused, naming the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'slimfield-hostile-'));
  for (const [path, bytes] of blenderDataset()) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), bytes);
  }
  const withFrame = async (name: string, file: string) => {
    const json = {
      camera_angle_x: 0.69,
      frames: [
        {
          file_path: file,
          transform_matrix: [
            [1, 0, 0, 0],
            [0, 1, 0, 0],
            [0, 0, 1, 4],
            [0, 0, 0, 1],
          ],
        },
      ],
    };
    const d = join(dir, name);
    await mkdir(d, { recursive: true });
    await writeFile(join(d, 'transforms_train.json'), JSON.stringify(json));
    return d;
  };
  // A loop: a -> b -> a.
  const loop = await withFrame('loop', './a/r_0');
  await symlink(join(loop, 'b'), join(loop, 'a'));
  await symlink(join(loop, 'a'), join(loop, 'b'));
  await refusedAsync(load(nodeFolderSource(loop, LIMITS)), `a/r_0.png: a loop of symbolic links in ${loop}; refused`);
  // An image that is a device: /dev/zero would never end.
  const dev = await withFrame('dev', './zero');
  await symlink('/dev/zero', join(dev, 'zero.png'));
  await refusedAsync(load(nodeFolderSource(dev, LIMITS)), `zero.png: not a regular file (a folder, a device or a pipe) in ${dev}; refused`);
  // A frame that climbs out of the dataset folder.
  const out = await withFrame('out', '../../../etc/passwd');
  await refusedAsync(load(nodeFolderSource(out, LIMITS)), /the path has a "\.\." that climbs out of the dataset folder; refused$/);
});
