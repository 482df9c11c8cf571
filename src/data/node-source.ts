// Node-only FileSource over a folder on disk. Kept apart from sources.ts so the
// browser bundle never imports node:fs.

import { open, readdir, stat } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { formatBytes } from '../gpu/context.ts';
import { type InputLimits, inputLimits, tooManyBytes } from './input-limits.ts';
import { normalizePath, unsafePath } from './sources.ts';
import { DatasetError, type FileSource } from './types.ts';

/** The input limits of this machine, from its memory. */
export function nodeInputLimits(): InputLimits {
  return inputLimits(totalmem(), 'this machine has');
}

/**
 * A folder's files, read only where the dataset's transforms point: never outside the folder, only
 * regular files (a device such as /dev/zero or a pipe would never end), each and all together
 * within `limits`; a symbolic-link loop is named as one.
 */
export function nodeFolderSource(dir: string, limits: InputLimits): FileSource {
  let read = 0;
  const resolve = (path: string): string => {
    const why = unsafePath(path);
    if (why) throw new DatasetError(path, `the path has ${why.replace('archive', 'dataset folder')}; refused`);
    return join(dir, ...normalizePath(path).split('/'));
  };
  const problem = (path: string, e: unknown): DatasetError => {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return new DatasetError(path, `file not found in ${dir}`);
    if (code === 'ELOOP') return new DatasetError(path, `a loop of symbolic links in ${dir}; refused`);
    return new DatasetError(path, `cannot read file in ${dir} (${(e as Error).message})`);
  };
  const readChecked = async (path: string): Promise<Uint8Array> => {
    const full = resolve(path);
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(full, 'r');
    } catch (e) {
      throw problem(path, e);
    }
    try {
      // The size is taken from the open file, so what is checked is what is read.
      const info = await handle.stat();
      if (!info.isFile()) throw new DatasetError(path, `not a regular file (a folder, a device or a pipe) in ${dir}; refused`);
      if (read + info.size > limits.totalBytes) {
        throw new DatasetError(path, tooManyBytes(`the dataset's files reach ${formatBytes(read + info.size)} with this one`, limits));
      }
      const bytes = new Uint8Array(info.size);
      let at = 0;
      while (at < bytes.length) {
        const { bytesRead } = await handle.read(bytes, at, bytes.length - at, at);
        if (bytesRead === 0) break;
        at += bytesRead;
      }
      read += at;
      return at === bytes.length ? bytes : bytes.subarray(0, at);
    } catch (e) {
      throw e instanceof DatasetError ? e : problem(path, e);
    } finally {
      await handle.close();
    }
  };
  return {
    label: dir,
    readText: async (path) => new TextDecoder('utf-8').decode(await readChecked(path)),
    readBytes: readChecked,
    exists: async (path) => {
      try {
        // Anything there counts: reading a device or a folder is refused with its own message.
        await stat(resolve(path));
        return true;
      } catch (e) {
        if (e instanceof DatasetError) throw e;
        if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw problem(path, e);
        return false;
      }
    },
    list: async (folder) => {
      try {
        const entries = await readdir(folder === '' ? dir : resolve(folder), { withFileTypes: true });
        // Files and links to them; folders are not listed.
        return entries
          .filter((e) => e.isFile() || e.isSymbolicLink())
          .map((e) => e.name)
          .sort();
      } catch (e) {
        if (e instanceof DatasetError) throw e;
        return [];
      }
    },
  };
}
