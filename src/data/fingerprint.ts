// What identifies a dataset for a checkpoint: its images' names, sizes and pixels and its cameras,
// so training resumes only on the data it was trained on (the same folder at the same downscale).
import CRC32 from 'crc-32';
import type { Dataset } from './types.ts';

export interface DatasetFingerprint {
  /** Shown in messages (the folder or zip name). */
  name: string;
  format: Dataset['format'];
  /** Per split: its views and their image size. */
  splits: Record<string, { views: number; width: number; height: number }>;
  /** CRC-32 of every split's image names, camera parameters and pixels, in order. */
  crc: number;
}

export function datasetFingerprint(ds: Dataset): DatasetFingerprint {
  const splits: DatasetFingerprint['splits'] = {};
  let crc = 0;
  for (const [name, split] of Object.entries(ds.splits)) {
    if (!split) continue;
    splits[name] = { views: split.cameras.length, width: split.width, height: split.height };
    const cameras = split.cameras.map((c) => [
      c.fx,
      c.fy,
      c.cx,
      c.cy,
      ...c.c2w,
      ...(c.distortion ? [c.distortion.k1, c.distortion.k2, c.distortion.p1, c.distortion.p2] : []),
      // Added with the rational and fisheye models; absent for the others, so their fingerprints stay.
      ...(c.distortion?.k3 !== undefined ? [c.distortion.k3, c.distortion.k4, c.distortion.k5, c.distortion.k6] : []),
      ...(c.fisheye ? ['fisheye', c.fisheye.k1, c.fisheye.k2, c.fisheye.k3, c.fisheye.k4] : []),
    ]);
    crc = CRC32.str(JSON.stringify({ name, names: split.names, cameras }), crc);
    for (const img of split.images) crc = CRC32.buf(img, crc);
  }
  return { name: ds.name, format: ds.format, splits, crc: crc >>> 0 };
}

/** Why a checkpoint made on `saved` cannot continue on `current`, or null when they are the same data. */
export function fingerprintMismatch(saved: DatasetFingerprint, current: DatasetFingerprint): string | null {
  const shape = (f: DatasetFingerprint) =>
    Object.entries(f.splits)
      .map(([s, v]) => `${s} ${v.views} views of ${v.width}x${v.height}`)
      .join(', ');
  if (shape(saved) !== shape(current)) return `it was made on "${saved.name}" (${shape(saved)}), this dataset is "${current.name}" (${shape(current)})`;
  if (saved.crc !== current.crc) return `it was made on "${saved.name}", whose images or cameras differ from "${current.name}" (same sizes, other content)`;
  return null;
}
