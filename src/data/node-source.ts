// Node-only FileSource over a folder on disk. Kept apart from sources.ts so the
// browser bundle never imports node:fs.

import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { normalizePath } from './sources.ts';
import { DatasetError, type FileSource } from './types.ts';

export function nodeFolderSource(dir: string): FileSource {
  const resolve = (path: string): string => join(dir, ...normalizePath(path).split('/'));
  const read = async (path: string): Promise<Buffer> => {
    try {
      return await readFile(resolve(path));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new DatasetError(path, `file not found in ${dir}`);
      throw new DatasetError(path, `cannot read file in ${dir} (${(e as Error).message})`);
    }
  };
  return {
    label: dir,
    readText: async (path) => (await read(path)).toString('utf8'),
    readBytes: async (path) => {
      const buf = await read(path);
      // Hand out a plain Uint8Array view (Buffer is a subclass with surprising slice semantics).
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    },
    exists: async (path) => {
      try {
        await access(resolve(path));
        return true;
      } catch {
        return false;
      }
    },
  };
}
