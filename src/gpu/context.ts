// The engine's handle on a GPUDevice: adapter facts, limit-aware buffer creation, readback and a
// per-submit uniform arena. Nothing here touches the DOM, so the same code runs in the browser
// and in Node (Dawn).

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A short human label, e.g. "Google SwiftShader (vulkan)". */
  label: string;
  /** A CPU implementation (SwiftShader, llvmpipe, WARP): benchmarks shorten their runs on it. */
  software: boolean;
}

export class GpuContext {
  readonly device: GPUDevice;
  readonly adapter: AdapterSummary;
  /** Bytes allocated through this context and not yet destroyed: a peak-memory gauge for benches. */
  allocatedBytes = 0;
  peakBytes = 0;
  /**
   * Queue submissions, blocking readbacks (a copy to a mapped buffer awaited by the host before
   * the GPU has it: the GPU runs dry meanwhile), and throttles (the host waiting for older work
   * while newer work keeps the GPU busy: training keeps a step queued ahead) since the context
   * was made: what a step costs in round trips on a fast GPU.
   */
  readonly counts = { submissions: 0, readbacks: 0, throttles: 0 };
  private sizes = new WeakMap<GPUBuffer, number>();

  /** When set, every dispatch is timed with GPU timestamps (see KernelProfiler). */
  profiler: KernelProfiler | null = null;
  /**
   * Why the device was lost (a driver reset, a crashed GPU process, destroy()), or null while it
   * lives: nothing read back after the loss may be trusted or saved.
   */
  lost: GPUDeviceLostInfo | null = null;

  constructor(device: GPUDevice, adapter: AdapterSummary) {
    this.device = device;
    this.adapter = adapter;
    void device.lost.then((info) => {
      this.lost = info;
    });
  }

  /** Starts per-kernel GPU timing if the device has timestamp queries. */
  enableProfiling(): boolean {
    if (!this.device.features.has('timestamp-query')) return false;
    this.profiler ??= new KernelProfiler(this);
    return true;
  }

  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  /** The largest storage buffer one binding may hold on this device. */
  get maxBinding(): number {
    return Math.min(this.limits.maxStorageBufferBindingSize, this.limits.maxBufferSize);
  }

  /**
   * Creates a storage buffer. Sizes are rounded up to 16 bytes. A buffer larger than the device
   * allows throws a LimitError that names the buffer, so callers can say what to change.
   */
  buffer(label: string, bytes: number, usage: number = 0): GPUBuffer {
    const size = this.assertFits(label, bytes);
    const buf = this.device.createBuffer({
      label,
      size,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST | usage,
    });
    this.sizes.set(buf, size);
    this.allocatedBytes += size;
    this.peakBytes = Math.max(this.peakBytes, this.allocatedBytes);
    return buf;
  }

  /** The size a buffer of `bytes` gets; throws the LimitError of `buffer` when it cannot fit one binding. */
  assertFits(label: string, bytes: number): number {
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    if (size > this.maxBinding) {
      throw new LimitError(`${label} needs ${formatBytes(size)} but this GPU allows at most ${formatBytes(this.maxBinding)} per buffer`);
    }
    return size;
  }

  /** Creates a storage buffer holding `data`. */
  upload(label: string, data: ArrayBufferView, usage: number = 0): GPUBuffer {
    const buf = this.buffer(label, data.byteLength, usage);
    this.write(buf, data);
    return buf;
  }

  /** queue.writeBuffer in chunks that respect 4-byte alignment. */
  write(buf: GPUBuffer, data: ArrayBufferView, offsetBytes = 0): void {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const padded = bytes.byteLength % 4 === 0 ? bytes : padTo4(bytes);
    this.device.queue.writeBuffer(buf, offsetBytes, padded);
  }

  destroy(buf: GPUBuffer | undefined | null): void {
    if (!buf) return;
    const size = this.sizes.get(buf);
    if (size !== undefined) {
      this.allocatedBytes -= size;
      this.sizes.delete(buf);
    }
    buf.destroy();
  }

