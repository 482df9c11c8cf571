// What a dataset format's reader hands the loader (load.ts): the frames of each split with their
// poses and intrinsics, images not read yet, and the scene's defaults. Each format (blender.ts,
// ngp.ts, colmap.ts) is a DatasetFormat: it recognises its folder and plans its splits.
import type { Dataset, Distortion, FileSource, Fisheye, SplitName } from './types.ts';
import { pickEvenly } from './views.ts';

/** One frame of a transforms file, validated but with its image not yet read. */
export interface FrameSpec {
  /** index in the json's frames array (for messages) */
  index: number;
  /** file_path exactly as written in the json (for messages) */
  filePath: string;
  /** normalised path of the image inside the source */
  imagePath: string;
  /** camera-to-world, row-major 3x4, OpenGL convention as stored in the file */
  c2wGL: Float64Array;
  /** A mask image for this frame (0 = not a part of the scene), the same size as the image. */
  maskPath?: string;
  /** The image was stored already downscaled by this factor (COLMAP's images_2, _4, _8); the intrinsics are the full size's. */
  preScaled?: number;
  intrinsics: IntrinsicsSpec;
}

/** Intrinsics as declared in the file; whatever is missing is derived from the image size. */
export interface IntrinsicsSpec {
  flX?: number;
  flY?: number;
  angleX?: number;
  angleY?: number;
  cx?: number;
  cy?: number;
  w?: number;
  h?: number;
  distortion?: Distortion;
  fisheye?: Fisheye;
}

/** A split's metadata after validation and existence checks, before decoding. */
export interface SplitPlan {
  name: SplitName;
  jsonPath: string;
  frames: FrameSpec[];
}

/** A format's reading of a folder: its splits' frames (images not read yet) and its scene defaults. */
export interface DatasetPlan {
  format: Dataset['format'];
  splits: SplitPlan[];
  /**
   * The scene's box where the files state one (Blender's, instant-ngp's scale and offset, LLFF's
   * recentred bounds); absent where their coordinates are arbitrary (COLMAP, nerfstudio): the loader
   * then places the capture from its cameras and points (placement.ts).
   */
  aabb?: Dataset['aabb'];
  nearFar: Dataset['nearFar'];
  nearestDepth?: Dataset['nearestDepth'];
  whiteBackground: boolean;
  /**
   * Where `aabb` is absent: every present frame's camera-to-world (OpenCV axes), whichever splits and
   * how many images were asked for, so the capture is placed the same way on every request.
   */
  capturePoses?: Float64Array[];
  /** Sparse points in the files' world (COLMAP's points3D), xyz per point, with their RGB8 colours. */
  points?: { xyz: Float64Array; rgb: Uint8Array };
}

/** What the caller asked for, and where a format's planner reports what it skipped. */
export interface PlanRequest {
  /** Splits to load ('train' always); all present when absent. */
  splits?: SplitName[];
  /** Cap on images per split, evenly spaced. */
  maxImages?: number;
  /** The downscale the images will be read at (a format may have images stored at that size). */
  downscale?: number;
  /** For captures without a test split: every Nth view is held out (8 by default; 0 trains on all). */
  holdOut?: number;
  warnings: string[];
}

export interface DatasetFormat {
  /** What the reader reads, for messages ("the COLMAP model"). */
  name: string;
  /** Whether the folder is in this format (from the files it holds). */
  detect(src: FileSource): Promise<boolean>;
  plan(src: FileSource, request: PlanRequest): Promise<DatasetPlan>;
}

/** For captures without a test split, every HOLD_OUT-th view (in file order, from the first) is held out: the LLFF protocol. */
export const HOLD_OUT = 8;

/** Train and test splits of a capture that has none: every HOLD_OUT-th frame held out, unless asked to train on all. */
export function heldOutSplits(frames: FrameSpec[], jsonPath: string, request: PlanRequest): SplitPlan[] {
  const every = request.holdOut ?? HOLD_OUT;
  const wantTest = !request.splits || request.splits.includes('test');
  if (every < 2 || frames.length < 2 || !wantTest) return [{ name: 'train', jsonPath, frames: pickEvenly(frames, request.maxImages) }];
  const test = frames.filter((_, i) => i % every === 0);
  const train = frames.filter((_, i) => i % every !== 0);
  return [
    { name: 'train', jsonPath, frames: pickEvenly(train, request.maxImages) },
    { name: 'test', jsonPath, frames: pickEvenly(test, request.maxImages) },
  ];
}
