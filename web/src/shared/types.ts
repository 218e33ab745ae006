// The API's shapes the app reads, written from api/openapi.json (its
// `components.schemas`). Only what the app uses is here; field names are the
// API's. Money is always integer minor units of the store's currency.

export type Industry = 'retail' | 'hospitality' | 'events';

export interface Store {
  id: string;
  name: string;
  display_name: string;
  /** `retail`, `hospitality` or `events`; a string so a new one does not break the app. */
  industry: Industry | (string & {});
  currency: string;
  /** IANA zone that cuts the store's days (`Europe/Berlin`). */
  timezone: string;
  created_at: string;
}

export interface Page<T> {
  items: T[];
  next_cursor?: string | null;
}

export interface User {
  id: string;
  email: string;
  name: string;
  role: string;
  store_ids?: string[] | null;
}

export interface Session {
  token_type: string;
  access_token: string;
  /** Seconds the access token lives. */
  expires_in: number;
  refresh_token: string;
  user: User;
}

export interface FieldError {
  field: string;
  detail: string;
}

/** RFC 9457 problem, the body of every error. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
}

// Orders

export type OrderStatus = 'pending' | 'paid' | 'fulfilled' | 'cancelled' | 'refunded';
export const ORDER_STATUSES: readonly OrderStatus[] = ['pending', 'paid', 'fulfilled', 'cancelled', 'refunded'];

export interface OrderSummary {
  id: string;
  number: number;
  status: OrderStatus;
  currency: string;
  total_minor: number;
  refunded_minor: number;
  created_at: string;
  customer_id?: string | null;
}

export interface OrderLine {
  id: string;
  product_id: string;
  variant_id: string;
  sku: string;
  title: string;
  night?: string | null;
  quantity: number;
  unit_price_minor: number;
  subtotal_minor: number;
  discount_minor: number;
  total_minor: number;
  refunded_quantity: number;
  refunded_minor: number;
}

export interface AppliedDiscount {
  promotion_id: string;
  name: string;
  kind: string;
  code?: string | null;
  amount_minor: number;
}

export interface OrderEventLine {
  line_id: string;
  quantity: number;
  amount_minor: number;
}

export interface OrderEvent {
  id: string;
  kind: string;
  from_status?: OrderStatus | null;
  to_status: OrderStatus;
  amount_minor: number;
  lines: OrderEventLine[];
  note: string;
  actor: string;
  created_at: string;
}

export interface Ticket {
  code: string;
  order_id: string;
  line_id: string;
  product_id: string;
  status: 'valid' | 'checked_in' | 'void';
  issued_at: string;
  checked_in_at?: string | null;
  voided_at?: string | null;
}

export interface Order {
  id: string;
  number: number;
  store_id: string;
  status: OrderStatus;
  currency: string;
  subtotal_minor: number;
  discount_minor: number;
  total_minor: number;
  paid_minor: number;
  refunded_minor: number;
  placed_by: string;
  version: number;
  created_at: string;
  updated_at: string;
  customer_id?: string | null;
  promotion_code?: string | null;
  party_size?: number | null;
  session_id?: string | null;
  lines: OrderLine[];
  discounts: AppliedDiscount[];
  events: OrderEvent[];
  tickets?: Ticket[];
}

// Analytics (docs/analytics.md)

export type Interval = 'hour' | 'day' | 'week' | 'month';

export interface SalesFigures {
  orders: number;
  units_sold: number;
  units_returned: number;
  gross_sales_minor: number;
  discounts_minor: number;
  returns_minor: number;
  net_sales_minor: number;
  average_order_value_minor?: number | null;
}

export interface SalesBucket extends SalesFigures {
  /** The bucket's first instant with the store's offset then. */
  start: string;
}

export interface SalesPeriod {
  from: string;
  to: string;
  totals: SalesFigures;
  series: SalesBucket[];
}

export interface SalesReport {
  currency: string;
  time_zone: string;
  dated_by: 'transaction' | 'order';
  interval: Interval;
  current: SalesPeriod;
  previous?: SalesPeriod | null;
}

export interface FunnelFigures {
  sessions: number;
  viewed_product: number;
  added_to_cart: number;
  started_checkout: number;
  purchased: number;
  /** Viewed ÷ sessions, added ÷ viewed, checkout ÷ added, purchased ÷ checkout. */
  step_conversion_percent: (number | null)[];
  conversion_percent?: number | null;
}

export interface FunnelReport {
  time_zone: string;
  interval: Interval;
  current: { from: string; to: string; totals: FunnelFigures };
}

export interface HospitalityFigures {
  room_nights_sold: number;
  room_nights_available: number;
  room_revenue_minor: number;
  arrivals: number;
  covers: number;
  occupancy_percent?: number | null;
  adr_minor?: number | null;
  revpar_minor?: number | null;
}

export interface HospitalityReport {
  currency: string;
  time_zone: string;
  interval: Interval;
  current: { from: string; to: string; totals: HospitalityFigures };
}

export interface EventFigures {
  product_id: string;
  title: string;
  starts_at: string;
  capacity: number;
  tickets_sold: number;
  revenue_minor: number;
  sell_through_percent?: number | null;
  checked_in?: number | null;
  check_in_percent?: number | null;
}

export interface EventsReport {
  currency: string;
  time_zone: string;
  from: string;
  to: string;
  events: EventFigures[];
}

export interface TopItem {
  id: string;
  name?: string | null;
  sku?: string | null;
  units_sold: number;
  units_returned: number;
  net_units: number;
  gross_sales_minor: number;
  discounts_minor: number;
  returns_minor: number;
  net_sales_minor: number;
}

export interface TopReport {
  currency: string;
  time_zone: string;
  current: { from: string; to: string; items: TopItem[] };
}

export interface VariantStock {
  variant_id: string;
  sku: string;
  name: string;
  on_hand: number;
  reserved: number;
  available: number;
  units_sold: number;
  low_stock: boolean;
  days_of_cover?: number | null;
}

export interface InventoryReport {
  time_zone: string;
  days: number;
  low_stock_units: number;
  variants: VariantStock[];
}

// Live stream (`LiveMessage`)

export interface StreamTicket {
  ticket: string;
  expires_at: string;
  protocols: string[];
}

export interface LiveOrder {
  id: string;
  number: number;
  /** The status the event moved it to. */
  status: string;
  currency: string;
  total_minor: number;
  /** A refund's amount; 0 for the other events. */
  amount_minor: number;
  actor: string;
}

export type LiveOrderType = 'order.placed' | 'order.paid' | 'order.fulfilled' | 'order.cancelled' | 'order.refunded';

export interface LiveOrderMessage {
  type: LiveOrderType;
  id: string;
  at: string;
  order: LiveOrder;
}

export interface LiveStockMessage {
  type: 'stock.low';
  id: string;
  at: string;
  stock: { variant_id: string; sku: string; name?: string | null; available: number };
}

export interface LiveTicketMessage {
  type: 'ticket.checked_in';
  id: string;
  at: string;
  ticket: { id: string; order_id: string; product_id: string };
}

export interface LiveTickMessage {
  type: 'tick';
  date: string;
  time_zone: string;
  currency: string;
  orders: number;
  net_sales_minor: number;
}

export interface LiveReadyMessage {
  type: 'ready';
  last_id?: string | null;
}

export interface LiveReloadMessage {
  type: 'reload';
  reason: string;
}

export type LiveMessage =
  | LiveReadyMessage
  | LiveReloadMessage
  | LiveTickMessage
  | LiveOrderMessage
  | LiveStockMessage
  | LiveTicketMessage;
