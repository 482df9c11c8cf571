// One compiled pipeline per kernel per device, created on first use.
import type { GpuContext } from '../gpu/context.ts';
import { Kernel } from '../gpu/kernel.ts';
import {
  appBackwardWgsl,
  appForwardWgsl,
  densityBackwardWgsl,
  densityForwardWgsl,
  densityGridWgsl,
} from '../shaders/field.ts';
import {
  compositeBackwardWgsl,
  compositeForwardWgsl,
  maskBuildWgsl,
  rayFilterWgsl,
  raygenWgsl,
  sampleWgsl,
} from '../shaders/rays.ts';
import { tvWgsl } from '../shaders/tv.ts';

const sources = {
  raygen: raygenWgsl,
  sample: sampleWgsl,
  rayFilter: rayFilterWgsl,
  densityForward: densityForwardWgsl,
  densityBackward: densityBackwardWgsl,
  densityGrid: densityGridWgsl,
  appForward: appForwardWgsl,
  appBackward: appBackwardWgsl,
  compositeForward: compositeForwardWgsl,
  compositeBackward: compositeBackwardWgsl,
  maskBuild: maskBuildWgsl,
  tv: tvWgsl,
};

export type FieldKernels = { [K in keyof typeof sources]: Kernel };

const cache = new WeakMap<GPUDevice, Partial<FieldKernels>>();

export function fieldKernels(ctx: GpuContext): FieldKernels {
  let c = cache.get(ctx.device);
  if (!c) {
    c = {};
    cache.set(ctx.device, c);
  }
  const store = c;
  return new Proxy({} as FieldKernels, {
    get(_t, name: string) {
      const key = name as keyof FieldKernels;
      if (!store[key]) store[key] = new Kernel(ctx, key, sources[key]);
      return store[key];
    },
  });
}
