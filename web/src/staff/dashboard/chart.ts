// The sales chart, drawn by uPlot. This module is imported lazily, so uPlot
// (about 20 KB gzipped) is fetched only when a dashboard shows a chart and
// never delays the first paint. uPlot sets sizes through el.style (CSSOM),
// which the strict CSP allows; its CSS is in the app's stylesheet.
import uPlot from 'uplot';
import { formatMoneyCompact } from '../../shared/money';

export interface ChartInput {
  /** Bucket starts, in seconds since the epoch. */
  xs: number[];
  /** Net sales per bucket, in major units (the axis reads money). */
  current: (number | null)[];
  /** The previous period's buckets, aligned with the current ones by position. */
  previous: (number | null)[];
  currency: string;
  timeZone: string;
  interval: 'hour' | 'day';
}

export interface SalesChart {
  setData(input: ChartInput): void;
  setWidth(width: number): void;
  destroy(): void;
}

const HEIGHT = 260;
// Blue 700 and gray 500 on white: both above 3:1 for graphics (WCAG 1.4.11).
const CURRENT = '#1d4ed8';
const PREVIOUS = '#6b7280';
const AXIS = '#374151';
const GRID = '#e5e7eb';

function options(input: ChartInput, width: number): uPlot.Options {
  return {
    width,
    height: HEIGHT,
    // Ticks in the store's zone: the buckets are the store's hours and days.
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), input.timeZone),
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
    series: [
      {},
      { label: 'Net sales', stroke: CURRENT, width: 2, fill: 'rgba(29, 78, 216, 0.08)', points: { show: input.xs.length <= 31 } },
      { label: 'Previous period', stroke: PREVIOUS, width: 2, dash: [6, 4], points: { show: false } },
    ],
    axes: [
      {
        stroke: AXIS,
        grid: { stroke: GRID, width: 1 },
        ticks: { stroke: GRID, width: 1 },
        // Ticks only on whole buckets: hours for a day, days for longer.
        incrs: input.interval === 'hour' ? [3600, 7200, 10800, 21600] : [86400, 2 * 86400, 7 * 86400, 14 * 86400],
        values: input.interval === 'hour' ? '{HH}:{mm}' : '{MMM} {D}',
      },
      {
        stroke: AXIS,
        size: 64,
        grid: { stroke: GRID, width: 1 },
        ticks: { stroke: GRID, width: 1 },
        values: (_u, values) => values.map((v) => formatMoneyCompact(v, input.currency)),
      },
    ],
  };
}

function data(input: ChartInput): uPlot.AlignedData {
  return [input.xs, input.current, input.previous];
}

export function createSalesChart(container: HTMLElement, input: ChartInput, width: number): SalesChart {
  let last = input;
  let plot = new uPlot(options(input, width), data(input), container);
  return {
    setData(next) {
      // Axes format by the interval and currency: a new interval needs new options.
      if (next.interval !== last.interval || next.currency !== last.currency || next.timeZone !== last.timeZone) {
        const w = plot.width;
        plot.destroy();
        plot = new uPlot(options(next, w), data(next), container);
      } else {
        plot.setData(data(next));
      }
      last = next;
    },
    setWidth(w) {
      if (w > 0 && w !== plot.width) plot.setSize({ width: w, height: HEIGHT });
    },
    destroy() {
      plot.destroy();
    },
  };
}
