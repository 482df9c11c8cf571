// What a radiance field is made of: its settings (which factor layout, how many components per
// slot, the shading and the reference's constants) and the tensors they imply. Types only, plus
// the arithmetic every stage shares.
import type { ShadingConfig } from '../shading/shading.ts';
import type { Box, NdcFrame, Vec3 } from './geometry.ts';
import type { StrivecLevel } from './layouts/strivec-lattice.ts';

/** The factor layouts (field/layouts): TensoRF's VM and CP, Strivec's local tensors. */
export type ModelKind = 'vm' | 'cp' | 'strivec';

export interface FieldSettings {
  kind: ModelKind;
  /** Density components per slot (VM: 3 slots; CP: one value, used for all three lines; Strivec: per level). */
  densityComps: number[];
  appComps: number[];
  shading: ShadingConfig;
  densityShift: number;
  distanceScale: number;
  stepRatio: number;
  alphaMaskThres: number;
  rayMarchWeightThres: number;
  /** Standard deviation of the factor init (0.1 VM, 0.2 CP). */
  initStd: number;
  /** Trained by SlimmeRF's rank incrementation (TRaIn), so every rank prefix is a good model. */
  slimmable?: boolean;
  /**
   * Unbounded scenes: the inner box of the scene contraction (geometry.ts contractPoint), in world
   * units; the field's box then covers the contracted space around it. Absent: the box only.
   */
  contraction?: Box;
  /**
   * Forward-facing scenes: the reference camera whose normalised device coordinates the field's box
   * (geometry.ts NDC_BOX) spans. Absent: no NDC. At most one of contraction and ndc is set.
   */
  ndc?: NdcFrame;
  /** Strivec: the local tensors' lattices, coarsest first (set once the coarse pass has placed them). */
  levels?: StrivecLevel[];
}

/** Per-slot component counts to evaluate (density, appearance); see componentsAtRank. */
export interface ComponentCounts {
  density: number[];
  app: number[];
}

export interface SegmentShape {
  name: string;
  count: number;
  /** Channels-last components per texel (factors); 1 for dense tensors. */
  components: number;
  /** 'index': Strivec's lattice tables, read by the kernels but never trained. */
  group: 'factor' | 'dense' | 'index';
  /** Factors' geometry, for resize and crop: a plane's [width, height] along grid axes `axes`, or a line's length along `axis`. */
  plane?: [number, number];
  axes?: [number, number];
  line?: number;
  axis?: number;
  /** Lines stored one after another (Strivec: 3 per local tensor); 1 when absent. */
  lines?: number;
}

/** The occupancy grid of a field (notes 1.5): bits in [z][y][x] order over `box`. */
export interface AlphaMask {
  dims: Vec3;
  box: Box;
  bits: Uint32Array;
}

/** Width of the appearance component vector: the components of all slots (CP and Strivec levels alike). */
export function appWidthOf(s: Pick<FieldSettings, 'appComps'>): number {
  return s.appComps.reduce((a, b) => a + b, 0);
}

/** A field on the host: settings, geometry and values by segment (the f64 reference, files, tests). */
export interface FieldModel {
  settings: FieldSettings;
  box: Box;
  grid: Vec3;
  values: Map<string, ArrayLike<number>>;
}
