import { Component, lazy, type ReactNode, Suspense, useEffect, useMemo, useRef, useState } from 'react';
import { browserInputLimits, type DropEntry, walkDropped } from '../data/browser-files.ts';
import { SCENE_EXTENSION } from '../formats/scene-file/header.ts';
import type { Session } from '../run/session.ts';
import { adapterLabel, formatBytes, probeWebGpu, WEBGPU_BROWSERS } from '../view/webgpu.ts';
import { trainingActions } from './controller.ts';
import { DatasetPane } from './DatasetPane.tsx';
import { ExportPanel } from './ExportPanel.tsx';
import { FieldViewport } from './FieldViewport.tsx';
import { PosingPane } from './PosingPane.tsx';
import type { TrainRequest } from './presets.ts';
import { RankPanel } from './RankPanel.tsx';
import { type AdapterInfoSummary, useStudio, type ViewTab } from './store.ts';
import { TrainingCharts } from './TrainingCharts.tsx';
import { TrainingPanel } from './TrainingPanel.tsx';

// three.js and react-three-fiber load only once WebGPU is confirmed.
const SceneCanvas = lazy(() => import('./SceneCanvas.tsx'));

export function App() {
  const status = useStudio((s) => s.gpuStatus);
  const adapter = useStudio((s) => s.adapter);
  const reason = useStudio((s) => s.gpuReason);
  const dataset = useStudio((s) => s.datasetName);
  const scene = useStudio((s) => s.sceneName);
  const tab = useStudio((s) => s.viewTab);
  const trainStatus = useStudio((s) => s.trainStatus);
  const posing = useStudio((s) => s.posing !== null);
  const session = useRef<Session | null>(null);
  const [request, setRequest] = useState<TrainRequest>({ model: 'vm', preset: 'preview', trainViews: 0, upsilon: 0.4, contract: 'auto', refinePoses: false });
  const actions = useMemo(() => trainingActions(session), []);

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
            else if (entries.some((x) => x.isDirectory)) actions.openFiles(walkDropped(entries as unknown as DropEntry[], browserInputLimits()), downscale);
            else if (files.length > 0) actions.openFiles(files, downscale);
          }}
        >
          {status === 'ready' && (
            <ViewportErrorBoundary>
              {posing ? (
                <PosingPane actions={actions} />
              ) : (dataset || scene) && session.current ? (
                <div className="viewport-stack">
                  {dataset && session.current.dataset && (
                    <>
                      <ViewTabs />
                      {tab === 'dataset' && (
                        <DatasetPane
                          session={session.current}
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

function ExportSection({ session }: { session: Session }) {
  const slim = useStudio((s) => s.slim);
  if (!slim) return null;
  return (
    <>
      <h2>Export</h2>
      <ExportPanel session={session} />
    </>
  );
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
        <button
          key={t}
          type="button"
          role="tab"
          aria-selected={t === tab}
          className={t === tab ? 'active' : ''}
          data-testid={`tab-${t}`}
          title={title}
          onClick={() => useStudio.getState().setViewTab(t)}
        >
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
        On Linux, Chrome ships WebGPU switched off: open <code>chrome://flags</code>, enable “Unsafe WebGPU” (<code>#enable-unsafe-webgpu</code>), restart the
        browser and reload this page.
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
