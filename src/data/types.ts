// Shared data-model types for datasets, cameras and file access.
// Environment-neutral: imported by both the Node CLI and the browser bundle.
import type { PosedView } from '../camera/types.ts';

// The camera types live with the camera geometry (camera/types.ts); the front ends see them here.
export type { Distortion, Fisheye, Intrinsics, PosedView } from '../camera/types.ts';

export interface Split {
  names: string[];
  cameras: PosedView[];
  /** RGBA8, row-major, its camera's width*height*4, NOT composited (alpha kept) */
  images: Uint8Array[];
  /**
   * The first image's size. Images may differ in size (a COLMAP model with several cameras, a
   * phone's portrait and landscape shots): each camera's width and height are its image's.
   */
  width: number;
  height: number;
}

export type SplitName = 'train' | 'val' | 'test';

/** An axis-aligned box as [min corner, max corner] (a dataset's scene box). */
export type SceneBox = [[number, number, number], [number, number, number]];

export interface Dataset {
  format: 'blender' | 'instant-ngp' | 'colmap' | 'llff';
  /** e.g. folder name */
  name: string;
  /** 'train' always present */
  splits: Partial<Record<SplitName, Split>>;
  aabb: SceneBox;
  nearFar: [number, number];
  /** blender: true (composite on white later); instant-ngp: false */
  whiteBackground: boolean;
  /**
   * The images' alpha is a mask (a masks folder, nerfstudio's mask_path, or a capture's own
   * alpha channel): pixels with alpha below one half are neither trained nor scored.
   */
  masked?: boolean;
  /**
   * The scene has surroundings the cameras see beyond its box (a capture with a real background):
   * training contracts the scene so they are modelled (train/scene-frame.ts). False or absent:
   * everything outside the box is the background colour (Blender's transparent renders, masked captures).
   */
  unbounded?: boolean;
  /**
   * The nearest depth any image sees, world units, where the capture says (LLFF's near bounds):
   * a forward-facing capture's NDC near plane is three quarters of it, as TensoRF's (train/scene-frame.ts).
   */
  nearestDepth?: number;
  /** e.g. skipped frames with missing images */
  warnings: string[];
  /** Sparse points of the capture (COLMAP's), xyz per point in the dataset's world, with RGB8 colours. */
  points?: { xyz: Float32Array; rgb: Uint8Array };
}

/**
 * Abstract file access so the same loader works on Node folders, browser folder
 * drops and zips. Paths are relative to the dataset root, with '/' separators.
 */
export interface FileSource {
  /** shown in messages, e.g. the folder path */
  label: string;
  /** throws if missing */
  readText(path: string): Promise<string>;
  /** throws if missing */
  readBytes(path: string): Promise<Uint8Array>;
  exists(path: string): Promise<boolean>;
  /** The names of the files directly in a folder ('' for the top), sorted; none when it is absent. */
  list(folder: string): Promise<string[]>;
}

export interface DecodedImage {
  width: number;
  height: number;
  /** RGBA8 */
  data: Uint8Array;
}

export type ImageDecoder = (bytes: Uint8Array, path: string) => Promise<DecodedImage>;

/** A problem with user-supplied data; the message always starts with the offending file. */
export class DatasetError extends Error {
  readonly file: string;
  readonly problem: string;
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'DatasetError';
    this.file = file;
    this.problem = problem;
  }
}
