import { Component, Suspense, lazy, useEffect, useRef, useState, type ReactNode } from 'react';
import { FieldViewport } from './FieldViewport.tsx';
import { DatasetPane } from './DatasetPane.tsx';
import type { SceneBox } from './dataset-geometry.ts';
import { ExportPanel } from './ExportPanel.tsx';
import { RankPanel } from './RankPanel.tsx';
import { TrainingCharts } from './TrainingCharts.tsx';
import { SCENE_EXTENSION } from '../io/scene-file.ts';
import { StudioSession, type TrainRequest } from './session.ts';
import { TrainingPanel, type TrainingActions } from './TrainingPanel.tsx';
import { loadDataset } from '../data/loaders.ts';
import { mapSource, zipSource } from '../data/sources.ts';
import { decodeImageBrowser, filesToMap, relativePath, walkDropped, type DropEntry } from './decode-browser.ts';
import { useStudio, type AdapterInfoSummary, type ViewTab } from './store.ts';
import { WEBGPU_BROWSERS, adapterLabel, formatBytes, probeWebGpu } from './webgpu.ts';

// three.js and react-three-fiber load only once WebGPU is confirmed.
const SceneCanvas = lazy(() => import('./SceneCanvas.tsx'));
/** Iterations between live held-out PSNR measurements (2 test views, between training steps). */
const TEST_PSNR_EVERY = 25;

export function App() {
  const status = useStudio((s) => s.gpuStatus);
  const adapter = useStudio((s) => s.adapter);
  const reason = useStudio((s) => s.gpuReason);
  const dataset = useStudio((s) => s.datasetName);
  const scene = useStudio((s) => s.sceneName);
  const tab = useStudio((s) => s.viewTab);
  const trainStatus = useStudio((s) => s.trainStatus);
  const session = useRef<StudioSession | null>(null);
  const [request, setRequest] = useState<TrainRequest>({ model: 'vm', preset: 'preview', trainViews: 0, upsilon: 0.4 });
  const actions = useTrainingActions(session);

  // `?demo` (the README's first command) opens the built-in scene as soon as WebGPU is ready.
  const autoDemo = useRef(typeof location !== 'undefined' && new URLSearchParams(location.search).has('demo'));
  useEffect(() => {
    if (status === 'ready' && autoDemo.current) {
      autoDemo.current = false;
      actions.loadDemo();
    }
  }, [status, actions]);

  useEffect(() => {
    let cancelled = false;
    const { setChecking, setReady, setUnavailable } = useStudio.getState();
    setChecking();
    const gpu = typeof navigator !== 'undefined' ? navigator.gpu : undefined;
    void probeWebGpu(gpu).then((r) => {
      if (cancelled) return;
      if (r.ok) setReady(r.adapter);
      else setUnavailable(r.reason);
    });
    return () => {
      cancelled = true;
    };
  }, []);

  return (
    <div className="studio">
      <header className="studio-header">
        <h1>Slimfield</h1>
        <span className="tagline">radiance fields, trained in your browser</span>
        <StatusBadge status={status} />
      </header>
      <main className="studio-main">
        <section
          className="viewport"
          data-testid="viewport"
          aria-label="Scene viewport"
          onDragOver={(e) => e.preventDefault()}
          onDrop={(e) => {
            e.preventDefault();
            if (status !== 'ready') return;
            const files = [...e.dataTransfer.files];
            // Entries must be taken while the event lasts; folders are walked afterwards.
            const entries = [...e.dataTransfer.items].map((i) => i.webkitGetAsEntry?.()).filter((x): x is FileSystemEntry => !!x);
            const downscale = useStudio.getState().downscale;
            if (files.length === 1 && files[0]!.name.toLowerCase().endsWith(SCENE_EXTENSION)) actions.openScene(files[0]!);
            else if (entries.some((x) => x.isDirectory)) actions.openFiles(walkDropped(entries as unknown as DropEntry[]), downscale);
            else if (files.length > 0) actions.openFiles(files, downscale);
          }}
        >
          {status === 'ready' && (
            <ViewportErrorBoundary>
              {(dataset || scene) && session.current ? (
                <div className="viewport-stack">
                  {dataset && session.current.dataset && (
                    <>
                      <ViewTabs />
                      {tab === 'dataset' && (
                        <DatasetPane
                          dataset={session.current.dataset}
                          loadedBox={session.current.loadedBox!}
                          onBox={actions.setBox}
                          editable={trainStatus !== 'training' && trainStatus !== 'paused'}
                        />
                      )}
                    </>
                  )}
                  <div className="render-pane" hidden={tab !== 'render'}>
                    <FieldViewport session={session.current} active={tab === 'render'}>
                      <div className="monitor-column">
                        <RankPanel onRank={actions.setRank} />
                        <TrainingCharts />
                      </div>
                    </FieldViewport>
                  </div>
                </div>
              ) : (
                <>
                  <Suspense fallback={<div className="viewport-message">Loading the viewport…</div>}>
                    <SceneCanvas />
                  </Suspense>
                  <div className="viewport-hint">drag to orbit · scene bounds · open the demo scene to start</div>
                </>
              )}
            </ViewportErrorBoundary>
          )}
          {status === 'checking' && <div className="viewport-message">Checking for WebGPU…</div>}
          {status === 'unavailable' && <NoWebGpu reason={reason} />}
        </section>
        <aside className="side-panel">
          {/* Open on the first screen; folded away once there is a dataset, to leave room for training. */}
          <details className="gpu-section" open={!dataset && !scene}>
            <summary>
              <h2>GPU</h2>
              {adapter && <span className="muted small">{adapterLabel(adapter)}</span>}
            </summary>
            {status === 'ready' && adapter && <AdapterPanel adapter={adapter} />}
            {status === 'checking' && <p className="muted">Requesting an adapter…</p>}
            {status === 'unavailable' && <p className="muted">No WebGPU adapter. See the viewport for how to get one.</p>}
          </details>
          <h2>Training</h2>
          {status === 'ready' ? (
            <TrainingPanel actions={actions} request={request} setRequest={setRequest} />
          ) : (
            <p className="muted note">Training needs WebGPU.</p>
          )}
          {session.current && <ExportSection session={session.current} />}
        </aside>
      </main>
    </div>
  );
}

