// One order: its lines, discounts, totals, tickets and history, and the
// state changes staff may make (docs/api.md, "Orders": pay a pending order,
// fulfil a paid one, cancel either, refund units of a paid or fulfilled one).
import { useState } from 'preact/hooks';
import { formatDateTime } from '../../shared/dates';
import { formatMoney } from '../../shared/money';
import { type ApiProblem, toProblem } from '../../shared/problem';
import { useResource } from '../../shared/resource';
import type { Order, Store } from '../../shared/types';
import { NotFoundContent } from '../../shared/ui/NotFound';
import { PageHeading } from '../../shared/ui/PageHeading';
import { ProblemAlert } from '../../shared/ui/ProblemAlert';
import { ErrorState, Loading } from '../../shared/ui/States';
import { storePath } from '../stores';
import { OrderHistory } from './OrderHistory';
import { OrderLines } from './OrderLines';
import { getOrder, refund, transition, type RefundLine, type Transition } from './orders';
import { RefundForm } from './RefundForm';
import { StatusBadge } from './StatusBadge';

const ACTION_LABELS: Record<Transition, { button: string; done: string }> = {
  pay: { button: 'Mark as paid', done: 'The payment is recorded.' },
  fulfil: { button: 'Mark as fulfilled', done: 'The order is fulfilled.' },
  cancel: { button: 'Cancel order', done: 'The order is cancelled.' },
};

/** What staff may do in each state (api/src/orders/state.rs). */
function allowed(order: Order): Transition[] {
  switch (order.status) {
    case 'pending':
      return ['pay', 'cancel'];
    case 'paid':
      return ['fulfil', 'cancel'];
    default:
      return [];
  }
}

function refundable(order: Order): boolean {
  return (order.status === 'paid' || order.status === 'fulfilled') && order.lines.some((l) => l.quantity > l.refunded_quantity);
}

function Actions({
  store,
  order,
  onStart,
  onDone,
  onStale,
}: {
  store: Store;
  order: Order;
  onStart: () => void;
  onDone: (order: Order, message: string) => void;
  /** The order changed elsewhere (a 409): read it again. */
  onStale: () => void;
}) {
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState<string | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  // The refund form stays closed until asked for: the rarer, weightier action.
  const [refunding, setRefunding] = useState(false);
  const actions = allowed(order);
  const canRefund = refundable(order);

  async function run(label: string, call: () => Promise<Order>, message: string) {
    if (busy) return;
    setBusy(label);
    setProblem(null);
    onStart();
    try {
      const updated = await call();
      setNote('');
      setRefunding(false);
      onDone(updated, message);
    } catch (error) {
      const problem = toProblem(error);
      setProblem(problem);
      // Someone else changed the order (paid, cancelled it): show its state now.
      if (problem.status === 409 || problem.status === 404) onStale();
    } finally {
      setBusy(null);
    }
  }

  if (actions.length === 0 && !canRefund) {
    return (
      <section class="panel" aria-labelledby="actions-heading">
        <h2 id="actions-heading">Actions</h2>
        <ProblemAlert problem={problem} fieldLabels={{ status: 'Status' }} />
        <p class="muted">This order is {order.status}: nothing more can be done to it.</p>
      </section>
    );
  }

  return (
    <section class="panel" aria-labelledby="actions-heading">
      <h2 id="actions-heading">Actions</h2>
      <ProblemAlert problem={problem} fieldLabels={{ status: 'Status', note: 'Note' }} />
      <div class="field">
        <label for="action-note">Note for the order’s history (optional)</label>
        <input id="action-note" type="text" maxLength={500} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
      </div>
      {(actions.length > 0 || canRefund) && (
        <div class="actions">
          {actions.map((action) => (
            <button
              key={action}
              type="button"
              class={`button ${action === 'cancel' ? 'danger' : 'primary'}`}
              disabled={busy !== null}
              onClick={() => run(action, () => transition(store.id, order.id, action, note), ACTION_LABELS[action].done)}
            >
              {busy === action ? 'Working…' : ACTION_LABELS[action].button}
            </button>
          ))}
          {canRefund && (
            <button
              type="button"
              class="button"
              aria-expanded={refunding ? 'true' : 'false'}
              aria-controls={refunding ? 'refund-form' : undefined}
              onClick={() => setRefunding(!refunding)}
            >
              Refund…
            </button>
          )}
        </div>
      )}
      {canRefund && refunding && (
        <RefundForm
          order={order}
          busy={busy !== null}
          onClose={() => setRefunding(false)}
          onSubmit={(lines: RefundLine[]) =>
            run('refund', () => refund(store.id, order.id, lines, note), lines.length === 1 ? 'The refund is recorded.' : 'The refunds are recorded.')
          }
        />
      )}
    </section>
  );
}

