// The dataset view: the cameras as frustums with their photos and the scene box in 3D (three.js,
// loaded lazily), a strip of thumbnails, the selected photo, and the box editor. The box is what
// the field will fill; it can be changed until training starts.
import { lazy, Suspense, useEffect, useMemo, useRef, useState } from 'react';
import type { Dataset, PosedView, SceneBox } from '../data/types.ts';
import { boxProblem, type Session } from '../run/session.ts';
import { paintView } from '../view/paint.ts';
import { type RenderedView, thumbnailPixels } from '../view/view-images.ts';
import { useStudio } from './store.ts';

const DatasetScene = lazy(() => import('./DatasetScene.tsx'));

/** Longest side of a thumbnail (strip and image planes) and of the selected photo. */
const THUMB_SIDE = 64;
const PHOTO_SIDE = 256;
/** Frustums drawn with their photo; beyond this only the outlines (textures cost memory). */
const MAX_TEXTURED = 300;

export interface DatasetPaneProps {
  session: Session;
  dataset: Dataset;
  /** Applies an edited box (throws with a message when it cannot). */
  onBox: (box: SceneBox) => void;
  /** The dataset's box as loaded. */
  loadedBox: SceneBox;
  /** Whether the box may still change (not while training runs). */
  editable: boolean;
}

/** Seconds between reads of the refined cameras while a run refines them. */
const REFINED_EVERY_MS = 3000;

/**
 * Pose refinement's cameras of the current run, read now, after each status change and every few
 * seconds while it trains; null when the run does not refine poses.
 */
function useRefinedCameras(session: Session, dataset: Dataset): { cameras: PosedView[]; views: number[] } | null {
  const status = useStudio((s) => s.trainStatus);
  const [refined, setRefined] = useState<{ cameras: PosedView[]; views: number[] } | null>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new dataset or run status is what makes new cameras.
  useEffect(() => {
    let live = true;
    const read = () =>
      session
        .refinedCameras()
        .then((r) => live && setRefined(r))
        .catch(() => {});
    void read();
    const timer = status === 'training' ? setInterval(read, REFINED_EVERY_MS) : null;
    return () => {
      live = false;
      if (timer) clearInterval(timer);
    };
  }, [session, dataset, status]);
  return refined;
}

/** Mean rotation (degrees) and centre distance between given and refined cameras. */
function refinementShift(given: readonly PosedView[], refined: readonly PosedView[]): { deg: number; dist: number } {
  let deg = 0;
  let dist = 0;
  refined.forEach((r, i) => {
    const g = given[i]!.c2w;
    const m = r.c2w;
    // trace(Rgᵀ Rr) = 1 + 2 cos θ.
    let trace = 0;
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) trace += g[b * 4 + a]! * m[b * 4 + a]!;
    deg += (Math.acos(Math.min(1, Math.max(-1, (trace - 1) / 2))) * 180) / Math.PI;
    dist += Math.hypot(m[3]! - g[3]!, m[7]! - g[7]!, m[11]! - g[11]!);
  });
  return { deg: deg / Math.max(1, refined.length), dist: dist / Math.max(1, refined.length) };
}

export function DatasetPane({ session, dataset, onBox, loadedBox, editable }: DatasetPaneProps) {
  const box = useStudio((s) => s.box) ?? loadedBox;
  const train = dataset.splits.train!;
  const test = dataset.splits.test;
  const [selected, setSelected] = useState(0);
  const refined = useRefinedCameras(session, dataset);
  const shift = refined
    ? refinementShift(
        refined.views.map((v) => train.cameras[v]!),
        refined.cameras,
      )
    : null;
  const thumbs = useMemo(
    () =>
      train.images.map((img, i) =>
        i < MAX_TEXTURED ? thumbnailPixels(img, train.cameras[i]!.width, train.cameras[i]!.height, dataset.whiteBackground, THUMB_SIDE) : null,
      ),
    [dataset, train],
  );
  return (
    <div className="dataset-pane" data-testid="dataset-view">
      <div className="dataset-main">
        <div className="dataset-3d">
          <Suspense fallback={<div className="viewport-message">Loading the 3D view…</div>}>
            <DatasetScene
              train={train.cameras}
              test={test?.cameras ?? []}
              thumbs={thumbs}
              box={box}
              points={dataset.points ?? null}
              refined={refined?.cameras ?? []}
              selected={selected}
              onSelect={setSelected}
            />
          </Suspense>
          <div className="viewport-hint">
            <span className="legend-train">■</span> training cameras · <span className="legend-test">■</span> test cameras ·{' '}
            <span className="legend-box">■</span> scene box
            {refined ? (
              <>
                {' '}
                · <span className="legend-refined">■</span> refined cameras
              </>
            ) : null}
            {dataset.points ? ` · ${(dataset.points.xyz.length / 3).toLocaleString()} sparse points` : ''} · drag to orbit, right-drag to pan, wheel to zoom ·
            click a photo to select it
          </div>
        </div>
        <aside className="dataset-side">
          {refined && shift && (
            <p className="muted small" data-testid="refined-poses" data-cameras={refined.cameras.length} data-degrees={shift.deg} data-distance={shift.dist}>
              Refined poses: {refined.cameras.length} cameras moved {shift.deg.toFixed(2)}° and {shift.dist.toPrecision(2)} units on average from the given
              ones.
            </p>
          )}
          <SelectedPhoto dataset={dataset} index={selected} />
          <BoxEditor box={box} loadedBox={loadedBox} onBox={onBox} editable={editable} />
        </aside>
      </div>
      <div className="thumb-strip" role="listbox" aria-label="training photos">
        {thumbs.map((t, i) => (
          <Thumbnail key={train.names[i] ?? i} view={t} name={train.names[i] ?? `view ${i}`} selected={i === selected} onClick={() => setSelected(i)} />
        ))}
      </div>
    </div>
  );
}

