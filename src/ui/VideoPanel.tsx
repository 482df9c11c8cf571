// Video: a camera path (an orbit fitted to the dataset's cameras, or keyframes taken from the
// viewport) previewed in the viewport and rendered to an MP4 or WebM file at the slider's rank,
// encoded in the browser (WebCodecs through mediabunny), with progress, time left and Cancel.
// Paths are saved and loaded as JSON, the same file the CLI's `video --path` reads.
import { useEffect, useRef, useState } from 'react';
import type { Session } from '../run/session.ts';
import { type CameraPath, cameraPathJson, facesForward, fittedPath, frameCamera, frameCount, framePose, parseCameraPath } from '../view/camera-path.ts';
import { VideoWriter, videoFormatFor } from '../view/video-encoder.ts';
import { type Vec3, VIEW_FOV_DEG } from '../view/view-camera.ts';
import { rgbPixels } from '../view/view-images.ts';
import { formatBytes } from '../view/webgpu.ts';
import { download } from './download.ts';
import { formatSeconds } from './format.ts';
import { keepPath, keptPath } from './path-store.ts';
import { useStudio } from './store.ts';

/** Frame sizes offered (even, as H.264 needs); the smallest is a quick draft on a slow adapter. */
const SIZES: [number, number][] = [
  [160, 90],
  [320, 180],
  [640, 360],
  [1280, 720],
  [1920, 1080],
  [512, 512],
  [800, 800],
];
const FPS = [24, 30, 60];

interface Rendering {
  frame: number;
  frames: number;
  started: number;
}