  /** Submits recorded work (counted). */
  submit(commands: GPUCommandBuffer): void {
    this.counts.submissions++;
    this.device.queue.submit([commands]);
  }

  /** Copies [offset, offset+bytes) of a storage buffer back to the host. */
  async read(buf: GPUBuffer, bytes = buf.size, offset = 0): Promise<ArrayBuffer> {
    const size = Math.ceil(bytes / 4) * 4;
    const staging = this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(buf, offset, staging, 0, size);
    this.submit(enc.finish());
    this.counts.readbacks++;
    await staging.mapAsync(GPUMapMode.READ);
    const out = staging.getMappedRange().slice(0, bytes);
    staging.unmap();
    staging.destroy();
    return out;
  }

  async readF32(buf: GPUBuffer, count?: number, offsetFloats = 0): Promise<Float32Array> {
    const n = count ?? buf.size / 4 - offsetFloats;
    return new Float32Array(await this.read(buf, n * 4, offsetFloats * 4));
  }

  async readU32(buf: GPUBuffer, count?: number, offsetWords = 0): Promise<Uint32Array> {
    const n = count ?? buf.size / 4 - offsetWords;
    return new Uint32Array(await this.read(buf, n * 4, offsetWords * 4));
  }

  /**
   * Runs `make` (GPU allocations, made synchronously) in an out-of-memory error scope. When the
   * device could not provide the memory, `undo` releases what was made and a LimitError says what
   * was being made, how much it asked for, and `advice`; what existed before is untouched. A
   * validation scope beneath catches the errors of writing into buffers that failed to allocate
   * (without an out-of-memory error it is a bug, thrown as such).
   */
  async guardMemory<T>(what: string, advice: readonly LimitAdvice[], make: () => T, undo: (made: T) => void): Promise<T> {
    const before = this.allocatedBytes;
    this.device.pushErrorScope('validation');
    this.device.pushErrorScope('out-of-memory');
    let made: T;
    try {
      made = make();
    } catch (e) {
      void this.device.popErrorScope();
      void this.device.popErrorScope();
      throw e;
    }
    // Both scopes are popped before awaiting either, so work other tasks issue meanwhile cannot
    // land in the validation scope and be blamed on this allocation.
    const [outOfMemory, invalid] = await Promise.all([this.device.popErrorScope(), this.device.popErrorScope()]);
    if (!outOfMemory && !invalid) return made;
    const asked = this.allocatedBytes - before;
    undo(made);
    if (!outOfMemory) throw new Error(`WebGPU error ${what}: ${invalid!.message}`);
    throw new LimitError(`The GPU ran out of memory ${what} (${formatBytes(asked)} asked for, ${formatBytes(before)} already in use)`, advice);
  }

  /** Resolves when all submitted work has finished, and surfaces validation errors. */
  async sync(): Promise<void> {
    await this.device.queue.onSubmittedWorkDone();
  }
}

/**
 * Per-kernel GPU time from timestamp queries: each dispatch gets its own compute pass with
 * begin/end timestamps; totals accumulate by kernel label. Profiling splits passes, so it is
 * only switched on by benchmarks and diagnostics.
 */
