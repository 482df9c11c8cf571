// Compute kernels and the encoder that batches their dispatches.
//
// Conventions every WGSL kernel follows:
// - one entry point per module, named `main`;
// - an optional `var<uniform> params: <Struct>` at @group(0) @binding(0); its layout is read from
//   the source by webgpu-utils, so host code sets fields by name;
// - storage buffers at the following bindings of group 0, bound BY NAME: the host passes
//   `buffers: { rays, samples, ... }` keyed by the WGSL variable names (read from the source by
//   webgpu-utils), and a missing, extra or misspelled name throws, naming the kernel;
// - 1-D work uses `linear_id(gid, nwg)` from gpu/wgsl.ts so dispatches larger than
//   maxComputeWorkgroupsPerDimension are folded into a 2-D grid (see `grid1d`).
import { makeShaderDataDefinitions, makeStructuredView, type StructDefinition, type StructuredView } from 'webgpu-utils';
import type { GpuContext } from './context.ts';

export type ParamValue = number | ArrayLike<number> | readonly ParamValue[] | { [field: string]: ParamValue };
export type ParamValues = Record<string, ParamValue>;

export class Kernel {
  readonly pipeline: GPUComputePipeline;
  readonly label: string;
  private readonly uniformView: StructuredView | null;
  /** Byte offset of each top-level params field (for fields the GPU fills in, DispatchArgs.patch). */
  private readonly fieldOffsets: ReadonlyMap<string, number>;
  /** Storage bindings of group 0 by WGSL variable name. */
  readonly storages: ReadonlyMap<string, number>;

  constructor(ctx: GpuContext, label: string, code: string, constants?: Record<string, number>) {
    this.label = label;
    const module = ctx.device.createShaderModule({ label, code });
    this.pipeline = ctx.device.createComputePipeline({
      label,
      layout: 'auto',
      compute: { module, entryPoint: 'main', constants },
    });
    const defs = makeShaderDataDefinitions(code);
    const u = defs.uniforms.params;
    this.uniformView = u ? makeStructuredView(u) : null;
    const fields = u && 'fields' in u.typeDefinition ? (u.typeDefinition as StructDefinition).fields : {};
    this.fieldOffsets = new Map(Object.entries(fields).map(([name, f]) => [name, f.offset]));
    this.storages = new Map(Object.entries(defs.storages).map(([name, d]) => [name, d.binding]));
    const bindings = [...(u ? [u.binding] : []), ...this.storages.values()].sort((a, b) => a - b);
    if (u && u.binding !== 0) throw new Error(`${label}: the params uniform must be @binding(0)`);
    if (bindings.some((b, i) => b !== i)) throw new Error(`${label}: bindings must run 0, 1, 2, ... without gaps (got ${bindings.join(', ')})`);
  }

  /** Bytes of the params struct (0 when the kernel has none). */
  get uniformSize(): number {
    return this.uniformView ? this.uniformView.arrayBuffer.byteLength : 0;
  }

  /** Byte offset of a top-level params field; throws naming the kernel when it has none. */
  fieldOffset(name: string): number {
    const at = this.fieldOffsets.get(name);
    if (at === undefined) throw new Error(`${this.label}: no params field "${name}"`);
    return at;
  }

  packParams(values: ParamValues): Uint8Array {
    if (!this.uniformView) throw new Error(`${this.label} takes no params`);
    this.uniformView.set(values);
    return new Uint8Array(this.uniformView.arrayBuffer.slice(0));
  }

  /** Bind group entries for buffers named as in the WGSL; throws on a missing or unknown name. */
  storageEntries(buffers: Readonly<Record<string, BufferBinding>>): GPUBindGroupEntry[] {
    for (const name of Object.keys(buffers)) {
      if (!this.storages.has(name)) throw new Error(`${this.label}: no storage binding "${name}" (it has ${[...this.storages.keys()].join(', ')})`);
    }
    return [...this.storages].map(([name, binding]) => {
      const b = buffers[name];
      if (!b) throw new Error(`${this.label}: storage binding "${name}" was not given a buffer`);
      return { binding, resource: Array.isArray(b) ? { buffer: b[0], offset: b[1], size: b[2] } : { buffer: b as GPUBuffer } };
    });
  }
}

