// Detects WebGPU and summarises the adapter for the studio shell. Takes the GPU object as a
// parameter so it can be exercised in Node with a fake; the app passes navigator.gpu.
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

export type WebGpuProbe = { ok: true; adapter: AdapterInfoSummary } | { ok: false; reason: string };

/** Browsers that ship WebGPU, shown when it is missing. */
export const WEBGPU_BROWSERS: readonly string[] = [
  'Chrome and Edge 113+ on Windows, macOS and ChromeOS',
  'Chrome 121+ on Android',
  'Safari 26+ on macOS and iOS',
  'Firefox 141+ on Windows',
];

export function summariseAdapter(adapter: GPUAdapter): AdapterInfoSummary {
  const info = adapter.info;
  return {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
    limits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
      maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
    },
  };
}

/** A one-line name for an adapter, falling back when the browser hides the details. */
export function adapterLabel(a: AdapterInfoSummary): string {
  const parts = [a.description || a.device, a.vendor, a.architecture].filter((s) => s.length > 0);
  return parts.length > 0 ? parts.join(' · ') : 'WebGPU adapter (details hidden by the browser)';
}

export async function probeWebGpu(gpu: GPU | undefined | null): Promise<WebGpuProbe> {
  if (!gpu) return { ok: false, reason: 'This browser does not expose navigator.gpu.' };
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { ok: false, reason: 'navigator.gpu is present but no GPU adapter was found.' };
    return { ok: true, adapter: summariseAdapter(adapter) };
  } catch (err) {
    return { ok: false, reason: `Requesting a GPU adapter failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** Formats a byte count for the limits table, e.g. 134217728 -> "128 MiB". */
export { formatBytes } from '../gpu/context.ts';