function ExportSection({ session }: { session: StudioSession }) {
  const slim = useStudio((s) => s.slim);
  if (!slim) return null;
  return (
    <>
      <h2>Export</h2>
      <ExportPanel session={session} />
    </>
  );
}

/** Wires the panel's buttons to the engine session and the store. */
function useTrainingActions(session: { current: StudioSession | null }): TrainingActions {
  const st = useStudio.getState;
  const fail = (e: unknown) => {
    st().setLoading(null);
    st().setTrainStatus('error', (e as Error).message ?? String(e));
  };
  // The live held-out PSNR: the trained model on the readout's test views, through the GPU
  // queue between training steps; one measurement at a time, and on a slow GPU no more than
  // about 5% of the time (a measurement that took d waits 20 d before the next).
  let testing = false;
  let testCost = { at: 0, took: 0 };
  const measureTestPsnr = async (iter: number, force = false): Promise<void> => {
    const s = session.current;
    const now = performance.now();
    if (!s?.field || testing || (!force && now - testCost.at < 20 * testCost.took)) return;
    testing = true;
    try {
      const r = await s.rankReadout(s.field.rank, true);
      if (r?.psnr != null) st().recordTestPsnr(iter, r.psnr);
    } finally {
      testing = false;
      testCost = { at: performance.now(), took: performance.now() - now };
    }
  };
  // One held-out PSNR measurement at a time; a slider that moved meanwhile gets measured next.
  let measuring = false;
  const measureRank = async (withPsnr: boolean): Promise<void> => {
    const s = session.current;
    const slim = st().slim;
    if (!s || !slim) return;
    const rank = slim.rank;
    // Ranks already on the finished curve need no new measurement.
    const known = st().trainStatus === 'done' ? slim.curve.find((p) => p.rank === rank) : undefined;
    if (known) {
      st().setReadout(known);
      return;
    }
    const quick = await s.rankReadout(rank, false);
    if (quick && st().slim?.rank === rank) st().setReadout(quick);
    if (!withPsnr || measuring) return;
    measuring = true;
    try {
      const full = await s.rankReadout(rank, true);
      if (full && st().slim?.rank === rank) st().setReadout(full);
    } finally {
      measuring = false;
    }
    if (st().slim && st().slim!.rank !== rank) void measureRank(true);
  };
  const computeCurve = async (): Promise<void> => {
    const s = session.current;
    if (!s || !st().slim) return;
    st().setCurve([], 'computing');
    const curve = await s.rankCurve((partial) => st().setCurve(partial, 'computing'));
    st().setCurve(curve, 'done');
    await measureRank(true);
  };
  return {
    estimate: (request) => session.current?.estimate(request) ?? null,
    openScene: (file) => {
      void (async () => {
        try {
          st().setLoading(`reading ${file.name}…`);
          session.current ??= await StudioSession.open(navigator.gpu);
          const field = session.current.openScene(new Uint8Array(await file.arrayBuffer()), file.name);
          st().setScene(`${file.name} (${field.settings.kind.toUpperCase()}, rank ${field.rank})`);
          st().resetSlim(field.maxRank, field.rank);
          await measureRank(false);
        } catch (e) {
          st().setLoading(null);
          fail(e);
        }
      })();
    },
    setRank: (rank) => {
      st().setRank(rank);
      if (session.current) session.current.viewRank = st().slim?.rank ?? null;
      void measureRank(true);
    },
    openFiles: (files, downscale) => {
      void (async () => {
        try {
          st().setLoading('reading files…');
          session.current ??= await StudioSession.open(navigator.gpu);
          const list = [...(await files)];
          if (list.length === 0) throw new Error('The dropped folder holds no files.');
          const one = list.length === 1 ? ('file' in list[0]! ? list[0]!.file : list[0]!) : null;
          const zip = one && one.name.toLowerCase().endsWith('.zip') ? one : null;
          const first = relativePath(list[0]!);
          const label = zip ? zip.name : first.includes('/') ? first.split('/')[0]! : 'selected files';
          const source = zip ? zipSource(new Uint8Array(await zip.arrayBuffer()), label) : mapSource(await filesToMap(list), label);
          const ds = await loadDataset(source, {
            downscale,
            decode: decodeImageBrowser,
            splits: ['train', 'test'],
            onProgress: (done, total) => st().setLoading(`decoding images: ${done}/${total}`),
          });
          session.current.useDataset(ds);
          const train = ds.splits.train!;
          const test = ds.splits.test ? `, ${ds.splits.test.cameras.length} test` : '';
          st().setDataset(`${label} (${train.cameras.length} views${test}, ${train.width}×${train.height})`, ds.warnings, session.current.loadedBox!);
        } catch (e) {
          st().setLoading(null);
          fail(e);
        }
      })();
    },
    loadDemo: () => {
      void (async () => {
        try {
          session.current ??= await StudioSession.open(navigator.gpu);
          const ds = session.current.loadDemo();
          st().setDataset(`built-in demo scene (${ds.splits.train!.cameras.length} views, ${ds.splits.train!.width}×${ds.splits.train!.height})`, [], session.current.loadedBox!);
        } catch (e) {
          fail(e);
        }
      })();
    },
    setBox: (box: SceneBox) => {
      session.current?.setBox(box);
      st().setBox(box);
    },
    start: (request) => {
      const s = session.current;
      if (!s) return;
      st().setTrainStatus('training');
      // Training is watched in the live render.
      st().setViewTab('render');
      s.train(
        request,
        (field) => {
          st().setLoading(null);
          st().resetSlim(field.maxRank, field.rank);
          void measureRank(false);
        },
        (step, elapsed) => {
          st().recordStep({ iter: step.iter, total: s.trainer!.opt.nIters, elapsed, psnr: step.psnr, loss: step.loss, samples: step.samples, shaded: step.shaded, gpuBytes: s.ctx.allocatedBytes, event: step.event });
          if (step.iter % TEST_PSNR_EVERY === 0) void measureTestPsnr(step.iter);
          if (step.rank !== st().slim?.trainedRank) {
            st().setTrainedRank(step.rank);
            s.viewRank = st().slim?.rank ?? null;
            void measureRank(false);
          }
        },
        // Strivec's coarse pass, before the field exists.
        (p) => st().setLoading(p.message),
      ).then(
        () => {
          st().setLoading(null);
          // Stopped during the coarse pass: no model was made.
          if (!s.field) return st().setTrainStatus('ready');
          st().setTrainStatus('done');
          const last = st().progress;
          if (last.testPsnr.at(-1)?.iter !== last.iter) void measureTestPsnr(last.iter, true);
          void computeCurve().catch(fail);
        },
        fail,
      );
    },
    pause: () => {
      session.current?.pause();
      st().setTrainStatus('paused');
    },
    resume: () => {
      session.current?.resume();
      st().setTrainStatus('training');
    },
    stop: () => {
      session.current?.stop();
    },
  };
}

