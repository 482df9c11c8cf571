// The reduced configurations of `npm run bench` (lego, and the fox phone capture), in the
// reference's option names.
import type { PresetName } from '../src/field/presets.ts';
import { BLUR_SCHEDULE_BLENDER } from '../src/train/coarse-to-fine.ts';

export interface BenchConfig {
  /** The dataset, a folder of ../shared/data (default lego; `--data` replaces lego). */
  scene?: string;
  downscale: number;
  testViews: number;
  model: PresetName;
  options: Record<string, unknown>;
  /** Also evaluate these ranks (SlimmeRF slimming curve). */
  ranks?: number[];
  /** Time a render of the trained model at these ranks (800×800 on a GPU, 200×200 on a software adapter; `--render-size`). */
  renderRanks?: number[];
  /**
   * On a software adapter (SwiftShader) a full run of the big configurations takes hours, so they
   * train for this many minutes as speed probes (s/iteration, samples/s, memory) and skip the
   * evaluation; configurations without it run to the end everywhere.
   */
  softwareProbeMinutes?: number;
  /**
   * Pose refinement's harness: the training cameras get BARF's synthetic noise of this σ in se(3)
   * (eval/poses.ts perturbCameras; the test cameras stay true), and the row reports their error.
   */
  poseNoise?: number;
  /**
   * Structure from motion's poses instead of the true training poses (`--sfm-poses FILE`, written
   * by `npm run bench:sfm -- --write-poses FILE`): the photos it placed train, at their computed
   * poses (aligned to the true ones by the similarity of their centres) and focal length; the test
   * views keep their true poses.
   */
  sfmPoses?: boolean;
  /** With sfmPoses: the true intrinsics with structure from motion's poses (what the intrinsics cost). */
  trueIntrinsics?: boolean;
}

/** Shading and regularizers of both comparison runs (the reference's lego settings). */
const referenceLoss = {
  shadingMode: 'MLP_Fea',
  view_pe: 2,
  fea_pe: 2,
  L1_weight_inital: 8e-5,
  L1_weight_rest: 4e-5,
  TV_weight_density: 0,
  TV_weight_app: 0,
};

const quick: BenchConfig = {
  // Exactly the comparison run of the engine issue (PyTorch TensoRF: 506 s, 30.9 dB on 2 cores).
  downscale: 8,
  testViews: 25,
  model: 'vm192',
  options: {
    n_iters: 1000,
    batch_size: 1024,
    N_voxel_init: 64 ** 3,
    N_voxel_final: 128 ** 3,
    upsamp_list: [200, 400, 600],
    update_AlphaMask_list: [300, 600],
    ...referenceLoss,
  },
  softwareProbeMinutes: 3,
};

const medium: BenchConfig = {
  downscale: 4,
  testViews: 25,
  model: 'vm192',
  options: {
    n_iters: 2000,
    batch_size: 4096,
    N_voxel_init: 64 ** 3,
    N_voxel_final: 160 ** 3,
    upsamp_list: [300, 600, 900, 1200],
    update_AlphaMask_list: [400, 800],
    ...referenceLoss,
  },
  softwareProbeMinutes: 3,
};

// The reduced lego configuration, sized to finish on SwiftShader (~10 min per model): lego /16,
// 300 iterations of 256 rays, grid 24^3 -> 48^3, a narrow MLP (featureC 16), the reference's
// schedule shape. It serves the slimming comparison (SlimmeRF-16 against VM-192 truncated, both
// 16 rank groups; TRaIn υ = 0.4, η = 0) and the Strivec comparison (Strivec against VM-192 and
// CP-384; Strivec's coarse pass, 100 iterations, counts in its seconds).
const slimOptions = {
  n_iters: 300,
  batch_size: 256,
  N_voxel_init: 24 ** 3,
  N_voxel_final: 48 ** 3,
  upsamp_list: [75, 150],
  update_AlphaMask_list: [100, 200],
  featureC: 16,
};
const longOptions = { ...slimOptions, n_iters: 1000, batch_size: 512, upsamp_list: [250, 500], update_AlphaMask_list: [333, 666] };
const slimRanks = [1, 2, 4, 8, 12, 16];
/** Pose refinement as refine_poses gives it (the factor blur, the supervision's blur, the edge loss), its lr sized for 300 iterations. */
const refinement = { refine_poses: true, lr_pose_init: 0.01, lr_pose_final: 0.001 };

