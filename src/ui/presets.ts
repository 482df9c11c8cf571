// What the studio offers to train: its models (each an engine preset per studio preset) and its
// sizes, in the reference's option names, and the run a request asks for.
import type { PresetName } from '../run/session.ts';

/** Models the studio trains, with the engine preset each studio preset uses. */
export const STUDIO_MODELS = {
  vm: { label: 'TensoRF-VM', presets: { preview: 'vm48', balanced: 'vm192', quality: 'vm192' } },
  // The reference trains CP to a finer grid (500³): its factors are lines only.
  cp: { label: 'TensoRF-CP', presets: { preview: 'cp384', balanced: 'cp384', quality: 'cp384' }, options: { quality: { N_voxel_final: 500 ** 3 } } },
  slimmerf: { label: 'SlimmeRF (rank slider)', presets: { preview: 'slimmerf8', balanced: 'slimmerf16', quality: 'slimmerf16' } },
  strivec: {
    label: 'Strivec (local tensors)',
    presets: { preview: 'strivec', balanced: 'strivec', quality: 'strivec' },
    // A coarse pass places the tensors first; the preview keeps few components per level.
    options: {
      preview: { pre_N_iters: 120, n_lamb_sigma: [8, 6, 4], n_lamb_sh: [12, 12, 12] },
      balanced: { pre_N_iters: 500 },
      quality: { pre_N_iters: 1000 },
    },
  },
} as const satisfies Record<
  string,
  { label: string; presets: Record<StudioPreset, PresetName>; options?: Partial<Record<StudioPreset, Record<string, unknown>>> }
>;
export type StudioModel = keyof typeof STUDIO_MODELS;

/**
 * Training sizes of the studio, in the reference's option names. Quality is the reference's own
 * schedule (30,000 iterations of 4,096 rays, 128³ → 300³). Each is fitted to the adapter's
 * limits before it runs (fitToAdapter): a smaller final grid or batch where a GPU binds less.
 */
export const STUDIO_PRESETS = {
  preview: {
    label: 'Fast preview',
    options: {
      n_iters: 600,
      batch_size: 512,
      N_voxel_init: 24 ** 3,
      N_voxel_final: 64 ** 3,
      upsamp_list: [100, 200, 300],
      update_AlphaMask_list: [150, 350],
      featureC: 32,
    },
  },
  balanced: {
    label: 'Balanced',
    options: {
      n_iters: 3000,
      batch_size: 2048,
      N_voxel_init: 64 ** 3,
      N_voxel_final: 128 ** 3,
      upsamp_list: [500, 1000, 1500],
      update_AlphaMask_list: [750, 1500],
    },
  },
  quality: {
    label: 'Quality',
    options: {
      n_iters: 30000,
      batch_size: 4096,
      N_voxel_init: 128 ** 3,
      N_voxel_final: 300 ** 3,
      upsamp_list: [2000, 3000, 4000, 5500, 7000],
      update_AlphaMask_list: [2000, 4000],
    },
  },
} as const;
export type StudioPreset = 'preview' | 'balanced' | 'quality';

export interface TrainRequest {
  model: StudioModel;
  preset: StudioPreset;
  /** Sparse-view mode: train on this many evenly spaced views; 0 = all. */
  trainViews: number;
  /** SlimmeRF's TRaIn threshold υ (notes 4.3): lower grows the rank sooner. */
  upsilon: number;
  /**
   * The scene's surroundings: 'auto' models them for unbounded captures (NDC when forward-facing,
   * contracted otherwise), 'on' contracts, 'ndc' uses NDC, 'off' keeps the box only.
   */
  contract: 'auto' | 'on' | 'off' | 'ndc';
  /** Pose refinement: train a correction of every camera with the field (VM and CP), through the coarse-to-fine blur. */
  refinePoses: boolean;
}

/** The engine preset and reference options a request asks for (fitted to the adapter by the run). */
export function requestedRun(req: TrainRequest): { preset: PresetName; options: Record<string, unknown> } {
  const model: { presets: Record<StudioPreset, PresetName>; options?: Partial<Record<StudioPreset, Record<string, unknown>>> } = STUDIO_MODELS[req.model];
  const extra = model.options?.[req.preset] ?? {};
  return {
    preset: model.presets[req.preset],
    options: {
      ...STUDIO_PRESETS[req.preset].options,
      ...extra,
      train_views: req.trainViews,
      rank_upsilon: req.upsilon,
      ...(req.contract === 'auto' ? {} : { contract: req.contract === 'ndc' ? 'ndc' : req.contract === 'on' }),
      ...(req.refinePoses && req.model !== 'strivec' ? { refine_poses: true } : {}),
    },
  };
}