export class KernelProfiler {
  private readonly querySet: GPUQuerySet;
  private readonly resolve: GPUBuffer;
  private readonly capacity = 4096;
  private labels: string[] = [];
  readonly totals = new Map<string, { ms: number; count: number }>();
  private pending: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: GpuContext) {
    this.querySet = ctx.device.createQuerySet({ type: 'timestamp', count: this.capacity });
    this.resolve = ctx.device.createBuffer({ size: this.capacity * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  }

  /** Timestamp writes for the next dispatch, or null when the query set is full for this submit. */
  next(label: string): GPUComputePassTimestampWrites | null {
    const i = this.labels.length;
    if (2 * i + 2 > this.capacity) return null;
    this.labels.push(label);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Called before an encoder finishes: resolves this submit's queries and reads them afterwards. */
  finish(enc: GPUCommandEncoder): void {
    const labels = this.labels;
    this.labels = [];
    if (labels.length === 0) return;
    const bytes = labels.length * 16;
    const staging = this.ctx.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    enc.resolveQuerySet(this.querySet, 0, labels.length * 2, this.resolve, 0);
    enc.copyBufferToBuffer(this.resolve, 0, staging, 0, bytes);
    this.pending = this.pending.then(async () => {
      await staging.mapAsync(GPUMapMode.READ);
      const t = new BigUint64Array(staging.getMappedRange());
      labels.forEach((l, i) => {
        const ms = Number(t[2 * i + 1]! - t[2 * i]!) / 1e6;
        const e = this.totals.get(l) ?? { ms: 0, count: 0 };
        e.ms += ms;
        e.count++;
        this.totals.set(l, e);
      });
      staging.unmap();
      staging.destroy();
    });
  }

  async report(): Promise<{ label: string; ms: number; count: number }[]> {
    await this.pending;
    return [...this.totals.entries()].map(([label, v]) => ({ label, ...v })).sort((a, b) => b.ms - a.ms);
  }

  reset(): void {
    this.totals.clear();
  }
}

/**
 * What a user can change to make a run fit. The engine says which; each front end words it in
 * its own terms (the CLI's flags and option names, the studio's controls), so engine messages
 * never name a front end's controls.
 */
export type LimitAdvice =
  /** Downscale the images by at least this factor. */
  | { change: 'downscale'; factor: number }
  /** Train on fewer views. */
  | { change: 'fewer-views' }
  /** Fewer rays per batch. */
  | { change: 'batch' }
  /** A smaller final grid (fewer voxels). */
  | { change: 'final-grid' }
  /** Fewer components per factor (a smaller model). */
  | { change: 'components' };

/** A size this device cannot hold; `advice` lists what would make it fit. */
export class LimitError extends Error {
  constructor(
    message: string,
    readonly advice: readonly LimitAdvice[] = [],
  ) {
    super(message);
    this.name = 'LimitError';
  }
}

/** Human-readable binary size: "128 MiB", "1.5 KiB". */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const s = Number.isInteger(v) ? String(v) : v.toFixed(1);
  return `${s} ${units[i]}`;
}

function padTo4(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
  out.set(bytes);
  return out;
}

/** Requests a device with the adapter's own limits (not the small defaults), so buffer sizes can follow them. */
export async function contextFromAdapter(adapter: GPUAdapter): Promise<GpuContext> {
  const wanted: Record<string, number> = {};
  for (const key of [
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxComputeWorkgroupStorageSize',
    'maxComputeInvocationsPerWorkgroup',
    'maxComputeWorkgroupSizeX',
    'maxStorageBuffersPerShaderStage',
    'maxComputeWorkgroupsPerDimension',
  ] as const) {
    wanted[key] = adapter.limits[key];
  }
  // Timestamp queries let benchmarks time each kernel; they cost nothing unless profiling is on.
  const requiredFeatures: GPUFeatureName[] = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
  const device = await adapter.requestDevice({ requiredLimits: wanted, requiredFeatures });
  const info = adapter.info;
  const vendor = info?.vendor ?? '';
  const description = info?.description ?? '';
  const arch = info?.architecture ?? '';
  const dev = info?.device ?? '';
  const label = [description || [vendor, arch, dev].filter(Boolean).join(' ') || 'unknown adapter'].join('');
  const software =
    (info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter === true ||
    /swiftshader|llvmpipe|lavapipe|warp|software/i.test(`${label} ${vendor} ${arch}`);
  return new GpuContext(device, { vendor, architecture: arch, device: dev, description, label, software });
}
