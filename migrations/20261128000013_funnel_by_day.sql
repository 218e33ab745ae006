-- Sessions per local day of their first event, by depth: the hourly rollup
-- summed by day, which funnel reports of days, weeks and months read (as
-- `sales_by_day` for sales). See docs/analytics.md, "Funnel".
create table funnel_by_day (
    store_id uuid not null,
    day date not null,
    depth smallint not null check (depth between 0 and 4),
    sessions bigint not null,
    primary key (store_id, day, depth)
);

-- Filled from the hourly rollup, cut in the zone the fold cut it in (the
-- policies lifted for the owner for this statement, as for sales_by_day).
alter table funnel_by_hour no force row level security;
alter table analytics_progress no force row level security;
insert into funnel_by_day (store_id, day, depth, sessions)
select h.store_id, (h.hour_start at time zone p.time_zone)::date, h.depth, sum(h.sessions)
from funnel_by_hour h join analytics_progress p on p.store_id = h.store_id
group by 1, 2, 3 order by 1, 2, 3;
alter table funnel_by_hour force row level security;
alter table analytics_progress force row level security;

call make_store_scoped('funnel_by_day');

-- The first day of every bucket of `unit` (day, week, month) that the local
-- dates [first, last) touch: the buckets of a report of days, zeros
-- included. Weeks start on Monday.
create function report_days(first date, last date, unit text) returns setof date
    language sql immutable parallel safe
    as $$
        select distinct date_trunc(unit, d)::date
        from generate_series(first::timestamp, (last - 1)::timestamp, interval '1 day') d
        order by 1
    $$;
