// UI state of the studio. Plain zustand (no DOM access), so it can be imported and tested in Node.
import { create } from 'zustand';
import type { SceneBox } from '../data/types.ts';
import type { PosingSnapshot } from '../run/pose-worker-client.ts';
import { HOLD_OUT, type RankReadout } from '../run/session.ts';
import type { ViewPose } from '../view/view-camera.ts';
import type { AdapterInfoSummary } from '../view/webgpu.ts';

import type { SavedRun } from './checkpoint-store.ts';

export type { AdapterInfoSummary, RankReadout };

export type GpuStatus = 'checking' | 'ready' | 'unavailable';

export type TrainStatus = 'empty' | 'ready' | 'training' | 'paused' | 'done' | 'error';
/** What the viewport shows: the dataset (photos, cameras, box) or the live neural render. */
export type ViewTab = 'dataset' | 'render';

export interface TrainProgress {
  iter: number;
  total: number;
  itPerSec: number;
  /** Train PSNR of recent iterations (a smoothed series for the chart); the last is at `iter`. */
  psnr: number[];
  /** Training loss (MSE plus regularizers) over the same iterations, smoothed alike. */
  loss: number[];
  /** Held-out PSNR measured during training, with the iteration it was measured after. */
  testPsnr: { iter: number; psnr: number }[];
  samples: number;
  shaded: number;
  /** GPU memory held by the engine now. */
  gpuBytes: number;
  lastEvent: string | null;
}

/** The rank slider: which rank the viewport shows and what that rank costs and gives. */
export interface SlimState {
  /** Rank groups of the model and how many of them are trained (SlimmeRF grows during training). */
  maxRank: number;
  trainedRank: number;
  /** The rank shown; clamped to trainedRank. */
  rank: number;
  readout: RankReadout | null;
  /** Quality against size over every rank, computed after training. */
  curve: RankReadout[];
  curveStatus: 'idle' | 'computing' | 'done';
  /** Bytes a reader needs at each rank (index rank − 1) of the compact file last made of this model; null until one is. */
  compactBytes: number[] | null;
}

/** The "Compute camera poses" step: photos without poses being posed by structure from motion (in a worker). */
export interface PosingState {
  /** The folder's, archive's or selection's name. */
  label: string;
  /** Photos in the set (including those that could not be placed); a video's keyframes once taken. */
  photos: number;
  /** A video: its keyframes are the photos. */
  video: boolean;
  /** Keyframes to take from a video (the user may change it and pose again). */
  keyframeTarget: number;
  keyframes: [number, number] | null;
  /** The lens's field of view across the long edge (degrees) for photos without a focal length in their EXIF; null: searched. */
  fieldOfViewDeg: number | null;
  status: 'running' | 'done' | 'failed' | 'cancelled';
  /** Progress by stage: done and total (features: images; matching: pairs; register: images placed). */
  reading: [number, number] | null;
  features: [number, number] | null;
  matching: [number, number] | null;
  registered: [number, number] | null;
  /** The fields of view tried when the photos give no focal length (degrees). */
  focal: string | null;
  reprojectionErrorPx: number | null;
  /** The cameras placed so far and the points, as the live view draws them. */
  snapshot: PosingSnapshot | null;
  /** Photos not placed, with why; notes and warnings from the run. */
  unregistered: { file: string; reason: string }[];
  notes: string[];
  error: string | null;
  seconds: number | null;
}

