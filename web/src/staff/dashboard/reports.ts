// The reads behind the dashboard, one function per report
// (docs/analytics.md has what each figure means).
import { api } from '../../shared/api';
import { startOfLocalDate, type Period } from '../../shared/dates';
import type {
  EventsReport,
  FunnelReport,
  HospitalityReport,
  InventoryReport,
  OrderSummary,
  Page,
  SalesReport,
  Store,
  TopReport,
} from '../../shared/types';

function analytics(store: Store, report: string): string {
  return `/v1/stores/${encodeURIComponent(store.id)}/analytics/${report}`;
}

/** Net sales, orders and AOV, with the period before it to compare. */
export function fetchSales(store: Store, period: Period, signal: AbortSignal): Promise<SalesReport> {
  return api<SalesReport>(analytics(store, 'sales'), {
    query: { from: period.from, to: period.to, interval: period.interval, compare: 'previous_period' },
    signal,
  });
}

export function fetchFunnel(store: Store, period: Period, signal: AbortSignal): Promise<FunnelReport> {
  // Only the period's totals are drawn: days are the cheapest buckets.
  return api<FunnelReport>(analytics(store, 'funnel'), { query: { from: period.from, to: period.to, interval: 'day' }, signal });
}

export function fetchTop(store: Store, period: Period, signal: AbortSignal): Promise<TopReport> {
  return api<TopReport>(analytics(store, 'top'), {
    query: { from: period.from, to: period.to, by: 'product', rank: 'net_sales', limit: 5 },
    signal,
  });
}

export function fetchLowStock(store: Store, signal: AbortSignal): Promise<InventoryReport> {
  return api<InventoryReport>(analytics(store, 'inventory'), { query: { low_only: true, limit: 10 }, signal });
}

export function fetchHospitality(store: Store, period: Period, signal: AbortSignal): Promise<HospitalityReport> {
  // Nights have no hours: the report takes days at the finest.
  return api<HospitalityReport>(analytics(store, 'hospitality'), { query: { from: period.from, to: period.to, interval: 'day' }, signal });
}

export function fetchEvents(store: Store, period: Period, signal: AbortSignal): Promise<EventsReport> {
  return api<EventsReport>(analytics(store, 'events'), { query: { from: period.from, to: period.to }, signal });
}

/** Today's latest orders, the live feed's starting point. */
export function fetchTodaysOrders(store: Store, today: string, signal: AbortSignal): Promise<Page<OrderSummary>> {
  return api<Page<OrderSummary>>(`/v1/stores/${encodeURIComponent(store.id)}/orders`, {
    query: { created_from: startOfLocalDate(today, store.timezone), limit: 10 },
    signal,
  });
}
