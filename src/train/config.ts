// Training configuration from the reference's option names (a JSON file and/or CLI flags), and
// the mapping onto model settings and training options. Unknown keys are errors, not ignored.
import { layoutOf } from '../field/layout.ts';
import { MAX_SLOTS } from '../field/layouts/field-layout.ts';
import { MODEL_PRESETS, PRESET_OPTIONS, type PresetName } from '../field/presets.ts';
import type { FieldSettings } from '../field/settings.ts';
import { BLUR_SCHEDULE_BLENDER, IMAGE_BLUR_SCHEDULE_BLENDER } from './coarse-to-fine.ts';

/** Training options, named after the reference's options (camelCase of opt.py). */
export interface TrainOptions {
  nIters: number;
  batchSize: number;
  nVoxelInit: number;
  nVoxelFinal: number;
  upsampList: number[];
  updateAlphaMaskList: number[];
  lrInit: number;
  lrBasis: number;
  lrDecayTargetRatio: number;
  L1WeightInitial: number;
  L1WeightRest: number;
  /** TV weights on the density and appearance planes (VM) or lines (CP); they decay like the lr. */
  TVWeightDensity: number;
  TVWeightApp: number;
  seed: number;
  /** SlimmeRF's TRaIn: start at rank 1 and grow by the loss-change rule (notes 4.3). */
  rankIncremental: boolean;
  rankUpsilon: number;
  rankEta: number;
  /** Train on this many evenly spaced training views (sparse-view mode); 0 = all. */
  trainViews: number;
  /** Strivec: iterations of the coarse pass that finds where to place the local tensors. */
  coarseIters: number;
  /** Strivec: lattice spacing and tensor half-size per level, world units; empty = the reference's ratios to the final grid. */
  voxRange: number[];
  localRange: number[];
  /**
   * Strivec: where the coarse pass places tensors: around the samples that carry its rendered
   * light ('weights'), or every point it finds opaque ('density', the earlier rule).
   */
  strivecPlacement: 'weights' | 'density';
  /**
   * Strivec: line samples per cell of the final grid (1 to 8); 0 = the preset rule's 2 (the
   * reference's), or 1 when vox_range or local_range are given.
   */
  lineSamplesPerCell: number;
  /**
   * Coarse-to-fine (notes §5): the Gaussian blur width of the factors, world units, as knots
   * evenly spread over training (coarse-to-fine.ts BLUR_SCHEDULE_BLENDER); empty: no blur.
   */
  blurSchedule: number[];
  /**
   * Pose refinement (notes §5): train a correction of every training camera with the field,
   * with its own learning rate going exponentially from lrPoseInit to lrPoseFinal (BARF's).
   */
  refinePoses: boolean;
  lrPoseInit: number;
  lrPoseFinal: number;
  /**
   * The supervision's Gaussian blur (notes §5), widths as a fraction of an image's (W + H) / 2,
   * knots over training (coarse-to-fine.ts IMAGE_BLUR_SCHEDULE_BLENDER); empty: none.
   */
  imageBlurSchedule: number[];
  /** The edge-guided loss (coarse-to-fine.ts EDGE_LOSS). */
  edgeLoss: boolean;
  /**
   * The space the field covers (train/scene-frame.ts): true contracts the scene, false keeps the
   * box only, 'ndc' trains in the NDC of the mean camera (forward-facing captures); absent:
   * decided by the dataset's scene kind.
   */
  contract?: boolean | 'ndc';
}

/** Whether the options train through the coarse-to-fine blur (a schedule with some width above 0). */
export const blursFactors = (opt: Pick<TrainOptions, 'blurSchedule'>): boolean => opt.blurSchedule.some((w) => w > 0);

