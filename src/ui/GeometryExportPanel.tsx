// Geometry export: the field's surface as a coloured mesh (glb or PLY), a point cloud or Gaussian
// splats, at the slider's rank. Extraction runs first with a progress bar and Cancel; the file's
// size and counts are shown before it is saved.
import { useState } from 'react';
import { DEFAULT_LEVEL, DEFAULT_RESOLUTION, EXPORT_KINDS, EXPORT_SUFFIX, type ExportKind, type GeometryExport, type Session } from '../run/session.ts';
import { formatBytes } from '../view/webgpu.ts';
import { download } from './download.ts';
import { ProgressBar } from './ProgressBar.tsx';
import { useJob } from './use-job.ts';

const KIND_LABEL: Record<ExportKind, string> = {
  'mesh-glb': 'Mesh, binary glTF (.glb)',
  'mesh-ply': 'Mesh, PLY',
  points: 'Point cloud, PLY',
  splats: 'Gaussian splats, 3DGS PLY',
};

/** Shares of a mesh's triangles to keep (meshoptimizer's simplifier; 1 keeps them all). */
const SIMPLIFY = [1, 0.5, 0.25, 0.1];

/** Lattice sizes offered: coarse and quick to fine and slow (time and memory grow as the cube). */
const RESOLUTIONS = [64, 128, DEFAULT_RESOLUTION, 384, 512];

export function GeometryExportPanel({ session, rank, base, disabled }: { session: Session; rank: number; base: string; disabled: string | null }) {
  const [kind, setKind] = useState<ExportKind>('mesh-glb');
  const [resolution, setResolution] = useState(DEFAULT_RESOLUTION);
  const [simplify, setSimplify] = useState(1);
  const mesh = kind.startsWith('mesh');
  const { progress, result, error, start, cancel } = useJob<GeometryExport & { rank: number }>('Export cancelled.');

  const extract = () =>
    start(async (signal, report) => ({
      ...(await session.exportGeometry(kind, {
        resolution,
        level: DEFAULT_LEVEL,
        rank,
        simplify: mesh ? simplify : undefined,
        signal,
        onProgress: (what, fraction) => report({ what, fraction }),
      })),
      rank,
    }));

  return (
    <div className="geometry-export" data-testid="geometry-export">
      <div className="field-row inline">
        <select value={kind} onChange={(e) => setKind(e.target.value as ExportKind)} data-testid="geometry-kind" aria-label="geometry format">
          {EXPORT_KINDS.map((k) => (
            <option key={k} value={k}>
              {KIND_LABEL[k]}
            </option>
          ))}
        </select>
        <label className="field-row inline" title="Lattice points along the box's longest side: finer surfaces, more triangles, longer extraction">
          lattice
          <select value={resolution} onChange={(e) => setResolution(Number(e.target.value))} data-testid="geometry-resolution">
            {RESOLUTIONS.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        {mesh && (
          <label className="field-row inline" title="Share of the triangles kept by meshoptimizer's simplifier (the shape is kept within 1% of its size)">
            triangles
            <select value={simplify} onChange={(e) => setSimplify(Number(e.target.value))} data-testid="geometry-simplify">
              {SIMPLIFY.map((f) => (
                <option key={f} value={f}>
                  {f === 1 ? 'all' : `${Math.round(f * 100)}%`}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      <div className="button-row">
        <button type="button" data-testid="geometry-extract" disabled={progress !== null || disabled !== null} title={disabled ?? undefined} onClick={extract}>
          Extract surface
        </button>
        {progress && (
          <button type="button" data-testid="geometry-cancel" onClick={cancel}>
            Cancel
          </button>
        )}
      </div>
      {progress && <ProgressBar progress={progress} testId="geometry-progress" />}
      {result && (
        <div className="button-row">
          <span className="muted small" data-testid="geometry-result" data-kind={result.kind} data-bytes={result.bytes.length} data-vertices={result.vertices}>
            {result.vertices.toLocaleString()} {result.kind === 'splats' ? 'splats' : result.kind === 'points' ? 'points' : 'vertices'}
            {result.triangles > 0 && `, ${result.triangles.toLocaleString()} triangles`} · {formatBytes(result.bytes.length)} · rank {result.rank} ·{' '}
            {result.seconds.toFixed(1)} s
          </span>
          <button
            type="button"
            data-testid="geometry-save"
            onClick={() =>
              download(
                new Blob([result.bytes as Uint8Array<ArrayBuffer>], { type: result.kind === 'mesh-glb' ? 'model/gltf-binary' : 'application/octet-stream' }),
                `${base}-rank${result.rank}${EXPORT_SUFFIX[result.kind]}`,
              )
            }
          >
            Save…
          </button>
        </div>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
