// Where a trainer stands between two iterations (trainer.ts), with its modules' parts: what a
// checkpoint keeps besides the tensors (train/checkpoint.ts, formats/checkpoint-file.ts).
import type { RankIncrementerState } from './schedule.ts';

/** The corrections and their Adam state, as checkpoints keep them. */
export interface PoseState {
  /** Adam steps taken. */
  step: number;
  /** Per training camera: ω (3), τ (3). */
  correction: number[];
  adamM: number[];
  adamV: number[];
}

/**
 * Where a trainer stands between two iterations, besides the field's tensors, Adam's moments and
 * the valid-ray bits: with those, a checkpoint continues the run exactly.
 */
export interface TrainerState {
  iter: number;
  /** The iteration the learning rate last restarted its decay. */
  lastReset: number;
  l1Weight: number;
  adamStep: number;
  /** The background-colour generator's state. */
  rngState: number;
  /** Trained rank groups, and TRaIn's memory (SlimmeRF). */
  rank: number;
  ranks: RankIncrementerState | null;
  samplesProcessed: number;
  raysFiltered: boolean;
  /** The coarse-to-fine blur's generator (its density strengths); absent when the run has no blur. */
  blurRngState?: number;
  /** Pose refinement's corrections and their Adam state; absent when the run does not refine poses. */
  poses?: PoseState;
  /** The loss of iteration `iter`, which TRaIn observes at the next step (SlimmeRF, after the first iteration). */
  lastLoss?: number;
}