export const BENCH_CONFIGS: Record<string, BenchConfig> = {
  quick,
  medium,
  'slim-slimmerf16': { downscale: 16, testViews: 5, model: 'slimmerf16', options: slimOptions, ranks: slimRanks },
  'slim-vm192': { downscale: 16, testViews: 5, model: 'vm192', options: slimOptions, ranks: slimRanks, renderRanks: [1, 4, 8, 16] },
  // slim-vm192 with the coarse-to-fine blur of joint pose refinement (the reference's Blender
  // widths, gone by 30% of training): what the blur costs per iteration and in PSNR on true poses.
  'slim-vm192-c2f': { downscale: 16, testViews: 5, model: 'vm192', options: { ...slimOptions, blur_schedule: BLUR_SCHEDULE_BLENDER } },
  // slim-vm192 trained on poses with BARF's Blender noise (σ = 0.15 in se(3), ~14° and ~0.6 units
  // per camera), scored at the true test poses: what pose error costs before any refinement.
  // slim-vm192 trained on the poses structure from motion computed from the training images alone:
  // what our poses cost against the true ones (issue 32's "within 0.3 dB").
  'slim-vm192-sfm-poses': { downscale: 16, testViews: 5, model: 'vm192', options: slimOptions, sfmPoses: true },
  'slim-vm192-sfm-poses-true-intrinsics': { downscale: 16, testViews: 5, model: 'vm192', options: slimOptions, sfmPoses: true, trueIntrinsics: true },
  // The same, refined with the field as `train --data` on plain photos does by default.
  'slim-vm192-sfm-poses-refine': { downscale: 16, testViews: 5, model: 'vm192', options: { ...slimOptions, ...refinement }, sfmPoses: true },
  'slim-vm192-noisy-poses': { downscale: 16, testViews: 5, model: 'vm192', options: slimOptions, poseNoise: 0.15 },
  // The same noisy poses refined jointly with the field (notes §5): with the coarse-to-fine blur,
  // and without it (the paper's claim is that the blur is what makes refinement converge). Test
  // views are rendered from their true poses aligned to the refined cameras (eval/poses.ts). The
  // pose learning rate is 10x the reference's (1e-2 -> 1e-3): these runs are ~130x shorter.
  'slim-vm192-refine': { downscale: 16, testViews: 5, model: 'vm192', options: { ...slimOptions, ...refinement }, poseNoise: 0.15 },
  'slim-vm192-refine-noblur': {
    downscale: 16,
    testViews: 5,
    model: 'vm192',
    options: { ...slimOptions, ...refinement, blur_schedule: [] },
    poseNoise: 0.15,
  },
  'reduced-cp384': { downscale: 16, testViews: 5, model: 'cp384', options: slimOptions },
  // The reference's lego ranks per level ([32, 24, 16] density, 48 appearance) and lattices in
  // world units (0.4 / 0.2 / 0.1, lego's box being the reference's), placed where the coarse
  // field is opaque: Strivec as it was before its preset rule, kept to compare against.
  'reduced-strivec': {
    downscale: 16,
    testViews: 5,
    model: 'strivec',
    options: { ...slimOptions, pre_N_iters: 100, vox_range: [0.4, 0.2, 0.1], local_range: [0.3, 0.15, 0.075], strivec_placement: 'density' },
    ranks: [4, 8, 16, 32],
  },
  // Strivec at its own size (issue 35): the reference's lattices and lines in cells of the run's
  // final grid, tensors placed around the coarse pass's rendered surface; and with the earlier
  // placement (every opaque point) at the same scale.
  'slim-strivec': { downscale: 16, testViews: 5, model: 'strivec', options: { ...slimOptions, pre_N_iters: 100 } },
  // Strivec trained on the noisy poses of slim-vm192-noisy-poses, and refining them (without the
  // factor blur, which Strivec does not have).
  'slim-strivec-noisy-poses': { downscale: 16, testViews: 5, model: 'strivec', options: { ...slimOptions, pre_N_iters: 100 }, poseNoise: 0.15 },
  'slim-strivec-refine': {
    downscale: 16,
    testViews: 5,
    model: 'strivec',
    options: { ...slimOptions, pre_N_iters: 100, ...refinement, blur_schedule: [] },
    poseNoise: 0.15,
  },
  // slim-strivec with lines of one sample per final-grid cell (VM's resolution) instead of the
  // reference's two: half the lines' parameters.
  'slim-strivec-lines1': { downscale: 16, testViews: 5, model: 'strivec', options: { ...slimOptions, pre_N_iters: 100, line_samples_per_cell: 1 } },
  'slim-strivec-density': { downscale: 16, testViews: 5, model: 'strivec', options: { ...slimOptions, pre_N_iters: 100, strivec_placement: 'density' } },
  // The slim configuration on the procedural scene (its 128x128 renders, 8 test views between the
  // training views): Strivec, VM-192 and CP-384 side by side, as on lego above.
  'slim-vm192-demo': { scene: 'builtin:demo', downscale: 1, testViews: 8, model: 'vm192', options: slimOptions },
  'slim-cp384-demo': { scene: 'builtin:demo', downscale: 1, testViews: 8, model: 'cp384', options: slimOptions },
  'slim-strivec-demo': { scene: 'builtin:demo', downscale: 1, testViews: 8, model: 'strivec', options: { ...slimOptions, pre_N_iters: 100 } },
  // The longer CPU configuration the claim is judged on (1000 iterations of 512 rays, 24³ → 48³,
  // upsampling at 250 and 500, masks at 333 and 666, Strivec's coarse pass 300 iterations), on lego
  // and on the procedural scene.
  'long-vm192': { downscale: 16, testViews: 5, model: 'vm192', options: longOptions },
  'long-cp384': { downscale: 16, testViews: 5, model: 'cp384', options: longOptions },
  'long-strivec': { downscale: 16, testViews: 5, model: 'strivec', options: { ...longOptions, pre_N_iters: 300 } },
  'long-strivec-lines1': { downscale: 16, testViews: 5, model: 'strivec', options: { ...longOptions, pre_N_iters: 300, line_samples_per_cell: 1 } },
  'long-vm192-demo': { scene: 'builtin:demo', downscale: 1, testViews: 8, model: 'vm192', options: longOptions },
  'long-cp384-demo': { scene: 'builtin:demo', downscale: 1, testViews: 8, model: 'cp384', options: longOptions },
  'long-strivec-lines1-demo': {
    scene: 'builtin:demo',
    downscale: 1,
    testViews: 8,
    model: 'strivec',
    options: { ...longOptions, pre_N_iters: 300, line_samples_per_cell: 1 },
  },
  'long-strivec-demo': { scene: 'builtin:demo', downscale: 1, testViews: 8, model: 'strivec', options: { ...longOptions, pre_N_iters: 300 } },
  // The real capture: instant-ngp's fox (50 phone photos with lens distortion) at 135x240, the
  // same reduced schedule, scored on its every-8th held-out views (7). Its photos show the room
  // around the fox, so the run contracts the scene (the default for such a capture); fox-slim-box
  // keeps the inner box only, as before the contraction existed.
  'fox-slim': { scene: 'fox', downscale: 8, testViews: 7, model: 'vm192', options: slimOptions },
  // fox-slim on the poses and intrinsics structure from motion computed from the photos alone (--sfm-poses FILE).
  'fox-slim-sfm-poses': { scene: 'fox', downscale: 8, testViews: 7, model: 'vm192', options: slimOptions, sfmPoses: true },
  'fox-slim-box': { scene: 'fox', downscale: 8, testViews: 7, model: 'vm192', options: { ...slimOptions, contract: false } },
  // The same photos and poses written as a COLMAP model (one OPENCV camera, no sparse points), read
  // by the COLMAP reader: one placement rule for both formats, so the same model (data/placement.ts).
  'fox-slim-colmap': { scene: 'fox-colmap', downscale: 8, testViews: 7, model: 'vm192', options: slimOptions },
  // The procedural scene standing in ground and sky (64x64 renders, 40 views around it, 8 test
  // views between them): the contracted field against the box-only one.
  'environment-contracted': { scene: 'builtin:environment', downscale: 2, testViews: 8, model: 'vm192', options: slimOptions },
  'environment-box': { scene: 'builtin:environment', downscale: 2, testViews: 8, model: 'vm192', options: { ...slimOptions, contract: false } },
  // The same surroundings seen forward-facing (LLFF's layout: 40 eyes in a patch of one image
  // plane, one orientation, 8 test eyes between them): in NDC (the default for such a capture, as
  // TensoRF trains LLFF), contracted, and box-only.
  'forward-ndc': { scene: 'builtin:forward', downscale: 2, testViews: 8, model: 'vm192', options: { ...slimOptions, contract: 'ndc' } },
  'forward-contracted': { scene: 'builtin:forward', downscale: 2, testViews: 8, model: 'vm192', options: { ...slimOptions, contract: true } },
  'forward-box': { scene: 'builtin:forward', downscale: 2, testViews: 8, model: 'vm192', options: { ...slimOptions, contract: false } },
};
export const DEFAULT_BENCH = [
  'quick',
  'medium',
  'slim-slimmerf16',
  'slim-vm192',
  'slim-vm192-c2f',
  'slim-vm192-noisy-poses',
  'slim-vm192-refine',
  'slim-vm192-refine-noblur',
  'reduced-cp384',
  'reduced-strivec',
  'fox-slim',
  'fox-slim-box',
  'fox-slim-colmap',
  'environment-contracted',
  'environment-box',
  'forward-ndc',
  'forward-contracted',
  'forward-box',
];
