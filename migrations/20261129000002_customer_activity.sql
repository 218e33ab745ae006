-- Distinct customers of any period, from rollups that add up
-- (docs/analytics.md, "Customers").
--
-- A customer is counted in a period [a, b) once: by their first order in
-- it, the order paid in it whose previous one was before a. So for each
-- local day d, `active[x]` counts the orders of d whose customer's previous
-- order is more than x days before d (or who had none), and a period's
-- customers are the sum over its days of `active[d − a]`. In the same way
-- `repeats[x]` counts the orders of d that are their customer's second
-- since x days before d: the customers with two orders or more. A bucket
-- of a week or a month is a period of its own; an hour's customers, and a
-- cohort month's, are counted per hour and per month.

-- Replaced by the counts below.
drop table customer_firsts;

-- Per local hour: orders paid with a customer, the customers (their first
-- order of the hour), and the new ones (their first order ever).
create table customer_hour_counts (
    store_id uuid not null,
    hour_start timestamptz not null,
    orders bigint not null,
    customers bigint not null,
    new_customers bigint not null,
    primary key (store_id, hour_start)
);

-- Per local day: orders and new customers as per hour, and the two arrays
-- above, indexed from x = 0 (`active[1]` is the day's customers). Past its
-- last element an array keeps its last value: every gap between orders is
-- shorter than the array, or counted as none (1,100 days or more: no
-- period is longer).
create table customer_days (
    store_id uuid not null,
    day date not null,
    orders bigint not null,
    new_customers bigint not null,
    active integer[] not null,
    repeats integer[] not null,
    primary key (store_id, day)
);

-- Per cohort (the month of its customers' first order) and month: how many
-- of them paid an order that month (their first order of the month).
create table customer_cohorts (
    store_id uuid not null,
    cohort date not null,
    month date not null,
    customers bigint not null,
    primary key (store_id, cohort, month)
);

call make_store_scoped('customer_hour_counts', 'customer_days', 'customer_cohorts');

-- What the orders paid with a customer in store `p_store`'s transactions in
-- [p_from_xid, p_to_xid) change in the counts above, cut in `p_zone`. For
-- each of those customers, from the hour of their first new order on:
-- their orders as the fold left them (`customer_hours`, when
-- `p_with_folded`) with weight −1, and with the new ones with weight +1, so
-- that an order paid before one already folded (two orders of one customer
-- committing out of order) moves the later one's gaps too. The orders
-- whose figures did not change cancel out. Earlier orders keep their
-- figures (only their cohort could change, when the new order is the
-- first: then there are none); the two hours with orders before that hour
-- give the gaps, and the first folded order the cohort. So a fold reads a
-- few rows per customer, however long their history. Gaps are in local
-- days, null for none or 1,100 days and more.
create function customer_order_changes(p_store uuid, p_from_xid xid8, p_to_xid xid8, p_zone text,
                                       p_with_folded boolean)
    returns table (hour_start timestamptz, day date, cohort date, gap_days integer, second_gap_days integer,
                   first_in_hour boolean, first_in_month boolean, first_ever boolean, weight bigint)
    language sql stable
    as $$
        with paid as (
            select o.customer_id, local_hour_start(e.created_at, p_zone) as hour_start, count(*) as orders
            from order_events e
            join orders o on o.store_id = e.store_id and o.id = e.order_id
            where e.store_id = p_store and e.kind = 'paid' and o.customer_id is not null
              and e.xid >= p_from_xid and e.xid < p_to_xid
            group by 1, 2
        ), customers as (
            select p.customer_id, min(p.hour_start) as since,
                   (select min(h.hour_start) from customer_hours h
                    where p_with_folded and h.store_id = p_store and h.customer_id = p.customer_id
                      and h.orders > 0) as folded_first
            from paid p
            group by p.customer_id
        ), folded as (
            select s.customer_id, c.hour_start, c.orders
            from customers s
            cross join lateral (
                select h.hour_start, h.orders from customer_hours h
                where h.store_id = p_store and h.customer_id = s.customer_id and h.orders > 0
                  and h.hour_start >= s.since
                union all
                (select h.hour_start, h.orders from customer_hours h
                 where h.store_id = p_store and h.customer_id = s.customer_id and h.orders > 0
                   and h.hour_start < s.since
                 order by h.hour_start desc
                 limit 2)
            ) c
            where p_with_folded
        ), versions as (
            select customer_id, hour_start, orders, -1 as weight from folded
            union all
            select customer_id, hour_start, orders, 1 from folded
            union all
            select customer_id, hour_start, orders, 1 from paid
        ), each_order as (
            select v.customer_id, v.weight, v.hour_start,
                   lag(v.hour_start, 1) over w as previous,
                   lag(v.hour_start, 2) over w as before_previous
            from versions v, generate_series(1, v.orders)
            window w as (partition by v.customer_id, v.weight order by v.hour_start)
        ), dated as (
            select e.weight, e.hour_start, e.previous,
                   case when e.weight < 0 then s.folded_first else least(s.folded_first, s.since) end as first_hour,
                   (e.hour_start at time zone p_zone)::date as day,
                   (e.previous at time zone p_zone)::date as previous_day,
                   (e.before_previous at time zone p_zone)::date as before_previous_day
            from each_order e
            join customers s on s.customer_id = e.customer_id
            where e.hour_start >= s.since
        )
        select hour_start, day,
               date_trunc('month', first_hour at time zone p_zone)::date,
               nullif(least(day - previous_day, 1100), 1100),
               nullif(least(day - before_previous_day, 1100), 1100),
               previous is distinct from hour_start,
               previous_day is null or date_trunc('month', previous_day) < date_trunc('month', day),
               previous is null,
               sum(weight)
        from dated
        group by 1, 2, 3, 4, 5, 6, 7, 8
        having sum(weight) <> 0
    $$;

-- Every store's counts are filled by its next fold: a mark cut in no zone
-- makes it rebuild every rollup from the raw rows (reports read the raw
-- rows until then, exact as ever).
update analytics_progress set time_zone = '';
