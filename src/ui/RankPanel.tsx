// The rank slider beside the viewport: slims the model at test time (SlimmeRF rank groups, or a
// plain TensoRF truncated the same way) and shows what the chosen rank costs (parameters, file
// size) and gives (PSNR on held-out views), with the quality-against-size curve over all ranks.
import { formatBytes } from '../view/webgpu.ts';
import { type RankReadout, useStudio } from './store.ts';

export function RankPanel({ onRank }: { onRank: (rank: number) => void }) {
  const slim = useStudio((s) => s.slim);
  const scene = useStudio((s) => s.sceneName);
  const lastTest = useStudio((s) => s.progress.testPsnr.at(-1));
  const training = useStudio((s) => s.trainStatus === 'training' || s.trainStatus === 'paused');
  if (!slim) return null;
  const r = slim.readout;
  // While training, the live held-out measurement is this readout's PSNR at the trained rank.
  const psnrText =
    r?.psnr != null
      ? `${r.psnr.toFixed(2)} dB`
      : training && slim.rank === slim.trainedRank && lastTest
        ? `${lastTest.psnr.toFixed(2)} dB (iteration ${lastTest.iter})`
        : 'measuring…';
  return (
    <div className="rank-panel" data-testid="rank-panel">
      <label className="rank-row">
        <span>Rank</span>
        <input
          type="range"
          min={1}
          max={slim.maxRank}
          step={1}
          value={slim.rank}
          data-testid="rank-slider"
          aria-label="model rank"
          onChange={(e) => onRank(Number(e.target.value))}
        />
        <span data-testid="rank-value">
          {slim.rank} / {slim.maxRank}
        </span>
      </label>
      {slim.trainedRank < slim.maxRank && (
        <p className="muted small">
          {slim.trainedRank} of {slim.maxRank} rank groups trained so far; higher ranks are not available yet.
        </p>
      )}
      {r && (
        <dl className="kv rank-readout" data-testid="rank-readout">
          <div>
            <dt>Parameters</dt>
            <dd data-testid="rank-params">{r.params.toLocaleString()}</dd>
          </div>
          <div>
            <dt title="the .slimscene file at this rank, fp16">File size (fp16)</dt>
            <dd data-testid="rank-bytes">{formatBytes(r.bytes)}</dd>
          </div>
          {slim.compactBytes?.[r.rank - 1] !== undefined && (
            <div>
              <dt title="the compact file made in the Export panel: the bytes a viewer needs to show this rank">Compact file</dt>
              <dd data-testid="rank-compact-bytes">{formatBytes(slim.compactBytes[r.rank - 1]!)}</dd>
            </div>
          )}
          {!scene && (
            <div>
              <dt>Held-out PSNR</dt>
              <dd data-testid="rank-psnr">{psnrText}</dd>
            </div>
          )}
        </dl>
      )}
      {!scene && <RankCurve curve={slim.curve} rank={slim.rank} status={slim.curveStatus} trained={slim.trainedRank} />}
    </div>
  );
}

/** PSNR against file size over every rank, with the slider's rank marked. */
function RankCurve({ curve, rank, status, trained }: { curve: RankReadout[]; rank: number; status: string; trained: number }) {
  if (status === 'idle') return <p className="muted small">The quality-against-size curve is computed when training ends.</p>;
  const pts = curve.filter((p) => p.psnr !== null) as (RankReadout & { psnr: number })[];
  const w = 260;
  const h = 120;
  const pad = 24;
  const maxBytes = Math.max(1, ...pts.map((p) => p.bytes));
  const lo = Math.floor(Math.min(...pts.map((p) => p.psnr), 30));
  const hi = Math.ceil(Math.max(...pts.map((p) => p.psnr), lo + 1));
  const x = (b: number) => pad + (b / maxBytes) * (w - pad - 6);
  const y = (v: number) => h - pad - ((v - lo) / (hi - lo)) * (h - pad - 6);
  const mark = pts.find((p) => p.rank === rank);
  return (
    <figure className="chart" data-testid="rank-curve" data-points={pts.length}>
      {pts.length > 0 && (
        <svg width={w} height={h} viewBox={`0 0 ${w} ${h}`} role="img" aria-label="PSNR against file size by rank">
          <line x1={pad} y1={h - pad} x2={w - 4} y2={h - pad} stroke="currentColor" strokeOpacity="0.4" />
          <line x1={pad} y1={4} x2={pad} y2={h - pad} stroke="currentColor" strokeOpacity="0.4" />
          <text x={pad} y={h - 8} fontSize="9" fill="currentColor">
            0
          </text>
          <text x={w - 4} y={h - 8} fontSize="9" fill="currentColor" textAnchor="end">
            {formatBytes(maxBytes)}
          </text>
          <text x={pad - 3} y={y(hi) + 3} fontSize="9" fill="currentColor" textAnchor="end">
            {hi}
          </text>
          <text x={pad - 3} y={y(lo)} fontSize="9" fill="currentColor" textAnchor="end">
            {lo}
          </text>
          <polyline points={pts.map((p) => `${x(p.bytes)},${y(p.psnr)}`).join(' ')} fill="none" stroke="currentColor" strokeWidth="1.5" />
          {pts.map((p) => (
            <circle key={p.rank} cx={x(p.bytes)} cy={y(p.psnr)} r={2} fill="currentColor" />
          ))}
          {mark && <circle data-testid="rank-curve-mark" cx={x(mark.bytes)} cy={y(mark.psnr)} r={5} fill="none" stroke="#e0663a" strokeWidth="2" />}
        </svg>
      )}
      <figcaption>
        PSNR (dB) against file size, ranks 1–{trained}
        {status === 'computing' && ` · computing: ${curve.length} / ${trained}`}
      </figcaption>
    </figure>
  );
}
