// A short fine-tune after quantisation (VQ-TensoRF, Li et al. 2023): the quantised field trains on
// its training images for a few iterations with its texels' fates and codeword assignments fixed.
// Adam moves every texel as usual; after each step, each codeword becomes the importance-weighted
// mean of the texels it codes and they take it back (the scatter-mean, finetune.wgsl.ts), pruned
// texels are held at zero, and kept texels, lines, basis and shading weights train freely. At the
// end the field is quantised again with the tuned codewords (quantise.ts refit): the file holds
// exactly what was tuned. Written as a trainer module (train/module.ts), run on a copy of the
// field so the user's model is untouched.
import type { Dataset } from '../data/types.ts';
import { TensorField } from '../field/field.ts';
import type { GpuContext } from '../gpu/context.ts';
import { cachedKernel, Encoder, grid1d } from '../gpu/kernel.ts';
import { DEFAULT_TRAIN, type TrainOptions } from '../train/config.ts';
import type { TrainerModule } from '../train/module.ts';
import { Trainer } from '../train/trainer.ts';
import { codebookStepShader } from './finetune.wgsl.ts';
import type { TexelImportance } from './importance.ts';
import { type CompactModel, refit, texelsByFate } from './quantise.ts';

/** The fine-tune's default length: this share of the iterations the model was trained for. */
export const FINETUNE_SHARE = 0.25;
/** Its batch of rays when the model does not record its run's (the reference's). */
export const FINETUNE_BATCH = 4096;

/** The default fine-tune iterations for a model trained `runIters` iterations (0 when unknown). */
export const defaultFinetuneIters = (runIters: number | undefined): number =>
  runIters && runIters > 0 ? Math.max(1, Math.round(FINETUNE_SHARE * runIters)) : 0;

/**
 * One rank block of one plane as the codebook step sees it: codeword r codes the texels
 * members[starts[r] … starts[r + 1]) (in texel order, with their importance in `weights`); the
 * row after the last codeword lists the plane's pruned texels.
 */
export interface CodebookGroup {
  segment: string;
  /** Components per texel, and this block's [lo, lo + w). */
  k: number;
  lo: number;
  w: number;
  starts: Uint32Array;
  members: Uint32Array;
  weights: Float32Array;
  /** The codewords the quantisation chose (rows × w). */
  codewords: Float32Array;
}

/** Every plane's rank blocks as codebook groups (blocks with no component of a plane are left out). */
export function codebookGroups(c: CompactModel, importance: TexelImportance): CodebookGroup[] {
  const groups: CodebookGroup[] = [];
  for (const p of c.planes) {
    const weight = importance.get(p.segment)!;
    const { coded, pruned } = texelsByFate(p.fates);
    for (const b of p.blocks) {
      const w = b.hi - b.lo;
      if (w === 0) continue;
      const rows = b.codewords.length / w;
      // A counting sort of the coded texels by codeword, stable (texel order within a codeword).
      const starts = new Uint32Array(rows + 2);
      for (const cw of b.indices) starts[cw + 1]!++;
      for (let r = 0; r < rows; r++) starts[r + 1]! += starts[r]!;
      starts[rows + 1] = starts[rows]! + pruned.length;
      const members = new Uint32Array(coded.length + pruned.length);
      const fill = starts.slice(0, rows);
      coded.forEach((t, i) => {
        members[fill[b.indices[i]!]!++] = t;
      });
      members.set(pruned, coded.length);
      const weights = Float32Array.from(members, (t) => weight[t]!);
      groups.push({ segment: p.segment, k: p.components, lo: b.lo, w, starts, members, weights, codewords: b.codewords });
    }
  }
  return groups;
}

/** The codebook step as a trainer module: after every Adam step (and once by `project` before the first). */
export class CodebookFinetune implements TrainerModule {
  private readonly buffers: { starts: GPUBuffer; members: GPUBuffer; weights: GPUBuffer; codewords: GPUBuffer }[];

