// NeRF-Synthetic (Blender) datasets: transforms_{train,val,test}.json beside the image folders,
// one camera_angle_x for every frame, RGBA images composited on white, objects inside [-1.5, 1.5]³.
import type { DatasetFormat, SplitPlan } from './plan.ts';
import { checkAngle, frameList, joinLabel, parseFrames, parseJson, readNumber } from './transforms-json.ts';
import { DatasetError, type SplitName } from './types.ts';
import { pickEvenly } from './views.ts';

const ALL_SPLITS: SplitName[] = ['train', 'val', 'test'];

export const blenderFormat: DatasetFormat = {
  name: 'the Blender transforms (transforms_train.json)',
  detect: (src) => src.exists('transforms_train.json'),
  /** The splits asked for (train always), each a curated list: a missing image is a broken dataset. */
  async plan(src, { splits: requested, maxImages, warnings }) {
    const where = (path: string): string => joinLabel(src.label, path);
    const splits: SplitPlan[] = [];
    for (const name of ALL_SPLITS) {
      if (name !== 'train' && requested && !requested.includes(name)) continue;
      const jsonPath = `transforms_${name}.json`;
      if (!(await src.exists(jsonPath))) {
        if (requested?.includes(name)) warnings.push(`${where(jsonPath)}: not found, so there is no ${name} split`);
        continue;
      }
      const file = where(jsonPath);
      const json = parseJson(await src.readText(jsonPath), file);
      const list = frameList(json, file);
      const angle = readNumber(json, 'camera_angle_x', file, 'top level');
      if (angle === undefined) throw new DatasetError(file, "missing required key 'camera_angle_x' at the top level");
      checkAngle(angle, 'camera_angle_x', file, 'top level');
      const frames = parseFrames(list, file, () => ({ angleX: angle }), '.png');
      for (const f of frames) {
        if (!(await src.exists(f.imagePath))) {
          throw new DatasetError(where(f.imagePath), `image not found (listed as frame ${f.index} "${f.filePath}" in ${jsonPath})`);
        }
      }
      splits.push({ name, jsonPath, frames: pickEvenly(frames, maxImages) });
    }
    // Blender scenes sit inside [-1.5, 1.5]^3 by construction; the reference's near and far planes.
    return {
      format: 'blender',
      splits,
      aabb: [
        [-1.5, -1.5, -1.5],
        [1.5, 1.5, 1.5],
      ],
      nearFar: [2, 6],
      whiteBackground: true,
    };
  },
};
