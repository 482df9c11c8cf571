// The geometric exports of a trained field, by kind: what the CLI's mesh/points/splats commands
// and the studio's Export panel call. Each extracts the field's surface (surface.ts) and writes
// one file format.
import type { TensorField } from '../field/field.ts';
import type { ViewRenderer } from '../render/view-renderer.ts';
import { meshGlb } from './glb.ts';
import { meshPly, pointsPly, splatPly } from './ply.ts';
import { surfaceSplats } from './splats.ts';
import { extractSurface, type SurfaceOptions } from './surface.ts';

export const EXPORT_KINDS = ['mesh-glb', 'mesh-ply', 'points', 'splats'] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];

/** File name endings by kind. */
export const EXPORT_SUFFIX: Record<ExportKind, string> = {
  'mesh-glb': '.glb',
  'mesh-ply': '.ply',
  points: '.points.ply',
  splats: '.splats.ply',
};

export interface GeometryExport {
  kind: ExportKind;
  bytes: Uint8Array;
  /** Mesh vertices, points or splats. */
  vertices: number;
  /** Triangles (meshes only; 0 otherwise). */
  triangles: number;
  /** The lattice the surface was extracted on. */
  resolution: number;
  seconds: number;
}

export async function exportGeometry(field: TensorField, renderer: ViewRenderer, kind: ExportKind, opt: SurfaceOptions): Promise<GeometryExport> {
  const t0 = performance.now();
  // Only a mesh is simplified (points and splats want the surface evenly covered); only splats
  // carry view-dependent colour (degree-1 SH, unless asked for degree 0).
  const s = await extractSurface(
    field,
    renderer,
    kind.startsWith('mesh')
      ? { ...opt, viewDependent: false }
      : { ...opt, simplify: undefined, viewDependent: kind === 'splats' && opt.viewDependent !== false },
  );
  const vertices = s.positions.length / 3;
  const bytes = kind === 'mesh-glb' ? await meshGlb(s) : kind === 'mesh-ply' ? meshPly(s) : kind === 'points' ? pointsPly(s) : splatPly(surfaceSplats(s));
  const triangles = kind.startsWith('mesh') ? s.indices.length / 3 : 0;
  return { kind, bytes, vertices, triangles, resolution: opt.resolution, seconds: (performance.now() - t0) / 1000 };
}
