// Cameras as the whole engine sees them. `Intrinsics` is what a lens and sensor give, shared by
// every photo taken with them (COLMAP's "camera"); `PosedView` is one photo's view: its intrinsics
// at the size it is used and where it was taken from (COLMAP's "image").

export interface Intrinsics {
  /** pixels (after downscale) */
  width: number;
  height: number;
  fx: number;
  fy: number;
  cx: number;
  cy: number;
  /** OpenCV lens distortion if the dataset gives it: radial-tangential, with FULL_OPENCV's rational k3..k6 when given */
  distortion?: Distortion;
  /** OpenCV's fisheye (equidistant) lens model instead (COLMAP's and nerfstudio's OPENCV_FISHEYE) */
  fisheye?: Fisheye;
}

export interface PosedView extends Intrinsics {
  /**
   * camera-to-world, row-major 3x4, OpenCV convention (x right, y down, z forward).
   * Blender/OpenGL c2w matrices are right-multiplied by diag(1,-1,-1) to get this.
   */
  c2w: Float64Array; // length 12
}

export interface Distortion {
  k1: number;
  k2: number;
  p1: number;
  p2: number;
  k3?: number;
  k4?: number;
  k5?: number;
  k6?: number;
}

export interface Fisheye {
  k1: number;
  k2: number;
  k3: number;
  k4: number;
}
