// The KPI tiles. Each value carries `data-value`: the API's raw figure as
// JSON (minor units for money, the report's percent number for rates,
// `null` when the report has none), so a test compares it exactly with the
// API; the text is the same number formatted for people.
import { memo } from '../../shared/memo';
import type { ResourceHandle } from '../../shared/resource';
import { formatMoney } from '../../shared/money';
import { formatCount, formatPercent } from '../../shared/format';
import type { EventsReport, HospitalityReport, SalesFigures, Store } from '../../shared/types';
import { ErrorState } from '../../shared/ui/States';
import { eventTotals } from './events';

type Kind = 'money' | 'count' | 'percent';

interface TileProps {
  label: string;
  testId: string;
  kind: Kind;
  currency: string;
  /** undefined: not known yet (loading or failed). */
  value: number | null | undefined;
  failed?: boolean;
  hint?: string | null;
}

function display(kind: Kind, value: number | null, currency: string): string {
  if (value === null) return '—';
  if (kind === 'money') return formatMoney(value, currency);
  if (kind === 'percent') return formatPercent(value);
  return formatCount(value);
}

function Tile({ label, testId, kind, currency, value, failed, hint }: TileProps) {
  // The test id goes on the value only once it is known, so a test that
  // waits for the element reads a figure, never a placeholder.
  return (
    <div class="tile">
      <dt>{label}</dt>
      {value !== undefined ? (
        <dd class="tile-value" data-testid={testId} data-value={JSON.stringify(value)} data-unit={kind === 'money' ? 'minor' : kind}>
          {display(kind, value, currency)}
        </dd>
      ) : (
        <dd class="tile-value tile-pending" aria-busy="true">
          {failed ? 'Unavailable' : '…'}
        </dd>
      )}
      {hint && <dd class="tile-hint">{hint}</dd>}
    </div>
  );
}

/** `+12% vs previous period`, or nothing when there is nothing to compare. */
function change(current: number | undefined, previous: number | undefined): string | null {
  if (current === undefined || previous === undefined || previous === 0) return null;
  const pct = Math.round(((current - previous) / Math.abs(previous)) * 100);
  return `${pct > 0 ? '+' : ''}${pct}% vs previous period`;
}

export interface SalesNow {
  totals: SalesFigures;
  previous: SalesFigures | null;
}

export const Kpis = memo(function Kpis({
  store,
  title,
  sales,
  salesResource,
  hospitality,
  events,
}: {
  store: Store;
  title: string;
  /** Sales totals, with today's live tick applied. */
  sales: SalesNow | null;
  salesResource: ResourceHandle<unknown>;
  /** Null for stores of other industries. */
  hospitality: ResourceHandle<HospitalityReport | null> | null;
  events: ResourceHandle<EventsReport | null> | null;
}) {
  const currency = store.currency;
  const t = sales?.totals;
  const p = sales?.previous ?? undefined;
  const salesFailed = salesResource.status === 'error';
  const h = hospitality?.status === 'ready' && hospitality.data ? hospitality.data.current.totals : undefined;
  const e = events?.status === 'ready' && events.data ? eventTotals(events.data.events) : undefined;

  return (
    <section class="panel kpis" aria-labelledby="kpi-heading">
      <h2 id="kpi-heading">{title}</h2>
      <dl class="tiles">
        <Tile
          label="Net sales"
          testId="kpi-net-sales"
          kind="money"
          currency={currency}
          value={t?.net_sales_minor}
          failed={salesFailed}
          hint={change(t?.net_sales_minor, p?.net_sales_minor)}
        />
        <Tile
          label="Orders"
          testId="kpi-orders"
          kind="count"
          currency={currency}
          value={t?.orders}
          failed={salesFailed}
          hint={change(t?.orders, p?.orders)}
        />
        <Tile
          label="Average order value"
          testId="kpi-aov"
          kind="money"
          currency={currency}
          value={t ? (t.average_order_value_minor ?? null) : undefined}
          failed={salesFailed}
        />
        {hospitality && (
          <>
            <Tile label="Occupancy" testId="kpi-occupancy" kind="percent" currency={currency} value={h ? (h.occupancy_percent ?? null) : undefined} failed={hospitality.status === 'error'} hint={h ? `${formatCount(h.room_nights_sold)} of ${formatCount(h.room_nights_available)} room nights` : null} />
            <Tile label="ADR (average daily rate)" testId="kpi-adr" kind="money" currency={currency} value={h ? (h.adr_minor ?? null) : undefined} failed={hospitality.status === 'error'} />
            <Tile label="RevPAR (revenue per available room)" testId="kpi-revpar" kind="money" currency={currency} value={h ? (h.revpar_minor ?? null) : undefined} failed={hospitality.status === 'error'} />
          </>
        )}
        {events && (
          <>
            <Tile label="Sell-through" testId="kpi-sell-through" kind="percent" currency={currency} value={e ? e.sellThroughPercent : undefined} failed={events.status === 'error'} hint={e ? `${formatCount(e.ticketsSold)} of ${formatCount(e.capacity)} seats, ${formatCount(e.events)} ${e.events === 1 ? 'event' : 'events'}` : null} />
            <Tile label="Check-in rate" testId="kpi-check-in" kind="percent" currency={currency} value={e ? e.checkInPercent : undefined} failed={events.status === 'error'} hint={e && e.checkInPercent === null ? 'No event has started yet' : null} />
          </>
        )}
      </dl>
      {salesResource.status === 'error' && <ErrorState error={salesResource.error} onRetry={salesResource.reload} what="sales" />}
      {hospitality?.status === 'error' && <ErrorState error={hospitality.error} onRetry={hospitality.reload} what="room figures" />}
      {events?.status === 'error' && <ErrorState error={events.error} onRetry={events.reload} what="event figures" />}
    </section>
  );
});