export function VideoPanel({ session, rank, base, disabled }: { session: Session; rank: number; base: string; disabled: string | null }) {
  const [path, setPath] = useState<CameraPath | null>(() => keptPath(session.fingerprint));
  // Every change is kept with the dataset, so the path survives a closed tab.
  useEffect(() => keepPath(session.fingerprint, path), [session, path]);
  const [size, setSize] = useState(2);
  const [fps, setFps] = useState(30);
  const [rendering, setRendering] = useState<Rendering | null>(null);
  const [video, setVideo] = useState<{ bytes: Uint8Array; name: string; mime: string; summary: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [previewing, setPreviewing] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const preview = useRef<ReturnType<typeof setInterval> | null>(null);
  const pathFile = useRef<HTMLInputElement>(null);

  const fit = (kind: 'orbit' | 'spiral') => {
    const box = session.field?.box ?? { lo: [0, 0, 0] as Vec3, hi: [0, 0, 0] as Vec3 };
    setPath(fittedPath(kind, session.trainingCameras, box, session.view.radius, path?.seconds ?? 8).path);
  };
  const addKeyframe = () => {
    const pose = useStudio.getState().viewPose;
    if (!pose) return;
    const key = { ...pose, target: [...pose.target] as Vec3 };
    // Taking keyframes turns an orbit into the user's own open path.
    setPath((p) =>
      p && !p.closed ? { ...p, keyframes: [...p.keyframes, key] } : { keyframes: [key], seconds: p?.seconds ?? 6, fovDeg: VIEW_FOV_DEG, closed: false },
    );
  };
  const edit = (f: (keys: CameraPath['keyframes']) => CameraPath['keyframes']) => setPath((p) => (p ? { ...p, keyframes: f([...p.keyframes]) } : p));
  const usable = path !== null && path.keyframes.length >= 2;

  const stopPreview = () => {
    if (preview.current) clearInterval(preview.current);
    preview.current = null;
    setPreviewing(false);
  };
  // A preview still running when the panel goes away stops with it.
  useEffect(
    () => () => {
      if (preview.current) clearInterval(preview.current);
    },
    [],
  );
  const startPreview = () => {
    if (!path || !usable) return;
    // Ten poses a second through the path in its own time; the viewport renders as fast as it can.
    const steps = Math.max(2, Math.round(path.seconds * 10));
    let i = 0;
    setPreviewing(true);
    preview.current = setInterval(() => {
      useStudio.getState().requestPose(framePose(path, i, steps));
      i += 1;
      if (i >= steps) stopPreview();
    }, 100);
  };

  const render = async () => {
    if (!path || !usable) return;
    const [width, height] = SIZES[size]!;
    const controller = new AbortController();
    abort.current = controller;
    setError(null);
    setVideo(null);
    const format = await videoFormatFor(width, height, fps);
    if (!format) {
      setError(
        'This browser cannot encode video (no WebCodecs video encoder for H.264, AV1, VP9 or VP8). The CLI writes the frames as PNGs: npm run cli -- video.',
      );
      return;
    }
    const frames = frameCount(path, fps);
    const started = performance.now();
    setRendering({ frame: 0, frames, started });
    let writer: VideoWriter | null = null;
    try {
      writer = await VideoWriter.open(width, height, fps, format);
      for (let i = 0; i < frames; i++) {
        controller.signal.throwIfAborted();
        const img = await session.renderFrame(frameCamera(framePose(path, i, frames), width, height, path.fovDeg), rank);
        const rgba = rgbPixels(img.rgb, width, height).rgba;
        await writer.add(new Uint8Array(rgba.buffer), i);
        setRendering({ frame: i + 1, frames, started });
      }
      const bytes = await writer.finish();
      const seconds = (performance.now() - started) / 1000;
      setVideo({
        bytes,
        mime: format.mime,
        name: `${base}-rank${rank}-${width}x${height}${format.extension}`,
        summary: `${frames} frames, ${width}×${height} at ${fps} fps, ${format.codec.toUpperCase()} ${format.container.toUpperCase()} · ${formatBytes(bytes.length)} · ${(seconds / frames).toFixed(2)} s per frame`,
      });
    } catch (e) {
      await writer?.cancel().catch(() => {});
      setError(controller.signal.aborted ? 'Video cancelled.' : `Video failed: ${(e as Error).message}`);
    } finally {
      abort.current = null;
      setRendering(null);
    }
  };

  const left =
    rendering && rendering.frame > 0 ? (((performance.now() - rendering.started) / rendering.frame) * (rendering.frames - rendering.frame)) / 1000 : null;
  return (
    <div className="video-panel" data-testid="video-panel">
      <div className="button-row">
        <button type="button" data-testid="path-orbit" onClick={() => fit('orbit')} disabled={rendering !== null} title="A closed orbit around the scene">
          Orbit
        </button>
        <button
          type="button"
          data-testid="path-spiral"
          onClick={() => fit('spiral')}
          disabled={rendering !== null || session.trainingCameras.length < 3}
          title={
            session.trainingCameras.length < 3
              ? 'Needs a dataset with cameras'
              : facesForward(session.trainingCameras)
                ? 'A spiral among the cameras, looking where they look (this capture faces forward)'
                : 'A spiral among the cameras, looking where they look (suits forward-facing captures)'
          }
        >
          Spiral
        </button>
        <button
          type="button"
          data-testid="path-add"
          onClick={addKeyframe}
          disabled={rendering !== null}
          title="Add the viewport's current view as the next keyframe"
        >
          Add view as keyframe
        </button>
        <button type="button" data-testid="path-load" onClick={() => pathFile.current?.click()} disabled={rendering !== null}>
          Load path…
        </button>
        <input
          ref={pathFile}
          type="file"
          accept=".json,application/json"
          hidden
          data-testid="path-file"
          onChange={(e) => {
            const f = e.target.files?.[0];
            e.target.value = '';
            if (!f) return;
            // A broken file (not JSON, not a path) is named in the message, the current path kept.
            f.text()
              .then((text) => {
                setPath(parseCameraPath(text, f.name));
                setError(null);
              })
              .catch((err: unknown) => setError((err as Error).message));
          }}
        />
        <button
          type="button"
          data-testid="path-save"
          disabled={!usable}
          onClick={() => path && download(new Blob([cameraPathJson(path)], { type: 'application/json' }), `${base}-path.json`)}
        >
          Save path…
        </button>
      </div>
      {path && (
        <>
          <ol className="keyframes small" data-testid="keyframes" data-count={path.keyframes.length}>
            {path.closed && <li className="muted">closed path (orbit or spiral), {path.keyframes.length} keyframes</li>}
            {!path.closed &&
              path.keyframes.map((k, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: keyframes have no identity beyond their place in the path.
                <li key={i}>
                  <button type="button" className="link" onClick={() => useStudio.getState().requestPose(k)} title="Show this keyframe in the viewport">
                    az {((k.azimuth * 180) / Math.PI).toFixed(0)}°, el {((k.elevation * 180) / Math.PI).toFixed(0)}°, {k.distance.toFixed(2)} away
                  </button>
                  <button
                    type="button"
                    aria-label="earlier"
                    disabled={i === 0}
                    onClick={() => edit((ks) => [...ks.slice(0, i - 1), ks[i]!, ks[i - 1]!, ...ks.slice(i + 1)])}
                  >
                    ↑
                  </button>
                  <button
                    type="button"
                    aria-label="later"
                    disabled={i === path.keyframes.length - 1}
                    onClick={() => edit((ks) => [...ks.slice(0, i), ks[i + 1]!, ks[i]!, ...ks.slice(i + 2)])}
                  >
                    ↓
                  </button>
                  <button type="button" aria-label="delete" data-testid={`keyframe-delete-${i}`} onClick={() => edit((ks) => ks.filter((_, j) => j !== i))}>
                    ×
                  </button>
                </li>
              ))}
          </ol>
          {!usable && <p className="muted small">Add at least two keyframes.</p>}
          <div className="field-row inline">
            <label className="field-row inline">
              seconds
              <input
                type="number"
                min={1}
                max={600}
                step={1}
                value={path.seconds}
                data-testid="path-seconds"
                onChange={(e) => {
                  const v = Number(e.target.value);
                  if (v > 0 && v <= 600) setPath({ ...path, seconds: v });
                }}
              />
            </label>
            <label className="field-row inline">
              fov
              <input
                type="number"
                min={10}
                max={120}
                value={Math.round(path.fovDeg)}
                data-testid="path-fov"
                onChange={(e) => {
                  const v = Number(e.target.value);
                  if (v >= 10 && v <= 120) setPath({ ...path, fovDeg: v });
                }}
              />
            </label>
          </div>
          <div className="field-row inline">
            <select value={size} onChange={(e) => setSize(Number(e.target.value))} data-testid="video-size" aria-label="frame size">
              {SIZES.map(([w, h], i) => (
                <option key={`${w}x${h}`} value={i}>
                  {w}×{h}
                </option>
              ))}
            </select>
            <select value={fps} onChange={(e) => setFps(Number(e.target.value))} data-testid="video-fps" aria-label="frame rate">
              {FPS.map((f) => (
                <option key={f} value={f}>
                  {f} fps
                </option>
              ))}
            </select>
            <span className="muted small">
              {frameCount(path, fps)} frames · rank {rank}
            </span>
          </div>
          <div className="button-row">
            <button type="button" data-testid="path-preview" disabled={!usable || rendering !== null} onClick={previewing ? stopPreview : startPreview}>
              {previewing ? 'Stop preview' : 'Preview'}
            </button>
            <button
              type="button"
              data-testid="video-render"
              disabled={!usable || rendering !== null || disabled !== null}
              title={disabled ?? undefined}
              onClick={() => void render()}
            >
              Render video
            </button>
            {rendering && (
              <button type="button" data-testid="video-cancel" onClick={() => abort.current?.abort()}>
                Cancel
              </button>
            )}
          </div>
        </>
      )}
      {rendering && (
        <div className="progress" data-testid="video-progress">
          <progress max={rendering.frames} value={rendering.frame} />
          <div className="progress-text">
            frame {rendering.frame} / {rendering.frames}
            {left !== null && ` · ${formatSeconds(left)} left`}
          </div>
        </div>
      )}
      {video && (
        <div className="button-row">
          <span className="muted small" data-testid="video-result" data-bytes={video.bytes.length} data-name={video.name}>
            {video.summary}
          </span>
          <button
            type="button"
            data-testid="video-save"
            onClick={() => download(new Blob([video.bytes as Uint8Array<ArrayBuffer>], { type: video.mime }), video.name)}
          >
            Save…
          </button>
        </div>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
