// Files a browser user picked or dropped, as the dataset loader's input: a dropped folder walked
// entry by entry (paths kept below it), and the path-to-bytes map a mapSource reads. Uses the File
// and Directory Entries API only; the node-source.ts of the browser.
import { DatasetError } from './types.ts';

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
 * batches (Chromium: 100 at a time), so it is called until it returns none.
 */
export async function walkDropped(entries: readonly DropEntry[], prefix = ''): Promise<DroppedFile[]> {
  const out: DroppedFile[] = [];
  for (const entry of entries) {
    const path = prefix + entry.name;
    if (entry.isFile && entry.file) {
      const file = await new Promise<File>((ok, fail) => entry.file!(ok, fail)).catch((e: unknown) => {
        throw new DatasetError(path, `cannot be read (${e instanceof Error ? e.message : String(e)})`);
      });
      out.push({ file, path });
    } else if (entry.isDirectory && entry.createReader) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise<DropEntry[]>((ok, fail) => reader.readEntries(ok, fail));
        if (batch.length === 0) break;
        out.push(...(await walkDropped(batch, `${path}/`)));
      }
    }
  }
  return out;
}

/** A picked or dropped file's path: below the dropped folder, or the picker's relative path. */
export function relativePath(f: File | DroppedFile): string {
  return 'file' in f ? f.path : (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
}

/** Files picked or dropped as a folder: paths relative to the folder that was chosen. */
export async function filesToMap(files: Iterable<File | DroppedFile>): Promise<Map<string, Uint8Array>> {
  const list = [...files].map((f) => ({ file: 'file' in f ? f.file : f, path: relativePath(f) }));
  // A picked folder "lego" yields "lego/train/r_0.png": strip the common first component.
  const first = list[0]?.path.split('/')[0];
  const strip = first && list.every((f) => f.path.startsWith(`${first}/`)) ? first.length + 1 : 0;
  const out = new Map<string, Uint8Array>();
  await Promise.all(list.map(async (f) => out.set(f.path.slice(strip), new Uint8Array(await f.file.arrayBuffer()))));
  return out;
}
