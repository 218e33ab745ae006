-- Sales analytics: what every order event means in money and units (the
-- view `sales_facts`), and its sums per store and local hour (the rollup
-- `sales_by_hour`). See docs/analytics.md for the formulas.
--
-- Exact at any moment, without a hot row: an order's transaction writes
-- only its own rows (as before). A background fold adds the facts of
-- finished transactions to the rollup and records how far it got as a
-- transaction id (`analytics_progress.folded_below`): every fact of a
-- transaction below it is in the rollup, none at or above it is. A query
-- reads the rollup plus the few facts at or above that mark, in one
-- statement, so one snapshot: it counts each fact exactly once.

-- The id of the transaction that wrote each event. Ids are handed out in
-- order, and every transaction below a snapshot's xmin has finished, so
-- "below the mark" is a set that can never grow after the fold read it.
alter table order_events add column xid xid8 not null default pg_current_xact_id();
create index order_events_store_xid on order_events (store_id, xid);

-- The start of the local hour (in `zone`) that `instant` falls in, as an
-- instant. Unlike date_trunc('hour', ...), the two 01:00 hours of a night
-- when clocks go back stay two hours, and zones offset by 30 or 45 minutes
-- get their own hour boundaries.
create function local_hour_start(instant timestamptz, zone text) returns timestamptz
    language sql stable parallel safe
    return instant - ((instant at time zone zone) - date_trunc('hour', instant at time zone zone));

-- Sales as the ledger records them: one row per order line per event that
-- moved money. A payment sells each line (its units, gross and discount);
-- a refund or the cancellation of a paid order returns units and money.
-- `occurred_at` is when the event happened, `ordered_at` when its order was
-- placed: the two ways of dating a refund. Positions start at 1, so the
-- first line of a paid order counts the order.
create view sales_facts with (security_invoker = true) as
    select e.store_id, e.xid, e.created_at as occurred_at, o.created_at as ordered_at,
           e.order_id, o.customer_id, l.product_id, l.variant_id,
           (l.position = 1)::int as orders,
           l.quantity::bigint as units, l.subtotal_minor as gross_minor, l.discount_minor as discounts_minor,
           0::bigint as returns_minor, 0::bigint as returned_units
    from order_events e
    join orders o on o.store_id = e.store_id and o.id = e.order_id
    join order_lines l on l.store_id = e.store_id and l.order_id = e.order_id
    where e.kind = 'paid'
    union all
    select e.store_id, e.xid, e.created_at, o.created_at,
           e.order_id, o.customer_id, l.product_id, l.variant_id,
           0, 0, 0, 0, r.amount_minor, r.quantity::bigint
    from order_events e
    join orders o on o.store_id = e.store_id and o.id = e.order_id
    cross join lateral jsonb_to_recordset(e.lines) as r(line_id uuid, quantity integer, amount_minor bigint)
    join order_lines l on l.store_id = e.store_id and l.id = r.line_id
    where e.kind in ('refunded', 'cancelled');

-- The facts summed per local hour, twice: dated by the event (a refund on
-- the day it was given) and by the order (a refund on the day its order
-- was placed).
create table sales_by_hour (
    store_id uuid not null,
    dated_by text not null check (dated_by in ('transaction', 'order')),
    hour_start timestamptz not null,
    orders bigint not null,
    units bigint not null,
    gross_minor bigint not null,
    discounts_minor bigint not null,
    returns_minor bigint not null,
    returned_units bigint not null,
    primary key (store_id, dated_by, hour_start)
);

-- How far the fold got, per store, and the time zone its hours were cut
-- in: when the store's zone changes, the next fold rebuilds (and until
-- then queries ignore the rollup and read every fact).
create table analytics_progress (
    store_id uuid primary key,
    folded_below xid8 not null,
    time_zone text not null,
    folded_at timestamptz not null default now()
);

-- The store wall of every store-scoped table, as the earlier migrations
-- wrote it out each time: RLS enabled and forced, with a policy on the
-- transaction setting `shopfleet.store_id`. Later migrations call this.
create procedure make_store_scoped(variadic tables text[])
language plpgsql as $$
declare
    t text;
begin
    foreach t in array tables loop
        execute format('alter table %I enable row level security', t);
        execute format('alter table %I force row level security', t);
        execute format(
            'create policy store_isolation on %I '
            'using (store_id = nullif(current_setting(''shopfleet.store_id'', true), '''')::uuid) '
            'with check (store_id = nullif(current_setting(''shopfleet.store_id'', true), '''')::uuid)',
            t);
    end loop;
end
$$;

call make_store_scoped('sales_by_hour', 'analytics_progress');
-- Only migrations (the owner) make tables store-scoped.
revoke execute on procedure make_store_scoped(text[]) from public;
