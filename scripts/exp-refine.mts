import { openDataset } from '../src/cli/node-io.ts';
import { runTraining } from '../src/cli/run-training.ts';
import { perturbCameras } from '../src/eval/poses.ts';
import { resolveConfig } from '../src/train/config.ts';

async function main() {
  const e = process.env;
  const iters = Number(e.ITERS ?? 300);
  const k = iters / 300;
  const ds = await openDataset('../shared/data/lego', 16, ['train', 'test']);
  const train = ds.splits.train!;
  const noisy = { ...ds, splits: { ...ds.splits, train: { ...train, cameras: perturbCameras(train.cameras, Number(e.NOISE ?? 0.15), 1) } } };
  const opts: Record<string, unknown> = {
    n_iters: iters,
    batch_size: Number(e.BATCH ?? 256),
    N_voxel_init: 24 ** 3,
    N_voxel_final: 48 ** 3,
    upsamp_list: [Math.round(75 * k), Math.round(150 * k)],
    update_AlphaMask_list: [Math.round(100 * k), Math.round(200 * k)],
    featureC: 16,
    train_views: Number(e.VIEWS ?? 0),
    refine_poses: e.REFINE === '1',
    lr_pose_init: Number(e.LR ?? 1e-3),
    lr_pose_final: Number(e.LR ?? 1e-3) / 10,
    ...(e.BLUR === '0' ? { blur_schedule: [] } : {}),
  };
  const r = await runTraining({
    dataset: noisy,
    data: 'lego',
    preset: 'vm192',
    cfg: resolveConfig('vm192', opts),
    downscale: 16,
    testViews: 5,
    truePoses: train.cameras,
  });
  console.log(
    JSON.stringify({
      env: { ITERS: e.ITERS, VIEWS: e.VIEWS, LR: e.LR, REFINE: e.REFINE, BLUR: e.BLUR, NOISE: e.NOISE, BATCH: e.BATCH },
      psnr: r.psnr,
      seconds: r.seconds,
      poses: r.poses,
    }),
  );
}
void main();