export interface StudioState {
  trainStatus: TrainStatus;
  datasetName: string | null;
  progress: TrainProgress;
  trainError: string | null;
  /** Problems found while loading (skipped frames and the like), listed, not hidden. */
  datasetWarnings: string[];
  /** What is loading right now ("reading 12/100 images"), or null. */
  loading: string | null;
  /** A scene file opened for viewing (no dataset, no training). */
  sceneName: string | null;
  /** The box the field will fill (editable until training starts); null without a dataset. */
  box: SceneBox | null;
  setBox: (box: SceneBox) => void;
  viewTab: ViewTab;
  setViewTab: (tab: ViewTab) => void;
  /** The viewport's camera as it is now (what "Add keyframe" takes). */
  viewPose: ViewPose | null;
  setViewPose: (pose: ViewPose) => void;
  /** A pose the viewport should move to (a keyframe clicked, a path previewed), with a counter so the same pose twice still moves. */
  poseRequest: { pose: ViewPose; n: number } | null;
  requestPose: (pose: ViewPose) => void;
  /** Image downscale for the next dataset opened (picker or drop). */
  downscale: number;
  setDownscale: (k: number) => void;
  /** For the next capture opened without a test split: every Nth view held out for testing (0: train on all). */
  holdOut: number;
  setHoldOut: (n: number) => void;
  /** A new dataset: its box, and the dataset view in front. */
  setDataset: (name: string, warnings?: string[], box?: SceneBox) => void;
  setScene: (name: string) => void;
  setLoading: (message: string | null) => void;
  setTrainStatus: (status: TrainStatus, error?: string) => void;
  /** Records one training step; keeps a bounded, smoothed PSNR series. */
  recordStep: (s: {
    iter: number;
    total: number;
    elapsed: number;
    psnr: number;
    loss?: number;
    samples: number;
    shaded: number;
    gpuBytes?: number;
    event?: string;
  }) => void;
  /** Records a held-out PSNR measurement (bounded series). */
  recordTestPsnr: (iter: number, psnr: number) => void;
  slim: SlimState | null;
  /** A new model: the slider spans its ranks and follows the trained rank until the user moves it. */
  resetSlim: (maxRank: number, trainedRank: number) => void;
  setTrainedRank: (trainedRank: number) => void;
  setRank: (rank: number) => void;
  setReadout: (readout: RankReadout) => void;
  setCurve: (curve: RankReadout[], status: SlimState['curveStatus']) => void;
  setCompactBytes: (bytes: number[] | null) => void;
  gpuStatus: GpuStatus;
  adapter: AdapterInfoSummary | null;
  /** Why WebGPU is unavailable (no navigator.gpu, no adapter, or an error message). */
  gpuReason: string | null;
  setChecking: () => void;
  setReady: (adapter: AdapterInfoSummary) => void;
  setUnavailable: (reason: string) => void;
  /** Saved runs (checkpoints in the browser's storage), newest first; null where the browser has no storage for them. */
  savedRuns: SavedRun[] | null;
  setSavedRuns: (runs: SavedRun[] | null) => void;
  /** The open dataset's fingerprint CRC: a saved run with the same one can continue on it. */
  datasetCrc: number | null;
  setDatasetCrc: (crc: number | null) => void;
  /** Seconds of training between checkpoints. */
  checkpointSeconds: number;
  setCheckpointSeconds: (s: number) => void;
  /** The last checkpoint of this run, or why the last one failed. */
  checkpoint: { iter: number; bytes: number; stallMs: number } | null;
  checkpointProblem: string | null;
  setCheckpoint: (c: { iter: number; bytes: number; stallMs: number } | null, problem?: string | null) => void;
  /** Photos being posed, or posed and not yet opened for training; null otherwise. */
  posing: PosingState | null;
  setPosing: (posing: PosingState | null) => void;
  updatePosing: (change: Partial<PosingState>) => void;
  /** Something the studio did on its own that the user should know (a lost GPU device replaced). */
  notice: string | null;
  setNotice: (notice: string | null) => void;
}

const emptyProgress: TrainProgress = { iter: 0, total: 0, itPerSec: 0, psnr: [], loss: [], testPsnr: [], samples: 0, shaded: 0, gpuBytes: 0, lastEvent: null };
const MAX_POINTS = 400;

/** Appends an exponentially smoothed value (weight 0.1) to a series bounded to MAX_POINTS. */
function pushSmoothed(prev: number[], value: number): number[] {
  const last = prev[prev.length - 1];
  const smoothed = last !== undefined && Number.isFinite(last) ? 0.9 * last + 0.1 * value : value;
  return prev.length >= MAX_POINTS ? [...prev.slice(1), smoothed] : [...prev, smoothed];
}

