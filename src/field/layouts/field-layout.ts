// The one interface every factor layout implements (vm.ts, cp.ts, strivec.ts), so the rest of
// the engine never asks which model it holds: the field's tensors, its WGSL, its uniform, what
// happens to it on a box shrink, its training departures and its f64 reference all come from here.
import type { LayoutWgsl } from '../field.wgsl.ts';
import type { Box, Vec3 } from '../geometry.ts';
import type { FieldModel, FieldSettings, ModelKind, SegmentShape } from '../settings.ts';
import type { Tap } from '../taps.ref.ts';

/** Slots of the WGSL Field uniform (layouts use at most this many: VM's three, Strivec's levels). */
export const MAX_SLOTS = 3;

/** A layout's part of the WGSL `Field` uniform: arena offsets and component counts per slot. */
export interface LayoutUniform {
  d_plane: number[];
  d_line: number[];
  a_plane: number[];
  a_line: number[];
  d_k: number[];
  a_k: number[];
  a_col: number[];
  levels?: { dims: number[]; origin: number[]; spacing: number[] }[];
  n_levels?: number[];
}

/** A tensor the TV regularizer smooths, as a [height][width][K] plane (a line: width 1). */
export interface TvTensor {
  segment: string;
  width: number;
  height: number;
  /** The reference's extra factor on the TV weight for this kind of tensor. */
  scale: number;
}

export interface FieldLayout {
  readonly kind: ModelKind;
  /** How messages and the front ends name the model. */
  readonly label: string;
  readonly wgsl: LayoutWgsl;
  /** Slots the component lists must have when `given` are listed (VM 3, CP 1, Strivec one per level). */
  slotsFor(given: number): number;
  /** Why these settings cannot make a field of this layout; null when they can. */
  problem(s: FieldSettings): string | null;
  /** The factor tensors (and index tables) in arena order, with their geometry. */
  factorSegments(s: FieldSettings, box: Box, grid: Vec3): SegmentShape[];
  /** Components per texel of factor segment `segment`. */
  componentsOf(s: FieldSettings, segment: string): number;
  /** The layout's part of the WGSL Field uniform; `offsetOf` gives a segment's arena offset (0 if absent). */
  uniform(s: FieldSettings, box: Box, grid: Vec3, offsetOf: (segment: string) => number): LayoutUniform;
  /**
   * On the alpha mask's box shrink: 'crop' the factors to the kept lattice range (factors span the
   * grid), or 'resample' them to the new cell size (local tensors keep their place and extent).
   */
  readonly shrink: 'crop' | 'resample';
  /** Whether the reference regularizes this layout with TV (notes 2.4). */
  readonly totalVariation: boolean;
  /** The TV-regularized tensors at a grid. */
  tvTensors(s: FieldSettings, grid: Vec3): TvTensor[];
  /** Training departures of the layout's reference (notes 3.6): ray jitter, L1 weight factor, masked Adam. */
  readonly training: { jitter: boolean; l1Scale: number; maskedAdam: boolean };
  /** The tensors sit on lattices (settings.levels), placed around the surface by a coarse pass before the field exists (train/strivec-placement.ts). */
  readonly localTensors: boolean;
  /** f64 reference: components r < count of family and slot m at grid coordinates u; null where the slot does not cover u. */
  refComponents(model: FieldModel, family: 'density' | 'app', m: number, u: Vec3, count: number): number[] | null;
  /**
   * f64 reference of the texel snippet (LayoutWgsl.texels): the factor texels of family and slot m
   * that grid coordinates u interpolate, with their weights. Absent where the snippet is.
   */
  refTexelTaps?(model: FieldModel, family: 'density' | 'app', m: number, u: Vec3): { segment: string; taps: Tap[] }[];
}
