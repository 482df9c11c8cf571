// Export: the current model as a scene file at the slider's rank and a chosen precision, with its
// size predicted before saving; the current view as a PNG; a compact file measured per rank
// before saving (CompactExportPanel); the surface as a mesh, points or splats
// (GeometryExportPanel); a video along a camera path (VideoPanel).
import { zipSync } from 'fflate';
import { useState } from 'react';
import { PRECISIONS, type Precision, SCENE_EXTENSION } from '../formats/scene-file/header.ts';
import type { Session } from '../run/session.ts';
import { formatBytes } from '../view/webgpu.ts';
import { CompactExportPanel } from './CompactExportPanel.tsx';
import { download } from './download.ts';
import { GeometryExportPanel } from './GeometryExportPanel.tsx';
import { useStudio } from './store.ts';
import { VideoPanel } from './VideoPanel.tsx';

/** RGBA pixels as PNG bytes through the page's canvas encoder. */
async function encodePng(rgba: Uint8Array, width: number, height: number): Promise<Uint8Array> {
  const canvas = new OffscreenCanvas(width, height);
  canvas.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(rgba), width, height), 0, 0);
  return new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
}

export function ExportPanel({ session }: { session: Session }) {
  const slim = useStudio((s) => s.slim);
  const status = useStudio((s) => s.trainStatus);
  const name = useStudio((s) => s.datasetName ?? s.sceneName ?? 'scene');
  const [precision, setPrecision] = useState<Precision>('fp16');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!slim || !session.field) return null;
  const rank = slim.rank;
  const size = session.sceneSize(rank, precision);
  const base =
    name
      .replace(/\s*\(.*$/, '')
      .replace(/[^\w.-]+/g, '-')
      .replace(/^-|-$/g, '') || 'scene';
  const training = status === 'training';
  return (
    <div className="export-panel" data-testid="export-panel">
      <div className="field-row inline">
        <label className="field-row inline">
          precision
          <select value={precision} onChange={(e) => setPrecision(e.target.value as Precision)} data-testid="export-precision">
            {PRECISIONS.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
        <span className="muted small">
          rank {rank} of {slim.maxRank} ·{' '}
          <span data-testid="export-size" data-bytes={size.bytes} title={size.exact ? undefined : '8-bit files are compressed: the file will be smaller'}>
            {size.exact ? '' : 'at most '}
            {formatBytes(size.bytes)}
          </span>
        </span>
      </div>
      <div className="button-row">
        <button
          type="button"
          data-testid="export-scene"
          disabled={busy || training}
          title={training ? 'Pause or stop training to export' : undefined}
          onClick={() => {
            setBusy(true);
            setError(null);
            session
              .exportScene(rank, precision)
              .then(
                (bytes) =>
                  download(
                    new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }),
                    `${base}-rank${rank}-${precision}${SCENE_EXTENSION}`,
                  ),
                (e: unknown) => setError((e as Error).message),
              )
              .finally(() => setBusy(false));
          }}
        >
          Export scene…
        </button>
        <button
          type="button"
          data-testid="export-png"
          onClick={() => {
            const canvas = document.querySelector<HTMLCanvasElement>('[data-testid="render-canvas"]');
            canvas?.toBlob((blob) => blob && download(blob, `${base}-view.png`), 'image/png');
          }}
        >
          Save view as PNG
        </button>
        {session.hasPoses && (
          <button
            type="button"
            data-testid="export-poses"
            disabled={busy || training}
            title={
              training
                ? 'Pause or stop training to export'
                : session.refinesPoses
                  ? 'The training photos with their refined cameras as a capture that opens again: transforms.json, a COLMAP model (sparse/0) and images/'
                  : 'Your photos with the cameras computed for them as a capture that opens again: transforms.json, a COLMAP model (sparse/0) and images/'
            }
            onClick={() => {
              setBusy(true);
              setError(null);
              session
                .posesCapture(encodePng)
                .then(
                  ({ files }) =>
                    download(
                      new Blob([zipSync(Object.fromEntries(files), { level: 0 }) as Uint8Array<ArrayBuffer>], { type: 'application/zip' }),
                      `${base}-${session.refinesPoses ? 'refined-' : ''}poses.zip`,
                    ),
                  (e: unknown) => setError((e as Error).message),
                )
                .finally(() => setBusy(false));
            }}
          >
            {session.refinesPoses ? 'Refined cameras (.zip)' : 'Camera poses (.zip)'}
          </button>
        )}
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <h3>Compact file</h3>
      <CompactExportPanel
        key={`compact-${session.fingerprint?.crc ?? 'no-dataset'}`}
        session={session}
        base={base}
        disabled={training ? 'Pause or stop training to export' : null}
        onDone={(c) => useStudio.getState().setCompactBytes(c.prefixBytes)}
      />
      <h3>Mesh, points, splats</h3>
      <GeometryExportPanel session={session} rank={rank} base={base} disabled={training ? 'Pause or stop training to export' : null} />
      <h3>Video</h3>
      <VideoPanel
        key={session.fingerprint?.crc ?? 'no-dataset'}
        session={session}
        rank={rank}
        base={base}
        disabled={training ? 'Pause or stop training to render a video' : null}
      />
    </div>
  );
}