export const DEFAULT_TRAIN: TrainOptions = {
  nIters: 30000,
  batchSize: 4096,
  nVoxelInit: 2097156,
  nVoxelFinal: 27000000,
  upsampList: [2000, 3000, 4000, 5500, 7000],
  updateAlphaMaskList: [2000, 4000],
  lrInit: 0.02,
  lrBasis: 1e-3,
  lrDecayTargetRatio: 0.1,
  L1WeightInitial: 8e-5,
  L1WeightRest: 4e-5,
  TVWeightDensity: 0,
  TVWeightApp: 0,
  seed: 20211202,
  rankIncremental: false,
  rankUpsilon: 0.4,
  rankEta: 0,
  trainViews: 0,
  coarseIters: 1000,
  voxRange: [],
  localRange: [],
  strivecPlacement: 'weights',
  lineSamplesPerCell: 0,
  blurSchedule: [],
  refinePoses: false,
  lrPoseInit: 1e-3,
  lrPoseFinal: 1e-4,
  imageBlurSchedule: [],
  edgeLoss: false,
};

/** The reference option names this tool understands, with the types they must have. */
const KEYS = {
  n_iters: 'int',
  batch_size: 'int',
  N_voxel_init: 'int',
  N_voxel_final: 'int',
  upsamp_list: 'ints',
  update_AlphaMask_list: 'ints',
  n_lamb_sigma: 'ints',
  n_lamb_sh: 'ints',
  L1_weight_inital: 'num',
  L1_weight_rest: 'num',
  TV_weight_density: 'num',
  TV_weight_app: 'num',
  view_pe: 'int',
  fea_pe: 'int',
  featureC: 'int',
  step_ratio: 'num',
  shadingMode: 'shading',
  lr_init: 'num',
  lr_basis: 'num',
  lr_decay_target_ratio: 'num',
  seed: 'int',
  // Slimfield additions: SlimmeRF's TRaIn constants (hard-coded in its train.py) and sparse views.
  rank_upsilon: 'num',
  rank_eta: 'int',
  train_views: 'int',
  // Strivec (opt_hier.py names): coarse-pass iterations, lattice spacings and tensor half-sizes per level.
  pre_N_iters: 'int',
  vox_range: 'nums',
  local_range: 'nums',
  // Slimfield: Strivec's placement, "weights" (around the coarse pass's rendered surface) or "density".
  strivec_placement: 'placement',
  // Slimfield: Strivec's line samples per cell of the final grid (the preset rule's 2 when absent).
  line_samples_per_cell: 'int',
  // Slimfield: contract the scene (true), keep the box only (false), NDC ("ndc"); absent: from the dataset.
  contract: 'space',
  // Joint-TensoRF's coarse-to-fine blur widths (world units), knots over training; [] for none.
  blur_schedule: 'widths',
  // Joint-TensoRF's (BARF's) pose refinement and its learning-rate range.
  refine_poses: 'bool',
  lr_pose_init: 'num',
  lr_pose_final: 'num',
  // Its supervision: the images' blur (fractions of (W + H) / 2, knots over training) and the edge-guided loss.
  image_blur_schedule: 'widths',
  edge_loss: 'bool',
} as const;
export type ReferenceOptions = { [K in keyof typeof KEYS]?: unknown };

export class ConfigError extends Error {}

