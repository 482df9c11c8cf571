// Live charts of a training run beside the render: the loss (log scale) and PSNR, train and
// held-out. Drawn by uPlot through LiveChart.
import { useMemo } from 'react';
import { type ChartSeries, LiveChart } from './LiveChart.tsx';
import { useStudio } from './store.ts';

const TRAIN_SERIES: ChartSeries[] = [
  { label: 'train', colour: '#7cc4ff' },
  { label: 'held-out', colour: '#f0883e', points: true },
];
const LOSS_SERIES: ChartSeries[] = [{ label: 'loss', colour: '#d2a8ff' }];

/**
 * Live charts over the recent iterations: the training loss (log scale) and PSNR, train (smoothed)
 * and held-out (measured every few iterations, dots). The caption keeps the latest numbers.
 */
export function TrainingCharts() {
  const p = useStudio((s) => s.progress);
  const { psnr, loss } = useMemo(() => {
    const first = p.iter - p.psnr.length + 1;
    const x = p.psnr.map((_, i) => first + i);
    const held: (number | null)[] = x.map(() => null);
    for (const t of p.testPsnr) if (t.iter >= first && t.iter <= p.iter) held[t.iter - first] = t.psnr;
    return {
      psnr: [x, p.psnr, held] as [number[], ...(number | null)[][]],
      loss: [x, p.loss.map((v) => (v > 0 ? v : null))] as [number[], ...(number | null)[][]],
    };
  }, [p.iter, p.psnr, p.loss, p.testPsnr]);
  if (p.psnr.length < 2) return null;
  const lastTest = p.testPsnr.at(-1);
  return (
    <>
      <figure className="chart" data-testid="loss-chart">
        <LiveChart data={loss} series={LOSS_SERIES} unit="" log />
        <figcaption>training loss {p.loss.at(-1)?.toExponential(2)} (MSE + regularizers, smoothed)</figcaption>
      </figure>
      <figure className="chart" data-testid="psnr-chart">
        <LiveChart data={psnr} series={TRAIN_SERIES} unit="dB" />
        <figcaption>
          train PSNR {p.psnr.at(-1)!.toFixed(2)} dB
          {lastTest && (
            <>
              {' · '}
              <span style={{ color: '#f0883e' }}>held-out</span> <span data-testid="test-psnr">{lastTest.psnr.toFixed(2)}</span> dB at iteration {lastTest.iter}
            </>
          )}
        </figcaption>
      </figure>
    </>
  );
}
