// The studio's controller: what each button, drop and slider move does to the engine session
// (run/session.ts) and the store. React components call these; none of them talks to the engine.
import type { DroppedFile } from '../data/browser-files.ts';
import type { SceneBox } from '../data/types.ts';
import { layoutLabel } from '../run/models.ts';
import { type MemoryEstimate, Session } from '../run/session.ts';
import type { RunEvent } from '../run/training-run.ts';
import { studioAdvice, studioMessage } from './advice.ts';
import { requestedRun, type TrainRequest } from './presets.ts';
import { useStudio } from './store.ts';

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
}

/** The actions of a studio whose engine session lives in `session` (made on first use). */
export function trainingActions(session: { current: Session | null }): TrainingActions {
  const st = useStudio.getState;
  const open = async (): Promise<Session> => (session.current ??= await Session.open(navigator.gpu));
  const fail = (e: unknown) => {
    st().setLoading(null);
    st().setTrainStatus('error', studioMessage(e));
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
    }
  };
  return {
    estimate: (request) => {
      const { preset, options } = requestedRun(request);
      const mem = session.current?.estimate(preset, options);
      if (!mem) return null;
      return { ...mem, problem: mem.problem ? `${mem.problem.message}: ${studioAdvice(mem.problem.advice)}` : null };
    },
    openScene: (file) => {
      void (async () => {
        try {
          st().setLoading(`reading ${file.name}…`);
          const s = await open();
          const field = s.openScene(new Uint8Array(await file.arrayBuffer()), file.name);
          st().setScene(`${file.name} (${layoutLabel(field.settings)}, rank ${field.rank})`);
          st().resetSlim(field.maxRank, field.rank);
          await measureRank(false);
        } catch (e) {
          fail(e);
        }
      })();
    },
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
          const { dataset: ds, label } = await s.openFiles([...(await files)], downscale, (done, total) =>
            st().setLoading(`decoding images: ${done}/${total}`),
          );
          const train = ds.splits.train!;
          const test = ds.splits.test ? `, ${ds.splits.test.cameras.length} test` : '';
          st().setDataset(`${label} (${train.cameras.length} views${test}, ${train.width}×${train.height})`, ds.warnings, s.loadedBox!);
        } catch (e) {
          fail(e);
        }
      })();
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
      st().setTrainStatus('training');
      // Training is watched in the live render.
      st().setViewTab('render');
      const { preset, options } = requestedRun(request);
      s.train(preset, options, (e) => onRunEvent(s, e)).then((result) => {
        st().setLoading(null);
        // Stopped during the coarse pass: no model was made.
        if (!result) return st().setTrainStatus('ready');
        st().setTrainStatus('done');
        void computeCurve().catch(fail);
      }, fail);
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
  };
}
