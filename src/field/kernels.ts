// The field kernels (field.wgsl.ts) of a model: one compiled variant per factor layout and device.
import type { GpuContext } from '../gpu/context.ts';
import { cachedKernel, type Kernel } from '../gpu/kernel.ts';
import {
  appBackwardWgsl,
  appForwardWgsl,
  appPositionWgsl,
  densityBackwardWgsl,
  densityForwardWgsl,
  densityGridWgsl,
  densityPositionWgsl,
  type LayoutWgsl,
  texelWeightWgsl,
} from './field.wgsl.ts';
import { layoutOf } from './layout.ts';
import type { FieldSettings } from './settings.ts';

const SOURCES = {
  densityForward: densityForwardWgsl,
  densityBackward: densityBackwardWgsl,
  densityGrid: densityGridWgsl,
  appForward: appForwardWgsl,
  appBackward: appBackwardWgsl,
  appPosition: appPositionWgsl,
  densityPosition: densityPositionWgsl,
  texelWeight: texelWeightWgsl,
} satisfies Record<string, (layout: LayoutWgsl) => string>;

export type FieldKernelName = keyof typeof SOURCES;

/** Kernel `name` compiled for the layout of `settings`. */
export function fieldKernel(ctx: GpuContext, settings: Pick<FieldSettings, 'kind'>, name: FieldKernelName): Kernel {
  return cachedKernel(ctx, `${name}.${settings.kind}`, () => SOURCES[name](layoutOf(settings.kind).wgsl));
}
