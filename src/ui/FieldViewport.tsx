// The live viewport: renders the field being trained from an orbit camera through the engine
// (the same kernels as training and evaluation). Drag to orbit: low resolution while the camera
// moves, refined once it stops. Renders coalesce: one in flight, at most one queued.
import { useEffect, useRef, type ReactNode } from 'react';
import type { StudioSession } from './session.ts';
import { useStudio } from './store.ts';

const MOVING_SIZE = 32;
const STILL_SIZE = 64;
const RENDER_EVERY = 10;

export function FieldViewport({ session, children }: { session: StudioSession; children?: ReactNode }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const cam = useRef({ az: 0.6, el: 0.45, moving: false });
  const inFlight = useRef(false);
  const queued = useRef(false);
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
      const size = cam.current.moving ? MOVING_SIZE : STILL_SIZE;
      const view = await session.renderOrbit(cam.current.az, cam.current.el, size);
      const c = canvas.current;
      if (view && c) {
        const off = document.createElement('canvas');
        off.width = view.width;
        off.height = view.height;
        off.getContext('2d')!.putImageData(new ImageData(view.rgba, view.width, view.height), 0, 0);
        const g = c.getContext('2d')!;
        g.imageSmoothingEnabled = true;
        g.drawImage(off, 0, 0, c.width, c.height);
        c.dataset.renders = String(Number(c.dataset.renders ?? 0) + 1);
      }
    } finally {
      inFlight.current = false;
      if (queued.current) {
        queued.current = false;
        void draw();
      }
    }
  };

  // A rank change re-renders at once (the slider answers within a frame or two of GPU time).
  useEffect(() => {
    if (rank !== undefined && (iter > 0 || scene)) void draw();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [rank, scene]);

  useEffect(() => {
    if (iter === 1 || iter % RENDER_EVERY === 0 || status === 'done' || status === 'paused') void draw();
    // draw reads refs only; re-running on its identity would render every React update.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [iter, status]);

  const drag = useRef<{ x: number; y: number } | null>(null);
  return (
    <div className="field-viewport">
      <canvas
        ref={canvas}
        width={384}
        height={384}
        data-testid="render-canvas"
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
          void draw();
        }}
        onPointerUp={() => {
          drag.current = null;
          cam.current.moving = false;
          void draw();
        }}
      />
      <div className="viewport-hint">neural render · drag to orbit</div>
      {children}
    </div>
  );
}
