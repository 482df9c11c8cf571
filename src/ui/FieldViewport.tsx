// The live viewport: renders the field being trained through the engine (the same kernels as
// training and evaluation). Orbit, pan and zoom, or fly (drag to look, WASD to move): low
// frames sized to the measured frame time while the camera moves, refined up to the canvas's full
// resolution once it stops (progressive-view.ts); while training, renders take a stated, adjustable
// share of GPU time. Colour, depth or accumulation; or snap to a training camera to see the render
// beside its photo with the error between them (those renders coalesce: one in flight, one queued).
import { type ReactNode, useEffect, useRef, useState } from 'react';
import type { Session } from '../run/session.ts';
import { paintView } from '../view/paint.ts';
import { DEFAULT_VIEW_SHARE } from '../view/progressive.ts';
import { ProgressiveView } from '../view/progressive-view.ts';
import { drawTensorBoxes, LEVEL_COLOURS } from '../view/tensor-overlay.ts';
import { eyeOf, homePose, look, move, orbit, pan, poseCamera, type ViewPose, wheelZoom } from '../view/view-camera.ts';
import { depthRange, errorHeatmap, rgbPixels, type ViewMode, viewPixels } from '../view/view-images.ts';
import { useStudio } from './store.ts';

/** The viewport's choices of GPU share while training. */
const SHARES = [0.1, 0.25, 0.5, 1];
const MODES: [ViewMode, string][] = [
  ['color', 'Colour'],
  ['depth', 'Depth'],
  ['accumulation', 'Opacity'],
];
/** Radians per dragged pixel, and the share of the view distance one key press moves. */
const TURN = 0.01;
const STEP = 0.06;
/** The camera counts as still this long after the last key or wheel event. */
const SETTLE_MS = 200;
/** Fly keys: [right, up, forward] per press. */
const FLY_KEYS: Record<string, [number, number, number]> = {
  w: [0, 0, 1],
  arrowup: [0, 0, 1],
  s: [0, 0, -1],
  arrowdown: [0, 0, -1],
  a: [-1, 0, 0],
  arrowleft: [-1, 0, 0],
  d: [1, 0, 0],
  arrowright: [1, 0, 0],
  e: [0, 1, 0],
  q: [0, -1, 0],
};
export type Navigation = 'orbit' | 'fly';

/** `active`: the viewport is on screen; a hidden one skips its renders and catches up when shown. */
/** Parameter counts in the tensor toggles ("232K"). */
const COMPACT_COUNT = new Intl.NumberFormat('en', { notation: 'compact' });

