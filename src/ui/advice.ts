// The engine's advice for a run that cannot fit (LimitError), in the studio's own terms: its
// controls, not the CLI's flags.
import type { LimitAdvice } from '../run/session.ts';
import { formatBytes } from '../view/webgpu.ts';

/** One piece of the engine's advice in the studio's terms. */
function studioWords(a: LimitAdvice): string {
  switch (a.change) {
    case 'downscale':
      return `open the dataset again at downscale 1/${a.factor}`;
    case 'fewer-views':
      return 'train on fewer views (Training views)';
    case 'batch':
      return 'choose a smaller preset (fewer rays per batch)';
    case 'final-grid':
      return 'choose a smaller preset (a smaller final grid)';
    case 'components':
      return 'choose a model with fewer components';
  }
}

/** One sentence of what to change in the studio. */
export function studioAdvice(advice: readonly LimitAdvice[]): string {
  return advice.length ? `${advice.map(studioWords).join(', or ')}.` : '';
}

/** An error's message for the studio, with the engine's advice worded for it when it has some. */
export function studioMessage(e: unknown): string {
  const err = e as Error & { advice?: readonly LimitAdvice[] };
  const message = err?.message ?? String(e);
  return err?.name === 'LimitError' && err.advice?.length ? `${message}: ${studioAdvice(err.advice)}` : message;
}

/** Why the browser's storage refused a write, with how full it is when the quota is the reason. */
export async function storageMessage(e: unknown): Promise<string> {
  const err = e as Error;
  if (err?.name !== 'QuotaExceededError') return err?.message ?? String(e);
  const { usage, quota } = await navigator.storage.estimate().catch(() => ({ usage: undefined, quota: undefined }));
  const used = usage !== undefined && quota !== undefined ? ` (it reports ${formatBytes(usage)} of ${formatBytes(quota)} in use)` : '';
  return `the browser's storage quota for this page is exhausted${used}; delete saved runs or free disk space`;
}
