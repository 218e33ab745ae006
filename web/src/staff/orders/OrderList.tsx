// The store's orders, newest first, filtered by what the API filters on
// (status, customer, placed from / before) and paged by its cursor. Filters
// live in the URL, so Back returns to the same list.
import type { TargetedEvent } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { formatDateTime, startOfLocalDate } from '../../shared/dates';
import { formatMoney } from '../../shared/money';
import { type ApiProblem, toProblem } from '../../shared/problem';
import { useResource } from '../../shared/resource';
import { setQuery } from '../../shared/router';
import { ORDER_STATUSES, type OrderStatus, type OrderSummary, type Store } from '../../shared/types';
import { PageHeading } from '../../shared/ui/PageHeading';
import { Empty, ErrorState, Loading } from '../../shared/ui/States';
import { TableScroll } from '../../shared/ui/TableScroll';
import { storePath } from '../stores';
import { listOrders, type OrderFilters } from './orders';
import { StatusBadge } from './StatusBadge';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

interface FormState {
  status: string;
  from: string;
  before: string;
  customer: string;
}

function formFromQuery(query: URLSearchParams): FormState {
  return {
    status: query.get('status') ?? '',
    from: query.get('from') ?? '',
    before: query.get('before') ?? '',
    customer: query.get('customer') ?? '',
  };
}

function isStatus(value: string): value is OrderStatus {
  return (ORDER_STATUSES as readonly string[]).includes(value);
}

/** The API's filters from the URL's: dates are the store's local days. */
function apiFilters(form: FormState, store: Store): OrderFilters {
  const filters: OrderFilters = {};
  if (isStatus(form.status)) filters.status = form.status;
  if (UUID.test(form.customer)) filters.customer_id = form.customer;
  if (DATE.test(form.from)) filters.created_from = startOfLocalDate(form.from, store.timezone);
  if (DATE.test(form.before)) filters.created_before = startOfLocalDate(form.before, store.timezone);
  return filters;
}

function OrdersTable({ store, orders }: { store: Store; orders: OrderSummary[] }) {
  return (
    <TableScroll label="Orders">
      <table class="orders-table">
        <thead>
          <tr>
            <th scope="col">Order</th>
            <th scope="col">Status</th>
            <th scope="col" class="num">Total</th>
            <th scope="col">Placed</th>
            <th scope="col" class="num">Refunded</th>
            <th scope="col">Customer</th>
          </tr>
        </thead>
        <tbody>
          {orders.map((o) => (
            <tr key={o.id} data-order-id={o.id}>
              <th scope="row">
                <a href={storePath(store.id, `/orders/${encodeURIComponent(o.id)}`)}>#{o.number}</a>
              </th>
              <td>
                <StatusBadge status={o.status} />
              </td>
              <td class="num">{formatMoney(o.total_minor, o.currency)}</td>
              <td class="nowrap">{formatDateTime(o.created_at, store.timezone)}</td>
              <td class="num">{o.refunded_minor > 0 ? formatMoney(o.refunded_minor, o.currency) : '—'}</td>
              <td class="mono">{o.customer_id ? o.customer_id.slice(0, 8) : <span class="muted">Counter sale</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableScroll>
  );
}

export function OrderList({ store, query }: { store: Store; query: URLSearchParams }) {
  const applied = formFromQuery(query);
  const filters = apiFilters(applied, store);
  const filterKey = JSON.stringify(filters);
  const [form, setForm] = useState<FormState>(applied);
  const [formError, setFormError] = useState<string | null>(null);

  // Back/Forward changes the URL: show its filters in the form.
  useEffect(() => setForm(formFromQuery(query)), [query.toString()]);

  const first = useResource((signal) => listOrders(store.id, filters, undefined, signal), [store.id, filterKey]);
  const [more, setMore] = useState<OrderSummary[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<ApiProblem | null>(null);

  useEffect(() => {
    setMore([]);
    setMoreError(null);
    setCursor(first.status === 'ready' ? (first.data.next_cursor ?? null) : null);
  }, [first.data]);

  async function loadMore() {
    if (!cursor || loadingMore) return;
    setLoadingMore(true);
    setMoreError(null);
    try {
      const page = await listOrders(store.id, filters, cursor);
      setMore((items) => [...items, ...page.items]);
      setCursor(page.next_cursor ?? null);
    } catch (error) {
      setMoreError(toProblem(error));
    } finally {
      setLoadingMore(false);
    }
  }

  function apply(event: TargetedEvent<HTMLFormElement, SubmitEvent>) {
    event.preventDefault();
    const customer = form.customer.trim();
    if (customer && !UUID.test(customer)) {
      setFormError('Customer ID must be a customer’s full ID (a UUID).');
      return;
    }
    if (form.from && form.before && form.before <= form.from) {
      setFormError('“Placed before” must be a later day than “Placed on or after”.');
      return;
    }
    setFormError(null);
    setQuery({ status: form.status || null, from: form.from || null, before: form.before || null, customer: customer || null });
  }

  function clear() {
    setFormError(null);
    setQuery({ status: null, from: null, before: null, customer: null });
  }

  const filtered = Object.keys(filters).length > 0;
  const orders = first.status === 'ready' ? [...first.data.items, ...more] : [];

  return (
    <>
      <PageHeading title={`Orders · ${store.display_name}`}>Orders</PageHeading>
      <form class="filters card" onSubmit={apply} aria-label="Filter orders" noValidate>
        <div class="field">
          <label for="filter-status">Status</label>
          <select id="filter-status" value={form.status} onChange={(e) => setForm({ ...form, status: e.currentTarget.value })}>
            <option value="">Any status</option>
            {ORDER_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s[0]!.toUpperCase() + s.slice(1)}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="filter-from">Placed on or after</label>
          <input id="filter-from" type="date" value={form.from} onInput={(e) => setForm({ ...form, from: e.currentTarget.value })} />
        </div>
        <div class="field">
          <label for="filter-before">Placed before</label>
          <input id="filter-before" type="date" value={form.before} onInput={(e) => setForm({ ...form, before: e.currentTarget.value })} />
        </div>
        <div class="field">
          <label for="filter-customer">Customer ID</label>
          <input
            id="filter-customer"
            type="text"
            inputMode="text"
            autocomplete="off"
            spellcheck={false}
            value={form.customer}
            onInput={(e) => setForm({ ...form, customer: e.currentTarget.value })}
          />
        </div>
        <div class="filter-actions">
          <button type="submit" class="button primary">
            Apply filters
          </button>
          {filtered && (
            <button type="button" class="button" onClick={clear}>
              Clear filters
            </button>
          )}
        </div>
        {formError && (
          <p class="alert" role="alert">
            {formError}
          </p>
        )}
      </form>
      <p class="muted small">Days are the store’s ({store.timezone}).</p>

      <section aria-labelledby="orders-heading" class="panel">
        <h2 id="orders-heading" class="sr-only">
          Order list
        </h2>
        {first.status === 'loading' && <Loading label="Loading orders…" />}
        {first.status === 'error' && <ErrorState error={first.error} onRetry={first.reload} what="orders" />}
        {first.status === 'ready' && orders.length === 0 && <Empty>{filtered ? 'No orders match these filters.' : 'No orders yet.'}</Empty>}
        {orders.length > 0 && <OrdersTable store={store} orders={orders} />}
        {moreError && <ErrorState error={moreError} onRetry={loadMore} what="more orders" />}
        {cursor && !moreError && (
          <button type="button" class="button more" onClick={loadMore} disabled={loadingMore}>
            {loadingMore ? 'Loading…' : 'Load more orders'}
          </button>
        )}
      </section>
    </>
  );
}