function Summary({ store, order }: { store: Store; order: Order }) {
  const c = order.currency;
  return (
    <section class="panel" aria-labelledby="summary-heading">
      <h2 id="summary-heading">Summary</h2>
      <dl class="facts">
        <div>
          <dt>Placed</dt>
          <dd>{formatDateTime(order.created_at, store.timezone)}</dd>
        </div>
        <div>
          <dt>Customer</dt>
          {order.customer_id ? <dd class="mono">{order.customer_id}</dd> : <dd>Counter sale (no customer)</dd>}
        </div>
        <div>
          <dt>Placed by</dt>
          <dd class="mono">{order.placed_by}</dd>
        </div>
        {order.promotion_code && (
          <div>
            <dt>Promotion code</dt>
            <dd class="mono">{order.promotion_code}</dd>
          </div>
        )}
        {order.party_size != null && (
          <div>
            <dt>Party size</dt>
            <dd>{order.party_size}</dd>
          </div>
        )}
        <div>
          <dt>Subtotal</dt>
          <dd>{formatMoney(order.subtotal_minor, c)}</dd>
        </div>
        <div>
          <dt>Discounts</dt>
          <dd>{order.discount_minor > 0 ? `−${formatMoney(order.discount_minor, c)}` : formatMoney(0, c)}</dd>
        </div>
        <div>
          <dt>Total</dt>
          <dd data-testid="order-total" data-value={order.total_minor}>
            <strong>{formatMoney(order.total_minor, c)}</strong>
          </dd>
        </div>
        <div>
          <dt>Paid</dt>
          <dd>{formatMoney(order.paid_minor, c)}</dd>
        </div>
        <div>
          <dt>Refunded</dt>
          <dd>{formatMoney(order.refunded_minor, c)}</dd>
        </div>
      </dl>
    </section>
  );
}

export function OrderDetail({ store, orderId }: { store: Store; orderId: string }) {
  const order = useResource((signal) => getOrder(store.id, orderId, signal), [store.id, orderId]);
  const [done, setDone] = useState<string | null>(null);

  if (order.status === 'loading') {
    return (
      <>
        <PageHeading title="Order" />
        <Loading label="Loading the order…" />
      </>
    );
  }
  if (order.status === 'error') {
    if (order.error.status === 404) return <NotFoundContent what="order" />;
    return (
      <>
        <PageHeading title="Order" />
        <ErrorState error={order.error} onRetry={order.reload} what="the order" />
      </>
    );
  }
  const o = order.data;
  return (
    <div class="order">
      <p class="back">
        <a href={storePath(store.id, '/orders')}>← All orders</a>
      </p>
      <div class="page-head">
        <PageHeading title={`Order #${o.number}`} />
        <p class="order-status">
          Status: <StatusBadge status={o.status} />
        </p>
      </div>
      <p class="sr-only" role="status">
        {done ?? ''}
      </p>
      {done && (
        <p class="notice" aria-hidden="true">
          {done}
        </p>
      )}
      <div class="order-grid">
        <div class="order-main">
          <OrderLines order={o} />
          <Actions
            store={store}
            order={o}
            onStart={() => setDone(null)}
            onStale={order.refresh}
            onDone={(updated, message) => {
              order.set(updated);
              setDone(message);
            }}
          />
        </div>
        <div class="order-side">
          <Summary store={store} order={o} />
          <OrderHistory store={store} order={o} />
        </div>
      </div>
    </div>
  );
}
