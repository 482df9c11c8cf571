// Environment-neutral FileSource implementations (in-memory maps and zip archives).
// The Node folder source lives in node-source.ts so the browser bundle never pulls in node:fs.

import { unzipSync } from 'fflate';
import { formatBytes } from '../gpu/context.ts';
import { type InputLimits, tooManyBytes, tooManyFiles } from './input-limits.ts';
import { DatasetError, type FileSource } from './types.ts';

/** Names the loader looks for to decide where a dataset's root is. */
export const TRANSFORMS_FILES = ['transforms_train.json', 'transforms.json'] as const;

/**
 * Normalises a dataset-relative path: backslashes become '/', "./" segments and
 * leading '/' are dropped, and "a/../b" collapses to "b". A ".." that would climb
 * above the root is kept (it will simply not be found in map/zip sources).
 */
export function normalizePath(path: string): string {
  const out: string[] = [];
  for (const seg of path.replace(/\\/g, '/').split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..' && out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else out.push(seg);
  }
  return out.join('/');
}

const utf8 = new TextDecoder('utf-8');

/**
 * A FileSource over an in-memory map of path -> bytes (browser folder drops, tests).
 * Keys are normalised with normalizePath, so "./a\\b.png" and "a/b.png" are the same file.
 */
export function mapSource(files: Map<string, Uint8Array>, label: string): FileSource {
  const normalized = new Map<string, Uint8Array>();
  for (const [k, v] of files) normalized.set(normalizePath(k), v);
  const get = (path: string): Uint8Array => {
    const bytes = normalized.get(normalizePath(path));
    if (bytes === undefined) throw new DatasetError(path, `file not found in ${label}`);
    return bytes;
  };
  return {
    label,
    readText: async (path) => utf8.decode(get(path)),
    readBytes: async (path) => get(path),
    exists: async (path) => normalized.has(normalizePath(path)),
    list: async (folder) => {
      const prefix = folder === '' ? '' : `${normalizePath(folder).replace(/\/$/, '')}/`;
      return [...normalized.keys()]
        .filter((k) => k.startsWith(prefix) && !k.slice(prefix.length).includes('/'))
        .map((k) => k.slice(prefix.length))
        .sort();
    },
  };
}

/**
 * Why an archive entry's or a file's name cannot be part of a dataset (an absolute path, a drive,
 * a ".." that climbs out, a NUL), or null when it is a plain relative path.
 */
export function unsafePath(name: string): string | null {
  if (name.includes('\0')) return 'a NUL character in its name';
  const p = name.replace(/\\/g, '/');
  if (p.startsWith('/') || /^[a-zA-Z]:/.test(p)) return 'an absolute path';
  if (normalizePath(p).split('/')[0] === '..') return 'a ".." that climbs out of the archive';
  return null;
}

/**
 * A FileSource over a zip archive, checked before anything is inflated: its entries are listed from
 * the central directory and the archive is refused, naming the entry, when it has more entries than
 * `limits` allow, an entry with an absolute path or a ".." that climbs out, two entries of one
 * name, sizes no zip writer produces, or entries that would inflate to more bytes than the limits
 * allow (a zip bomb). Each entry then inflates into a buffer of its declared size, so an entry
 * lying about its size cannot grow past it (a stream that runs on is cut there, and the file then
 * fails to decode naming itself).
 * Zips made by "compress folder" usually wrap everything in one top-level folder;
 * when every entry shares a single top-level folder and that folder holds a
 * transforms file (and the zip root does not), the folder becomes the root.
 * Directory entries and macOS "__MACOSX/" resource-fork entries are ignored.
 */
export function zipSource(bytes: Uint8Array, label: string, limits: InputLimits): FileSource {
  const wanted = (name: string) => !name.endsWith('/') && !normalizePath(name).startsWith('__MACOSX/');
  let entries: Record<string, Uint8Array>;
  try {
    let count = 0;
    let total = 0;
    const seen = new Set<string>();
    // The listing pass: the filter sees every entry's declared size and inflates none.
    unzipSync(bytes, {
      filter: (f) => {
        if (++count > limits.entries)
          throw new DatasetError(label, tooManyFiles(`the archive has more than ${limits.entries.toLocaleString('en-US')} entries`, limits));
        const why = unsafePath(f.name);
        if (why) throw new DatasetError(label, `entry "${f.name}" has ${why}; refused`);
        if (!wanted(f.name)) return false;
        const name = normalizePath(f.name);
        // Deflate stores incompressible data with a few bytes per 64 KiB block and compresses at
        // most about 1032:1; sizes outside that are a lie about what the entry holds.
        if (f.size > f.originalSize * 1.01 + 1024 || (f.compression === 8 && f.originalSize > f.size * 1032 + 1024)) {
          throw new DatasetError(
            label,
            `entry "${f.name}" declares ${formatBytes(f.originalSize)} inflated from ${formatBytes(f.size)}, which no zip writer produces; refused`,
          );
        }
        if (seen.has(name)) throw new DatasetError(label, `two entries are named "${name}"; which one is meant is unclear, so the archive is refused`);
        seen.add(name);
        total += f.originalSize;
        return false;
      },
    });
    if (total > limits.totalBytes) {
      throw new DatasetError(label, tooManyBytes(`its ${seen.size.toLocaleString('en-US')} files inflate to ${formatBytes(total)} (a zip bomb?)`, limits));
    }
    entries = unzipSync(bytes, { filter: (f) => wanted(f.name) });
  } catch (e) {
    if (e instanceof DatasetError) throw e;
    throw new DatasetError(label, `not a readable zip archive (${(e as Error).message})`);
  }
  const files = new Map<string, Uint8Array>();
  for (const [name, data] of Object.entries(entries)) files.set(normalizePath(name), data);

  const hasRootTransforms = TRANSFORMS_FILES.some((t) => files.has(t));
  if (!hasRootTransforms && files.size > 0) {
    const tops = new Set<string>();
    for (const name of files.keys()) {
      const slash = name.indexOf('/');
      // A file directly at the root means there is no single wrapping folder.
      tops.add(slash < 0 ? '' : name.slice(0, slash));
    }
    const [only] = tops;
    if (tops.size === 1 && only !== '' && TRANSFORMS_FILES.some((t) => files.has(`${only}/${t}`))) {
      const prefix = `${only}/`;
      const stripped = new Map<string, Uint8Array>();
      for (const [name, data] of files) stripped.set(name.slice(prefix.length), data);
      return mapSource(stripped, label);
    }
  }
  return mapSource(files, label);
}
