// Files a browser user picked or dropped, as the dataset loader's input: a dropped folder walked
// entry by entry (paths kept below it), and a FileSource that reads them lazily. Uses the File
// and Directory Entries API only; the node-source.ts of the browser.
import { formatBytes } from '../gpu/context.ts';
import { type InputLimits, inputLimits, tooManyBytes, tooManyFiles } from './input-limits.ts';
import { normalizePath, zipSource } from './sources.ts';
import { joinLabel } from './transforms-json.ts';
import { DatasetError, type FileSource } from './types.ts';

/**
 * The input limits of this browser, from the memory it reports (navigator.deviceMemory, in GiB,
 * rounded down and capped by the browser; 4 GiB where it reports none).
 */
export function browserInputLimits(): InputLimits {
  const gib = (navigator as Navigator & { deviceMemory?: number }).deviceMemory;
  return gib ? inputLimits(gib * 2 ** 30, 'the browser reports') : inputLimits(4 * 2 ** 30, 'assumed (the browser reports none)');
}

/** A file with its path relative to what was dropped (a dropped folder's name comes first). */
export interface DroppedFile {
  file: File;
  path: string;
}

/** The parts of the File and Directory Entries API a drop walk uses (tests pass their own trees). */
export interface DropEntry {
  isFile: boolean;
  isDirectory: boolean;
  name: string;
  file?: (ok: (f: File) => void, fail: (e: unknown) => void) => void;
  createReader?: () => { readEntries: (ok: (entries: DropEntry[]) => void, fail: (e: unknown) => void) => void };
}

/**
 * Every file under the dropped entries, folders walked to the bottom. readEntries answers in
 * batches (Chromium: 100 at a time), so it is called until it returns none. A walk deeper than
 * `limits.depth` folders (a symbolic-link loop) or past `limits.entries` files is refused, naming
 * where it stopped, so a hostile folder ends the walk in bounded time.
 */
export async function walkDropped(entries: readonly DropEntry[], limits: InputLimits): Promise<DroppedFile[]> {
  const out: DroppedFile[] = [];
  const walk = async (level: readonly DropEntry[], prefix: string, depth: number): Promise<void> => {
    for (const entry of level) {
      const path = prefix + entry.name;
      if (entry.isFile && entry.file) {
        if (out.length >= limits.entries) {
          throw new DatasetError(path, tooManyFiles(`the folder holds more than ${limits.entries.toLocaleString('en-US')} files`, limits));
        }
        const file = await new Promise<File>((ok, fail) => entry.file!(ok, fail)).catch((e: unknown) => {
          throw new DatasetError(path, `cannot be read (${e instanceof Error ? e.message : String(e)})`);
        });
        out.push({ file, path });
      } else if (entry.isDirectory && entry.createReader) {
        if (depth >= limits.depth) {
          throw new DatasetError(path, `folders nest more than ${limits.depth} deep here (a symbolic link that points back up?); refused`);
        }
        const reader = entry.createReader();
        for (;;) {
          const batch = await new Promise<DropEntry[]>((ok, fail) => reader.readEntries(ok, fail));
          if (batch.length === 0) break;
          await walk(batch, `${path}/`, depth + 1);
        }
      }
    }
  };
  await walk(entries, '', 0);
  return out;
}

/** A picked or dropped file's path: below the dropped folder, or the picker's relative path. */
export function relativePath(f: File | DroppedFile): string {
  return 'file' in f ? f.path : (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
}

/**
 * Files picked or dropped as a folder, as a FileSource read lazily: a file's bytes are read when a
 * loader asks for them and are not kept, so a folder of photos costs what its images decode to at
 * the size they are used at, not the bytes of its files (300 phone photos of 4 MB open on a
 * device of 4 GB). Paths are relative to the folder that was chosen (a picked folder "lego"
 * yields "lego/train/r_0.png": the common first component is stripped). A folder with more files
 * than the limits allow is refused before anything is read.
 */
export function folderSource(files: Iterable<File | DroppedFile>, label: string, limits: InputLimits): FileSource {
  const list = [...files].map((f) => ({ file: 'file' in f ? f.file : f, path: relativePath(f) }));
  if (list.length > limits.entries) {
    throw new DatasetError(label, tooManyFiles(`the folder holds ${list.length.toLocaleString('en-US')} files`, limits));
  }
  const first = list[0]?.path.split('/')[0];
  const strip = first && list.every((f) => f.path.startsWith(`${first}/`)) ? first.length + 1 : 0;
  const byPath = new Map(list.map((f) => [normalizePath(f.path.slice(strip)), f.file]));
  const get = (path: string): File => {
    const file = byPath.get(normalizePath(path));
    if (!file) throw new DatasetError(path, `file not found in ${label}`);
    return file;
  };
  const read = async (path: string): Promise<Uint8Array> => {
    const file = get(path);
    // A file's size is known without reading it: one larger than a whole dataset may take is never read.
    if (file.size > limits.totalBytes) throw new DatasetError(joinLabel(label, path), tooManyBytes(`it holds ${formatBytes(file.size)}`, limits));
    try {
      return new Uint8Array(await file.arrayBuffer());
    } catch (e) {
      // A file removed or changed on disk since it was picked.
      throw new DatasetError(joinLabel(label, path), `cannot be read (${e instanceof Error ? e.message : String(e)})`);
    }
  };
  return {
    label,
    readBytes: read,
    readText: async (path) => new TextDecoder('utf-8').decode(await read(path)),
    exists: async (path) => byPath.has(normalizePath(path)),
    list: async (folder) => {
      const prefix = folder === '' ? '' : `${normalizePath(folder).replace(/\/$/, '')}/`;
      return [...byPath.keys()]
        .filter((k) => k.startsWith(prefix) && !k.slice(prefix.length).includes('/'))
        .map((k) => k.slice(prefix.length))
        .sort();
    },
  };
}

/**
 * What the user picked or dropped, as a FileSource with a label: one .zip (read whole, its
 * entries checked before any is inflated, data/sources.ts), or files of a folder (read lazily).
 */
export async function droppedSource(files: readonly (File | DroppedFile)[], limits: InputLimits): Promise<{ source: FileSource; label: string }> {
  if (files.length === 0) throw new Error('The dropped folder holds no files.');
  const one = files.length === 1 ? ('file' in files[0]! ? files[0]!.file : files[0]!) : null;
  const zip = one?.name.toLowerCase().endsWith('.zip') ? one : null;
  const first = relativePath(files[0]!);
  const label = zip ? zip.name : first.includes('/') ? first.split('/')[0]! : 'selected files';
  if (!zip) return { source: folderSource(files, label, limits), label };
  if (zip.size > limits.totalBytes) throw new DatasetError(label, tooManyBytes(`the archive holds ${formatBytes(zip.size)}`, limits));
  return { source: zipSource(new Uint8Array(await zip.arrayBuffer()), label, limits), label };
}
