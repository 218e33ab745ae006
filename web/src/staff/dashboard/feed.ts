// The live feed's items: today's latest orders as read at load, then every
// order event from the stream on top (newest activity first). An event about
// an order already listed replaces its row, so each order shows once, with
// its latest state.
import type { LiveOrderMessage, OrderSummary } from '../../shared/types';

export const FEED_MAX = 25;

export interface FeedItem {
  orderId: string;
  number: number;
  status: string;
  totalMinor: number;
  currency: string;
  /** When its latest known change happened. */
  at: string;
  /** A refund's amount, from the event that made it. */
  refundMinor: number;
  /** Client clock when the stream delivered it (0: read from the list). */
  receivedAt: number;
}

export function fromSummary(order: OrderSummary): FeedItem {
  return {
    orderId: order.id,
    number: order.number,
    status: order.status,
    totalMinor: order.total_minor,
    currency: order.currency,
    at: order.created_at,
    refundMinor: 0,
    receivedAt: 0,
  };
}

export function fromEvent(message: LiveOrderMessage): FeedItem {
  const o = message.order;
  return {
    orderId: o.id,
    number: o.number,
    status: o.status,
    totalMinor: o.total_minor,
    currency: o.currency,
    at: message.at,
    refundMinor: message.type === 'order.refunded' ? o.amount_minor : 0,
    receivedAt: Date.now(),
  };
}

/** Puts a live item first, dropping that order's older row. */
export function pushLive(live: readonly FeedItem[], item: FeedItem): FeedItem[] {
  return [item, ...live.filter((i) => i.orderId !== item.orderId)].slice(0, FEED_MAX);
}

/** What the feed shows: live items first, then the loaded ones not overtaken. */
export function feedItems(live: readonly FeedItem[], loaded: readonly OrderSummary[]): FeedItem[] {
  const seen = new Set(live.map((i) => i.orderId));
  return [...live, ...loaded.filter((o) => !seen.has(o.id)).map(fromSummary)].slice(0, FEED_MAX);
}
