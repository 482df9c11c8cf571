// The one protocol of long work (training, posing photos, exporting): a job is an async function
// of its inputs and a JobControl, and its promise is the result. Events go to onEvent as the job
// goes; aborting the signal stops it at its next check, within a second, and the promise rejects
// with the signal's reason (an AbortError), or resolves with what was done where that is a result
// of its own (a training run stopped early). The platform's AbortSignal is the cancel, so a job
// composes with fetch, streams and the studio's buttons alike. The lowest layer: every stage may
// import it, it imports nothing.

export interface JobControl<Event> {
  onEvent?: (event: Event) => void;
  signal?: AbortSignal;
}

/** Whether an error is a job's cancellation (the abort its signal asked for), not a failure. */
export function isCancelled(error: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted && error === signal.reason) return true;
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError';
}

/**
 * Between the steps of a long loop: lets a page's events (or a worker's messages) through, then
 * throws the signal's reason if the job was cancelled meanwhile.
 */
export async function yieldToCancel(signal?: AbortSignal): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 0));
  signal?.throwIfAborted();
}
