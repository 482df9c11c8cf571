// The quality and size of a model slimmed to each rank: what the rank slider and the bench's
// slimming table show. Sizes come from the file formats (the one place below run/ that imports
// formats/: the size at a rank is what a user takes away).
import type { Dataset, Split } from '../data/types.ts';
import { modelFileSize } from '../formats/field-model.ts';
import { sceneFileSize } from '../formats/scene-file/writer.ts';
import type { ViewRenderer } from '../render/view-renderer.ts';
import { evaluate } from './evaluate.ts';

export interface RankPoint {
  rank: number;
  psnr: number;
  ssim: number;
  /** Parameters of the model slimmed to this rank. */
  params: number;
  /** Size of the (fp32) model file saved at this rank. */
  bytes: number;
  /** Size of the fp16 scene file exported at this rank (what the studio's readout shows). */
  sceneBytesFp16: number;
}

/**
 * Test-view quality and file size of the renderer's field slimmed to each rank. Ranks above the
 * trained one are replaced by the trained rank (the groups above it hold no trained values).
 */
export async function evaluateRanks(
  renderer: ViewRenderer,
  dataset: Dataset,
  split: Split,
  indices: number[],
  ranks: number[],
  onRank?: (p: RankPoint) => void,
): Promise<RankPoint[]> {
  const field = renderer.field;
  const wanted = [...new Set(ranks.map((r) => Math.min(r, field.rank)))].sort((a, b) => a - b);
  const out: RankPoint[] = [];
  for (const rank of wanted) {
    const ev = await evaluate(renderer, dataset, split, indices, rank);
    const p = {
      rank,
      psnr: +ev.psnr.toFixed(3),
      ssim: +ev.ssim.toFixed(4),
      params: field.parameterCountAtRank(rank),
      bytes: modelFileSize(field, rank),
      sceneBytesFp16: sceneFileSize(field.settings, field.box, field.grid, field.mask, { rank, precision: 'fp16' }, field.lattice).bytes,
    };
    out.push(p);
    onRank?.(p);
  }
  return out;
}
