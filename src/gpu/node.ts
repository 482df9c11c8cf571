// Node entry to WebGPU through the `webgpu` package (Dawn). Used by tests, the CLI and benchmarks.
import { create, globals } from 'webgpu';
import { contextFromAdapter, type GpuContext } from './context.ts';

let cached: Promise<GpuContext> | null = null;

/** One shared device per process: creating Dawn instances is slow and they are heavy. */
export function nodeGpu(): Promise<GpuContext> {
  if (!cached) cached = open();
  return cached;
}

async function open(): Promise<GpuContext> {
  Object.assign(globalThis, globals);
  const gpu = create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new Error(
      "No WebGPU adapter found. On a machine without a GPU install Debian's chromium package (it ships SwiftShader) " +
        'and run through `npm run cli`/`npm test`, which point Dawn at it.',
    );
  }
  const ctx = await contextFromAdapter(adapter);
  ctx.device.addEventListener('uncapturederror', (e) => {
    console.error('WebGPU error:', (e as GPUUncapturedErrorEvent).error.message);
  });
  // Keeps the Dawn instance alive as long as the device (it is otherwise collected).
  (ctx as unknown as { instance: unknown }).instance = gpu;
  return ctx;
}
