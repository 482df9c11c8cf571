// Pose refinement (notes §5): a correction per training camera trained jointly with the field. The
// batch's backward pass takes the loss to every ray's origin and direction through the field's
// spatial gradient (render/ray-batch.ts enablePositionGrads); one kernel per step sums each
// camera's rays, takes an Adam step on its correction and writes the refined cameras that the
// next batch's rays are drawn from (pose-refinement.wgsl.ts has the parametrisation). Everything
// stays on the GPU: the corrections are read back only for checkpoints, exports and the studio.

import { axisAngleToRotation } from '../camera/rotation.ts';
import { mat3Apply } from '../camera/vec3.ts';
import type { PosedView } from '../data/types.ts';
import type { GpuContext } from '../gpu/context.ts';
import { cachedKernel, Encoder, grid1d } from '../gpu/kernel.ts';
import type { RayBatch } from '../render/ray-batch.ts';
import type { StepAt, TrainerModule } from './module.ts';
import { poseStepWgsl } from './pose-refinement.wgsl.ts';
import type { PoseState, TrainerState } from './state.ts';

/** BARF's Adam for poses (PyTorch's defaults), not the field's β2 = 0.99. */
const POSE_BETA1 = 0.9;
const POSE_BETA2 = 0.999;
const POSE_EPS = 1e-8;
/** Floats per camera in each state buffer: ω and τ, each padded to a vec4f. */
const FLOATS_PER_CAMERA = 8;

/** Camera `cam` with correction (ω, τ) applied: rotation R·exp([ω]×), centre c + R·τ. */
export function refineCamera(cam: PosedView, correction: ArrayLike<number>): PosedView {
  const c = cam.c2w;
  const R = [c[0]!, c[1]!, c[2]!, c[4]!, c[5]!, c[6]!, c[8]!, c[9]!, c[10]!];
  const W = axisAngleToRotation([correction[0]!, correction[1]!, correction[2]!]);
  const t = mat3Apply(R, [correction[3]!, correction[4]!, correction[5]!]);
  const c2w = new Float64Array(12);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) c2w[i * 4 + j] = R[i * 3]! * W[j]! + R[i * 3 + 1]! * W[3 + j]! + R[i * 3 + 2]! * W[6 + j]!;
    c2w[i * 4 + 3] = c[i * 4 + 3]! + t[i]!;
  }
  return { ...cam, c2w };
}

export class PoseRefiner {
  /** The training cameras as refined so far, packed as rays/gpu-split.ts packs them: what the rays are drawn from. */
  readonly refined: GPUBuffer;
  /** Per camera the last step's gradient of (ω, τ), batch-mean scaled (tests and diagnostics). */
  readonly grads: GPUBuffer;
  step = 0;
  private readonly pose: GPUBuffer;
  private readonly adamM: GPUBuffer;
  private readonly adamV: GPUBuffer;

  /** `cameras`: the training cameras as the dataset gives them, `nCams` of them packed by packCameras. */
  constructor(
    readonly ctx: GpuContext,
    private readonly cameras: GPUBuffer,
    private readonly nCams: number,
  ) {
    const bytes = nCams * FLOATS_PER_CAMERA * 4;
    this.refined = ctx.buffer('poses.refined', cameras.size);
    this.pose = ctx.buffer('poses.correction', bytes);
    this.adamM = ctx.buffer('poses.adamM', bytes);
    this.adamV = ctx.buffer('poses.adamV', bytes);
    this.grads = ctx.buffer('poses.grads', bytes);
  }

