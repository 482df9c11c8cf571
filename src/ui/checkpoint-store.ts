// The studio's saved runs: checkpoints in the browser's Origin Private File System, the last good
// one per dataset. A write goes through a writable stream whose changes appear only when it
// closes, so a tab closed or crashed mid-write leaves the previous checkpoint intact.
import { CHECKPOINT_EXTENSION, summarizeCheckpoint } from '../formats/checkpoint-file.ts';
import { PREAMBLE } from '../formats/container.ts';
import type { DatasetFingerprint } from '../run/session.ts';

export interface SavedRun {
  file: string;
  /** The dataset it was trained on (its name, and the fingerprint's CRC that matches it). */
  dataset: string;
  crc: number;
  kind: string;
  iter: number;
  nIters: number;
  bytes: number;
  /** When it was written (ms since the epoch). */
  modified: number;
}

export class CheckpointStore {
  private constructor(private readonly dir: FileSystemDirectoryHandle) {}

  /** The store, or null where the browser offers no Origin Private File System. */
  static async open(): Promise<CheckpointStore | null> {
    try {
      const root = await navigator.storage.getDirectory();
      return new CheckpointStore(await root.getDirectoryHandle('checkpoints', { create: true }));
    } catch {
      return null;
    }
  }

  /** The file a dataset's checkpoint is kept in (one per dataset: a new one replaces the last). */
  static fileFor(dataset: DatasetFingerprint): string {
    return `${dataset.crc.toString(16).padStart(8, '0')}${CHECKPOINT_EXTENSION}`;
  }

  async save(file: string, bytes: Uint8Array): Promise<void> {
    const handle = await this.dir.getFileHandle(file, { create: true });
    const stream = await handle.createWritable();
    try {
      await stream.write(bytes as Uint8Array<ArrayBuffer>);
      await stream.close();
    } catch (e) {
      await stream.abort().catch(() => undefined);
      throw e;
    }
  }

  async load(file: string): Promise<Uint8Array> {
    const f = await (await this.dir.getFileHandle(file)).getFile();
    return new Uint8Array(await f.arrayBuffer());
  }

  async remove(file: string): Promise<void> {
    await this.dir.removeEntry(file);
  }

  /** Every saved run, newest first, read from the headers alone; unreadable files are skipped. */
  async list(): Promise<SavedRun[]> {
    const out: SavedRun[] = [];
    for await (const handle of this.dir.values()) {
      if (handle.kind !== 'file' || !handle.name.endsWith(CHECKPOINT_EXTENSION)) continue;
      try {
        const f = await (handle as FileSystemFileHandle).getFile();
        const preamble = new DataView(await f.slice(0, PREAMBLE).arrayBuffer());
        const head = new Uint8Array(await f.slice(0, PREAMBLE + preamble.getUint32(12, true)).arrayBuffer());
        const s = summarizeCheckpoint(head, handle.name);
        out.push({
          file: handle.name,
          dataset: s.dataset.name,
          crc: s.dataset.crc,
          kind: s.kind,
          iter: s.iter,
          nIters: s.nIters,
          bytes: f.size,
          modified: f.lastModified,
        });
      } catch {
        // A file that is not a readable checkpoint (an interrupted write of an old build) is not offered.
      }
    }
    return out.sort((a, b) => b.modified - a.modified);
  }
}
