// Orders as they happen, from the live stream, newest first.
import { memo } from '../../shared/memo';
import { formatTime } from '../../shared/dates';
import { formatMoney } from '../../shared/money';
import type { ResourceHandle } from '../../shared/resource';
import type { StreamStatus } from '../../shared/stream';
import type { OrderSummary, Page, Store } from '../../shared/types';
import { Empty, ErrorState, Loading } from '../../shared/ui/States';
import { StatusBadge } from '../orders/StatusBadge';
import { storePath } from '../stores';
import type { FeedItem } from './feed';

export function StreamIndicator({ status }: { status: StreamStatus }) {
  return (
    <p class="stream">
      <span class="sr-only">Live updates: </span>
      <span class={`stream-dot stream-${status}`} aria-hidden="true" />
      <span data-testid="stream-status" role="status">
        {status}
      </span>
    </p>
  );
}

export const LiveFeed = memo(function LiveFeed({
  store,
  items,
  seed,
  status,
}: {
  store: Store;
  items: FeedItem[];
  seed: ResourceHandle<Page<OrderSummary>>;
  status: StreamStatus;
}) {
  return (
    <section class="panel feed-panel" aria-labelledby="feed-heading">
      <div class="panel-head">
        <h2 id="feed-heading">Live orders</h2>
        <StreamIndicator status={status} />
      </div>
      {seed.status === 'loading' && items.length === 0 && <Loading label="Loading today's orders…" />}
      {seed.status === 'error' && <ErrorState error={seed.error} onRetry={seed.reload} what="today's orders" />}
      {seed.status === 'ready' && items.length === 0 && <Empty>No orders yet today.</Empty>}
      <ol class="feed" data-testid="live-feed" aria-label="Latest orders, newest first">
        {items.map((item) => (
          <li key={item.orderId} class="feed-item" data-testid="live-feed-item" data-order-id={item.orderId} data-status={item.status}>
            <a href={storePath(store.id, `/orders/${encodeURIComponent(item.orderId)}`)}>Order #{item.number}</a>
            <StatusBadge status={item.status} />
            <span class="feed-total">
              {formatMoney(item.totalMinor, item.currency)}
              {item.refundMinor > 0 && <span class="muted"> (refunded {formatMoney(item.refundMinor, item.currency)})</span>}
            </span>
            <time class="muted" dateTime={item.at}>
              {formatTime(item.at, store.timezone)}
            </time>
          </li>
        ))}
      </ol>
    </section>
  );
});
