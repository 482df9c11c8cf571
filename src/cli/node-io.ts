// What the CLI and the bench read and say in Node: progress on stderr, datasets from a folder (or
// the built-in demo scene), model and scene files from disk, and the engine's advice for a run
// that cannot fit, worded as flags and options.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { decodeImageNode } from '../data/image-node.ts';
import { loadDataset } from '../data/load.ts';
import { nodeFolderSource } from '../data/node-source.ts';
import { proceduralDataset } from '../data/procedural.ts';
import type { Dataset } from '../data/types.ts';
import type { TensorField } from '../field/field.ts';
import type { GpuContext, LimitAdvice } from '../gpu/context.ts';
import { fieldFromBytes } from '../run/models.ts';

export const log = (msg: string) => process.stderr.write(`${msg}\n`);

/** `--data builtin:demo` is the procedural scene; anything else a dataset folder. */
export async function openDataset(dir: string, downscale: number, splits: ('train' | 'test')[]): Promise<Dataset> {
  if (dir === 'builtin:demo') return proceduralDataset({ size: Math.max(16, Math.round(128 / downscale)) });
  let last = -1;
  const ds = await loadDataset(nodeFolderSource(dir), {
    downscale,
    decode: decodeImageNode,
    splits,
    onProgress: (done, total) => {
      const pct = Math.floor((100 * done) / total);
      if (pct >= last + 10 || done === total) {
        last = pct;
        log(`loading ${basename(dir)}: ${done}/${total} images`);
      }
    },
  });
  for (const w of ds.warnings) log(`warning: ${w}`);
  return ds;
}

/** A model file or a scene file from disk as a field. */
export async function loadModel(ctx: GpuContext, file: string): Promise<{ field: TensorField; bytes: number }> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return { field: fieldFromBytes(ctx, bytes, file), bytes: bytes.length };
}

/** One piece of the engine's advice in the CLI's terms. */
function cliWords(a: LimitAdvice): string {
  switch (a.change) {
    case 'downscale':
      return `use --downscale ${a.factor}`;
    case 'fewer-views':
      return 'train on fewer images (--train-views N)';
    case 'final-grid':
      return 'lower N_voxel_final';
    case 'components':
      return 'lower the component counts (n_lamb_sigma, n_lamb_sh)';
  }
}

/** The engine's advice in the CLI's terms. */
export function adviceForCli(advice: readonly LimitAdvice[]): string {
  return advice.map(cliWords).join(' or ');
}
