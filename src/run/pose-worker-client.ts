// The page's side of the posing worker (pose-worker.ts): starts it on first use, runs one posing
// job at a time through comlink, and cancels within a second: it asks the worker to stop and, if
// the worker has not answered a second later (a long GPU step), ends the worker itself and starts
// a fresh one next time (its cache of features is lost then).
import * as Comlink from 'comlink';
import type { DroppedFile } from '../data/browser-files.ts';
import type { PoseWorkerApi, PoseWorkerEvent, PoseWorkerOptions, PoseWorkerResult } from './pose-worker.ts';

export { DEFAULT_KEYFRAMES } from '../data/keyframes.ts';
export type { PosingSnapshot } from '../sfm/pose-photos.ts';
export type { PoseWorkerEvent, PoseWorkerResult } from './pose-worker.ts';

/** How long a cancel waits for the worker to stop by itself before ending it. */
const CANCEL_GRACE_MS = 1000;

export class PoseWorker {
  private worker: Worker | null = null;
  private api: Comlink.Remote<PoseWorkerApi> | null = null;
  /** Rejects the job going on (a cancel that had to end the worker). */
  private abandon: ((reason: unknown) => void) | null = null;

  /** Poses the photos among `files` (a folder's files or one .zip); events as it goes. */
  async pose(files: readonly (File | DroppedFile)[], opts: PoseWorkerOptions, onEvent: (e: PoseWorkerEvent) => void): Promise<PoseWorkerResult> {
    if (!this.api) {
      this.worker = new Worker(new URL('./pose-worker.ts', import.meta.url), { type: 'module', name: 'structure from motion' });
      this.api = Comlink.wrap<PoseWorkerApi>(this.worker);
    }
    const api = this.api;
    return new Promise<PoseWorkerResult>((resolve, reject) => {
      this.abandon = reject;
      api
        .pose([...files], opts, Comlink.proxy(onEvent))
        .then(resolve, reject)
        .finally(() => {
          if (this.abandon === reject) this.abandon = null;
        });
    });
  }

  /** Stops the job going on within a second; its promise rejects with an AbortError. */
  cancel(): void {
    const abandon = this.abandon;
    if (!abandon || !this.api) return;
    void this.api.cancel();
    setTimeout(() => {
      if (this.abandon !== abandon) return;
      this.dispose();
      abandon(new DOMException('Posing was cancelled.', 'AbortError'));
    }, CANCEL_GRACE_MS);
  }

  dispose(): void {
    this.worker?.terminate();
    this.worker = null;
    this.api = null;
    this.abandon = null;
  }
}
