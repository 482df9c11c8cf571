// The standalone viewer (viewer.html): opens a scene file from ?scene=URL, a picker or a drop,
// renders it as soon as the first rank groups have arrived and refines as the rest stream in,
// with orbit dragging, wheel zoom and a rank slider; frames sized by measured frame times and
// refined to the canvas's full resolution when still (progressive-view.ts). Uses the rendering engine only, no training code.
import { type SceneHeader, sceneView } from '../formats/scene-file/header.ts';
import { SceneReader } from '../formats/scene-file/reader.ts';
import { layoutLabel } from '../run/models.ts';
import { Session } from '../run/session.ts';
import { ProgressiveView } from '../view/progressive-view.ts';
import { homePose, orbit, poseCamera, type ViewPose, wheelZoom } from '../view/view-camera.ts';
import { viewPixels } from '../view/view-images.ts';
import { formatBytes, WEBGPU_BROWSERS } from '../view/webgpu.ts';

const statusEl = document.getElementById('status')!;
const renderErrorEl = document.getElementById('render-error')!;
const canvas = document.getElementById('view') as HTMLCanvasElement;
const slider = document.getElementById('rank') as HTMLInputElement;
const rankLabel = document.getElementById('rank-label')!;
const fileInput = document.getElementById('file') as HTMLInputElement;

/** The camera counts as still this long after the last wheel event. */
const SETTLE_MS = 200;

function say(text: string, error = false): void {
  statusEl.textContent = text;
  statusEl.classList.toggle('error', error);
}

/** Why the last render failed, shown above the canvas until a frame completes (null: clears it). */
function renderFailed(message: string | null): void {
  renderErrorEl.textContent = message ?? '';
  renderErrorEl.hidden = message === null;
}

class Viewer {
  private radius = 4;
  /** What the starting view is fitted to: a model in a camera's NDC starts from that camera. */
  private homeFrom: Parameters<typeof homePose>[1] = {};
  /** The studio's camera pose (view-camera.ts); null until a scene says how far to stand. */
  private pose: ViewPose | null = null;
  private settle: ReturnType<typeof setTimeout> | null = null;
  private readonly view: ProgressiveView;
  /** Bumped per opened file, so a stale stream stops updating the view. */
  generation = 0;

  constructor(readonly session: Session) {
    this.view = new ProgressiveView(canvas, {
      render: (cam) => this.session.renderView(cam),
      camera: (side) => poseCamera(this.pose ?? homePose(this.radius, this.homeFrom), side),
      pixels: (img) => viewPixels(img, 'color'),
      onError: renderFailed,
      onFrame: () => renderFailed(null),
    });
  }

  /** Shows the first `reader.ranksReady` groups (replacing the previous, smaller model). */
  async show(reader: SceneReader, header: SceneHeader, name: string): Promise<void> {
    const m = reader.model();
    const view = sceneView(header.info);
    this.radius = view.radius;
    this.homeFrom = m.settings.ndc ? { ndc: m.settings.ndc } : {};
    this.pose ??= homePose(view.radius, this.homeFrom);
    await this.session.showModel(m, view, null, name);
    const following = Number(slider.value) >= Number(slider.max);
    slider.max = String(m.rank);
    if (following) slider.value = String(m.rank);
    this.draw();
  }

  /** Draws anew from an interaction frame; `moving` holds refinement back until the camera rests. */
  draw(moving = false): void {
    const rank = Number(slider.value);
    rankLabel.textContent = `${rank} / ${slider.max}`;
    this.session.viewRank = rank;
    this.view.viewChanged(moving);
  }

  /** A drag (`moving`) or its end. */
  orbit(dx: number, dy: number, moving: boolean): void {
    if (!moving) {
      this.view.settled();
      return;
    }
    if (this.pose) this.pose = orbit(this.pose, -dx * 0.01, dy * 0.01);
    this.draw(true);
  }

  zoom(deltaY: number): void {
    if (this.pose) this.pose = wheelZoom(this.pose, deltaY, this.radius);
    this.draw(true);
    if (this.settle) clearTimeout(this.settle);
    this.settle = setTimeout(() => this.view.settled(), SETTLE_MS);
  }