export function checkReferenceOptions(raw: unknown, where: string): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`${where}: expected a JSON object of options`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    const type = (KEYS as Record<string, string>)[k];
    if (!type) throw new ConfigError(`${where}: unknown option "${k}" (known: ${Object.keys(KEYS).join(', ')})`);
    const ok =
      type === 'int'
        ? Number.isInteger(v) && (v as number) >= 0
        : type === 'num'
          ? typeof v === 'number' && Number.isFinite(v) && v >= 0
          : type === 'ints'
            ? Array.isArray(v) && v.every((x) => Number.isInteger(x) && x >= 0)
            : type === 'nums'
              ? Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0)
              : type === 'widths'
                ? Array.isArray(v) && v.length <= 1000 && v.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0)
                : type === 'space'
                  ? typeof v === 'boolean' || v === 'ndc'
                  : type === 'placement'
                    ? v === 'weights' || v === 'density'
                    : type === 'bool'
                      ? typeof v === 'boolean'
                      : v === 'MLP_Fea' || v === 'SH';
    if (!ok) {
      const want =
        type === 'int'
          ? 'a non-negative integer'
          : type === 'num'
            ? 'a non-negative number'
            : type === 'ints'
              ? 'a list of non-negative integers'
              : type === 'nums'
                ? 'a list of positive numbers'
                : type === 'widths'
                  ? 'a list of at most 1000 non-negative numbers'
                  : type === 'space'
                    ? 'true, false or "ndc"'
                    : type === 'placement'
                      ? '"weights" or "density"'
                      : type === 'bool'
                        ? 'true or false'
                        : '"MLP_Fea" or "SH"';
      throw new ConfigError(`${where}: option "${k}" must be ${want}, got ${JSON.stringify(v)}`);
    }
    out[k] = v;
  }
  return out;
}

export interface ResolvedConfig {
  settings: FieldSettings;
  train: TrainOptions;
}

