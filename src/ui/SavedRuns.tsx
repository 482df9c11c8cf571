// Checkpoints: the current run's last save (and whether saving fails), how often the studio saves,
// and the runs saved in this browser, each continued where it stopped or deleted.
import { formatBytes } from '../view/webgpu.ts';
import type { TrainingActions } from './controller.ts';
import { useStudio } from './store.ts';

export function CheckpointStatus() {
  const checkpoint = useStudio((s) => s.checkpoint);
  const problem = useStudio((s) => s.checkpointProblem);
  const seconds = useStudio((s) => s.checkpointSeconds);
  const setSeconds = useStudio((s) => s.setCheckpointSeconds);
  const status = useStudio((s) => s.trainStatus);
  const running = status === 'training' || status === 'paused';
  return (
    <div className="checkpoint-status">
      <label className="field-row inline" title="Training is saved in this browser this often, and on pause, stop and at the end">
        Save every
        <input
          type="number"
          min={1}
          step={1}
          value={seconds}
          disabled={running}
          data-testid="checkpoint-every"
          onChange={(e) => {
            const v = Math.floor(Number(e.target.value));
            if (v >= 1) setSeconds(v);
          }}
        />
        s
      </label>
      {checkpoint && (
        <p className="muted small" data-testid="checkpoint-status" data-iter={checkpoint.iter}>
          Saved at iteration {checkpoint.iter} ({formatBytes(checkpoint.bytes)}; training waited {Math.round(checkpoint.stallMs)} ms)
        </p>
      )}
      {problem && (
        <p className="error small" role="alert" data-testid="checkpoint-problem">
          {problem}
        </p>
      )}
    </div>
  );
}

export function SavedRuns({ actions }: { actions: TrainingActions }) {
  const runs = useStudio((s) => s.savedRuns);
  const crc = useStudio((s) => s.datasetCrc);
  const status = useStudio((s) => s.trainStatus);
  const dataset = useStudio((s) => s.datasetName);
  if (runs === null) return <p className="muted small">This browser offers no private storage: runs are not saved and a reload loses them.</p>;
  if (runs.length === 0) return null;
  const busy = status === 'training' || status === 'paused';
  return (
    <div className="saved-runs" data-testid="saved-runs">
      <h3>Saved runs</h3>
      <ul>
        {runs.map((r) => {
          const here = dataset !== null && r.crc === crc;
          return (
            <li key={r.file} data-testid="saved-run" data-iter={r.iter}>
              <div>
                <strong>{r.dataset}</strong> · {r.kind} · iteration {r.iter.toLocaleString()} of {r.nIters.toLocaleString()}
              </div>
              <div className="muted small">
                {formatBytes(r.bytes)} · saved {new Date(r.modified).toLocaleString()}
              </div>
              <div className="button-row">
                {here && r.iter < r.nIters && (
                  <button type="button" data-testid="resume-saved" disabled={busy} onClick={() => actions.continueSaved(r)}>
                    Resume training from iteration {r.iter.toLocaleString()}
                  </button>
                )}
                {here && r.iter >= r.nIters && (
                  <button type="button" data-testid="resume-saved" disabled={busy} onClick={() => actions.continueSaved(r)}>
                    Open the finished model
                  </button>
                )}
                {!here && <span className="muted small">open its dataset to continue it</span>}
                <button type="button" className="secondary" data-testid="delete-saved" disabled={busy && here} onClick={() => actions.deleteSaved(r)}>
                  Delete
                </button>
              </div>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