  /** Feeds a byte stream into a SceneReader, showing each new rank group as it arrives. */
  async open(name: string, chunks: AsyncIterable<Uint8Array>, total: number | null): Promise<void> {
    const gen = ++this.generation;
    const reader = new SceneReader(name);
    let received = 0;
    let shown = 0;
    for await (const chunk of chunks) {
      if (gen !== this.generation) return;
      await reader.pushAsync(chunk);
      received += chunk.length;
      const h = reader.header;
      const of = total ? ` of ${formatBytes(total)}` : '';
      say(`${name}: ${formatBytes(received)}${of} · rank groups ${reader.ranksReady}/${h?.ranks ?? '?'}`);
      // Refine when a group arrives and the previous view is on screen (coalesces fast streams).
      if (h && reader.ranksReady > shown && !this.view.busy) {
        shown = reader.ranksReady;
        await this.show(reader, h, name);
      }
    }
    reader.finish();
    if (gen !== this.generation) return;
    const h = reader.header!;
    if (reader.ranksReady > shown) await this.show(reader, h, name);
    say(
      `${name}: ${layoutLabel(h.settings)}, ${h.precision}, rank groups ${reader.ranksReady}/${h.ranks}, ${formatBytes(received)} · drag to orbit, wheel to zoom`,
    );
  }
}

async function* streamOf(body: ReadableStream<Uint8Array>): AsyncIterable<Uint8Array> {
  const r = body.getReader();
  for (;;) {
    const { done, value } = await r.read();
    if (done) return;
    if (value) yield value;
  }
}

async function main(): Promise<void> {
  const gpu = navigator.gpu;
  const adapter = gpu ? await gpu.requestAdapter({ powerPreference: 'high-performance' }).catch(() => null) : null;
  if (!adapter) {
    say(`This browser has no WebGPU, which the viewer needs. Browsers with WebGPU: ${WEBGPU_BROWSERS.join('; ')}.`, true);
    return;
  }
  const viewer = new Viewer(await Session.fromAdapter(adapter));
  const fail = (e: unknown) => say((e as Error).message ?? String(e), true);
  const openFile = (f: File) => viewer.open(f.name, streamOf(f.stream()), f.size).catch(fail);

  slider.addEventListener('input', () => viewer.draw());
  fileInput.addEventListener('change', () => {
    const f = fileInput.files?.[0];
    if (f) void openFile(f);
  });
  document.body.addEventListener('dragover', (e) => e.preventDefault());
  document.body.addEventListener('drop', (e) => {
    e.preventDefault();
    const f = e.dataTransfer?.files[0];
    if (f) void openFile(f);
  });
  let drag: { x: number; y: number } | null = null;
  canvas.addEventListener('pointerdown', (e) => {
    drag = { x: e.clientX, y: e.clientY };
    canvas.setPointerCapture(e.pointerId);
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!drag) return;
    viewer.orbit(e.clientX - drag.x, e.clientY - drag.y, true);
    drag = { x: e.clientX, y: e.clientY };
  });
  canvas.addEventListener('pointerup', () => {
    drag = null;
    viewer.orbit(0, 0, false);
  });
  canvas.addEventListener(
    'wheel',
    (e) => {
      e.preventDefault();
      viewer.zoom(e.deltaY);
    },
    { passive: false },
  );

  const url = new URLSearchParams(location.search).get('scene');
  if (url) {
    say(`loading ${url}…`);
    try {
      // The page's policy allows its own origin only: say so rather than let the fetch fail blind.
      if (new URL(url, location.href).origin !== location.origin) {
        throw new Error(`${url}: the viewer opens scenes from this site only (nothing is fetched from elsewhere); download the file and open it here`);
      }
      const res = await fetch(url);
      if (!res.ok || !res.body) throw new Error(`${url}: HTTP ${res.status} ${res.statusText}`);
      const len = Number(res.headers.get('content-length'));
      await viewer.open(url, streamOf(res.body), len > 0 ? len : null);
    } catch (e) {
      fail(e);
    }
  }
}

void main();
