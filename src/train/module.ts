// Trainer modules: the parts of a training step that only some runs have (the coarse-to-fine blur,
// pose refinement, a compressed field's codebook fine-tune) plug into the trainer's step at fixed
// points instead of each being one more optional branch in it. The trainer calls every module's
// hook in the order the modules were given, at each point:
//
//   rays -> beforeForward -> forward -> loss -> backward -> afterBackward -> regularizers -> Adam
//        -> afterStep -> (submit) -> schedule
//
// Rank growth, the alpha mask and upsampling stay in the trainer: they are the schedule itself,
// reading the pipelined loss and resetting Adam, which every run has.
import type { TensorField } from '../field/field.ts';
import type { Encoder } from '../gpu/kernel.ts';
import type { RayBatch } from '../render/ray-batch.ts';
import type { TrainerState } from './state.ts';

/** Where the step stands, as the hooks see it. */
export interface StepAt {
  /** The iteration being trained (0-based) of the run's `nIters`. */
  iter: number;
  nIters: number;
  /** Rays in the batch. */
  n: number;
  field: TensorField;
  batch: RayBatch;
}

export interface TrainerModule {
  /**
   * Before the forward pass, in the submission that draws the rays: a buffer of factors the
   * forward and backward passes read instead of the field's (at most one module may return one),
   * or null.
   */
  beforeForward?(enc: Encoder, at: StepAt): GPUBuffer | null;
  /**
   * After the backward pass, before the regularizers and Adam: returns the factor segments whose
   * gradient it turned into f32 (the rest stay fixed-point sums).
   */
  afterBackward?(enc: Encoder, at: StepAt): ReadonlySet<string> | undefined;
  /** After Adam's step, in the same submission. */
  afterStep?(enc: Encoder, at: StepAt): void;
  /** Its part of the trainer's state, which checkpoints keep (may read the GPU). */
  saveState?(): Promise<Partial<TrainerState>>;
  /** Continues from a saved state (the whole of it: the module takes its own part). */
  restore?(s: TrainerState): void;
  destroy?(): void;
}
