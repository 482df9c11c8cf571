// The reduced lego configurations of `npm run bench`, in the reference's option names.

/** The configurations, in the reference's option names. */
export const BENCH_CONFIGS = {
  // Exactly the comparison run of the engine issue (PyTorch TensoRF: 506 s, 30.9 dB on 2 cores).
  quick: {
    downscale: 8,
    testViews: 25,
    model: 'vm192',
    options: {
      n_iters: 1000, batch_size: 1024, N_voxel_init: 64 ** 3, N_voxel_final: 128 ** 3,
      upsamp_list: [200, 400, 600], update_AlphaMask_list: [300, 600],
      shadingMode: 'MLP_Fea', view_pe: 2, fea_pe: 2, L1_weight_inital: 8e-5, L1_weight_rest: 4e-5,
      TV_weight_density: 0, TV_weight_app: 0,
    },
  },
  medium: {
    downscale: 4,
    testViews: 25,
    model: 'vm192',
    options: {
      n_iters: 2000, batch_size: 4096, N_voxel_init: 64 ** 3, N_voxel_final: 160 ** 3,
      upsamp_list: [300, 600, 900, 1200], update_AlphaMask_list: [400, 800],
      shadingMode: 'MLP_Fea', view_pe: 2, fea_pe: 2, L1_weight_inital: 8e-5, L1_weight_rest: 4e-5,
      TV_weight_density: 0, TV_weight_app: 0,
    },
  },
} as const;

