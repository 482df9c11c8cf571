// One line for GPU work that shares buffers: a training step, a viewport render and a held-out
// measurement never interleave, because each waits for the one before it. Work is taken in the
// order it was queued, so a render asked for between two steps runs between them.
export class GpuQueue {
  private last: Promise<unknown> = Promise.resolve();

  /** Runs `work` after everything queued before it; a failure does not block what follows. */
  run<T>(work: () => Promise<T>): Promise<T> {
    const next = this.last.then(work, work);
    this.last = next.catch(() => undefined);
    return next;
  }
}
