// A live line chart over training iterations, drawn by uPlot (canvas, fast enough to redraw every
// step): axes with ticks, a legend that follows the cursor, optional log scale. The chart is
// built once per set of series and only its data changes afterwards.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  colour: string;
  /** Draw points (sparse measurements) joined by a dashed line. */
  points?: boolean;
}

export interface LiveChartProps {
  /** Iterations (x), then one array per series; null where a series has no value. */
  data: [number[], ...(number | null)[][]];
  series: ChartSeries[];
  unit: string;
  log?: boolean;
  height?: number;
}

export function LiveChart({ data, series, unit, log = false, height = 130 }: LiveChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const key = series.map((s) => s.label).join('|') + (log ? '|log' : '');
  // biome-ignore lint/correctness/useExhaustiveDependencies: the chart is rebuilt only when its series (key) change; data updates go through setData below.
  useEffect(() => {
    const el = box.current!;
    const u = new uPlot(
      {
        width: el.clientWidth || 280,
        height,
        scales: { x: { time: false }, y: log ? { distr: 3 } : {} },
        axes: [
          { stroke: '#9aa7b8', grid: { stroke: '#21262d' }, ticks: { stroke: '#30363d' }, size: 28 },
          {
            stroke: '#9aa7b8',
            grid: { stroke: '#21262d' },
            ticks: { stroke: '#30363d' },
            size: 44,
            values: (_u, vals) => vals.map((v) => (v == null ? '' : formatTick(v))),
          },
        ],
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
        series: [
          { label: 'iteration' },
          ...series.map((s) => ({
            label: s.label,
            stroke: s.colour,
            width: s.points ? 1 : 1.5,
            dash: s.points ? [3, 2] : undefined,
            spanGaps: s.points,
            points: { show: s.points ?? false, size: 5, fill: s.colour },
            value: (_u: uPlot, v: number | null) => (v == null ? '–' : `${formatTick(v)} ${unit}`),
          })),
        ],
      },
      data as uPlot.AlignedData,
      el,
    );
    plot.current = u;
    // Follow the side panel's width.
    const ro = new ResizeObserver(() => u.setSize({ width: el.clientWidth || 280, height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [key, height]);
  useEffect(() => {
    plot.current?.setData(data as uPlot.AlignedData);
  }, [data]);
  return <div ref={box} className="live-chart" />;
}

function formatTick(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(1);
  return a < 1 ? v.toPrecision(2) : a < 100 ? v.toFixed(1) : v.toFixed(0);
}
