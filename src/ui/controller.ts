// The studio's controller: what each button, drop and slider move does to the engine session
// (run/session.ts) and the store. React components call these; none of them talks to the engine.
import { zipSync } from 'fflate';
import { type DroppedFile, relativePath } from '../data/browser-files.ts';
import type { Dataset, SceneBox } from '../data/types.ts';
import { summarizeCheckpoint } from '../formats/checkpoint-file.ts';
import { layoutLabel } from '../run/models.ts';
import { DEFAULT_KEYFRAMES, PoseWorker, type PoseWorkerEvent, type PoseWorkerResult } from '../run/pose-worker-client.ts';
import { type MemoryEstimate, type RunEvent, Session } from '../run/session.ts';
import { storageMessage, studioAdvice, studioMessage } from './advice.ts';
import { CheckpointStore, type SavedRun } from './checkpoint-store.ts';
import { download } from './download.ts';
import { requestedRun, type TrainRequest } from './presets.ts';
import { type PosingState, useStudio } from './store.ts';

export interface TrainingActions {
  loadDemo: () => void;
  /** A folder's files (picked, or dropped and still being walked), or one .zip, in Blender or instant-ngp/nerfstudio layout. */
  openFiles: (files: FileList | File[] | DroppedFile[] | Promise<DroppedFile[]>, downscale: number) => void;
  /** A .slimscene file: view it and slim it with the rank slider. */
  openScene: (file: File) => void;
  start: (request: TrainRequest) => void;
  /** GPU memory the run would need and what was changed to fit this GPU (null before a dataset is open); `problem` in the studio's words. */
  estimate: (request: TrainRequest) => (Omit<MemoryEstimate, 'problem'> & { problem: string | null; sized: string[] }) | null;
  /** Sets the box the next run fills (throws with a message when it cannot). */
  setBox: (box: SceneBox) => void;
  /** Moves the rank slider: the viewport re-renders the slimmed model. */
  setRank: (rank: number) => void;
  pause: () => void;
  resume: () => void;
  stop: () => void;
  /** Stops structure from motion within a second (photos opened without poses). */
  cancelPosing: () => void;
  /** Poses the photos again (after a cancel or a failure, or with photos removed or added), reusing the features already computed. */
  poseAgain: () => void;
  /** The number of keyframes the next posing of a video takes. */
  setKeyframeTarget: (n: number) => void;
  /** The field of view (degrees across the long edge) the next posing gives photos without EXIF; null searches for it. */
  setFieldOfView: (deg: number | null) => void;
  /** Takes photos out of the set (those that could not be placed), then poses again. */
  removePhotos: (names: readonly string[]) => void;
  /** Adds photos to the set, then poses again. */
  addPhotos: (files: readonly File[]) => void;
  /** Opens the posed photos for training, at the downscale chosen. */
  continueToTraining: () => void;
  /** Saves the computed poses with the photos as a capture (.zip: COLMAP model, transforms.json, images/). */
  savePoses: () => Promise<void>;
  /** Continues a saved run on the open dataset from its last checkpoint. */
  continueSaved: (run: SavedRun) => void;
  deleteSaved: (run: SavedRun) => void;
}

