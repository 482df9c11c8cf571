// Environment-neutral FileSource implementations (in-memory maps and zip archives).
// The Node folder source lives in node-source.ts so the browser bundle never pulls in node:fs.

import { unzipSync } from 'fflate';
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
  };
}

/**
 * A FileSource over a zip archive (decompressed eagerly with fflate).
 * Zips made by "compress folder" usually wrap everything in one top-level folder;
 * when every entry shares a single top-level folder and that folder holds a
 * transforms file (and the zip root does not), the folder becomes the root.
 * Directory entries and macOS "__MACOSX/" resource-fork entries are ignored.
 */
export function zipSource(bytes: Uint8Array, label: string): FileSource {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes, {
      // Skip directory entries and macOS metadata without inflating them.
      filter: (f) => !f.name.endsWith('/') && !normalizePath(f.name).startsWith('__MACOSX/'),
    });
  } catch (e) {
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