const kernelCache = new WeakMap<GPUDevice, Map<string, Kernel>>();

/**
 * One compiled pipeline per device and key, made on first use (pipelines are slow to build on
 * SwiftShader). `source` is only called when the kernel is not cached yet.
 */
export function cachedKernel(ctx: GpuContext, key: string, source: () => string): Kernel {
  let store = kernelCache.get(ctx.device);
  if (!store) {
    store = new Map();
    kernelCache.set(ctx.device, store);
  }
  let k = store.get(key);
  if (!k) {
    k = new Kernel(ctx, key, source());
    store.set(key, k);
  }
  return k;
}

/** Splits a 1-D dispatch of `threads` invocations in groups of `wg` into at most 2-D workgroup counts. */
export function grid1d(ctx: GpuContext, threads: number, wg: number): [number, number] {
  const groups = Math.max(1, Math.ceil(threads / wg));
  const maxDim = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (groups <= maxDim) return [groups, 1];
  const y = Math.ceil(groups / maxDim);
  return [Math.ceil(groups / y), y];
}

/** A whole buffer, or a sub-range of one: [buffer, offsetBytes, sizeBytes]. */
export type BufferBinding = GPUBuffer | readonly [GPUBuffer, number, number];

export interface DispatchArgs {
  params?: ParamValues;
  /** Storage buffers by their WGSL variable names. */
  buffers: Readonly<Record<string, BufferBinding>>;
  /** Workgroup counts, or an indirect-args buffer (3 u32) with its byte offset. */
  workgroups: [number, number?, number?] | { indirect: GPUBuffer; offset?: number };
  /**
   * Params fields (u32) the GPU fills in just before the dispatch: field name -> the word a kernel
   * wrote earlier in the same submission (buffer, byte offset). Counts the host never reads back
   * size a kernel this way (gpu/indirect.ts); `params` gives the other fields and a placeholder.
   */
  patch?: Readonly<Record<string, readonly [GPUBuffer, number]>>;
}

/** Bytes of one slot of GPU-written dispatch sizes (Encoder.sizeSlot). */
export const SIZE_SLOT_BYTES = 32;
/** Slots per size buffer; an encoder takes more buffers when it needs more slots. */
const SIZE_SLOTS_PER_BUFFER = 512;

const UNIFORM_ALIGN = 256;

/**
 * Records dispatches into one command encoder. Uniform data for every dispatch goes into a shared
 * arena buffer, written once at submit: queue order guarantees earlier submissions already read
 * their values, so the arena is reused safely across submits.
 */
export class Encoder {
  private enc: GPUCommandEncoder;
  private pass: GPUComputePassEncoder | null = null;
  private staging = new Uint8Array(64 * 1024);
  private used = 0;
  private static arenas = new WeakMap<GPUDevice, GPUBuffer[]>();
  private arenaIndex = 0;
  private uniforms: GPUBuffer[];
  private static sizeBuffers = new WeakMap<GPUDevice, GPUBuffer[]>();
  private sizeSlots = 0;

  constructor(private readonly ctx: GpuContext) {
    this.enc = ctx.device.createCommandEncoder();
    let list = Encoder.arenas.get(ctx.device);
    if (!list) {
      list = [];
      Encoder.arenas.set(ctx.device, list);
    }
    this.uniforms = list;
  }

  private arena(index: number): GPUBuffer {
    while (this.uniforms.length <= index) {
      this.uniforms.push(
        this.ctx.device.createBuffer({
          label: `uniform-arena-${this.uniforms.length}`,
          size: this.staging.byteLength,
          usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
        }),
      );
    }
    return this.uniforms[index]!;
  }

  private pendingWrites: { buf: GPUBuffer; data: Uint8Array }[] = [];

