// Draws a rendered view, scaled, into a canvas and counts the draws (data-renders, which the
// browser tests wait on). Shared by the studio's viewport and the standalone viewer.
import type { RenderedView } from './view-images.ts';

export function paintView(canvas: HTMLCanvasElement | null, view: RenderedView): void {
  if (!canvas) return;
  const off = document.createElement('canvas');
  off.width = view.width;
  off.height = view.height;
  off.getContext('2d')!.putImageData(new ImageData(view.rgba, view.width, view.height), 0, 0);
  const g = canvas.getContext('2d')!;
  g.imageSmoothingEnabled = true;
  g.drawImage(off, 0, 0, canvas.width, canvas.height);
  canvas.dataset.renders = String(Number(canvas.dataset.renders ?? 0) + 1);
}
