// Compact export: the model compressed by the importance of its texels over the training photos
// (planes pruned, vector-quantised and kept in 8 bits, then fine-tuned; run/compact-scene.ts), as a job with its
// stages' progress and Cancel. The file is reopened from its own bytes and measured before it is
// saved: the bytes a viewer needs and the held-out PSNR at the end of each rank block, beside the
// fp16 file's bytes, so the choice of rank is made on what will be shipped.
import { useState } from 'react';
import { SCENE_EXTENSION } from '../formats/scene-file/header.ts';
import type { CompactExport, CompactExportEvent, Session } from '../run/session.ts';
import { formatBytes } from '../view/webgpu.ts';
import { download } from './download.ts';
import { ProgressBar } from './ProgressBar.tsx';
import { useJob } from './use-job.ts';

const STAGE_LABEL: Record<CompactExportEvent['stage'], string> = {
  importance: 'weighing texels over the training photos',
  quantise: 'learning codebooks',
  finetune: 'fine-tuning the quantised model on the training photos',
  evaluate: 'measuring the file at each rank',
};

export function CompactExportPanel({
  session,
  base,
  disabled,
  onDone,
}: {
  session: Session;
  base: string;
  disabled: string | null;
  onDone?: (c: CompactExport) => void;
}) {
  const { progress, result, error, start, cancel } = useJob<CompactExport>('Compression cancelled.');
  const reason = disabled ?? (session.dataset ? null : 'A compact file needs the photos the model learned from: open its capture first');

  // The model a result was made of: a table stays only while that model is the one shown.
  const [madeOf, setMadeOf] = useState<object | null>(null);
  const current = result && madeOf === session.field ? result : null;

  const compress = () => {
    setMadeOf(session.field);
    start(
      (signal, report) =>
        session.compactScene({
          signal,
          onEvent: (e) => report({ what: `${STAGE_LABEL[e.stage]}: ${e.done} of ${e.total}`, fraction: e.total > 0 ? e.done / e.total : 0 }),
        }),
      onDone,
    );
  };

  return (
    <div className="compact-export" data-testid="compact-export">
      <div className="button-row">
        <button
          type="button"
          data-testid="compact-run"
          disabled={progress !== null || reason !== null}
          title={reason ?? 'Compress the model by the importance of its texels over the training photos, then show its size and quality at each rank'}
          onClick={compress}
        >
          Compact…
        </button>
        {progress && (
          <button type="button" data-testid="compact-cancel" onClick={cancel}>
            Cancel
          </button>
        )}
      </div>
      {progress && <ProgressBar progress={progress} testId="compact-progress" />}
      {current && (
        <>
          <table className="compact-table" data-testid="compact-table">
            <thead>
              <tr>
                <th>rank</th>
                <th>compact</th>
                <th>fp16</th>
                <th title="held-out PSNR of what the file decodes to">PSNR</th>
              </tr>
            </thead>
            <tbody>
              {current.ranks.map((r) => (
                <tr key={r.rank} data-rank={r.rank} data-bytes={r.bytes} data-fp16-bytes={r.fp16Bytes} data-psnr={r.psnr ?? ''}>
                  <td>{r.rank}</td>
                  <td>{formatBytes(r.bytes)}</td>
                  <td className="muted">{formatBytes(r.fp16Bytes)}</td>
                  <td>{r.psnr === null ? '—' : `${r.psnr.toFixed(2)} dB`}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="button-row">
            <span className="muted small">
              texels: {current.texels.kept.toLocaleString()} kept in 8 bits, {current.texels.coded.toLocaleString()} from codebooks,{' '}
              {current.texels.pruned.toLocaleString()} dropped
            </span>
            <button
              type="button"
              data-testid="compact-save"
              onClick={() =>
                download(new Blob([current.bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }), `${base}-compact${SCENE_EXTENSION}`)
              }
            >
              Save compact file…
            </button>
          </div>
        </>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
