-- What the funnel, hospitality and events reports of docs/analytics.md
-- need: the storefront session an order came from, the party size of a
-- table, the transaction of every storefront event, and their rollups.

-- The shop front's session the order was placed in (the funnel's last
-- step), and the guests a table order serves (covers, hospitality only).
alter table orders
    add column session_id uuid,
    add column party_size smallint check (party_size between 1 and 100);
create index orders_store_session on orders (store_id, session_id) where session_id is not null;

-- As for order events: the fold's mark is a transaction id.
alter table storefront_events add column xid xid8 not null default pg_current_xact_id();
create index storefront_events_store_xid on storefront_events (store_id, xid);

-- The facts gain what the new reports need, as new last columns: the
-- night a line books, and the covers of a paid order with a party size
-- (on its first line) with what those orders sold.
create or replace view sales_facts with (security_invoker = true) as
    select e.store_id, e.xid, e.created_at as occurred_at, o.created_at as ordered_at,
           e.order_id, o.customer_id, l.product_id, l.variant_id,
           (l.position = 1)::int as orders,
           l.quantity::bigint as units, l.subtotal_minor as gross_minor, l.discount_minor as discounts_minor,
           0::bigint as returns_minor, 0::bigint as returned_units,
           l.night,
           case when l.position = 1 then coalesce(o.party_size, 0) else 0 end::bigint as covers,
           case when o.party_size is null then 0 else l.total_minor end as covered_sales_minor
    from order_events e
    join orders o on o.store_id = e.store_id and o.id = e.order_id
    join order_lines l on l.store_id = e.store_id and l.order_id = e.order_id
    where e.kind = 'paid'
    union all
    select e.store_id, e.xid, e.created_at, o.created_at,
           e.order_id, o.customer_id, l.product_id, l.variant_id,
           0, 0, 0, 0, r.amount_minor, r.quantity::bigint,
           l.night, 0, 0
    from order_events e
    join orders o on o.store_id = e.store_id and o.id = e.order_id
    cross join lateral jsonb_to_recordset(e.lines) as r(line_id uuid, quantity integer, amount_minor bigint)
    join order_lines l on l.store_id = e.store_id and l.id = r.line_id
    where e.kind in ('refunded', 'cancelled');

alter table sales_by_hour
    add column covers bigint not null default 0,
    add column covered_sales_minor bigint not null default 0;

-- Room nights sold and their revenue, per night of stay and room product.
create table room_nights (
    store_id uuid not null,
    night date not null,
    product_id uuid not null,
    -- Net of refunds: a refunded night is a night unsold.
    rooms bigint not null,
    revenue_minor bigint not null,
    primary key (store_id, night, product_id)
);

-- Stays, per night of arrival and room product, as paid: a stay is one
-- room of one order from its first night.
create table room_stays (
    store_id uuid not null,
    arrival date not null,
    product_id uuid not null,
    stays bigint not null,
    room_nights bigint not null,
    -- Σ over stays of the days from the order's (local) day to arrival.
    lead_days bigint not null,
    primary key (store_id, arrival, product_id)
);

-- Each storefront session and how far down the funnel it went: `steps`
-- holds a bit per step reached (1 product viewed, 2 added to cart,
-- 4 checkout started, 8 purchased).
create table funnel_sessions (
    store_id uuid not null,
    session_id uuid not null,
    first_seen timestamptz not null,
    steps smallint not null,
    primary key (store_id, session_id)
);

-- Sessions per local hour of their first event, by depth: how many steps
-- in a row from the first they reached (0: none, 4: purchased after all).
create table funnel_by_hour (
    store_id uuid not null,
    hour_start timestamptz not null,
    depth smallint not null check (depth between 0 and 4),
    sessions bigint not null,
    primary key (store_id, hour_start, depth)
);

-- How many funnel steps in a row from the first `steps` holds.
create function funnel_depth(steps integer) returns smallint
    language sql immutable parallel safe
    return case
        when steps & 1 = 0 then 0
        when steps & 2 = 0 then 1
        when steps & 4 = 0 then 2
        when steps & 8 = 0 then 3
        else 4
    end;

