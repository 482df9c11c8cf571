// A canvas that shows a field progressively (the studio's viewport and the standalone viewer):
// after a view change, an interaction frame sized to the target frame rate, then, once the camera
// is still, passes doubling the resolution up to the canvas's backing size (its CSS size times the
// device-pixel ratio), each drawn in bands that each take about a frame, so a camera move is
// answered within a frame. While training, a changed field is re-rendered at the resolution
// reached, and every render is paced to a share of GPU time. The plan's arithmetic is
// progressive.ts; what to render and how to show it comes from the caller.
//
// The canvas reports its last completed frame: data-frame-size="WxH" and data-renders (a count);
// and why the last render failed (data-render-error) until a frame completes.
import type { PosedView } from '../data/types.ts';
import type { ImageResult } from '../render/view-renderer.ts';
import { drawView } from './paint.ts';
import { FrameTimer, paceDelay, type Tile, tileCamera, tilesOf } from './progressive.ts';
import type { RenderedView } from './view-images.ts';

export interface ProgressiveSource {
  /** Renders a camera (null: nothing to render); `ms` is its GPU time, not its wait in the queue. */
  render(cam: PosedView): Promise<(ImageResult & { ms: number }) | null>;
  /** The current view's square camera, `side` pixels wide. */
  camera(side: number): PosedView;
  /** Display pixels of part of a frame; `first` is the view's first frame, for shared scales (depth). */
  pixels(img: ImageResult, first: ImageResult): RenderedView;
  /** After each completed frame (overlays drawn over it), with the frame's camera at the canvas's size. */
  onFrame?(camera: PosedView): void;
  /** A render failed (the GPU could not hold it, or the device was lost); the next completed frame clears it. */
  onError?(message: string): void;
}

export class ProgressiveView {
  readonly timer = new FrameTimer();
  /** The share of GPU time renders may take (1: no pacing; the studio lowers it while training). */
  share = 1;
  private view = 0;
  private moving = false;
  private fieldChanged = false;
  private running = false;
  /** The side of the last completed frame of the current view (0: none yet). */
  private finest = 0;
  private first: ImageResult | null = null;
  private last = { ms: 0, end: 0 };
  private stopped = false;
  /** A resized canvas (window, layout, device-pixel ratio) is drawn again at its new size. */
  private readonly resized = new ResizeObserver(() => {
    if (this.backingSide() !== this.canvas.width) this.viewChanged();
  });

  constructor(
    readonly canvas: HTMLCanvasElement,
    private readonly source: ProgressiveSource,
  ) {
    this.resized.observe(canvas);
  }

  /** The camera, rank or display changed: start again from an interaction frame; `moving` holds refinement back. */
  viewChanged(moving = false): void {
    this.view++;
    this.moving = moving;
    this.finest = 0;
    this.first = null;
    this.kick();
  }

  /** The camera came to rest: refine from what is on screen. */
  settled(): void {
    this.moving = false;
    this.kick();
  }

  /** The field changed (a training step): re-render at the resolution reached, as the share allows. */
  contentChanged(): void {
    this.fieldChanged = true;
    this.kick();
  }

  /** Stops for good (the canvas is going away). */
  stop(): void {
    this.stopped = true;
    this.view++;
    this.resized.disconnect();
  }

  /** Rendering (a frame or its refinement is under way). */
  get busy(): boolean {
    return this.running;
  }

  /** The canvas's full backing side: its displayed width in device pixels. */
  private backingSide(): number {
    const css = this.canvas.clientWidth;
    const dpr = globalThis.devicePixelRatio || 1;
    return css > 0 ? Math.max(1, Math.round(css * dpr)) : this.canvas.width;
  }

  private kick(): void {
    if (!this.running && !this.stopped) void this.loop();
  }

  /** The next frame's side: interaction, then refinement (which also shows a changed field), then re-renders of a changed field. */
  private nextSide(full: number): number | null {
    if (this.finest === 0) return this.timer.interactionSide(full);
    if (!this.moving && this.finest < full) {
      this.fieldChanged = false;
      return Math.min(full, this.finest * 2);
    }
    if (!this.fieldChanged) return null;
    this.fieldChanged = false;
    return this.finest;
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      while (!this.stopped) {
        const full = this.backingSide();
        if (this.finest > full) this.finest = 0;
        const side = this.nextSide(full);
        if (side === null) return;
        const done = await this.frame(side, full);
        if (done === 'nothing') return;
      }
    } catch (e) {
      // A render that failed ends this pass, and the caller shows why (a lost device: the session
      // also replaces the device); the view renders again on the next change. Never an unhandled
      // rejection. The canvas says so too (data-render-error) until a frame completes.
      const message = `The view could not render: ${e instanceof Error ? e.message : String(e)}`;
      this.canvas.dataset.renderError = message;
      if (this.source.onError) this.source.onError(message);
      else console.warn(message);
    } finally {
      this.running = false;
    }
  }

  /** Renders one frame at `side`, band by band; 'stale' when the view changed before it was done. */
  private async frame(side: number, full: number): Promise<'done' | 'stale' | 'nothing'> {
    const view = this.view;
    const cam = this.source.camera(side);
    // The interaction frame is one piece; refinement in bands of about a frame's time (at least MIN_BAND_PIXELS).
    const tiles: Tile[] = this.finest === 0 ? [{ x: 0, y: 0, width: side, height: side }] : tilesOf(side, side, this.timer.bandPixels);
    for (const tile of tiles) {
      await this.pace();
      if (view !== this.view) return 'stale';
      const img = await this.source.render(tileCamera(cam, tile));
      if (!img) return 'nothing';
      this.timer.record(tile.width * tile.height, img.ms);
      this.last = { ms: img.ms, end: performance.now() };
      if (view !== this.view) return 'stale';
      this.first ??= img;
      this.paint(img, tile, full / side, full);
    }
    this.finest = side;
    delete this.canvas.dataset.renderError;
    this.canvas.dataset.frameSize = `${side}x${side}`;
    this.canvas.dataset.renders = String(Number(this.canvas.dataset.renders ?? 0) + 1);
    this.source.onFrame?.(this.source.camera(full));
    return 'done';
  }

  private async pace(): Promise<void> {
    const wait = paceDelay(this.last.ms, this.share, performance.now() - this.last.end);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }

  /** Draws a band scaled by `k` into the canvas (resized to `full` first, which clears it). */
  private paint(img: ImageResult, tile: Tile, k: number, full: number): void {
    const c = this.canvas;
    if (c.width !== full || c.height !== full) {
      c.width = full;
      c.height = full;
    }
    drawView(c, this.source.pixels(img, this.first ?? img), tile.x * k, tile.y * k, tile.width * k, tile.height * k);
  }
}
