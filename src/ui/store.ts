// UI state for the studio shell. Plain zustand (no DOM access), so it can be imported and tested
// in Node. The engine will add training state here later.
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

export interface StudioState {
  gpuStatus: GpuStatus;
  adapter: AdapterInfoSummary | null;
  /** Why WebGPU is unavailable (no navigator.gpu, no adapter, or an error message). */
  gpuReason: string | null;
  setChecking: () => void;
  setReady: (adapter: AdapterInfoSummary) => void;
  setUnavailable: (reason: string) => void;
}

export const useStudio = create<StudioState>()((set) => ({
  gpuStatus: 'checking',
  adapter: null,
  gpuReason: null,
  setChecking: () => set({ gpuStatus: 'checking', adapter: null, gpuReason: null }),
  setReady: (adapter) => set({ gpuStatus: 'ready', adapter, gpuReason: null }),
  setUnavailable: (reason) => set({ gpuStatus: 'unavailable', adapter: null, gpuReason: reason }),
}));