  constructor(
    private readonly ctx: GpuContext,
    private readonly field: TensorField,
    readonly groups: readonly CodebookGroup[],
  ) {
    // (Storage bindings may not be empty: a group without members still gets a word.)
    const upload = (label: string, a: Uint32Array | Float32Array) => ctx.upload(label, a.length ? a : new Uint32Array(1));
    this.buffers = groups.map((g) => ({
      starts: upload('finetune.starts', g.starts),
      members: upload('finetune.members', g.members),
      weights: upload('finetune.weights', g.weights),
      codewords: upload('finetune.codewords', g.codewords),
    }));
  }

  /** Records the step for every group: codewords from their texels, the texels from their codewords. */
  project(enc: Encoder): void {
    const kernel = cachedKernel(this.ctx, 'codebookStep', () => codebookStepShader);
    const values = this.field.arena.params!;
    for (const [i, g] of this.groups.entries()) {
      const rows = g.starts.length - 2;
      const b = this.buffers[i]!;
      enc.dispatch(kernel, {
        params: { rows, w: g.w, k: g.k, col: this.field.arena.get(g.segment).offset + g.lo },
        buffers: { values, starts: b.starts, members: b.members, weights: b.weights, codewords: b.codewords },
        workgroups: grid1d(this.ctx, (rows + 1) * g.w, 64),
      });
    }
  }

  afterStep(enc: Encoder): void {
    this.project(enc);
  }

  /** Each group's codewords as they stand (reads the GPU). */
  async codewords(): Promise<Float32Array[]> {
    return Promise.all(this.groups.map((g, i) => this.ctx.readF32(this.buffers[i]!.codewords, g.codewords.length)));
  }

  destroy(): void {
    for (const b of this.buffers) for (const buf of Object.values(b)) this.ctx.destroy(buf);
  }
}

/** The fine-tune's training options: no schedule events, the learning rate from where a run's decay ends. */
export function finetuneOptions(iters: number, batchSize: number, gridVoxels: number): TrainOptions {
  return {
    ...DEFAULT_TRAIN,
    nIters: iters,
    batchSize,
    nVoxelInit: gridVoxels,
    nVoxelFinal: gridVoxels,
    upsampList: [],
    updateAlphaMaskList: [],
    lrInit: DEFAULT_TRAIN.lrInit * DEFAULT_TRAIN.lrDecayTargetRatio,
    lrBasis: DEFAULT_TRAIN.lrBasis * DEFAULT_TRAIN.lrDecayTargetRatio,
    L1WeightInitial: DEFAULT_TRAIN.L1WeightRest,
  };
}

export interface FinetuneOptions {
  iters: number;
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Fine-tunes a compact model on the dataset's training images: `values` are the field's values it
 * was quantised from (at its rank); returns the model quantised again from the tuned field.
 */
export async function finetuneCompact(
  ctx: GpuContext,
  model: CompactModel,
  values: Map<string, Float32Array>,
  importance: TexelImportance,
  dataset: Dataset,
  opts: FinetuneOptions,
): Promise<CompactModel> {
  const field = await TensorField.make(ctx, model.settings, model.box, model.grid, 1, values);
  let trainer: Trainer | null = null;
  try {
    field.setMask(model.mask);
    const tune = new CodebookFinetune(ctx, field, codebookGroups(model, importance));
    const voxels = model.grid[0] * model.grid[1] * model.grid[2];
    try {
      trainer = new Trainer(ctx, dataset, field, finetuneOptions(opts.iters, opts.batchSize ?? FINETUNE_BATCH, voxels), [tune]);
    } catch (e) {
      tune.destroy();
      throw e;
    }
    // Training starts from the quantised field (each codeword its texels' mean), not the original.
    const enc = new Encoder(ctx);
    tune.project(enc);
    enc.submit();
    for (let i = 0; i < opts.iters; i++) {
      opts.signal?.throwIfAborted();
      await trainer.step();
      opts.onProgress?.(i + 1, opts.iters);
    }
    const tuned = await field.arena.download(ctx);
    return refit(model, tuned, await tune.codewords());
  } finally {
    trainer?.destroy();
    field.destroy();
  }
}
