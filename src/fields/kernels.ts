// One compiled pipeline per kernel per device (and, for the field kernels, per factor layout),
// created on first use.
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
import type { FactorLayout } from './tensorf.ts';

/** Kernels that read the factors: one variant per layout. */
const fieldSources = {
  densityForward: densityForwardWgsl,
  densityBackward: densityBackwardWgsl,
  densityGrid: densityGridWgsl,
  appForward: appForwardWgsl,
  appBackward: appBackwardWgsl,
};

const sources = {
  raygen: raygenWgsl,
  sample: sampleWgsl,
  rayFilter: rayFilterWgsl,
  compositeForward: compositeForwardWgsl,
  compositeBackward: compositeBackwardWgsl,
  maskBuild: maskBuildWgsl,
  tv: tvWgsl,
};

export type FieldKernels = { [K in keyof typeof sources | keyof typeof fieldSources]: Kernel };

const cache = new WeakMap<GPUDevice, Map<string, Kernel>>();

/** The kernels, with the field kernels of `layout` ('global' for VM and CP, 'local' for Strivec). */
export function fieldKernels(ctx: GpuContext, layout: FactorLayout = 'global'): FieldKernels {
  let store = cache.get(ctx.device);
  if (!store) {
    store = new Map();
    cache.set(ctx.device, store);
  }
  const c = store;
  return new Proxy({} as FieldKernels, {
    get(_t, name: string) {
      const perLayout = name in fieldSources;
      const key = perLayout ? `${name}.${layout}` : name;
      let k = c.get(key);
      if (!k) {
        const code = perLayout ? fieldSources[name as keyof typeof fieldSources](layout) : sources[name as keyof typeof sources];
        k = new Kernel(ctx, key, code);
        c.set(key, k);
      }
      return k;
    },
  });
}
