// Draws a rendered view, scaled, into a canvas (the whole canvas, or a band of it), and counts the
// whole-canvas draws (data-renders, which the browser tests wait on). Shared by the studio's
// viewport, its compare strip and the standalone viewer.
import type { RenderedView } from './view-images.ts';

/** Draws `view` scaled into the rectangle (x, y, width, height) of `canvas`, smoothed. */
export function drawView(canvas: HTMLCanvasElement, view: RenderedView, x = 0, y = 0, width = canvas.width, height = canvas.height): void {
  const off = document.createElement('canvas');
  off.width = view.width;
  off.height = view.height;
  off.getContext('2d')!.putImageData(new ImageData(view.rgba, view.width, view.height), 0, 0);
  const g = canvas.getContext('2d')!;
  g.imageSmoothingEnabled = true;
  g.drawImage(off, x, y, width, height);
}

export function paintView(canvas: HTMLCanvasElement | null, view: RenderedView): void {
  if (!canvas) return;
  drawView(canvas, view);
  canvas.dataset.renders = String(Number(canvas.dataset.renders ?? 0) + 1);
}
