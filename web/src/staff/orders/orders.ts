// The orders API as the staff pages use it. Every change sends an
// Idempotency-Key made for that one click: a retry of the same request
// (a lost answer, a double submit) is then applied once.
import { api, newIdempotencyKey } from '../../shared/api';
import type { Order, OrderStatus, OrderSummary, Page } from '../../shared/types';

export interface OrderFilters {
  status?: OrderStatus;
  customer_id?: string;
  /** RFC 3339 instants. */
  created_from?: string;
  created_before?: string;
}

function ordersPath(storeId: string): string {
  return `/v1/stores/${encodeURIComponent(storeId)}/orders`;
}

function orderPath(storeId: string, orderId: string): string {
  return `${ordersPath(storeId)}/${encodeURIComponent(orderId)}`;
}

export function listOrders(storeId: string, filters: OrderFilters, cursor: string | undefined, signal?: AbortSignal): Promise<Page<OrderSummary>> {
  return api<Page<OrderSummary>>(ordersPath(storeId), { query: { ...filters, limit: 25, cursor }, signal });
}

export function getOrder(storeId: string, orderId: string, signal?: AbortSignal): Promise<Order> {
  return api<Order>(orderPath(storeId, orderId), { signal });
}

export type Transition = 'pay' | 'fulfil' | 'cancel';

export function transition(storeId: string, orderId: string, action: Transition, note: string): Promise<Order> {
  return api<Order>(`${orderPath(storeId, orderId)}/${action}`, {
    method: 'POST',
    body: note.trim() ? { note: note.trim() } : {},
    idempotencyKey: newIdempotencyKey(),
  });
}

export interface RefundLine {
  line_id: string;
  quantity: number;
}

export function refund(storeId: string, orderId: string, lines: RefundLine[], note: string): Promise<Order> {
  return api<Order>(`${orderPath(storeId, orderId)}/refunds`, {
    method: 'POST',
    body: note.trim() ? { lines, note: note.trim() } : { lines },
    idempotencyKey: newIdempotencyKey(),
  });
}