export function FieldViewport({ session, active = true, children }: { session: Session; active?: boolean; children?: ReactNode }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const truthCanvas = useRef<HTMLCanvasElement>(null);
  const errorCanvas = useRef<HTMLCanvasElement>(null);
  // The camera: a pose (target, distance, azimuth, elevation) every navigation acts on.
  const home = () => homePose(session.view.radius, { cameras: session.trainingCameras, ndc: session.field?.settings.ndc });
  const pose = useRef<ViewPose>(home());
  const moving = useRef(false);
  const settle = useRef<ReturnType<typeof setTimeout> | null>(null);
  const [nav, setNav] = useState<Navigation>('orbit');
  const inFlight = useRef(false);
  const queued = useRef(false);
  const [mode, setMode] = useState<ViewMode>('color');
  const [snap, setSnap] = useState<number | null>(null);
  const [comparePsnr, setComparePsnr] = useState<number | null>(null);
  // Why the last render failed, until a frame completes.
  const [renderError, setRenderError] = useState<string | null>(null);
  // Strivec: which levels' tensor cubes are drawn over the render.
  const [boxes, setBoxes] = useState<boolean[]>([false, false, false]);
  // The share of GPU time the viewport's renders may take while training.
  const [share, setShare] = useState(DEFAULT_VIEW_SHARE);
  // Refs mirror the state so a queued draw uses the latest choice.
  const view = useRef({ mode, snap, boxes });
  view.current = { mode, snap, boxes };
  const iter = useStudio((s) => s.progress.iter);
  const status = useStudio((s) => s.trainStatus);
  const rank = useStudio((s) => s.slim?.rank);
  const scene = useStudio((s) => s.sceneName);

  const onScreen = useRef(active);
  onScreen.current = active;
  const progressive = useRef<ProgressiveView | null>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: made once per canvas; the source reads refs.
  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    const p = new ProgressiveView(c, {
      render: (cam) => (onScreen.current && view.current.snap === null ? session.renderView(cam) : Promise.resolve(null)),
      camera: (side) => poseCamera(pose.current, side),
      pixels: (img, first) => viewPixels(img, view.current.mode, view.current.mode === 'depth' ? depthRange(first) : undefined),
      onError: setRenderError,
      onFrame: (camera) => {
        setRenderError(null);
        const shown = view.current.boxes;
        const local = session.localTensors;
        const n = local && shown.some(Boolean) ? drawTensorBoxes(c, camera, local.levels, local.tables, shown) : 0;
        // How many tensor cubes the last frame drew (the browser test waits on it), and where
        // the eye was (the fly test checks it moved).
        c.dataset.boxes = String(n);
        c.dataset.eye = eyeOf(pose.current)
          .map((x) => x.toFixed(3))
          .join(',');
      },
    });
    progressive.current = p;
    return () => p.stop();
  }, []);
  const training = status === 'training';
  useEffect(() => {
    if (progressive.current) progressive.current.share = training ? share : 1;
  }, [training, share]);

  // A training camera beside its photo: one render in flight, at most one queued.
  const compare = async (s: number) => {
    if (inFlight.current) {
      queued.current = true;
      return;
    }
    inFlight.current = true;
    try {
      const cmp = await session.compareCamera(s);
      if (cmp) {
        const { image, truth } = cmp;
        paintView(canvas.current, viewPixels(image, view.current.mode));
        canvas.current?.setAttribute('data-frame-size', `${image.width}x${image.height}`);
        paintView(truthCanvas.current, rgbPixels(truth, image.width, image.height));
        paintView(errorCanvas.current, errorHeatmap(image.rgb, truth, image.width, image.height));
        setComparePsnr(cmp.psnr);
      }
    } finally {
      inFlight.current = false;
      if (queued.current) {
        queued.current = false;
        void draw();
      }
    }
  };
  /** Draws anew: the compared training camera, or the free view from an interaction frame up. */
  const draw = async (fieldOnly = false) => {
    if (!onScreen.current) return;
    const s = view.current.snap;
    if (s !== null) return compare(s);
    if (fieldOnly) progressive.current?.contentChanged();
    else progressive.current?.viewChanged(moving.current);
  };

  // A new dataset or scene starts from the home view at its own distance.
  const dataset = useStudio((s) => s.datasetName);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the dataset and scene names are the triggers; home() reads the session's current view.
  useEffect(() => {
    pose.current = home();
    useStudio.getState().setViewPose(pose.current);
  }, [dataset, scene]);

  // A pose asked for from outside (a keyframe, a path preview): go there and render it.
  const poseRequest = useStudio((s) => s.poseRequest);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the request is the trigger; moved reads refs.
  useEffect(() => {
    if (poseRequest) moved(poseRequest.pose, true);
  }, [poseRequest]);

  // A rank, mode or camera change re-renders at once (within a frame or two of GPU time).
  // biome-ignore lint/correctness/useExhaustiveDependencies: these are the triggers; draw reads refs, and the iteration alone must not re-render.
  useEffect(() => {
    if (rank !== undefined && (iter > 0 || scene)) void draw();
  }, [rank, scene, mode, snap, boxes, active]);

  // A training step (or the run's end) changed the field: drawn again as often as the viewport's share allows.
  // biome-ignore lint/correctness/useExhaustiveDependencies: draw reads refs only; re-running on its identity would render every React update.
  useEffect(() => {
    if (iter > 0) void draw(true);
  }, [iter, status]);

  // A camera change: leave a snapped training camera, render small now, refine once still.
  const moved = (next: ViewPose, settleLater: boolean) => {
    pose.current = next;
    useStudio.getState().setViewPose(next);
    if (view.current.snap !== null) setSnap(null);
    moving.current = true;
    void draw();
    if (!settleLater) return;
    if (settle.current) clearTimeout(settle.current);
    settle.current = setTimeout(() => {
      moving.current = false;
      progressive.current?.settled();
    }, SETTLE_MS);
  };
  const drag = useRef<{ x: number; y: number; pan: boolean } | null>(null);
  const cameras = session.cameraCount;
  const local = session.localTensors;
  return (
    <div className="field-viewport">
      <div className="viewport-column">
        <div className="viewport-toolbar" role="toolbar" aria-label="view">
          {MODES.map(([m, label]) => (
            <button key={m} type="button" className={m === mode ? 'active' : ''} aria-pressed={m === mode} data-testid={`view-${m}`} onClick={() => setMode(m)}>
              {label}
            </button>
          ))}
          {/* biome-ignore lint/a11y/useSemanticElements: a group of toolbar buttons inline in the toolbar; a fieldset would break its layout. */}
          <span className="nav-toggle" role="group" aria-label="navigation">
            {(['orbit', 'fly'] as const).map((n) => (
              <button
                key={n}
                type="button"
                className={n === nav ? 'active' : ''}
                aria-pressed={n === nav}
                data-testid={`nav-${n}`}
                title={
                  n === 'fly'
                    ? 'Fly: drag to look around, W A S D / arrows to move, Q E down and up, wheel forward and back'
                    : 'Orbit: drag to turn around the scene, right-drag or shift-drag to pan, wheel to zoom'
                }
                onClick={() => setNav(n)}
              >
                {n === 'orbit' ? 'Orbit' : 'Fly'}
              </button>
            ))}
            <button type="button" data-testid="reset-view" title="Back to the starting view" onClick={() => moved(home(), true)}>
              Reset view
            </button>
          </span>
          <label className="view-share" title="How much of the GPU's time the viewport's renders may take while training; the rest trains">
            view GPU share
            <select value={share} data-testid="view-share" onChange={(e) => setShare(Number(e.target.value))}>
              {SHARES.map((x) => (
                <option key={x} value={x}>
                  {Math.round(x * 100)}%
                </option>
              ))}
            </select>
          </label>
          {cameras > 0 && (
            <select
              value={snap ?? ''}
              data-testid="snap-camera"
              aria-label="camera"
              onChange={(e) => setSnap(e.target.value === '' ? null : Number(e.target.value))}
            >
              <option value="">free orbit</option>
              {Array.from({ length: cameras }, (_, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: the index is the training view's number.
                <option key={i} value={i}>
                  training view {i}
                </option>
              ))}
            </select>
          )}
          {local && (
            <span className="tensor-toggles" data-testid="tensor-toggles">
              tensors:
              {local.levels.map((lv, l) => (
                <button
                  // biome-ignore lint/suspicious/noArrayIndexKey: the index is the level's number.
                  key={l}
                  type="button"
                  aria-pressed={boxes[l]}
                  className={boxes[l] ? 'active' : ''}
                  style={{ borderColor: LEVEL_COLOURS[l] }}
                  data-testid={`tensors-level-${l + 1}`}
                  data-params={local.params[l]}
                  data-pruned={local.pruned?.[l] ?? 0}
                  title={
                    `${lv.tensors.toLocaleString()} local tensors, ${(2 * lv.halfSize).toFixed(3)} wide, ${local.params[l]!.toLocaleString()} parameters` +
                    (local.added ? `; placed again around the surface the refined cameras see: ${local.added[l]!.toLocaleString()} added` : '') +
                    (local.pruned ? `; ${local.pruned[l]!.toLocaleString()} removed where they found empty space` : '')
                  }
                  onClick={() => setBoxes((b) => b.map((x, i) => (i === l ? !x : x)))}
                >
                  L{l + 1} · {lv.tensors.toLocaleString()} · {COMPACT_COUNT.format(local.params[l]!)}
                </button>
              ))}
            </span>
          )}
        </div>
        {renderError && (
          <p className="error" role="alert" data-testid="viewport-render-error">
            {renderError}
          </p>
        )}
        <canvas
          ref={canvas}
          width={384}
          height={384}
          tabIndex={0}
          data-testid="render-canvas"
          data-nav={nav}
          className={`main-view nav-${nav}`}
          aria-label={
            nav === 'fly'
              ? 'neural render: drag to look around, W A S D to move, Q E down and up'
              : 'neural render: drag to orbit, right-drag or shift-drag to pan, wheel to zoom'
          }
          onContextMenu={(e) => e.preventDefault()}
          onPointerDown={(e) => {
            drag.current = { x: e.clientX, y: e.clientY, pan: e.button === 2 || e.shiftKey };
            moving.current = true;
            (e.target as HTMLCanvasElement).setPointerCapture(e.pointerId);
            (e.target as HTMLCanvasElement).focus();
          }}
          onPointerMove={(e) => {
            const d = drag.current;
            if (!d) return;
            const dx = e.clientX - d.x;
            const dy = e.clientY - d.y;
            drag.current = { ...d, x: e.clientX, y: e.clientY };
            const h = (e.target as HTMLCanvasElement).clientHeight || 1;
            const p = pose.current;
            moved(d.pan ? pan(p, dx / h, dy / h) : nav === 'fly' ? look(p, dx * TURN, -dy * TURN) : orbit(p, -dx * TURN, dy * TURN), false);
          }}
          onPointerUp={() => {
            drag.current = null;
            moving.current = false;
            progressive.current?.settled();
          }}
          onWheel={(e) => {
            const p = pose.current;
            const dist = session.view.radius;
            // Orbit: zoom towards the target; fly: move along the view.
            moved(nav === 'fly' ? move(p, 0, 0, -Math.sign(e.deltaY) * STEP * dist) : wheelZoom(p, e.deltaY, dist), true);
          }}
          onKeyDown={(e) => {
            const k = FLY_KEYS[e.key.toLowerCase()];
            if (!k) return;
            e.preventDefault();
            const s = STEP * session.view.radius;
            moved(move(pose.current, k[0] * s, k[1] * s, k[2] * s), true);
          }}
        />
        {snap !== null && (
          <div className="compare-strip" data-testid="compare">
            <figure>
              <canvas ref={truthCanvas} width={192} height={192} data-testid="compare-truth" />
              <figcaption>photo</figcaption>
            </figure>
            <figure>
              <canvas ref={errorCanvas} width={192} height={192} data-testid="compare-error" />
              <figcaption>|render − photo| {comparePsnr !== null && <span data-testid="compare-psnr">· {comparePsnr.toFixed(2)} dB</span>}</figcaption>
            </figure>
          </div>
        )}
      </div>
      <div className="viewport-hint">
        neural render ·{' '}
        {nav === 'fly' ? 'drag to look · W A S D / arrows to move · Q E down, up · wheel forward' : 'drag to orbit · right-drag to pan · wheel to zoom'}
      </div>
      {children}
    </div>
  );
}
