// A cancellable job in a panel (geometry and compact exports): its progress while it runs, its
// result, and the error (or that it was cancelled) when it fails. Starting again clears both.
import { useRef, useState } from 'react';
import type { Progress } from './ProgressBar.tsx';

export function useJob<T>(cancelledMessage: string) {
  const [progress, setProgress] = useState<Progress | null>(null);
  const [result, setResult] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const abort = useRef<AbortController | null>(null);

  /** Runs `job` with a fresh signal and a progress reporter; `done` sees its result. */
  const start = (job: (signal: AbortSignal, report: (p: Progress) => void) => Promise<T>, done?: (r: T) => void) => {
    const controller = new AbortController();
    abort.current = controller;
    setResult(null);
    setError(null);
    setProgress({ what: 'waiting for the GPU', fraction: 0 });
    job(controller.signal, setProgress)
      .then(
        (r) => {
          setResult(r);
          done?.(r);
        },
        (e: unknown) => setError(controller.signal.aborted ? cancelledMessage : (e as Error).message),
      )
      .finally(() => {
        abort.current = null;
        setProgress(null);
      });
  };

  return { progress, result, error, start, cancel: () => abort.current?.abort() };
}
