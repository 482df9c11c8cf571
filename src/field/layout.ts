// The factor layouts by model kind, and what follows from a layout for every model: its tensors in
// arena order and their components. The interface they implement is layouts/field-layout.ts; a
// new model is a new file in layouts/ and a line in LAYOUTS.

import { shadingSegments } from '../shading/shading.ts';
import type { Box, Vec3 } from './geometry.ts';
import { cpLayout } from './layouts/cp.ts';
import type { FieldLayout } from './layouts/field-layout.ts';
import { strivecLayout } from './layouts/strivec.ts';
import { vmLayout } from './layouts/vm.ts';
import { appWidthOf, type FieldSettings, type ModelKind, type SegmentShape } from './settings.ts';

const LAYOUTS: Record<ModelKind, FieldLayout> = { vm: vmLayout, cp: cpLayout, strivec: strivecLayout };

export const MODEL_KINDS = Object.keys(LAYOUTS) as ModelKind[];

export function layoutOf(kind: ModelKind): FieldLayout {
  const l = LAYOUTS[kind];
  if (!l) throw new Error(`unknown model kind ${JSON.stringify(kind)} (known: ${MODEL_KINDS.join(', ')})`);
  return l;
}

/**
 * Every tensor of a model in arena order: the layout's factors (and index tables), the basis
 * (appDim x appearance width) and the shading weights. The arena, the model files and the scene
 * format all follow this list.
 */
export function fieldSegments(s: FieldSettings, box: Box, grid: Vec3): SegmentShape[] {
  const out = layoutOf(s.kind).factorSegments(s, box, grid);
  out.push({ name: 'basis', count: s.shading.appDim * appWidthOf(s), components: 1, group: 'dense' });
  for (const w of shadingSegments(s.shading)) out.push({ name: w.name, count: w.count, components: 1, group: 'dense' });
  return out;
}

/** Components per texel of a factor segment ("density.plane1", "app.level0", ...). */
export function segmentComponents(s: FieldSettings, segment: string): number {
  return layoutOf(s.kind).componentsOf(s, segment);
}
