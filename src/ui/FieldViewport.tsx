// The live viewport: renders the field being trained through the engine (the same kernels as
// training and evaluation). Drag to orbit: low resolution while the camera moves, refined once it
// stops. Colour, depth or accumulation; or snap to a training camera to see the render beside
// its photo with the error between them. Renders coalesce: one in flight, at most one queued.
import { useEffect, useRef, useState, type ReactNode } from 'react';
import type { StudioSession } from './session.ts';
import { paintView } from './paint.ts';
import { useStudio } from './store.ts';
import type { ViewMode } from './view-images.ts';
import { drawTensorBoxes, LEVEL_COLOURS } from './tensor-overlay.ts';

const MOVING_SIZE = 32;
const STILL_SIZE = 64;
const RENDER_EVERY = 10;
const MODES: [ViewMode, string][] = [['color', 'Colour'], ['depth', 'Depth'], ['accumulation', 'Opacity']];

export function FieldViewport({ session, children }: { session: StudioSession; children?: ReactNode }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const truthCanvas = useRef<HTMLCanvasElement>(null);
  const errorCanvas = useRef<HTMLCanvasElement>(null);
  const cam = useRef({ az: 0.6, el: 0.45, moving: false });
  const inFlight = useRef(false);
  const queued = useRef(false);
  const [mode, setMode] = useState<ViewMode>('color');
  const [snap, setSnap] = useState<number | null>(null);
  const [comparePsnr, setComparePsnr] = useState<number | null>(null);
  // Strivec: which levels' tensor cubes are drawn over the render.
  const [boxes, setBoxes] = useState<boolean[]>([false, false, false]);
  // Refs mirror the state so a queued draw uses the latest choice.
  const view = useRef({ mode, snap, boxes });
  view.current = { mode, snap, boxes };
  const iter = useStudio((s) => s.progress.iter);
  const status = useStudio((s) => s.trainStatus);
  const rank = useStudio((s) => s.slim?.rank);
  const scene = useStudio((s) => s.sceneName);

  const draw = async () => {
    if (inFlight.current) {
      queued.current = true;
      return;
    }
    inFlight.current = true;
    try {
      const { mode: m, snap: s, boxes: shown } = view.current;
      if (s !== null) {
        const cmp = await session.compareCamera(s, m);
        if (cmp) {
          paintView(canvas.current, cmp.render);
          paintView(truthCanvas.current, cmp.truth);
          paintView(errorCanvas.current, cmp.error);
          setComparePsnr(cmp.psnr);
        }
      } else {
        const size = cam.current.moving ? MOVING_SIZE : STILL_SIZE;
        const v = await session.renderOrbit(cam.current.az, cam.current.el, size, m);
        if (v) paintView(canvas.current, v);
        const local = session.localTensors;
        if (v && canvas.current) {
          const n = local && shown.some(Boolean) ? drawTensorBoxes(canvas.current, session.orbitCamera(cam.current.az, cam.current.el, size), local.levels, local.tables, shown) : 0;
          // How many tensor cubes the last paint drew (the browser test waits on it).
          canvas.current.dataset.boxes = String(n);
        }
      }
    } finally {
      inFlight.current = false;
      if (queued.current) {
        queued.current = false;
        void draw();
      }
    }
  };

  // A rank, mode or camera change re-renders at once (within a frame or two of GPU time).
  useEffect(() => {
    if (rank !== undefined && (iter > 0 || scene)) void draw();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [rank, scene, mode, snap, boxes]);

  useEffect(() => {
    if (iter === 1 || iter % RENDER_EVERY === 0 || status === 'done' || status === 'paused') void draw();
    // draw reads refs only; re-running on its identity would render every React update.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [iter, status]);

  const drag = useRef<{ x: number; y: number } | null>(null);
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
          {cameras > 0 && (
            <select value={snap ?? ''} data-testid="snap-camera" aria-label="camera" onChange={(e) => setSnap(e.target.value === '' ? null : Number(e.target.value))}>
              <option value="">free orbit</option>
              {Array.from({ length: cameras }, (_, i) => <option key={i} value={i}>training view {i}</option>)}
            </select>
          )}
          {local && (
            <span className="tensor-toggles" data-testid="tensor-toggles">
              tensors:
              {local.levels.map((lv, l) => (
                <button
                  key={l}
                  type="button"
                  aria-pressed={boxes[l]}
                  className={boxes[l] ? 'active' : ''}
                  style={{ borderColor: LEVEL_COLOURS[l] }}
                  data-testid={`tensors-level-${l + 1}`}
                  title={`${lv.tensors.toLocaleString()} local tensors, ${(2 * lv.halfSize).toFixed(3)} wide`}
                  onClick={() => setBoxes((b) => b.map((x, i) => (i === l ? !x : x)))}
                >
                  L{l + 1} · {lv.tensors.toLocaleString()}
                </button>
              ))}
            </span>
          )}
        </div>
        <canvas
          ref={canvas}
          width={384}
          height={384}
          data-testid="render-canvas"
          className="main-view"
          onPointerDown={(e) => {
            drag.current = { x: e.clientX, y: e.clientY };
            cam.current.moving = true;
            (e.target as HTMLCanvasElement).setPointerCapture(e.pointerId);
          }}
          onPointerMove={(e) => {
            if (!drag.current) return;
            cam.current.az -= (e.clientX - drag.current.x) * 0.01;
            cam.current.el = Math.min(1.45, Math.max(-0.2, cam.current.el + (e.clientY - drag.current.y) * 0.01));
            drag.current = { x: e.clientX, y: e.clientY };
            // Orbiting leaves a snapped training camera.
            if (view.current.snap !== null) setSnap(null);
            else void draw();
          }}
          onPointerUp={() => {
            drag.current = null;
            cam.current.moving = false;
            void draw();
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
      <div className="viewport-hint">neural render · drag to orbit</div>
      {children}
    </div>
  );
}