/** Preset defaults, then the reference options on top. */
export function resolveConfig(preset: PresetName, opts: Record<string, unknown>): ResolvedConfig {
  const base = MODEL_PRESETS[preset];
  const layout = layoutOf(base.kind);
  const o = { ...PRESET_OPTIONS[preset], ...opts } as Record<string, number & number[] & string>;
  const settings: FieldSettings = {
    ...base,
    densityComps: o.n_lamb_sigma ?? [...base.densityComps],
    appComps: o.n_lamb_sh ?? [...base.appComps],
    stepRatio: o.step_ratio ?? base.stepRatio,
    shading: {
      ...base.shading,
      mode: (o.shadingMode as 'MLP_Fea' | 'SH') ?? base.shading.mode,
      viewPe: o.view_pe ?? base.shading.viewPe,
      feaPe: o.fea_pe ?? base.shading.feaPe,
      featureC: o.featureC ?? base.shading.featureC,
    },
  };
  // VM takes three counts, CP one, Strivec one per level (1 to 3 levels), the same number for both families.
  const nComp = layout.slotsFor(settings.densityComps.length);
  for (const [k, v] of [
    ['n_lamb_sigma', settings.densityComps],
    ['n_lamb_sh', settings.appComps],
  ] as const) {
    if (v.length !== nComp || v.some((x) => x < 1)) throw new ConfigError(`option "${k}" must list ${nComp} positive component count(s) for ${preset}`);
  }
  if (nComp < 1 || nComp > MAX_SLOTS) throw new ConfigError(`option "n_lamb_sigma" must list 1 to ${MAX_SLOTS} levels for ${preset}`);
  if (!layout.totalVariation && ((o.TV_weight_density ?? 0) > 0 || (o.TV_weight_app ?? 0) > 0)) {
    throw new ConfigError(`TV weights apply to VM and CP factors; ${layout.label} trains without TV (as the reference)`);
  }
  const train: TrainOptions = {
    ...DEFAULT_TRAIN,
    nIters: o.n_iters ?? DEFAULT_TRAIN.nIters,
    batchSize: o.batch_size ?? DEFAULT_TRAIN.batchSize,
    nVoxelInit: o.N_voxel_init ?? DEFAULT_TRAIN.nVoxelInit,
    nVoxelFinal: o.N_voxel_final ?? DEFAULT_TRAIN.nVoxelFinal,
    upsampList: o.upsamp_list ?? DEFAULT_TRAIN.upsampList,
    updateAlphaMaskList: o.update_AlphaMask_list ?? DEFAULT_TRAIN.updateAlphaMaskList,
    L1WeightInitial: o.L1_weight_inital ?? DEFAULT_TRAIN.L1WeightInitial,
    L1WeightRest: o.L1_weight_rest ?? DEFAULT_TRAIN.L1WeightRest,
    lrInit: o.lr_init ?? DEFAULT_TRAIN.lrInit,
    lrBasis: o.lr_basis ?? DEFAULT_TRAIN.lrBasis,
    lrDecayTargetRatio: o.lr_decay_target_ratio ?? DEFAULT_TRAIN.lrDecayTargetRatio,
    TVWeightDensity: o.TV_weight_density ?? 0,
    TVWeightApp: o.TV_weight_app ?? 0,
    seed: o.seed ?? DEFAULT_TRAIN.seed,
    rankIncremental: 'slimmable' in base && base.slimmable === true,
    rankUpsilon: o.rank_upsilon ?? DEFAULT_TRAIN.rankUpsilon,
    rankEta: o.rank_eta ?? DEFAULT_TRAIN.rankEta,
    trainViews: o.train_views ?? 0,
    coarseIters: o.pre_N_iters ?? DEFAULT_TRAIN.coarseIters,
    voxRange: o.vox_range ?? [],
    localRange: o.local_range ?? [],
    strivecPlacement: (o.strivec_placement as 'weights' | 'density' | undefined) ?? DEFAULT_TRAIN.strivecPlacement,
    lineSamplesPerCell: o.line_samples_per_cell ?? DEFAULT_TRAIN.lineSamplesPerCell,
    // Pose refinement trains through the blur that makes it converge (notes §5) unless the
    // options set a schedule ([] for none); Strivec has no factor blur (below), so none by default.
    blurSchedule: o.blur_schedule ?? (o.refine_poses && !layout.localTensors ? BLUR_SCHEDULE_BLENDER : []),
    refinePoses: (o.refine_poses as unknown as boolean | undefined) ?? false,
    lrPoseInit: o.lr_pose_init ?? DEFAULT_TRAIN.lrPoseInit,
    lrPoseFinal: o.lr_pose_final ?? DEFAULT_TRAIN.lrPoseFinal,
    imageBlurSchedule: o.image_blur_schedule ?? [],
    edgeLoss: (o.edge_loss as unknown as boolean | undefined) ?? false,
    ...(typeof o.contract === 'boolean' || o.contract === 'ndc' ? { contract: o.contract } : {}),
  };
  // Refinement through the factor blur is the joint method of notes §5, which also blurs the
  // supervision and weighs edges, unless the options say otherwise.
  if (train.refinePoses && blursFactors(train)) {
    if (o.image_blur_schedule === undefined) train.imageBlurSchedule = IMAGE_BLUR_SCHEDULE_BLENDER;
    if (o.edge_loss === undefined) train.edgeLoss = true;
  }
  if (train.refinePoses && !layout.wgsl.grad) {
    // The poses learn through the field's spatial gradient (every layout has one today).
    throw new ConfigError(`option "refine_poses" (--refine-poses) needs the field's spatial gradient, which ${layout.label} does not have`);
  }
  if (layout.localTensors && blursFactors(train)) {
    // Strivec's local lines each have their own voxel size and overlap: a blur along them is not a
    // blur of the field. Not offered until that is worked out.
    throw new ConfigError(`option "blur_schedule" (--coarse-to-fine) blurs VM and CP fields; ${layout.label} trains without it`);
  }
  if (train.refinePoses && (train.lrPoseInit <= 0 || train.lrPoseFinal <= 0)) throw new ConfigError('lr_pose_init and lr_pose_final must be above 0');
  if (train.lineSamplesPerCell !== 0 && !(train.lineSamplesPerCell >= 1 && train.lineSamplesPerCell <= 8)) {
    throw new ConfigError('option "line_samples_per_cell" must be 1 to 8 (or 0 for the preset rule)');
  }
  if (layout.localTensors && train.coarseIters < 1) throw new ConfigError(`option "pre_N_iters" (the coarse pass) must be at least 1 for ${layout.label}`);
  if (train.batchSize < 1 || train.nIters < 1) throw new ConfigError('n_iters and batch_size must be at least 1');
  return { settings, train };
}
