// The "Compute camera poses" step: photos opened without poses are posed by structure from motion
// in a worker. Progress by stage (reading, features, matching, images placed, bundle adjustment
// with its reprojection error), a 3D view where the cameras and points appear as photos are
// placed, then the photos that could not be placed with why (remove them, or add photos, and pose
// again: features already computed are reused), Save poses, and Continue to training.
import { lazy, Suspense, useMemo } from 'react';
import type { SceneBox } from '../data/types.ts';
import type { PosingSnapshot } from '../run/pose-worker-client.ts';
import type { TrainingActions } from './controller.ts';
import { type PosingState, useStudio } from './store.ts';

const DatasetScene = lazy(() => import('./DatasetScene.tsx'));

/** Points drawn at most (a live view does not need them all). */
const MAX_POINTS = 20_000;
const POINT_GREY = 190;

export function PosingPane({ actions }: { actions: TrainingActions }) {
  const posing = useStudio((s) => s.posing)!;
  const view = useMemo(() => sceneOf(posing.snapshot), [posing.snapshot]);
  const running = posing.status === 'running';
  return (
    <div className="dataset-pane" data-testid="posing-view" data-status={posing.status}>
      <div className="dataset-main">
        <div className="dataset-3d">
          {view ? (
            <Suspense fallback={<div className="viewport-message">Loading the 3D view…</div>}>
              <DatasetScene
                train={view.cameras}
                test={[]}
                thumbs={[]}
                box={view.box}
                points={view.points}
                refined={[]}
                selected={-1}
                onSelect={() => undefined}
              />
            </Suspense>
          ) : (
            <div className="viewport-message">{running ? 'The cameras appear here as photos are placed…' : 'No camera was placed.'}</div>
          )}
          <div className="viewport-hint">
            <span className="legend-train">■</span> cameras placed · points triangulated · drag to orbit, right-drag to pan, wheel to zoom
          </div>
        </div>
        <aside className="dataset-side" data-testid="posing-panel">
          <h3>Compute camera poses</h3>
          <p className="muted small">
            {posing.video
              ? `${posing.label}: a video. Its keyframes (the sharpest frame of each stretch, once the camera has moved) are posed in order by structure from motion on your GPU, in a worker, at a working size of at most 1024 pixels.`
              : `${posing.label}: ${posing.photos} photo${posing.photos === 1 ? '' : 's'} without camera poses. Structure from motion finds them on your GPU, in a worker; the photos are read one at a time, at a working size of at most 1024 pixels.`}
          </p>
          {posing.video && (
            <label className="field-row inline small">
              keyframes
              <input
                type="number"
                min={3}
                max={1000}
                value={posing.keyframeTarget}
                disabled={running}
                data-testid="posing-keyframe-target"
                onChange={(e) => actions.setKeyframeTarget(Number(e.target.value))}
              />
            </label>
          )}
          <label
            className="field-row inline small"
            title="The lens's field of view across the long edge of the picture, for photos without a focal length in their EXIF (a video has none). Empty: searched. A phone's main camera is about 65°."
          >
            field of view
            <input
              type="number"
              min={2}
              max={178}
              placeholder="searched"
              value={posing.fieldOfViewDeg ?? ''}
              disabled={running}
              data-testid="posing-fov"
              onChange={(e) => actions.setFieldOfView(e.target.value === '' ? null : Number(e.target.value))}
            />
            °
          </label>
          <Stages posing={posing} />
          {running && (
            <button type="button" data-testid="posing-cancel" onClick={actions.cancelPosing}>
              Cancel
            </button>
          )}
          {posing.status === 'cancelled' && <p className="muted small">Cancelled.</p>}
          {posing.error && (
            <p className="error" role="alert">
              {posing.error}
            </p>
          )}
          {!running && <Outcome posing={posing} actions={actions} />}
        </aside>
      </div>
    </div>
  );
}

function Stages({ posing }: { posing: PosingState }) {
  type Row = [string, string, [number, number] | null, string];
  const keyframes: Row[] = posing.video ? [['keyframes', 'Frames looked at', posing.keyframes, 'frames']] : [];
  const rows: Row[] = [
    ...keyframes,
    ['reading', posing.video ? 'Reading keyframes' : 'Reading photos', posing.reading, posing.video ? 'keyframes' : 'photos'],
    ['features', 'Features', posing.features, 'images'],
    ['matching', 'Pairs matched', posing.matching, 'pairs'],
    ['registered', 'Images placed', posing.registered, 'images'],
  ];
  return (
    <div className="progress" data-testid="posing-stages">
      {rows.map(([id, label, value, unit]) => (
        <div key={id} data-testid={`posing-${id}`} data-done={value?.[0] ?? 0} data-total={value?.[1] ?? 0}>
          <div className="progress-text small">
            {label}: {value ? `${value[0]} of ${value[1]} ${unit}` : '—'}
          </div>
          <progress max={value?.[1] || 1} value={value?.[0] ?? 0} />
        </div>
      ))}
      {posing.focal && posing.status === 'running' && <div className="muted small">{posing.focal}</div>}
      <div className="progress-text small" data-testid="posing-error-px" data-px={posing.reprojectionErrorPx ?? ''}>
        Bundle adjustment: {posing.reprojectionErrorPx === null ? '—' : `reprojection error ${posing.reprojectionErrorPx.toFixed(2)} px`}
      </div>
      {posing.seconds !== null && (
        <div className="muted small" data-testid="posing-seconds">
          {posing.seconds.toFixed(1)} s
        </div>
      )}
    </div>
  );
}

