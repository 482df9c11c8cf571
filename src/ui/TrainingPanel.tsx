// Training controls: the demo scene, a preset, start / pause / resume / stop, progress with
// iterations per second and time left (the live charts sit beside the render: TrainingCharts.tsx).
import { useMemo } from 'react';
import { HOLD_OUT } from '../run/session.ts';
import { formatBytes } from '../view/webgpu.ts';
import type { TrainingActions } from './controller.ts';
import { formatSeconds } from './format.ts';
import { STUDIO_MODELS, STUDIO_PRESETS, type StudioModel, type StudioPreset, type TrainRequest } from './presets.ts';
import { CheckpointStatus, SavedRuns } from './SavedRuns.tsx';
import { useStudio } from './store.ts';

export function TrainingPanel({ actions, request, setRequest }: { actions: TrainingActions; request: TrainRequest; setRequest: (r: TrainRequest) => void }) {
  const status = useStudio((s) => s.trainStatus);
  const dataset = useStudio((s) => s.datasetName);
  const scene = useStudio((s) => s.sceneName);
  const p = useStudio((s) => s.progress);
  const error = useStudio((s) => s.trainError);
  const notice = useStudio((s) => s.notice);
  const warnings = useStudio((s) => s.datasetWarnings);
  const loading = useStudio((s) => s.loading);
  const box = useStudio((s) => s.box);
  const downscale = useStudio((s) => s.downscale);
  const holdOut = useStudio((s) => s.holdOut);
  const setHoldOut = useStudio((s) => s.setHoldOut);
  const setDownscale = useStudio((s) => s.setDownscale);
  const pick = (files: FileList | null) => {
    if (files && files.length > 0) actions.openFiles(files, downscale);
  };
  const running = status === 'training' || status === 'paused';
  // The panel re-renders every training step; the estimate changes only with the request, the
  // dataset and its box (the grid follows the box's proportions).
  // biome-ignore lint/correctness/useExhaustiveDependencies: dataset and box are read by the session, not here; they are the triggers.
  const mem = useMemo(() => (dataset ? actions.estimate(request) : null), [actions, request, dataset, box]);
  const left = p.itPerSec > 0 ? (p.total - p.iter) / p.itPerSec : 0;
  return (
    <div className="training-panel">
      <button type="button" data-testid="load-demo" onClick={actions.loadDemo} disabled={running}>
        {dataset ? 'Reload demo scene' : 'Open the demo scene'}
      </button>
      <div className="open-row">
        <label className="file-button">
          Open a folder…
          {/* webkitdirectory is not in React's types; set through a spread. */}
          <input type="file" data-testid="open-folder" multiple disabled={running} onChange={(e) => pick(e.target.files)} {...{ webkitdirectory: '' }} />
        </label>
        <label
          className="file-button"
          title="Photos without poses (JPEG, PNG, WebP, HEIC) or one video (MP4, MOV, WebM): their camera poses are computed first"
        >
          Open photos or a video…
          <input
            type="file"
            accept="image/*,.heic,.heif,video/*,.mp4,.mov,.m4v,.webm,.mkv"
            data-testid="open-photos"
            multiple
            disabled={running}
            onChange={(e) => pick(e.target.files)}
          />
        </label>
        <label className="file-button">
          Open a .zip…
          <input type="file" accept=".zip,application/zip" data-testid="open-zip" disabled={running} onChange={(e) => pick(e.target.files)} />
        </label>
        <label className="file-button">
          Open a scene file…
          <input
            type="file"
            accept=".slimscene"
            data-testid="open-scene"
            disabled={running}
            onChange={(e) => {
              const f = e.target.files?.[0];
              if (f) actions.openScene(f);
              e.target.value = '';
            }}
          />
        </label>
        <label className="field-row inline">
          downscale
          <select value={downscale} onChange={(e) => setDownscale(Number(e.target.value))} data-testid="downscale">
            {[1, 2, 4, 8].map((k) => (
              <option key={k} value={k}>
                1/{k}
              </option>
            ))}
          </select>
        </label>
        <label
          className="field-row inline"
          title="For captures without a test split (COLMAP, LLFF, instant-ngp): every 8th view is held out to measure PSNR on views training never saw."
        >
          <input type="checkbox" checked={holdOut > 0} onChange={(e) => setHoldOut(e.target.checked ? HOLD_OUT : 0)} data-testid="hold-out" />
          hold out every 8th view for testing
        </label>
      </div>
      <p className="muted small">
        Blender (transforms_train.json), instant-ngp / nerfstudio (transforms.json) COLMAP (sparse/0, binary or text, beside images/) or LLFF (poses_bounds.npy
        beside images/) layouts; or drop a folder, a .zip or a .slimscene on the viewport.
      </p>
      {loading && (
        <p className="muted" data-testid="loading">
          {loading}
        </p>
      )}
      {dataset && (
        <p className="muted" data-testid="dataset-name">
          Dataset: {dataset}
        </p>
      )}
      {scene && (
        <p className="muted" data-testid="scene-name">
          Scene: {scene}
        </p>
      )}
      {warnings.length > 0 && (
        <ul className="warnings" data-testid="dataset-warnings">
          {warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}
      {/* Near the top: reopening the studio on the same data offers to continue where it stopped. */}
      <SavedRuns actions={actions} />
      <label className="field-row">
        Model
        <select value={request.model} onChange={(e) => setRequest({ ...request, model: e.target.value as StudioModel })} disabled={running} data-testid="model">
          {Object.entries(STUDIO_MODELS).map(([k, v]) => (
            <option key={k} value={k}>
              {v.label}
            </option>
          ))}
        </select>
      </label>
      <label className="field-row">
        Preset
        <select
          value={request.preset}
          onChange={(e) => setRequest({ ...request, preset: e.target.value as StudioPreset })}
          disabled={running}
          data-testid="preset"
        >
          {Object.entries(STUDIO_PRESETS).map(([k, v]) => (
            <option key={k} value={k}>
              {v.label} ({STUDIO_MODELS[request.model].presets[k as StudioPreset]}, {v.options.n_iters.toLocaleString()} iterations, grid up to{' '}
              {Math.round(Math.cbrt(v.options.N_voxel_final))}³)
            </option>
          ))}
        </select>
      </label>
      {request.model === 'slimmerf' && (
        <label
          className="field-row inline"
          title="TRaIn: a rank group is added when the batch loss changes by more than υ from one iteration to the next (paper: 0.4 for synthetic scenes, 0.2 for Tanks and Temples, 0.1 for sparse LLFF)"
        >
          Rank growth υ
          <input
            type="number"
            min={0.01}
            step={0.05}
            value={request.upsilon}
            disabled={running}
            data-testid="upsilon"
            onChange={(e) => {
              const u = Number(e.target.value);
              if (u > 0) setRequest({ ...request, upsilon: u });
            }}
          />
        </label>
      )}
      <label
        className="field-row"
        title="What the model covers: the box around the object, all of space with the surroundings contracted around it, or what a forward-facing capture sees in front of it (NDC)"
      >
        Surroundings
        <select
          value={request.contract}
          onChange={(e) => setRequest({ ...request, contract: e.target.value as TrainRequest['contract'] })}
          disabled={running}
          data-testid="contract"
        >
          <option value="auto">Automatic (model them for captures with a background)</option>
          <option value="on">Model them (scene contraction)</option>
          <option value="ndc">Model them in front (NDC, forward-facing captures)</option>
          <option value="off">Box only (plain background)</option>
        </select>
      </label>
      <label
        className="field-row inline"
        title={
          request.model === 'strivec'
            ? 'Pose refinement needs the spatial gradient of a VM or CP field; Strivec trains without it'
            : "Train a correction of every camera's pose with the field, through a blur that narrows over the first 30% of training (for captures whose poses are a little off: phones, hand alignment)"
        }
      >
        <input
          type="checkbox"
          checked={request.refinePoses && request.model !== 'strivec'}
          disabled={running || request.model === 'strivec'}
          data-testid="refine-poses"
          onChange={(e) => setRequest({ ...request, refinePoses: e.target.checked })}
        />
        Refine camera poses
      </label>
      <label className="field-row inline" title="Sparse-view mode: train on only some of the views, evenly spaced">
        Training views
        <input
          type="number"
          min={0}
          step={1}
          value={request.trainViews || ''}
          placeholder="all"
          disabled={running}
          data-testid="train-views"
          onChange={(e) => setRequest({ ...request, trainViews: Math.max(0, Math.floor(Number(e.target.value) || 0)) })}
        />
      </label>
      {mem && (
        <p className={mem.problem ? 'error' : 'muted small'} data-testid="memory-estimate">
          {mem.problem
            ? `Cannot fit: ${mem.problem}`
            : `GPU memory up to ${formatBytes(mem.total)} (every sample shaded, as early in training): parameters ${formatBytes(mem.parameters)} at ${mem.finalGrid.join('×')}, images ${formatBytes(mem.images)}, batch buffers up to ${formatBytes(mem.batch)}.${mem.note ? ` ${mem.note}.` : ''}`}
        </p>
      )}
      {mem && (
        <p className="muted small" data-testid="scene-space">
          {mem.ndc
            ? "Surroundings modelled in NDC: the mean camera's view from its near plane to infinity, spaced in disparity (forward-facing captures)."
            : mem.contracted
              ? 'Surroundings modelled: all of space is contracted around the box, the grid covering twice its size.'
              : 'Box only: what lies outside the box is the plain background colour.'}
        </p>
      )}
      {mem && mem.sized.length > 0 && (
        <p className="muted small" data-testid="preset-sized">
          Sized for this GPU: {mem.sized.join('; ')}.
        </p>
      )}
      <div className="button-row">
        {!running && (
          <button type="button" data-testid="train" onClick={() => actions.start(request)} disabled={!dataset || !!mem?.problem}>
            {status === 'done' ? 'Train again' : 'Train'}
          </button>
        )}
        {status === 'training' && (
          <button type="button" data-testid="pause" onClick={actions.pause}>
            Pause
          </button>
        )}
        {status === 'paused' && (
          <button type="button" data-testid="resume" onClick={actions.resume}>
            Resume
          </button>
        )}
        {running && (
          <button type="button" data-testid="stop" onClick={actions.stop}>
            Stop
          </button>
        )}
      </div>
      {p.total > 0 && (
        <div className="progress" data-testid="progress">
          <progress max={p.total} value={p.iter} />
          <div className="progress-text">
            <span data-testid="iteration">{p.iter}</span> / {p.total} · {p.itPerSec.toFixed(2)} it/s
            {status === 'training' && left > 0 && ` · ${formatSeconds(left)} left`}
            {status === 'paused' && ' · paused'}
            {status === 'done' && ' · done'}
          </div>
          <div className="muted small">
            {p.samples.toLocaleString()} samples, {p.shaded.toLocaleString()} shaded per batch · GPU memory in use {formatBytes(p.gpuBytes)}
          </div>
          {p.lastEvent && <div className="muted small">{p.lastEvent}</div>}
        </div>
      )}
      {notice && (
        <p className="notice" role="status" data-testid="notice">
          {notice}
        </p>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {dataset && <CheckpointStatus />}
    </div>
  );
}
