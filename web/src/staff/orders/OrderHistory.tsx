// Everything that happened to the order, oldest first: each change with its
// money, the lines a refund gave back, its note, who did it and when.
import { formatDateTime } from '../../shared/dates';
import { formatMoney } from '../../shared/money';
import type { Order, OrderEvent } from '../../shared/types';

const KIND_LABELS: Record<string, string> = {
  created: 'Placed',
  paid: 'Paid',
  fulfilled: 'Fulfilled',
  cancelled: 'Cancelled',
  refunded: 'Refunded',
};

function actorLabel(actor: string): string {
  if (actor === 'system:expiry') return 'automatically (unpaid too long)';
  if (actor.startsWith('system')) return 'the system';
  if (actor === 'key:secret') return 'the store’s secret key';
  return actor;
}

function Event({ order, event, timeZone }: { order: Order; event: OrderEvent; timeZone: string }) {
  const titles = new Map(order.lines.map((l) => [l.id, l.title]));
  return (
    <li class="history-item" data-kind={event.kind}>
      <p>
        <strong>{KIND_LABELS[event.kind] ?? event.kind}</strong>
        {event.from_status && event.from_status !== event.to_status && (
          <span class="muted">
            {' '}
            ({event.from_status} → {event.to_status})
          </span>
        )}
        {event.amount_minor > 0 && <> · {formatMoney(event.amount_minor, order.currency)}</>}
      </p>
      {event.lines.length > 0 && (
        <ul class="plain small">
          {event.lines.map((l) => (
            <li key={l.line_id}>
              {l.quantity} × {titles.get(l.line_id) ?? 'a line'}: {formatMoney(l.amount_minor, order.currency)}
            </li>
          ))}
        </ul>
      )}
      {event.note && <p class="history-note">“{event.note}”</p>}
      <p class="muted small">
        <time dateTime={event.created_at}>{formatDateTime(event.created_at, timeZone)}</time>, by <span class="mono">{actorLabel(event.actor)}</span>
      </p>
    </li>
  );
}

export function OrderHistory({ store, order }: { store: { timezone: string }; order: Order }) {
  return (
    <section class="panel" aria-labelledby="history-heading">
      <h2 id="history-heading">History</h2>
      <ol class="history" data-testid="order-history">
        {order.events.map((event) => (
          <Event key={event.id} order={order} event={event} timeZone={store.timezone} />
        ))}
      </ol>
    </section>
  );
}
