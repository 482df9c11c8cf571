// Coarse-to-fine training (notes §5, Joint-TensoRF): early on, the field is seen through a
// Gaussian blur that narrows to nothing, so it cannot learn high frequencies before the coarse
// structure (and, with pose refinement, the poses) have settled. The blur is applied to the factors
// (field/blur.ts: exactly a 3-D blur of a VM or CP field) in a copy that the forward and backward
// passes read; the adjoint carries the copy's gradient back to the sharp factors Adam updates.
import { type BlurTensor, FactorBlur } from '../field/blur.ts';
import type { TensorField } from '../field/field.ts';
import { fieldSegments } from '../field/layout.ts';
import type { GpuContext } from '../gpu/context.ts';
import type { Encoder } from '../gpu/kernel.ts';
import { Xorshift } from '../gpu/random.ts';
import type { StepAt, TrainerModule } from './module.ts';
import type { TrainerState } from './state.ts';

/** The reference's Blender schedule of blur widths (world units), knots evenly spread over training. */
export const BLUR_SCHEDULE_BLENDER = [0.3, 0.15, 0.07, 0, 0, 0, 0, 0, 0, 0, 0];
/** Its LLFF schedule (forward-facing captures, trained in NDC). */
export const BLUR_SCHEDULE_LLFF = [0.4, 0.2, 0.1, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/**
 * The matching blur of the supervision (notes §5): Gaussian widths as a fraction of an image's
 * (W + H) / 2, knots over training; the reference's Blender and LLFF schedules.
 */
export const IMAGE_BLUR_SCHEDULE_BLENDER = [0.025, 0.0125, 0.00625, 0, 0, 0, 0, 0, 0, 0, 0];
export const IMAGE_BLUR_SCHEDULE_LLFF = [0.07, 0.035, 0.015, 0, 0, 0, 0, 0, 0, 0, 0, 0];
/** Each step the supervision's blur is scaled by one of these, drawn at random (the reference's copies). */
const IMAGE_BLUR_SCALES = [0, 0.25, 0.5, 0.75, 1];
/** The edge-guided loss: during the first 20% of training (the reference's 8000 of 40000), on every other step, edge rays weigh 1.5 and the rest 0.5. */
export const EDGE_LOSS = { until: 0.2, edge: 1.5, rest: 0.5 } as const;

/** A uniform number in [0, 1) from an integer (a stateless hash, so a resumed run draws the same). */
function hash01(a: number): number {
  let x = a >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  x ^= x >>> 16;
  return (x >>> 0) / 2 ** 32;
}

/**
 * What iteration `iter` of `nIters` supervises with: the image blur (a fraction of (W + H) / 2,
 * 0 for none; its random scale drawn from a hash of the seed and the iteration) and the
 * edge-guided loss's weights [on an edge, off one] (null on the steps without it).
 */
export function supervisionAt(
  opt: { imageBlurSchedule: readonly number[]; edgeLoss: boolean; seed: number },
  iter: number,
  nIters: number,
): { blur: number; edgeWeights: [number, number] | null } {
  const width = blurWidthAt(opt.imageBlurSchedule, iter / nIters);
  const scale = IMAGE_BLUR_SCALES[Math.floor(hash01((opt.seed ^ 0x27d4eb2d) + Math.imul(iter, 0x9e3779b9)) * IMAGE_BLUR_SCALES.length)]!;
  const edges = opt.edgeLoss && iter < EDGE_LOSS.until * nIters && iter % 2 === 0;
  return { blur: width * scale, edgeWeights: edges ? [EDGE_LOSS.edge, EDGE_LOSS.rest] : null };
}

/** Below this width (world units) the blur is dropped, as the reference does. */
const NEGLIGIBLE = 0.001;

/** Each step the density kernel's width is scaled by one of these, drawn at random (the colour kernel's is not). */
const DENSITY_STRENGTHS = [0, 0.2, 0.4, 0.6, 0.8, 1];

/** The blur width at training progress t ∈ [0, 1]: the knots, evenly spaced over [0, 1], interpolated linearly. */
export function blurWidthAt(knots: readonly number[], t: number): number {
  if (knots.length === 0) return 0;
  if (knots.length === 1) return knots[0]!;
  const x = Math.min(Math.max(t, 0), 1) * (knots.length - 1);
  const i = Math.min(Math.floor(x), knots.length - 2);
  return knots[i]! + (x - i) * (knots[i + 1]! - knots[i]!);
}

/** A trainer module: the passes read the blurred copy (beforeForward), whose gradient goes back to the sharp factors (afterBackward). */
export class CoarseToFine implements TrainerModule {
  private readonly blur: FactorBlur;
  private blurred: GPUBuffer | null = null;
  /** The tensors this step blurred (none once the blur is over). */
  private tensors: BlurTensor[] = [];
  /** Draws the density kernel's strength; its state is a part of the trainer's. */
  readonly rng: Xorshift;

  constructor(
    private readonly ctx: GpuContext,
    private readonly knots: readonly number[],
    seed: number,
  ) {
    this.blur = new FactorBlur(ctx);
    // Its own generator, so runs without the blur draw exactly what they drew before.
    this.rng = new Xorshift((seed ^ 0x5bd1e995) >>> 0 || 1);
  }

  /**
   * Encodes the blurred copy of the factors for iteration `iter` of `nIters` and returns it with the
   * tensors it blurred, or null when the blur is negligible by now (train on the sharp factors).
   */
  prepare(enc: Encoder, field: TensorField, iter: number, nIters: number): { factors: GPUBuffer; tensors: BlurTensor[] } | null {
    const width = blurWidthAt(this.knots, iter / nIters);
    if (width < NEGLIGIBLE) {
      // The blur is over (it narrows monotonically in the reference's schedules): free its memory.
      this.destroy();
      return null;
    }
    const strength = DENSITY_STRENGTHS[Math.floor(this.rng.next() * DENSITY_STRENGTHS.length)]!;
    // World widths in voxels of the current grid (the reference's mean over axes of R / extent).
    const voxelsPerUnit = field.units.reduce((s, u) => s + 1 / u, 0) / 3;
    const tensors = fieldSegments(field.settings, field.box, field.grid)
      .filter((s) => s.group === 'factor')
      .map((shape) => ({
        shape,
        offset: field.arena.get(shape.name).offset,
        sigma: width * voxelsPerUnit * (shape.name.startsWith('density.') ? strength : 1),
      }));
    const arena = field.arena.params!;
    if (!this.blurred || this.blurred.size !== arena.size) {
      this.ctx.destroy(this.blurred);
      this.blurred = this.ctx.buffer('coarse-to-fine.factors', arena.size);
    }
    // The dense tensors (basis, shading weights) come along unchanged.
    enc.copy(arena, 0, this.blurred, 0, arena.size);
    this.blur.encode(enc, tensors, arena, this.blurred);
    return { factors: this.blurred, tensors };
  }

  /**
   * After the backward pass: turns the blurred factors' gradient (fixed-point sums in the arena's
   * grads) into the sharp factors' (f32, in place). Returns the segments whose gradient is now f32.
   */
  backward(enc: Encoder, field: TensorField, tensors: readonly BlurTensor[]): Set<string> {
    const grads = field.arena.grads!;
    // The blurred copy has served its forward and backward: its buffer takes the adjoint's result.
    this.blur.encode(enc, tensors, grads, this.blurred!, { adjoint: true, srcFixed: true });
    for (const t of tensors) enc.copy(this.blurred!, t.offset * 4, grads, t.offset * 4, t.shape.count * 4);
    return new Set(tensors.map((t) => t.shape.name));
  }

  beforeForward(enc: Encoder, at: StepAt): GPUBuffer | null {
    const prepared = this.prepare(enc, at.field, at.iter, at.nIters);
    this.tensors = prepared?.tensors ?? [];
    return prepared?.factors ?? null;
  }

  afterBackward(enc: Encoder, at: StepAt): ReadonlySet<string> {
    return this.tensors.length ? this.backward(enc, at.field, this.tensors) : new Set();
  }

  async saveState(): Promise<Partial<TrainerState>> {
    return { blurRngState: this.rng.state };
  }

  restore(s: TrainerState): void {
    if (s.blurRngState !== undefined) this.rng.state = s.blurRngState;
  }

  /** Frees the copy and the blur's buffers (made again if a later step blurs). */
  destroy(): void {
    this.blur.destroy();
    this.ctx.destroy(this.blurred);
    this.blurred = null;
  }
}
