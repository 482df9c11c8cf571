// What the CLI and the bench read and say in Node: progress on stderr, datasets from a folder (or
// the built-in demo scene), model and scene files from disk, and the engine's advice for a run
// that cannot fit, worded as flags and options.
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { decodeImageNode } from '../data/image-node.ts';
import { type InputLimits, tooManyBytes } from '../data/input-limits.ts';
import { loadDataset } from '../data/load.ts';
import { nodeFolderSource, nodeInputLimits } from '../data/node-source.ts';
import { proceduralDataset } from '../data/procedural.ts';
import { zipSource } from '../data/sources.ts';
import { type Dataset, DatasetError, type FileSource } from '../data/types.ts';
import type { TensorField } from '../field/field.ts';
import { formatBytes, type GpuContext, type LimitAdvice } from '../gpu/context.ts';
import { fieldFromBytes } from '../run/models.ts';

export const log = (msg: string) => process.stderr.write(`${msg}\n`);

/**
 * `--data builtin:demo` is the procedural scene, `builtin:environment` the same standing in ground
 * and sky (an unbounded scene), `builtin:forward` that seen forward-facing (LLFF's layout); a path ending in .zip an archive; anything else a dataset folder.
 * `holdOut`: every Nth view of a capture without a test split is held out (0: none).
 */
export async function openDataset(dir: string, downscale: number, splits: ('train' | 'test')[], holdOut?: number): Promise<Dataset> {
  const size = Math.max(16, Math.round(128 / downscale));
  if (dir === 'builtin:demo') return proceduralDataset({ size });
  if (dir === 'builtin:environment') return proceduralDataset({ size, background: 'environment' });
  if (dir === 'builtin:forward') return proceduralDataset({ size, background: 'environment', layout: 'forward' });
  const limits = nodeInputLimits();
  let last = -1;
  const ds = await loadDataset(dir.toLowerCase().endsWith('.zip') ? await zipFile(dir, limits) : nodeFolderSource(dir, limits), {
    downscale,
    decode: decodeImageNode,
    splits,
    holdOut,
    limits,
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

/** A zip archive on disk as a dataset (its size checked before it is read, its entries before they inflate). */
async function zipFile(file: string, limits: InputLimits): Promise<FileSource> {
  let size: number;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new DatasetError(file, 'not a regular file');
    size = info.size;
  } catch (e) {
    if (e instanceof DatasetError) throw e;
    throw new DatasetError(file, `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (size > limits.totalBytes) throw new DatasetError(file, tooManyBytes(`the archive holds ${formatBytes(size)}`, limits));
  return zipSource(new Uint8Array(await readFile(file)), basename(file), limits);
}

/** A model file or a scene file from disk as a field. */
export async function loadModel(ctx: GpuContext, file: string): Promise<{ field: TensorField; bytes: number }> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return { field: await fieldFromBytes(ctx, bytes, file), bytes: bytes.length };
}

/** One piece of the engine's advice in the CLI's terms. */
function cliWords(a: LimitAdvice): string {
  switch (a.change) {
    case 'downscale':
      return `use --downscale ${a.factor}`;
    case 'fewer-views':
      return 'train on fewer images (--train-views N)';
    case 'batch':
      return 'use a smaller --batch';
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