call make_store_scoped('room_nights', 'room_stays', 'funnel_sessions', 'funnel_by_hour');

-- Where the bucket of `unit` (hour, day, week, month) holding `instant`
-- starts in `zone`. Weeks start on Monday.
create function bucket_start(instant timestamptz, unit text, zone text) returns timestamptz
    language sql stable parallel safe
    return case unit when 'hour' then local_hour_start(instant, zone) else date_trunc(unit, instant, zone) end;

-- Every bucket of `unit` from local date `first` to `last` (excluded) in
-- `zone`, each once. Steps of 15 minutes (hours) or an hour (longer
-- buckets) from local midnight meet every local hour and day, whatever the
-- zone's offset and its changes of the clock.
create function report_buckets(first date, last date, unit text, zone text) returns setof timestamptz
    language sql stable parallel safe
    as $$
        select distinct bucket_start(s, unit, zone)
        from generate_series(first::timestamp at time zone zone,
                             last::timestamp at time zone zone - interval '1 microsecond',
                             case unit when 'hour' then interval '15 minutes' else interval '1 hour' end) s
        order by 1
    $$;

-- The sessions whose funnel transactions in [from_xid, to_xid) touched, as
-- the fold left them (when `with_folded`) and as they are once those are
-- added: their first event and the steps they reached. A storefront event
-- marks its step; a paid order placed in a session marks the purchase.
create function funnel_changes(p_store uuid, p_from_xid xid8, p_to_xid xid8, p_with_folded boolean)
    returns table (session_id uuid, before_seen timestamptz, before_steps integer,
                   after_seen timestamptz, after_steps integer)
    language sql stable
    as $$
        with touched as (
            select x.session_id, min(x.at) as first_seen, bit_or(x.step) as steps
            from (
                select e.session_id, e.occurred_at as at,
                       case e.kind when 'product_viewed' then 1 when 'added_to_cart' then 2
                                   when 'checkout_started' then 4 else 0 end as step
                from storefront_events e
                where e.store_id = p_store and e.xid >= p_from_xid and e.xid < p_to_xid
                union all
                select o.session_id, e.created_at, 8
                from order_events e
                join orders o on o.store_id = e.store_id and o.id = e.order_id
                where e.store_id = p_store and e.kind = 'paid' and o.session_id is not null
                  and e.xid >= p_from_xid and e.xid < p_to_xid
            ) x
            group by x.session_id
        )
        select t.session_id, s.first_seen, s.steps::integer,
               least(t.first_seen, s.first_seen), t.steps | coalesce(s.steps::integer, 0)
        from touched t
        left join funnel_sessions s
            on p_with_folded and s.store_id = p_store and s.session_id = t.session_id
    $$;

-- The stays paid in store `p_store`'s transactions in [p_from_xid,
-- p_to_xid): one row per order and room product, as many rooms as its
-- first night has, with its room nights and the days from the order's
-- local day (in `p_zone`) to its arrival.
create function room_stays_paid(p_store uuid, p_from_xid xid8, p_to_xid xid8, p_zone text)
    returns table (arrival date, product_id uuid, rooms bigint, room_nights bigint, lead_days bigint)
    language sql stable
    as $$
        with lines as (
            select e.order_id, l.product_id, l.night, l.quantity,
                   min(l.night) over (partition by e.order_id, l.product_id) as arrival,
                   (o.created_at at time zone p_zone)::date as ordered_on
            from order_events e
            join orders o on o.store_id = e.store_id and o.id = e.order_id
            join order_lines l on l.store_id = e.store_id and l.order_id = e.order_id
            where e.store_id = p_store and e.kind = 'paid' and l.night is not null
              and e.xid >= p_from_xid and e.xid < p_to_xid
        )
        select arrival, product_id,
               sum(quantity) filter (where night = arrival),
               sum(quantity),
               (sum(quantity) filter (where night = arrival)) * (arrival - min(ordered_on))
        from lines
        group by order_id, product_id, arrival
    $$;