function Thumbnail({ view, name, selected, onClick }: { view: RenderedView | null; name: string; selected: boolean; onClick: () => void }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (view) paintView(canvas.current, view);
  }, [view]);
  return (
    <canvas
      ref={canvas}
      width={view?.width ?? THUMB_SIDE}
      height={view?.height ?? THUMB_SIDE}
      className={selected ? 'thumb selected' : 'thumb'}
      data-testid="thumbnail"
      role="option"
      aria-selected={selected}
      title={name}
      onClick={onClick}
    />
  );
}

function SelectedPhoto({ dataset, index }: { dataset: Dataset; index: number }) {
  const train = dataset.splits.train!;
  const canvas = useRef<HTMLCanvasElement>(null);
  const cam = train.cameras[index]!;
  const view = useMemo(() => thumbnailPixels(train.images[index]!, cam.width, cam.height, dataset.whiteBackground, PHOTO_SIDE), [dataset, train, index, cam]);
  useEffect(() => paintView(canvas.current, view), [view]);
  const fov = (2 * Math.atan(cam.height / 2 / cam.fy) * 180) / Math.PI;
  return (
    <figure className="selected-photo" data-testid="selected-photo">
      <canvas ref={canvas} width={view.width} height={view.height} />
      <figcaption>
        {train.names[index]} · {cam.width}×{cam.height} · vertical field of view {fov.toFixed(1)}°{cam.distortion ? ' · lens distortion' : ''}
      </figcaption>
    </figure>
  );
}

const AXES = ['x', 'y', 'z'] as const;

/** Min and max of the box per axis; applied as soon as the numbers make a valid box. */
function BoxEditor({ box, loadedBox, onBox, editable }: { box: SceneBox; loadedBox: SceneBox; onBox: (b: SceneBox) => void; editable: boolean }) {
  // Text as typed, so a half-typed number ("-", "1.") is not overwritten.
  const [text, setText] = useState(() => box.map((v) => v.map(String)));
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => setText(box.map((v) => v.map(String))), [box]);
  const edit = (side: 0 | 1, axis: number, value: string) => {
    const next = text.map((v) => [...v]);
    next[side]![axis] = value;
    setText(next);
    const nums = next.map((v) => v.map((x) => (x.trim() === '' ? NaN : Number(x)))) as SceneBox;
    const why = boxProblem(nums);
    setProblem(why);
    if (!why) apply(nums);
  };
  const apply = (b: SceneBox) => {
    try {
      onBox(b);
      setProblem(null);
    } catch (e) {
      setProblem((e as Error).message);
    }
  };
  const scale = (f: number) => {
    const c = box[0].map((lo, i) => (lo + box[1][i]!) / 2);
    apply([box[0].map((lo, i) => round(c[i]! + (lo - c[i]!) * f)), box[1].map((hi, i) => round(c[i]! + (hi - c[i]!) * f))] as SceneBox);
  };
  return (
    <fieldset className="box-editor" disabled={!editable} data-testid="box-editor">
      <legend>Scene box</legend>
      <p className="muted small">
        The field is finest inside this box. Outside it the surroundings are either modelled coarser or shown as plain background (Surroundings, in the training
        panel). {editable ? 'Change it before training.' : 'Fixed while training runs.'}
      </p>
      <table>
        <thead>
          <tr>
            <th />
            {AXES.map((a) => (
              <th key={a}>{a}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {(['min', 'max'] as const).map((label, side) => (
            <tr key={label}>
              <th>{label}</th>
              {AXES.map((a, axis) => (
                <td key={a}>
                  <input
                    type="number"
                    step={0.1}
                    value={text[side]![axis]}
                    aria-label={`box ${label} ${a}`}
                    data-testid={`box-${label}-${a}`}
                    onChange={(e) => edit(side as 0 | 1, axis, e.target.value)}
                  />
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <div className="button-row">
        <button type="button" onClick={() => scale(0.9)} data-testid="box-shrink" title="Shrink by 10% around the centre">
          Shrink
        </button>
        <button type="button" onClick={() => scale(1 / 0.9)} data-testid="box-grow" title="Grow by 11% around the centre">
          Grow
        </button>
        <button type="button" onClick={() => apply(loadedBox)} data-testid="box-reset" title="The dataset's own box">
          Reset
        </button>
      </div>
      {problem && (
        <p className="error small" role="alert" data-testid="box-problem">
          {problem}
        </p>
      )}
    </fieldset>
  );
}

const round = (x: number) => Math.round(x * 1000) / 1000;
