// What a dataset format's reader hands the loader (load.ts): the frames of each split with their
// poses and intrinsics, images not read yet, and the scene's defaults. Each format (blender.ts,
// ngp.ts) is a DatasetFormat: it recognises its folder and plans its splits.
import type { Dataset, FileSource, SplitName } from './types.ts';

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
  distortion?: { k1: number; k2: number; p1: number; p2: number };
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
  aabb: Dataset['aabb'];
  nearFar: Dataset['nearFar'];
  whiteBackground: boolean;
}

/** What the caller asked for, and where a format's planner reports what it skipped. */
export interface PlanRequest {
  /** Splits to load ('train' always); all present when absent. */
  splits?: SplitName[];
  /** Cap on images per split, evenly spaced. */
  maxImages?: number;
  warnings: string[];
}

export interface DatasetFormat {
  /** Whether the folder is in this format (from the files it holds). */
  detect(src: FileSource): Promise<boolean>;
  plan(src: FileSource, request: PlanRequest): Promise<DatasetPlan>;
}
