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
-- [p_from_xid, p_to_xid) change in the counts above, cut in `p_zone`: each
-- of those customers' orders as the fold left them (`customer_hours`, when
-- `p_with_folded`) with weight −1, and with the new ones with weight +1,
-- so that an order paid before one already folded (two orders of one
-- customer committing out of order) moves the later one's gaps too. The
-- orders whose figures did not change cancel out. Gaps are in local days,
-- null for none or 1,100 days and more.
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
        ), folded as (
            select c.customer_id, c.hour_start, c.orders
            from customer_hours c
            where p_with_folded and c.store_id = p_store and c.orders > 0
              and c.customer_id in (select customer_id from paid)
        ), versions as (
            select customer_id, hour_start, orders, -1 as weight from folded
            union all
            select customer_id, hour_start, orders, 1 from folded
            union all
            select customer_id, hour_start, orders, 1 from paid
        ), each_order as (
            select v.weight, v.hour_start,
                   lag(v.hour_start, 1) over w as previous,
                   lag(v.hour_start, 2) over w as before_previous,
                   min(v.hour_start) over (partition by v.customer_id, v.weight) as first_hour
            from versions v, generate_series(1, v.orders)
            window w as (partition by v.customer_id, v.weight order by v.hour_start)
        ), dated as (
            select weight, hour_start, previous, first_hour,
                   (hour_start at time zone p_zone)::date as day,
                   (previous at time zone p_zone)::date as previous_day,
                   (before_previous at time zone p_zone)::date as before_previous_day
            from each_order
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
