// Photos posed in the studio, as a capture: the cameras and model structure from motion wrote
// (transforms.json, sparse/0) laid over the user's own files, which stay where they are and are
// read one at a time when the loader asks for them (images/NAME is the photo it was posed from).
// The same pairing saves the capture as a .zip that opens again here, in COLMAP and in nerfstudio.
import { normalizePath } from '../data/sources.ts';
import type { FileSource } from '../data/types.ts';

/** What posing wrote: the capture's small files, and each placed photo's path in the capture and in the user's files. */
export interface PosedPhotos {
  files: Map<string, Uint8Array>;
  photoFiles: readonly { path: string; source: string }[];
}

/** The capture as a FileSource: its small files, and its images/ read from the user's photos when asked for. */
export function posedPhotoSource(photos: FileSource, posed: PosedPhotos): FileSource {
  const own = new Map([...posed.files].map(([k, v]) => [normalizePath(k), v]));
  const linked = new Map(posed.photoFiles.map((p) => [normalizePath(p.path), p.source]));
  const read = async (path: string): Promise<Uint8Array> => {
    const key = normalizePath(path);
    const bytes = own.get(key);
    if (bytes) return bytes;
    const source = linked.get(key);
    return photos.readBytes(source ?? path);
  };
  const paths = () => [...own.keys(), ...linked.keys()];
  return {
    label: photos.label,
    readBytes: read,
    readText: async (path) => new TextDecoder('utf-8').decode(await read(path)),
    exists: async (path) => own.has(normalizePath(path)) || linked.has(normalizePath(path)),
    list: async (folder) => {
      const prefix = folder === '' ? '' : `${normalizePath(folder).replace(/\/$/, '')}/`;
      return paths()
        .filter((k) => k.startsWith(prefix) && !k.slice(prefix.length).includes('/'))
        .map((k) => k.slice(prefix.length))
        .sort();
    },
  };
}

/** The capture's files with the photos' bytes, for saving as a .zip. */
export async function posedCaptureFiles(photos: FileSource, posed: PosedPhotos): Promise<Map<string, Uint8Array>> {
  const files = new Map(posed.files);
  for (const p of posed.photoFiles) files.set(p.path, await photos.readBytes(p.source));
  return files;
}