const TABS: [ViewTab, string, string][] = [
  ['dataset', 'Dataset', 'photos, cameras and the scene box'],
  ['render', 'Render', 'the live neural render of the field'],
];

function ViewTabs() {
  const tab = useStudio((s) => s.viewTab);
  return (
    <div className="view-tabs" role="tablist" aria-label="viewport">
      {TABS.map(([t, label, title]) => (
        <button key={t} type="button" role="tab" aria-selected={t === tab} className={t === tab ? 'active' : ''} data-testid={`tab-${t}`} title={title} onClick={() => useStudio.getState().setViewTab(t)}>
          {label}
        </button>
      ))}
    </div>
  );
}

function StatusBadge({ status }: { status: 'checking' | 'ready' | 'unavailable' }) {
  const text = status === 'ready' ? 'WebGPU ready' : status === 'unavailable' ? 'WebGPU unavailable' : 'Checking WebGPU…';
  return (
    <span className={`status-badge status-${status}`} data-testid="webgpu-status" role="status">
      {text}
    </span>
  );
}

function AdapterPanel({ adapter }: { adapter: AdapterInfoSummary }) {
  const rows: Array<[string, string]> = [
    ['Description', adapter.description || '—'],
    ['Vendor', adapter.vendor || '—'],
    ['Architecture', adapter.architecture || '—'],
  ];
  const limits: Array<[string, number]> = [
    ['maxStorageBufferBindingSize', adapter.limits.maxStorageBufferBindingSize],
    ['maxBufferSize', adapter.limits.maxBufferSize],
    ['maxComputeWorkgroupStorageSize', adapter.limits.maxComputeWorkgroupStorageSize],
  ];
  return (
    <div data-testid="adapter-info" className="adapter-info">
      <p className="adapter-label">{adapterLabel(adapter)}</p>
      <dl className="kv">
        {rows.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
      <h3>Limits</h3>
      <dl className="kv limits">
        {limits.map(([k, v]) => (
          <div key={k}>
            <dt title={k}>{k}</dt>
            <dd title={`${v} bytes`}>{formatBytes(v)}</dd>
          </div>
        ))}
      </dl>
    </div>
  );
}

function NoWebGpu({ reason }: { reason: string | null }) {
  return (
    <div className="viewport-message no-webgpu" data-testid="no-webgpu">
      <h2>This browser can’t run Slimfield yet</h2>
      <p>Slimfield trains radiance fields on your GPU through WebGPU, which this browser doesn’t offer right now.</p>
      {reason && <p className="muted">{reason}</p>}
      <p>Browsers with WebGPU:</p>
      <ul data-testid="browser-list">
        {WEBGPU_BROWSERS.map((b) => (
          <li key={b}>{b}</li>
        ))}
      </ul>
      <p>
        On Linux, Chrome ships WebGPU switched off: open <code>chrome://flags</code>, enable “Unsafe WebGPU”
        (<code>#enable-unsafe-webgpu</code>), restart the browser and reload this page.
      </p>
    </div>
  );
}

/** Keeps a WebGL failure in the preview from blanking the whole page. */
class ViewportErrorBoundary extends Component<{ children: ReactNode }, { error: string | null }> {
  override state: { error: string | null } = { error: null };
  static getDerivedStateFromError(err: unknown): { error: string } {
    return { error: err instanceof Error ? err.message : String(err) };
  }
  override render() {
    if (this.state.error) {
      return (
        <div className="viewport-message">
          <p>The 3D preview could not start: {this.state.error}</p>
          <p className="muted">WebGPU itself is available; only the preview failed.</p>
        </div>
      );
    }
    return this.props.children;
  }
}
