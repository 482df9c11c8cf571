// The models a user picks by name: a factor layout with the component counts, shading and
// constants of its paper's lego configuration, and the reference options where that paper's
// training departs from TensoRF's lego defaults.
import type { ShadingConfig } from '../shading/shading.ts';
import type { FieldSettings } from './settings.ts';

const mlpFea: ShadingConfig = { mode: 'MLP_Fea', appDim: 27, viewPe: 2, feaPe: 2, featureC: 128 };
const common = { densityShift: -10, distanceScale: 25, stepRatio: 0.5, alphaMaskThres: 1e-4, rayMarchWeightThres: 1e-4 };

export const MODEL_PRESETS = {
  vm192: { kind: 'vm', densityComps: [16, 16, 16], appComps: [48, 48, 48], shading: mlpFea, initStd: 0.1, ...common },
  vm48: { kind: 'vm', densityComps: [4, 4, 4], appComps: [12, 12, 12], shading: mlpFea, initStd: 0.1, ...common },
  cp384: { kind: 'cp', densityComps: [96], appComps: [288], shading: mlpFea, initStd: 0.2, ...common },
  // SlimmeRF-16 has VM-192's capacity (16 rank groups of 1 + 3 components per slot).
  slimmerf16: { kind: 'vm', densityComps: [16, 16, 16], appComps: [48, 48, 48], shading: mlpFea, initStd: 0.1, slimmable: true, ...common },
  slimmerf8: { kind: 'vm', densityComps: [8, 8, 8], appComps: [24, 24, 24], shading: mlpFea, initStd: 0.1, slimmable: true, ...common },
  // Strivec's Synthetic-NeRF defaults (lego's per-level ranks, notes 3.3); the lattices are placed
  // by the coarse pass (train/strivec-placement.ts) before the field exists.
  strivec: { kind: 'strivec', densityComps: [32, 24, 16], appComps: [48, 48, 48], shading: mlpFea, initStd: 0.2, ...common },
} satisfies Record<string, FieldSettings>;
export type PresetName = keyof typeof MODEL_PRESETS;

/**
 * Reference options (opt.py names) a preset's paper sets differently from TensoRF's lego defaults;
 * the user's options go on top. CP trains to a finer grid (500³) with a weaker L1, as its
 * reference config does; Strivec's L1 is 1e-5 too.
 */
export const PRESET_OPTIONS: Partial<Record<PresetName, Record<string, unknown>>> = {
  cp384: { N_voxel_final: 500 ** 3, L1_weight_inital: 1e-5, L1_weight_rest: 1e-5 },
  strivec: { L1_weight_inital: 1e-5, L1_weight_rest: 1e-5 },
};
