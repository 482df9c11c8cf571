// Strivec's local tensors drawn over the viewport: each tensor's cube, projected with the same
// pinhole camera the engine renders with, one colour per level. Pure 2D canvas drawing.
import type { PosedView } from '../data/types.ts';
import { type StrivecLevel, tensorCentres } from '../field/layouts/strivec-lattice.ts';

export const LEVEL_COLOURS = ['#f0883e', '#3fb950', '#58a6ff'];

/** Image position (pixels) and depth of a world point seen by `cam`; null behind the camera. */
export function projectPoint(cam: PosedView, p: [number, number, number]): [number, number] | null {
  const m = cam.c2w;
  const d = [p[0] - m[3]!, p[1] - m[7]!, p[2] - m[11]!];
  // World to camera: the transpose of c2w's rotation (OpenCV: x right, y down, z forward).
  const x = m[0]! * d[0]! + m[4]! * d[1]! + m[8]! * d[2]!;
  const y = m[1]! * d[0]! + m[5]! * d[1]! + m[9]! * d[2]!;
  const z = m[2]! * d[0]! + m[6]! * d[1]! + m[10]! * d[2]!;
  if (z <= 1e-6) return null;
  return [cam.fx * (x / z) + cam.cx, cam.fy * (y / z) + cam.cy];
}

const EDGES = [
  [0, 1],
  [2, 3],
  [4, 5],
  [6, 7],
  [0, 2],
  [1, 3],
  [4, 6],
  [5, 7],
  [0, 4],
  [1, 5],
  [2, 6],
  [3, 7],
] as const;

/**
 * Draws the cubes of the levels in `shown` on `canvas` (which shows `cam`'s image scaled to its
 * width). Returns the number of cubes drawn.
 */
export function drawTensorBoxes(canvas: HTMLCanvasElement, cam: PosedView, levels: StrivecLevel[], tables: ArrayLike<number>[], shown: boolean[]): number {
  const g = canvas.getContext('2d');
  if (!g) return 0;
  const s = canvas.width / cam.width;
  let drawn = 0;
  levels.forEach((lv, l) => {
    if (!shown[l]) return;
    const c = tensorCentres(lv, tables[l]!);
    const h = lv.halfSize;
    g.strokeStyle = LEVEL_COLOURS[l % LEVEL_COLOURS.length]!;
    g.globalAlpha = 0.55;
    g.lineWidth = 1;
    g.beginPath();
    for (let t = 0; t < lv.tensors; t++) {
      const corners = [0, 1, 2, 3, 4, 5, 6, 7].map((k) =>
        projectPoint(cam, [c[t * 3]! + (k & 1 ? h : -h), c[t * 3 + 1]! + (k & 2 ? h : -h), c[t * 3 + 2]! + (k & 4 ? h : -h)]),
      );
      if (corners.some((x) => x === null)) continue;
      for (const [a, b] of EDGES) {
        g.moveTo(corners[a]![0] * s, corners[a]![1] * s);
        g.lineTo(corners[b]![0] * s, corners[b]![1] * s);
      }
      drawn++;
    }
    g.stroke();
  });
  g.globalAlpha = 1;
  return drawn;
}
