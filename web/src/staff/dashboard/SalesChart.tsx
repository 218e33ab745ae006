// Net sales over the period, with the previous period as a second line. The
// canvas is for eyes; the same figures are in a table for everyone else.
import { memo } from '../../shared/memo';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { formatDateTime, formatLocalDate } from '../../shared/dates';
import { formatMoney, toMajor } from '../../shared/money';
import { type ApiProblem, toProblem } from '../../shared/problem';
import type { ResourceHandle } from '../../shared/resource';
import type { SalesReport, Store } from '../../shared/types';
import { Empty, ErrorState, Loading } from '../../shared/ui/States';
import { TableScroll } from '../../shared/ui/TableScroll';
import type { ChartInput, SalesChart as Chart } from './chart';

type ChartModule = typeof import('./chart');
let chartModule: Promise<ChartModule> | null = null;

function loadChart(): Promise<ChartModule> {
  chartModule ??= import('./chart').catch((error: unknown) => {
    chartModule = null; // let a retry fetch it again
    throw error;
  });
  return chartModule;
}

function toInput(report: SalesReport, store: Store): ChartInput {
  const current = report.current.series;
  const previous = report.previous?.series ?? [];
  return {
    xs: current.map((b) => Math.floor(Date.parse(b.start) / 1000)),
    current: current.map((b) => toMajor(b.net_sales_minor, report.currency)),
    previous: current.map((_, i) => {
      const p = previous[i];
      return p ? toMajor(p.net_sales_minor, report.currency) : null;
    }),
    currency: report.currency,
    timeZone: store.timezone,
    interval: report.interval === 'hour' ? 'hour' : 'day',
  };
}

function bucketLabel(start: string, report: SalesReport, store: Store): string {
  return report.interval === 'hour' ? formatDateTime(start, store.timezone) : formatLocalDate(start.slice(0, 10));
}

function ChartCanvas({ input }: { input: ChartInput }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<Chart | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [attempt, setAttempt] = useState(0);

  // Create once the module is here; later data only updates the chart.
  useEffect(() => {
    let live = true;
    let observer: ResizeObserver | null = null;
    setProblem(null);
    loadChart().then(
      (module) => {
        const el = box.current;
        if (!live || !el) return;
        chart.current = module.createSalesChart(el, input, el.clientWidth || 300);
        observer = new ResizeObserver((entries) => {
          const width = Math.floor(entries[0]?.contentRect.width ?? 0);
          chart.current?.setWidth(width);
        });
        observer.observe(el);
      },
      (error: unknown) => live && setProblem(toProblem(error)),
    );
    return () => {
      live = false;
      observer?.disconnect();
      chart.current?.destroy();
      chart.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- input is applied below
  }, [attempt]);

  useEffect(() => {
    chart.current?.setData(input);
  }, [input]);

  if (problem) return <ErrorState error={problem} onRetry={() => setAttempt((a) => a + 1)} what="the chart" />;
  return <div ref={box} class="chart-canvas" aria-hidden="true" />;
}

export const SalesChart = memo(function SalesChart({ store, sales, rangeTitle }: { store: Store; sales: ResourceHandle<SalesReport>; rangeTitle: string }) {
  const report = sales.status === 'ready' ? sales.data : null;
  const input = useMemo(() => (report ? toInput(report, store) : null), [report, store]);
  // The table is built only when asked for: dozens of rows nobody sees
  // would cost the first render.
  const [tableOpen, setTableOpen] = useState(false);
  const nothing = report !== null && report.current.series.every((b) => b.net_sales_minor === 0) && (report.previous?.series ?? []).every((b) => b.net_sales_minor === 0);

  return (
    <section class="panel chart-panel" aria-labelledby="chart-heading">
      <h2 id="chart-heading">Net sales over time</h2>
      <div class="chart-body">
      {sales.status === 'loading' && <Loading label="Loading sales…" />}
      {sales.status === 'error' && <ErrorState error={sales.error} onRetry={sales.reload} what="the sales chart" />}
      {report && nothing && <Empty>No sales in this period or the one before it.</Empty>}
      {report && input && (
        <figure class="chart">
          <ChartCanvas input={input} />
          <figcaption>
            <ul class="legend">
              <li>
                <span class="swatch swatch-current" aria-hidden="true" /> {rangeTitle}: {formatMoney(report.current.totals.net_sales_minor, report.currency)}
              </li>
              {report.previous && (
                <li>
                  <span class="swatch swatch-previous" aria-hidden="true" /> Previous period: {formatMoney(report.previous.totals.net_sales_minor, report.currency)}
                </li>
              )}
            </ul>
          </figcaption>
          <details class="chart-table" onToggle={(e) => setTableOpen(e.currentTarget.open)}>
            <summary>Show the figures as a table</summary>
            {tableOpen && (
            <TableScroll label="Net sales per bucket">
              <table>
                <thead>
                  <tr>
                    <th scope="col">{report.interval === 'hour' ? 'Hour' : 'Day'}</th>
                    <th scope="col" class="num">Net sales</th>
                    <th scope="col" class="num">Previous period</th>
                  </tr>
                </thead>
                <tbody>
                  {report.current.series.map((bucket, i) => {
                    const previous = report.previous?.series[i];
                    return (
                      <tr key={bucket.start}>
                        <th scope="row">{bucketLabel(bucket.start, report, store)}</th>
                        <td class="num">{formatMoney(bucket.net_sales_minor, report.currency)}</td>
                        <td class="num">{previous ? formatMoney(previous.net_sales_minor, report.currency) : '—'}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </TableScroll>
            )}
          </details>
        </figure>
      )}
      </div>
    </section>
  );
});