  /**
   * A slot of SIZE_SLOT_BYTES for dispatch sizes a kernel writes and later commands of this
   * encoder read (indirect arguments, patched params). Slots are shared by every encoder of the
   * device and reused from the start by each: a slot is written and read within one submission,
   * and submissions run in queue order.
   */
  sizeSlot(): { buffer: GPUBuffer; offset: number } {
    let list = Encoder.sizeBuffers.get(this.ctx.device);
    if (!list) {
      list = [];
      Encoder.sizeBuffers.set(this.ctx.device, list);
    }
    const index = Math.floor(this.sizeSlots / SIZE_SLOTS_PER_BUFFER);
    // Made like the uniform arenas: device-wide scratch that lives with the device, not counted.
    while (list.length <= index) {
      list.push(
        this.ctx.device.createBuffer({
          label: `size-slots-${list.length}`,
          size: SIZE_SLOTS_PER_BUFFER * SIZE_SLOT_BYTES,
          usage: GPUBufferUsage.STORAGE | GPUBufferUsage.INDIRECT | GPUBufferUsage.COPY_SRC,
        }),
      );
    }
    const offset = (this.sizeSlots % SIZE_SLOTS_PER_BUFFER) * SIZE_SLOT_BYTES;
    this.sizeSlots++;
    return { buffer: list[index]!, offset };
  }

  dispatch(kernel: Kernel, args: DispatchArgs): void {
    const entries = kernel.storageEntries(args.buffers);
    if (kernel.uniformSize > 0) {
      if (!args.params) throw new Error(`${kernel.label}: params missing`);
      const data = kernel.packParams(args.params);
      const size = Math.ceil(data.byteLength / UNIFORM_ALIGN) * UNIFORM_ALIGN;
      if (this.used + size > this.staging.byteLength) this.flushArena();
      this.staging.set(data, this.used);
      const arena = this.arena(this.arenaIndex);
      entries.push({ binding: 0, resource: { buffer: arena, offset: this.used, size: data.byteLength } });
      // The arena is written at submit, before this encoder's commands run, so these copies land
      // on top of the host's values.
      for (const [field, [src, at]] of Object.entries(args.patch ?? {})) this.copy(src, at, arena, this.used + kernel.fieldOffset(field), 4);
      this.used += size;
    } else if (args.patch) {
      throw new Error(`${kernel.label} takes no params to patch`);
    }
    const group = this.ctx.device.createBindGroup({
      label: kernel.label,
      layout: kernel.pipeline.getBindGroupLayout(0),
      entries,
    });
    const timing = this.ctx.profiler?.next(kernel.label);
    if (timing) {
      this.endPass();
      this.pass = this.enc.beginComputePass({ timestampWrites: timing });
    } else if (!this.pass) {
      this.pass = this.enc.beginComputePass();
    }
    this.pass.setPipeline(kernel.pipeline);
    this.pass.setBindGroup(0, group);
    const w = args.workgroups;
    if (Array.isArray(w)) this.pass.dispatchWorkgroups(w[0], w[1] ?? 1, w[2] ?? 1);
    else this.pass.dispatchWorkgroupsIndirect(w.indirect, w.offset ?? 0);
    if (timing) this.endPass();
  }

  /** Buffer-to-buffer copy (ends the current compute pass). */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.endPass();
    this.enc.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  clear(buf: GPUBuffer, offset = 0, size?: number): void {
    this.endPass();
    this.enc.clearBuffer(buf, offset, size);
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  private flushArena(): void {
    this.pendingWrites.push({ buf: this.arena(this.arenaIndex), data: this.staging.slice(0, this.used) });
    this.arenaIndex++;
    this.used = 0;
  }

  submit(): void {
    this.endPass();
    this.ctx.profiler?.finish(this.enc);
    if (this.used > 0) this.flushArena();
    for (const w of this.pendingWrites) this.ctx.device.queue.writeBuffer(w.buf, 0, w.data);
    this.ctx.submit(this.enc.finish());
  }
}