export const useStudio = create<StudioState>()((set) => ({
  trainStatus: 'empty',
  datasetName: null,
  progress: emptyProgress,
  trainError: null,
  datasetWarnings: [],
  loading: null,
  sceneName: null,
  box: null,
  setBox: (box) => set({ box }),
  viewTab: 'dataset',
  setViewTab: (viewTab) => set({ viewTab }),
  viewPose: null,
  setViewPose: (viewPose) => set({ viewPose }),
  poseRequest: null,
  requestPose: (pose) => set((st) => ({ poseRequest: { pose, n: (st.poseRequest?.n ?? 0) + 1 } })),
  downscale: 4,
  setDownscale: (downscale) => set({ downscale }),
  holdOut: HOLD_OUT,
  setHoldOut: (holdOut) => set({ holdOut }),
  setDataset: (name, warnings = [], box) =>
    set({
      datasetName: name,
      sceneName: null,
      datasetWarnings: warnings,
      loading: null,
      trainStatus: 'ready',
      progress: emptyProgress,
      trainError: null,
      slim: null,
      box: box ?? null,
      viewTab: 'dataset',
      posing: null,
    }),
  setScene: (name) =>
    set({
      sceneName: name,
      datasetName: null,
      datasetWarnings: [],
      loading: null,
      trainStatus: 'empty',
      progress: emptyProgress,
      trainError: null,
      slim: null,
      box: null,
      viewTab: 'render',
      posing: null,
    }),
  setLoading: (message) => set({ loading: message }),
  setTrainStatus: (status, error) => set({ trainStatus: status, trainError: error ?? null }),
  recordStep: (s) =>
    set((st) => {
      // A new run (iteration 1) starts new series.
      const fresh = s.iter <= 1;
      return {
        progress: {
          iter: s.iter,
          total: s.total,
          itPerSec: s.elapsed > 0 ? s.iter / s.elapsed : 0,
          psnr: pushSmoothed(fresh ? [] : st.progress.psnr, s.psnr),
          loss: pushSmoothed(fresh ? [] : st.progress.loss, s.loss ?? NaN),
          testPsnr: fresh ? [] : st.progress.testPsnr,
          samples: s.samples,
          shaded: s.shaded,
          gpuBytes: s.gpuBytes ?? st.progress.gpuBytes,
          lastEvent: s.event ?? st.progress.lastEvent,
        },
      };
    }),
  recordTestPsnr: (iter, psnr) =>
    set((st) => {
      const prev = st.progress.testPsnr;
      const next = [...(prev.length >= MAX_POINTS ? prev.slice(1) : prev), { iter, psnr }];
      return { progress: { ...st.progress, testPsnr: next } };
    }),
  slim: null,
  resetSlim: (maxRank, trainedRank) =>
    set({ slim: { maxRank, trainedRank, rank: trainedRank, readout: null, curve: [], curveStatus: 'idle', compactBytes: null } }),
  setTrainedRank: (trainedRank) =>
    set((st) => {
      if (!st.slim) return {};
      // A slider left at the top keeps following the growing model.
      const following = st.slim.rank >= st.slim.trainedRank;
      return { slim: { ...st.slim, trainedRank, rank: following ? trainedRank : Math.min(st.slim.rank, trainedRank) } };
    }),
  setRank: (rank) => set((st) => (st.slim ? { slim: { ...st.slim, rank: Math.max(1, Math.min(Math.round(rank), st.slim.trainedRank)) } } : {})),
  setReadout: (readout) => set((st) => (st.slim ? { slim: { ...st.slim, readout } } : {})),
  setCurve: (curve, curveStatus) => set((st) => (st.slim ? { slim: { ...st.slim, curve, curveStatus } } : {})),
  setCompactBytes: (compactBytes) => set((st) => (st.slim ? { slim: { ...st.slim, compactBytes } } : {})),
  gpuStatus: 'checking',
  adapter: null,
  gpuReason: null,
  setChecking: () => set({ gpuStatus: 'checking', adapter: null, gpuReason: null }),
  setReady: (adapter) => set({ gpuStatus: 'ready', adapter, gpuReason: null }),
  setUnavailable: (reason) => set({ gpuStatus: 'unavailable', adapter: null, gpuReason: reason }),
  savedRuns: null,
  setSavedRuns: (savedRuns) => set({ savedRuns }),
  datasetCrc: null,
  setDatasetCrc: (datasetCrc) => set({ datasetCrc }),
  checkpointSeconds: 60,
  setCheckpointSeconds: (checkpointSeconds) => set({ checkpointSeconds }),
  checkpoint: null,
  checkpointProblem: null,
  setCheckpoint: (checkpoint, problem = null) => set({ checkpoint, checkpointProblem: problem }),
  posing: null,
  setPosing: (posing) => set({ posing }),
  updatePosing: (change) => set((st) => (st.posing ? { posing: { ...st.posing, ...change } } : {})),
  notice: null,
  setNotice: (notice) => set({ notice }),
}));
