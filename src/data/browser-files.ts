// Files a browser user picked or dropped, as the dataset loader's input: a dropped folder walked
// entry by entry (paths kept below it), and the path-to-bytes map a mapSource reads. Uses the File
// and Directory Entries API only; the node-source.ts of the browser.
import { formatBytes } from '../gpu/context.ts';
import { type InputLimits, inputLimits, tooManyBytes, tooManyFiles } from './input-limits.ts';
import { DatasetError } from './types.ts';

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

/** Files picked or dropped as a folder: paths relative to the folder that was chosen. */
export async function filesToMap(files: Iterable<File | DroppedFile>, limits: InputLimits): Promise<Map<string, Uint8Array>> {
  const list = [...files].map((f) => ({ file: 'file' in f ? f.file : f, path: relativePath(f) }));
  // Sizes are known before anything is read: refuse a folder that cannot fit at once.
  if (list.length > limits.entries) {
    throw new DatasetError(list[0]!.path.split('/')[0]!, tooManyFiles(`the folder holds ${list.length.toLocaleString('en-US')} files`, limits));
  }
  const total = list.reduce((n, f) => n + f.file.size, 0);
  if (total > limits.totalBytes) {
    throw new DatasetError(list[0]!.path.split('/')[0]!, tooManyBytes(`its files hold ${formatBytes(total)}`, limits));
  }
  // A picked folder "lego" yields "lego/train/r_0.png": strip the common first component.
  const first = list[0]?.path.split('/')[0];
  const strip = first && list.every((f) => f.path.startsWith(`${first}/`)) ? first.length + 1 : 0;
  const out = new Map<string, Uint8Array>();
  await Promise.all(list.map(async (f) => out.set(f.path.slice(strip), new Uint8Array(await f.file.arrayBuffer()))));
  return out;
}
