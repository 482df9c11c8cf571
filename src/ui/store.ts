// UI state of the studio. Plain zustand (no DOM access), so it can be imported and tested in Node.
import { create } from 'zustand';

export type GpuStatus = 'checking' | 'ready' | 'unavailable';

export interface AdapterLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  maxComputeWorkgroupStorageSize: number;
}

export interface AdapterInfoSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  limits: AdapterLimits;
}

export type TrainStatus = 'empty' | 'ready' | 'training' | 'paused' | 'done' | 'error';

export interface TrainProgress {
  iter: number;
  total: number;
  itPerSec: number;
  /** Train PSNR of recent iterations (a smoothed series for the chart). */
  psnr: number[];
  samples: number;
  shaded: number;
  lastEvent: string | null;
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
  setDataset: (name: string, warnings?: string[]) => void;
  setLoading: (message: string | null) => void;
  setTrainStatus: (status: TrainStatus, error?: string) => void;
  /** Records one training step; keeps a bounded, smoothed PSNR series. */
  recordStep: (s: { iter: number; total: number; elapsed: number; psnr: number; samples: number; shaded: number; event?: string }) => void;
  gpuStatus: GpuStatus;
  adapter: AdapterInfoSummary | null;
  /** Why WebGPU is unavailable (no navigator.gpu, no adapter, or an error message). */
  gpuReason: string | null;
  setChecking: () => void;
  setReady: (adapter: AdapterInfoSummary) => void;
  setUnavailable: (reason: string) => void;
}

const emptyProgress: TrainProgress = { iter: 0, total: 0, itPerSec: 0, psnr: [], samples: 0, shaded: 0, lastEvent: null };
const MAX_POINTS = 400;

export const useStudio = create<StudioState>()((set) => ({
  trainStatus: 'empty',
  datasetName: null,
  progress: emptyProgress,
  trainError: null,
  datasetWarnings: [],
  loading: null,
  setDataset: (name, warnings = []) =>
    set({ datasetName: name, datasetWarnings: warnings, loading: null, trainStatus: 'ready', progress: emptyProgress, trainError: null }),
  setLoading: (message) => set({ loading: message }),
  setTrainStatus: (status, error) => set({ trainStatus: status, trainError: error ?? null }),
  recordStep: (s) =>
    set((st) => {
      const prev = st.progress.psnr;
      const smoothed = prev.length ? 0.9 * prev[prev.length - 1]! + 0.1 * s.psnr : s.psnr;
      const psnr = prev.length >= MAX_POINTS ? [...prev.slice(1), smoothed] : [...prev, smoothed];
      return {
        progress: {
          iter: s.iter,
          total: s.total,
          itPerSec: s.elapsed > 0 ? s.iter / s.elapsed : 0,
          psnr,
          samples: s.samples,
          shaded: s.shaded,
          lastEvent: s.event ?? st.progress.lastEvent,
        },
      };
    }),
  gpuStatus: 'checking',
  adapter: null,
  gpuReason: null,
  setChecking: () => set({ gpuStatus: 'checking', adapter: null, gpuReason: null }),
  setReady: (adapter) => set({ gpuStatus: 'ready', adapter, gpuReason: null }),
  setUnavailable: (reason) => set({ gpuStatus: 'unavailable', adapter: null, gpuReason: reason }),
}));