  /**
   * Records the step: given a batch, an Adam step (learning rate `lr`) on the corrections from the
   * ray gradients of its first `nRays` rays; always the refined cameras from the corrections.
   * Without a batch it only writes the cameras (before the first batch, after a restore).
   */
  record(enc: Encoder, batch: RayBatch | null, nRays: number, lr: number, gradScale: number): void {
    const update = batch?.rayGrads ? 1 : 0;
    if (update) this.step++;
    const t = Math.max(this.step, 1);
    enc.dispatch(
      cachedKernel(this.ctx, 'poseStep', () => poseStepWgsl),
      {
        params: {
          n_cams: this.nCams,
          n_rays: update ? nRays : 0,
          update,
          grad_scale: gradScale,
          step_size: lr / (1 - POSE_BETA1 ** t),
          inv_sqrt_bc2: 1 / Math.sqrt(1 - POSE_BETA2 ** t),
          beta1: POSE_BETA1,
          beta2: POSE_BETA2,
          eps: POSE_EPS,
        },
        buffers: {
          cams: this.cameras,
          refined: this.refined,
          // (Without an update the kernel reads no rays: the read-only camera table stands in.)
          rays: batch?.rays ?? this.cameras,
          ray_grads: batch?.rayGrads ?? this.cameras,
          pose: this.pose,
          adam_m: this.adamM,
          adam_v: this.adamV,
          pose_grads: this.grads,
        },
        workgroups: grid1d(this.ctx, this.nCams, 64),
      },
    );
  }

  /** Six numbers per camera (ω, τ) of a state buffer, read from the GPU. */
  private async unpadded(buf: GPUBuffer): Promise<number[]> {
    const f = await this.ctx.readF32(buf);
    return Array.from({ length: this.nCams * 6 }, (_, i) => f[Math.floor(i / 3) * 4 + (i % 3)]!);
  }

  /** The corrections alone (what the refined cameras need: one readback). */
  corrections(): Promise<number[]> {
    return this.unpadded(this.pose);
  }

  /** The corrections and Adam's state (reads the GPU). */
  async read(): Promise<PoseState> {
    return { step: this.step, correction: await this.corrections(), adamM: await this.unpadded(this.adamM), adamV: await this.unpadded(this.adamV) };
  }

  /** Continues from saved state; the refined cameras follow on the next record(). */
  restore(s: PoseState): void {
    const n = this.nCams * 6;
    if (s.correction.length !== n || s.adamM.length !== n || s.adamV.length !== n) {
      throw new Error(`the saved pose corrections cover ${s.correction.length / 6} cameras, the training split has ${this.nCams}`);
    }
    const pad = (v: number[]) => {
      const out = new Float32Array(this.nCams * FLOATS_PER_CAMERA);
      v.forEach((x, i) => {
        out[Math.floor(i / 3) * 4 + (i % 3)] = x;
      });
      return out;
    };
    this.step = s.step;
    this.ctx.write(this.pose, pad(s.correction));
    this.ctx.write(this.adamM, pad(s.adamM));
    this.ctx.write(this.adamV, pad(s.adamV));
  }

  destroy(): void {
    for (const b of [this.refined, this.pose, this.adamM, this.adamV, this.grads]) this.ctx.destroy(b);
  }
}

/**
 * Pose refinement as a trainer module: after the backward pass, each camera's share of the ray
 * gradients and an Adam step on its correction, with BARF's learning rate going exponentially
 * from lrPoseInit to lrPoseFinal over the run; the corrections and their moments in checkpoints.
 */
export class PoseRefinement implements TrainerModule {
  constructor(
    readonly refiner: PoseRefiner,
    private readonly lr: { lrPoseInit: number; lrPoseFinal: number },
  ) {}

  afterBackward(enc: Encoder, at: StepAt): undefined {
    const { lrPoseInit, lrPoseFinal } = this.lr;
    const lr = lrPoseInit * (lrPoseFinal / lrPoseInit) ** Math.min(1, at.iter / at.nIters);
    this.refiner.record(enc, at.batch, at.n, lr, 1 / at.n);
  }

  async saveState(): Promise<Partial<TrainerState>> {
    return { poses: await this.refiner.read() };
  }

  restore(s: TrainerState): void {
    if (!s.poses) throw new Error('the saved run and this one disagree on pose refinement');
    this.refiner.restore(s.poses);
    this.writeCameras();
  }

  /** The refined cameras from the corrections (before the first batch, after a restore). */
  writeCameras(): void {
    const enc = new Encoder(this.refiner.ctx);
    this.refiner.record(enc, null, 0, 0, 0);
    enc.submit();
  }

  destroy(): void {
    this.refiner.destroy();
  }
}
