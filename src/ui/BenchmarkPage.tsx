// The in-app benchmark page (index.html?bench): runs the fixed benchmark of run/app-benchmark.ts on
// this browser's GPU, with progress, and shows iterations per second, seconds to each held-out
// PSNR level, render speed by rank, peak memory and the adapter, and the result as JSON to copy.
// `?bench&iters=N` stops training after N iterations (a quick run, marked partial in the JSON);
// `&render=N` times N×N renders instead of the configuration's 256×256.
import { useEffect, useRef, useState } from 'react';
import type { AppBenchmarkResult } from '../run/app-benchmark.ts';
import { Session } from '../run/session.ts';
import { formatBytes, WEBGPU_BROWSERS } from '../view/webgpu.ts';

export function BenchmarkPage() {
  const session = useRef<Session | null>(null);
  const [ready, setReady] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [progress, setProgress] = useState<{ message: string; fraction: number } | null>(null);
  const [result, setResult] = useState<AppBenchmarkResult | null>(null);
  const [copied, setCopied] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const query = new URLSearchParams(location.search);
  const iters = query.get('iters');
  const renderSize = query.get('render');

  useEffect(() => {
    if (!navigator.gpu) {
      setError(`This browser has no WebGPU, which the benchmark needs. Browsers with WebGPU: ${WEBGPU_BROWSERS.join('; ')}.`);
      return;
    }
    Session.open(navigator.gpu)
      .then((s) => {
        session.current = s;
        setReady(s.ctx.adapter.label);
      })
      .catch((e: unknown) => setError((e as Error).message ?? String(e)));
  }, []);

  const run = async () => {
    const s = session.current;
    if (!s) return;
    setResult(null);
    setError(null);
    setCopied(false);
    abort.current = new AbortController();
    try {
      setResult(
        await s.benchmark({
          iterations: iters ? Number(iters) : undefined,
          renderSize: renderSize ? Number(renderSize) : undefined,
          onProgress: (message, fraction) => setProgress({ message, fraction }),
          signal: abort.current.signal,
        }),
      );
    } catch (e) {
      setError((e as Error).message ?? String(e));
    } finally {
      setProgress(null);
      abort.current = null;
    }
  };
  const json = result ? JSON.stringify(result, null, 2) : '';

  return (
    <main className="bench-page">
      <h1>Slimfield benchmark</h1>
      <p>
        Trains the built-in procedural scene with one fixed configuration (the same on every GPU, so results compare), then times renders at ranks 1, 4 and 16.
        Nothing is downloaded or sent anywhere: copy the JSON to share it.
      </p>
      <p data-testid="bench-adapter">{ready ? `GPU: ${ready}` : error ? '' : 'Starting WebGPU…'}</p>
      <div className="bench-actions">
        <button type="button" data-testid="bench-run" disabled={!ready || progress !== null} onClick={() => void run()}>
          {result ? 'Run again' : 'Run benchmark'}
        </button>
        {progress && (
          <button type="button" data-testid="bench-stop" onClick={() => abort.current?.abort()}>
            Stop
          </button>
        )}
      </div>
      {progress && (
        <div className="bench-progress">
          <progress data-testid="bench-progress" value={progress.fraction} max={1} /> {progress.message}
        </div>
      )}
      {error && (
        <p className="error" role="alert" data-testid="bench-error">
          {error}
        </p>
      )}
      {result && (
        <section data-testid="bench-result">
          <table className="bench-table">
            <tbody>
              <tr>
                <th>training</th>
                <td>
                  {result.iterations} iterations in {result.trainSeconds.toFixed(1)} s: <b data-testid="bench-its">{result.iterationsPerSecond}</b> iterations/s
                  {result.partial && ` (partial: ${result.partial})`}
                </td>
              </tr>
              {Object.entries(result.secondsToPsnr).map(([level, s]) => (
                <tr key={level}>
                  <th>held-out {level} dB</th>
                  <td>{s === null ? 'not reached' : `after ${s.toFixed(1)} s`}</td>
                </tr>
              ))}
              <tr>
                <th>final held-out PSNR</th>
                <td>{result.finalPsnr === null ? '–' : `${result.finalPsnr.toFixed(2)} dB`}</td>
              </tr>
              {result.render.map((r) => (
                <tr key={r.rank}>
                  <th>render, rank {r.rank}</th>
                  <td>
                    {r.size}×{r.size} in {r.ms} ms: {r.megapixelsPerSecond} megapixels/s
                  </td>
                </tr>
              ))}
              <tr>
                <th>peak GPU memory</th>
                <td>{formatBytes(result.peakGpuBytes)}</td>
              </tr>
              <tr>
                <th>per iteration</th>
                <td>
                  {result.submissionsPerIteration} submissions, {result.readbacksPerIteration} blocking readbacks, {result.throttlesPerIteration} waits with the
                  GPU busy
                </td>
              </tr>
            </tbody>
          </table>
          <div className="bench-actions">
            <button
              type="button"
              data-testid="bench-copy"
              onClick={() =>
                void navigator.clipboard
                  .writeText(json)
                  .then(() => setCopied(true))
                  .catch(() => setCopied(false))
              }
            >
              Copy JSON
            </button>
            {copied && <span>copied</span>}
          </div>
          <pre data-testid="bench-json" className="bench-json">
            {json}
          </pre>
        </section>
      )}
    </main>
  );
}
