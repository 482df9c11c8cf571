// The camera path is part of the user's work on a dataset: it is kept in the browser's local
// storage under the dataset's fingerprint, so reopening the same photos (after a closed tab, or
// beside a resumed run) brings the path back. Storage refused (private mode, full) loses only this
// convenience, never the path on screen.
import type { DatasetFingerprint } from '../run/session.ts';
import { type CameraPath, cameraPathJson, parseCameraPath } from '../view/camera-path.ts';

const PREFIX = 'slimfield-camera-path-';

function key(dataset: DatasetFingerprint): string {
  return `${PREFIX}${dataset.crc.toString(16).padStart(8, '0')}`;
}

/** The path last kept for this dataset, or null (none, or storage unreadable or damaged). */
export function keptPath(dataset: DatasetFingerprint | null): CameraPath | null {
  if (!dataset) return null;
  try {
    const text = localStorage.getItem(key(dataset));
    return text ? parseCameraPath(text, 'the kept camera path') : null;
  } catch {
    return null;
  }
}

/** Keeps (or, with null, forgets) the dataset's path. */
export function keepPath(dataset: DatasetFingerprint | null, path: CameraPath | null): void {
  if (!dataset) return;
  try {
    if (path) localStorage.setItem(key(dataset), cameraPathJson(path));
    else localStorage.removeItem(key(dataset));
  } catch {
    // Quota or privacy settings: the path stays on screen and can be saved as a file.
  }
}