function Outcome({ posing, actions }: { posing: PosingState; actions: TrainingActions }) {
  const placed = posing.status === 'done' ? (posing.registered?.[0] ?? 0) : 0;
  return (
    <>
      {posing.status === 'done' && (
        <p className="small" data-testid="posing-summary">
          {placed} of {posing.photos} photos placed.
        </p>
      )}
      {posing.unregistered.length > 0 && !posing.video && (
        <div data-testid="posing-unplaced">
          <p className="small">Not placed:</p>
          <ul className="small">
            {posing.unregistered.map((u) => (
              <li key={u.file}>
                <strong>{u.file}</strong>: {u.reason}
              </li>
            ))}
          </ul>
          <button type="button" data-testid="posing-remove" onClick={() => actions.removePhotos(posing.unregistered.map((u) => u.file))}>
            Remove them and pose again
          </button>
        </div>
      )}
      {posing.notes.length > 0 && (
        <ul className="muted small" data-testid="posing-notes">
          {posing.notes.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      )}
      {posing.video && posing.unregistered.length > 0 && (
        <ul className="small" data-testid="posing-unplaced">
          {posing.unregistered.map((u) => (
            <li key={u.file}>
              <strong>{u.file}</strong>: {u.reason}
            </li>
          ))}
        </ul>
      )}
      <div className="button-row">
        {!posing.video && (
          <label className="file-button">
            Add photos…
            <input
              type="file"
              multiple
              accept="image/*,.heic,.heif"
              data-testid="posing-add"
              onChange={(e) => {
                actions.addPhotos([...(e.target.files ?? [])]);
                e.target.value = '';
              }}
            />
          </label>
        )}
        {(posing.status !== 'done' || posing.video) && (
          <button type="button" data-testid="posing-again" onClick={actions.poseAgain}>
            Pose again
          </button>
        )}
      </div>
      {posing.status === 'done' && placed > 0 && (
        <div className="button-row">
          <button type="button" data-testid="posing-continue" onClick={actions.continueToTraining}>
            Continue to training
          </button>
          <button
            type="button"
            data-testid="posing-save"
            title="The photos with their cameras as a capture that opens again: transforms.json, a COLMAP model (sparse/0, binary and text) and images/"
            onClick={() => void actions.savePoses()}
          >
            Save poses (.zip)
          </button>
        </div>
      )}
    </>
  );
}

/** The snapshot as the dataset view draws it: the cameras, the points in grey, and a box around the points' middle 90%. */
function sceneOf(
  snapshot: PosingSnapshot | null,
): { cameras: PosingSnapshot['cameras']; points: { xyz: Float32Array; rgb: Uint8Array }; box: SceneBox } | null {
  if (!snapshot || snapshot.cameras.length === 0) return null;
  const n = snapshot.xyz.length / 3;
  const step = Math.max(1, Math.ceil(n / MAX_POINTS));
  const xyz = new Float32Array(Math.ceil(n / step) * 3);
  for (let i = 0, j = 0; i < n; i += step, j++) xyz.set(snapshot.xyz.subarray(i * 3, i * 3 + 3), j * 3);
  const rgb = new Uint8Array(xyz.length).fill(POINT_GREY);
  const from = xyz.length >= 60 ? xyz : Float32Array.from(snapshot.cameras.flatMap((c) => [c.c2w[3]!, c.c2w[7]!, c.c2w[11]!]));
  const box = [0, 1, 2].map((axis) => {
    const v = Array.from({ length: from.length / 3 }, (_, i) => from[i * 3 + axis]!).sort((a, b) => a - b);
    const lo = v[Math.floor(0.05 * (v.length - 1))]!;
    const hi = v[Math.ceil(0.95 * (v.length - 1))]!;
    return hi > lo ? [lo, hi] : [lo - 0.5, hi + 0.5];
  });
  return {
    cameras: snapshot.cameras,
    points: { xyz, rgb },
    box: [
      [box[0]![0]!, box[1]![0]!, box[2]![0]!],
      [box[0]![1]!, box[1]![1]!, box[2]![1]!],
    ],
  };
}
