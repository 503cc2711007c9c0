import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { h, setText } from './dom.js';

export interface SeriesSpec {
  label: string;
  color: string;
  /** The label of this series' axis, when the chart has more than one. */
  axisLabel?: string;
  /** The y scale this series uses (its own axis). @default 'y' */
  scale?: string;
}

export interface TimeChartOptions {
  title: string;
  series: SeriesSpec[];
  /** Width of the time window, in seconds. @default 600 */
  windowSec?: number;
  /** @default 200 */
  height?: number;
}

const AXIS = { stroke: '#475569', grid: { stroke: '#e2e8f0', width: 1 }, ticks: { stroke: '#cbd5e1', width: 1 }, font: '12px system-ui, sans-serif' };

/**
 * A uPlot line chart over a fixed trailing time window, sized to its container.
 * The canvas is decorative for screen readers: a text summary sits beside it.
 */
export class TimeChart {
  readonly element: HTMLElement;
  private readonly plot: uPlot;
  private readonly resize: ResizeObserver;
  private readonly summary: HTMLElement;
  private windowEnd = Math.floor(Date.now() / 1000);
  private readonly windowSec: number;

  constructor(opts: TimeChartOptions) {
    this.windowSec = opts.windowSec ?? 600;
    const canvasHost = h('div', { class: 'chart-canvas', 'aria-hidden': 'true' });
    this.summary = h('p', { class: 'visually-hidden' });
    this.element = h('figure', { class: 'chart card' }, h('figcaption', {}, opts.title), canvasHost, this.summary);
    const scales = [...new Set(opts.series.map((s) => s.scale ?? 'y'))];
    this.plot = new uPlot(
      {
        width: 520,
        height: opts.height ?? 200,
        legend: { show: true, live: true },
        cursor: { drag: { x: false, y: false } },
        scales: {
          x: { time: true, range: () => [this.windowEnd - this.windowSec, this.windowEnd] },
          ...Object.fromEntries(scales.map((key) => [key, { range: (_u: uPlot, _min: number, max: number) => [0, niceMax(max)] as uPlot.Range.MinMax }])),
        },
        axes: [
          { ...AXIS, values: (_u: uPlot, splits: number[]) => splits.map(hourMinute) },
          ...scales.map((scale, i) => {
            const series = opts.series.find((s) => (s.scale ?? 'y') === scale);
            const several = scales.length > 1;
            return {
              ...AXIS,
              scale,
              side: i === 0 ? 3 : 1,
              size: 48,
              grid: i === 0 ? AXIS.grid : { show: false },
              stroke: several ? series?.color : AXIS.stroke,
              ...(several && series?.axisLabel ? { label: series.axisLabel, labelSize: 18, labelFont: '600 12px system-ui, sans-serif' } : {}),
            };
          }),
        ],
        series: [
          { label: 'Time' },
          ...opts.series.map((s) => ({
            label: s.label,
            scale: s.scale ?? 'y',
            stroke: s.color,
            width: 2,
            fill: `${s.color}1f`,
            points: { show: false },
            // Away from the cursor the legend shows the latest value.
            value: (u: uPlot, v: number | null, seriesIdx: number, idx: number | null) => {
              const shown = idx === null ? (u.data[seriesIdx]?.at(-1) ?? null) : v;
              return shown === null || shown === undefined ? '–' : String(Math.round(shown * 10) / 10);
            },
          })),
        ],
      },
      [[], ...opts.series.map(() => [])],
      canvasHost,
    );
    this.resize = new ResizeObserver(() => {
      const width = Math.floor(canvasHost.clientWidth);
      if (width > 0 && width !== this.plot.width) this.plot.setSize({ width, height: this.plot.height });
    });
    this.resize.observe(canvasHost);
  }

  /** `times` in seconds since the epoch; one array of values per series. */
  setData(times: number[], values: number[][], summary: string): void {
    this.windowEnd = Math.max(Math.floor(Date.now() / 1000), times.at(-1) ?? 0);
    this.plot.setData([times, ...values]);
    setText(this.summary, summary);
  }

  destroy(): void {
    this.resize.disconnect();
    this.plot.destroy();
  }
}

const pad = (n: number) => String(n).padStart(2, '0');
const hourMinute = (sec: number) => {
  const d = new Date(sec * 1000);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
};

/** A round upper bound a bit above `max` (at least 1), so axes read 0, 5, 10 … */
function niceMax(max: number): number {
  if (!Number.isFinite(max) || max <= 0) return 4;
  const padded = max * 1.15;
  const step = 10 ** Math.floor(Math.log10(padded));
  return Math.ceil(padded / step) * step;
}