/** The actions of a studio whose engine session lives in `session` (made on first use). */
export function trainingActions(session: { current: Session | null }): TrainingActions {
  const st = useStudio.getState;
  const open = async (): Promise<Session> => {
    if (session.current) return session.current;
    const s = await Session.open(navigator.gpu);
    s.onDeviceLost = (reason, message) => void recoverDevice(s, reason, message);
    session.current = s;
    return s;
  };
  const fail = (e: unknown) => {
    st().setLoading(null);
    st().setTrainStatus('error', studioMessage(e));
  };
  // Saved runs live in the browser's private file system, one per dataset.
  const store = CheckpointStore.open();
  const refreshSaved = async (): Promise<void> => {
    const cs = await store;
    st().setSavedRuns(cs ? await cs.list().catch(() => []) : null);
  };
  void refreshSaved();
  /** The last checkpoint written, kept in memory too: a lost device continues from it even when storage failed. */
  let last: { bytes: Uint8Array; file: string } | null = null;
  /** The scene file open for viewing, reopened on a new device after a loss. */
  let openedScene: File | null = null;
  /** Which run the events and results belong to: one replaced after a device loss is ignored. */
  let generation = 0;
  const checkpointsTo = (s: Session) => {
    const file = CheckpointStore.fileFor(s.fingerprint!);
    return {
      everySeconds: st().checkpointSeconds,
      sink: async (bytes: Uint8Array) => {
        last = { bytes, file };
        const cs = await store;
        if (!cs) throw new Error('this browser offers no private file system to keep checkpoints in; a reload loses the run');
        await cs.save(file, bytes);
      },
    };
  };
  /** Follows a run (new or continued) to its end: events to the store, then the rank curve. */
  const follow = (s: Session, run: (onEvent: (e: RunEvent) => void) => Promise<unknown>): void => {
    const gen = ++generation;
    st().setTrainStatus('training');
    st().setCheckpoint(null);
    // Training is watched in the live render.
    st().setViewTab('render');
    run((e) => gen === generation && onRunEvent(s, e)).then(
      (result) => {
        if (gen !== generation) return;
        st().setLoading(null);
        void refreshSaved();
        // Stopped during the coarse pass: no model was made.
        if (!result) return st().setTrainStatus('ready');
        st().setTrainStatus('done');
        void computeCurve().catch(fail);
      },
      async (e) => {
        // A failed readback can be the first sign of a lost device: give device.lost a moment
        // to say so; a run ended by a lost device is continued by recoverDevice.
        await Promise.race([s.ctx.device.lost, new Promise((r) => setTimeout(r, 1000))]);
        if (gen !== generation || s.ctx.lost) return;
        void refreshSaved();
        fail(e);
      },
    );
  };
  /**
   * The GPU device was lost: say so, make a new one and carry on from where the work was saved
   * (training continues from its last checkpoint; a finished model or an open scene file is
   * rebuilt on the new device).
   */
  const recoverDevice = async (s: Session, reason: string, message: string): Promise<void> => {
    const was = st().trainStatus;
    const wasTraining = was === 'training' || was === 'paused';
    generation++;
    const why = `The GPU device was lost (${reason}${message ? `: ${message}` : ''}).`;
    st().setNotice(`${why} Starting a new one…`);
    try {
      await s.recover();
    } catch (e) {
      st().setNotice(null);
      return fail(new Error(`${why} A new device could not be made (${studioMessage(e)}); reload the page to continue from the last checkpoint.`));
    }
    const cp = last;
    if ((wasTraining || was === 'done') && cp) {
      st().setNotice(`${why} Continued on a new device from the checkpoint at iteration ${summarizeCheckpoint(cp.bytes, cp.file).iter}.`);
      follow(s, (onEvent) => s.continueFrom(cp.bytes, cp.file, onEvent, checkpointsTo(s)));
      if (was === 'paused') {
        s.pause();
        st().setTrainStatus('paused');
      }
    } else if (openedScene) {
      st().setNotice(`${why} Reopened ${openedScene.name} on a new device.`);
      openScene(openedScene);
    } else if (wasTraining) {
      st().setNotice(null);
      fail(new Error(`${why} No checkpoint had been written yet; train again on the new device.`));
    } else {
      st().setNotice(`${why} A new device is ready.`);
      if (was !== 'empty') st().setTrainStatus('ready');
    }
  };
  // One held-out PSNR measurement at a time; a slider that moved meanwhile gets measured next.
  let measuring = false;
  const measureRank = async (withPsnr: boolean): Promise<void> => {
    const s = session.current;
    const slim = st().slim;
    if (!s || !slim) return;
    const rank = slim.rank;
    // Ranks already on the finished curve need no new measurement.
    const known = st().trainStatus === 'done' ? slim.curve.find((p) => p.rank === rank) : undefined;
    if (known) {
      st().setReadout(known);
      return;
    }
    const quick = await s.rankReadout(rank, false);
    if (quick && st().slim?.rank === rank) st().setReadout(quick);
    if (!withPsnr || measuring) return;
    measuring = true;
    try {
      const full = await s.rankReadout(rank, true);
      if (full && st().slim?.rank === rank) st().setReadout(full);
    } finally {
      measuring = false;
    }
    if (st().slim && st().slim!.rank !== rank) void measureRank(true);
  };
  const computeCurve = async (): Promise<void> => {
    const s = session.current;
    if (!s || !st().slim) return;
    st().setCurve([], 'computing');
    const curve = await s.rankCurve((partial) => st().setCurve(partial, 'computing'));
    st().setCurve(curve, 'done');
    await measureRank(true);
  };
  /** What a training run's events do to the store. */
  const onRunEvent = (s: Session, e: RunEvent) => {
    switch (e.type) {
      case 'prepare':
        return st().setLoading(e.message);
      case 'start':
        st().setLoading(null);
        st().resetSlim(e.field.maxRank, e.field.rank);
        return void measureRank(false);
      case 'step': {
        const step = e.step;
        st().recordStep({
          iter: step.iter,
          total: e.iters,
          elapsed: e.seconds,
          psnr: step.psnr,
          loss: step.loss,
          samples: step.samples,
          shaded: step.shaded,
          gpuBytes: s.ctx.allocatedBytes,
          event: step.event,
        });
        if (step.rank !== st().slim?.trainedRank) {
          st().setTrainedRank(step.rank);
          s.viewRank = st().slim?.rank ?? null;
          void measureRank(false);
        }
        return;
      }
      case 'held-out':
        return st().recordTestPsnr(e.iter, e.psnr);
      case 'checkpoint':
        return st().setCheckpoint({ iter: e.iter, bytes: e.bytes, stallMs: e.stallMs });
      case 'checkpoint-failed':
        return void storageMessage(e.error).then((why) =>
          st().setCheckpoint(st().checkpoint, `The checkpoint at iteration ${e.iter} could not be saved: ${why}. Training goes on.`),
        );
    }
  };
  const openScene = (file: File): void => {
    void (async () => {
      try {
        st().setLoading(`reading ${file.name}…`);
        const s = await open();
        const field = await s.openScene(new Uint8Array(await file.arrayBuffer()), file.name);
        openedScene = file;
        st().setScene(`${file.name} (${layoutLabel(field.settings)}, rank ${field.rank})`);
        st().resetSlim(field.maxRank, field.rank);
        await measureRank(false);
      } catch (e) {
        fail(e);
      }
    })();
  };
  /** After a dataset opened: the saved runs, and which of them continue on it. */
  const datasetOpened = (s: Session): void => {
    openedScene = null;
    st().setNotice(null);
    st().setDatasetCrc(s.fingerprint?.crc ?? null);
    void refreshSaved();
  };
  /** A dataset opened: its name with what it holds, its warnings and box, and the saved runs that continue on it. */
  const showDataset = (s: Session, ds: Dataset, label: string): void => {
    const train = ds.splits.train!;
    const test = ds.splits.test ? `, ${ds.splits.test.cameras.length} test` : '';
    // Masked pixels are neither trained nor scored: say so, it changes what the PSNR means. An
    // unbounded scene trains with its surroundings contracted around the box.
    const kind = (ds.masked ? ', masked' : '') + (ds.unbounded ? ', unbounded' : '');
    // Images may differ in size (several cameras): name the sizes.
    const sizes = [...new Set(train.cameras.map((c) => `${c.width}×${c.height}`))];
    const size = sizes.length === 1 ? sizes[0] : `${sizes.length} image sizes: ${sizes.slice(0, 3).join(', ')}${sizes.length > 3 ? '…' : ''}`;
    st().setDataset(`${label} (${train.cameras.length} views${test}, ${size}${kind})`, ds.warnings, s.loadedBox!);
    datasetOpened(s);
  };
  // Photos without poses: structure from motion in a worker, the set kept here for another run.
  const poser = new PoseWorker();
  let posingFiles: (File | DroppedFile)[] = [];
  let posed: PoseWorkerResult | null = null;
  const onPosingEvent = (e: PoseWorkerEvent): void => {
    const up = st().updatePosing;
    switch (e.stage) {
      case 'reading':
        up({ reading: [e.done, e.total] });
        return;
      case 'keyframes':
        up({ keyframes: [e.done, e.total] });
        return;
      case 'features':
        up({ features: [e.done, e.total] });
        return;
      case 'focal':
        up({ focal: `trying a field of view of ${e.fieldOfViewDeg}° (${e.tried + 1} of at most ${e.total})` });
        return;
      case 'matching':
        up({ matching: [e.done, e.total] });
        return;
      case 'register':
        up({ registered: [e.registered, e.total] });
        return;
      case 'bundle':
        up({ registered: [e.registered, e.total], reprojectionErrorPx: e.reprojectionErrorPx, ...(e.snapshot ? { snapshot: e.snapshot } : {}) });
        return;
    }
  };
  const startPosing = (label: string, video: boolean): void => {
    posed = null;
    const keyframeTarget = st().posing?.keyframeTarget ?? DEFAULT_KEYFRAMES;
    const fieldOfViewDeg = st().posing?.fieldOfViewDeg ?? null;
    const fresh: PosingState = {
      label,
      photos: video ? 0 : posingFiles.length,
      video,
      keyframeTarget,
      keyframes: null,
      fieldOfViewDeg,
      status: 'running',
      reading: null,
      features: null,
      matching: null,
      registered: null,
      focal: null,
      reprojectionErrorPx: null,
      snapshot: null,
      unregistered: [],
      notes: [],
      error: null,
      seconds: null,
    };
    st().setPosing(fresh);
    st().setLoading(null);
    const t0 = performance.now();
    // A field of view out of the range the CLI's --fov accepts is searched for instead.
    const lens = fieldOfViewDeg !== null && fieldOfViewDeg > 1 && fieldOfViewDeg < 179 ? { fieldOfViewDeg } : {};
    poser.pose(posingFiles, { keyframes: keyframeTarget, ...lens }, onPosingEvent).then(
      (result) => {
        posed = result;
        const s = result.summary;
        st().updatePosing({
          status: 'done',
          photos: s.images,
          registered: [s.registered, s.images],
          reprojectionErrorPx: s.reprojectionErrorPx,
          snapshot: result.snapshot,
          unregistered: s.unregistered,
          notes: [...s.notes, ...s.warnings, ...result.notes],
          seconds: (performance.now() - t0) / 1000,
        });
      },
      (e: unknown) => {
        const cancelled = (e as { name?: string }).name === 'AbortError';
        st().updatePosing({ status: cancelled ? 'cancelled' : 'failed', error: cancelled ? null : studioMessage(e), seconds: (performance.now() - t0) / 1000 });
      },
    );
  };
  /** A file's path below the folder chosen (as posing names it): the common first component dropped. */
  const photoPath = (f: File | DroppedFile): string => {
    const p = relativePath(f);
    const first = relativePath(posingFiles[0]!).split('/')[0];
    return posingFiles.every((g) => relativePath(g).startsWith(`${first}/`)) ? p.slice(first!.length + 1) : p;
  };
  return {
    estimate: (request) => {
      const { preset, options } = requestedRun(request);
      const mem = session.current?.estimate(preset, options);
      if (!mem) return null;
      return { ...mem, problem: mem.problem ? `${mem.problem.message}: ${studioAdvice(mem.problem.advice)}` : null };
    },
    openScene,
    setRank: (rank) => {
      st().setRank(rank);
      if (session.current) session.current.viewRank = st().slim?.rank ?? null;
      void measureRank(true);
    },
    openFiles: (files, downscale) => {
      void (async () => {
        try {
          st().setLoading('reading files…');
          const s = await open();
          const list = [...(await files)];
          const opened = await s.openFiles(list, { downscale, holdOut: st().holdOut }, (done, total) => st().setLoading(`decoding images: ${done}/${total}`));
          if ('photos' in opened) {
            // No poses with them: the "Compute camera poses" step.
            posingFiles = list;
            st().setPosing(null);
            return startPosing(opened.label, opened.video === true);
          }
          showDataset(s, opened.dataset, opened.label);
        } catch (e) {
          fail(e);
        }
      })();
    },
    cancelPosing: () => poser.cancel(),
    poseAgain: () => {
      const p = st().posing;
      if (p && p.status !== 'running') startPosing(p.label, p.video);
    },
    setKeyframeTarget: (n) => st().updatePosing({ keyframeTarget: Math.max(3, Math.min(1000, Math.round(n) || DEFAULT_KEYFRAMES)) }),
    setFieldOfView: (deg) => st().updatePosing({ fieldOfViewDeg: deg !== null && Number.isFinite(deg) ? deg : null }),
    removePhotos: (names) => {
      const p = st().posing;
      if (!p || p.status === 'running') return;
      const drop = new Set(names);
      posingFiles = posingFiles.filter((f) => !drop.has(photoPath(f)));
      startPosing(p.label, p.video);
    },
    addPhotos: (files) => {
      const p = st().posing;
      if (!p || p.status === 'running' || files.length === 0) return;
      // Added photos join the set under their own names, beside the photos already there.
      const first = relativePath(posingFiles[0]!).split('/')[0]!;
      const folder = posingFiles.every((g) => relativePath(g).startsWith(`${first}/`)) ? `${first}/` : '';
      posingFiles = [...posingFiles, ...files.map((file) => ({ file, path: `${folder}${file.name}` }))];
      startPosing(p.label, p.video);
    },
    continueToTraining: () => {
      const result = posed;
      if (!result) return;
      void (async () => {
        try {
          const s = await open();
          st().setLoading('reading the posed photos…');
          const { dataset } = await s.openPosedPhotos(posingFiles, result, { downscale: st().downscale, holdOut: st().holdOut }, (done, total) =>
            st().setLoading(`decoding images: ${done}/${total}`),
          );
          // The worker's name for the set: a video's own name, not its folder's.
          showDataset(s, dataset, result.label);
        } catch (e) {
          fail(e);
        }
      })();
    },
    savePoses: async () => {
      const result = posed;
      const s = await open();
      if (!result) return;
      const files = await s.posedPhotosCapture(posingFiles, result);
      download(
        new Blob([zipSync(Object.fromEntries(files), { level: 0 }) as Uint8Array<ArrayBuffer>], { type: 'application/zip' }),
        `${result.label.replace(/\.zip$/i, '')}-poses.zip`,
      );
    },
    loadDemo: () => {
      void (async () => {
        try {
          const s = await open();
          const ds = s.loadDemo();
          st().setDataset(
            `built-in demo scene (${ds.splits.train!.cameras.length} views, ${ds.splits.train!.width}×${ds.splits.train!.height})`,
            [],
            s.loadedBox!,
          );
          datasetOpened(s);
        } catch (e) {
          fail(e);
        }
      })();
    },
    setBox: (box: SceneBox) => {
      session.current?.setBox(box);
      st().setBox(box);
    },
    start: (request) => {
      const s = session.current;
      if (!s) return;
      const { preset, options } = requestedRun(request);
      follow(s, (onEvent) => s.train(preset, options, onEvent, checkpointsTo(s)));
    },
    pause: () => {
      session.current?.pause();
      st().setTrainStatus('paused');
    },
    resume: () => {
      session.current?.resume();
      st().setTrainStatus('training');
    },
    stop: () => {
      session.current?.stop();
    },
    continueSaved: (saved) => {
      const s = session.current;
      if (!s) return;
      void (async () => {
        try {
          const cs = await store;
          const bytes = await cs!.load(saved.file);
          follow(s, (onEvent) => s.continueFrom(bytes, saved.file, onEvent, checkpointsTo(s)));
        } catch (e) {
          fail(e);
        }
      })();
    },
    deleteSaved: (saved) => {
      void (async () => {
        await (await store)?.remove(saved.file).catch(() => undefined);
        await refreshSaved();
      })();
    },
  };
}
