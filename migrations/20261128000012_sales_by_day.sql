-- Sales per store and local day, once dated by the event and once by the
-- order: the hourly rollup summed by day, so that a report of days, weeks or
-- months sums a row a day rather than 24 (a year: 365 rows, not 8,760).
-- See docs/analytics.md, "Sales".
create table sales_by_day (
    store_id uuid not null,
    dated_by text not null check (dated_by in ('transaction', 'order')),
    day date not null,
    orders bigint not null,
    units bigint not null,
    gross_minor bigint not null,
    discounts_minor bigint not null,
    returns_minor bigint not null,
    returned_units bigint not null,
    covers bigint not null,
    covered_sales_minor bigint not null,
    primary key (store_id, dated_by, day)
);

-- Filled from the hourly rollup, cut in the zone the fold cut it in, so that
-- both hold the same facts below the same mark. The owner reads every store
-- here: the policies bind it only where forced, so they are lifted for this
-- statement and forced again before the migration commits.
alter table sales_by_hour no force row level security;
alter table analytics_progress no force row level security;
insert into sales_by_day (store_id, dated_by, day, orders, units, gross_minor, discounts_minor,
    returns_minor, returned_units, covers, covered_sales_minor)
select h.store_id, h.dated_by, (h.hour_start at time zone p.time_zone)::date, sum(h.orders), sum(h.units),
    sum(h.gross_minor), sum(h.discounts_minor), sum(h.returns_minor), sum(h.returned_units), sum(h.covers),
    sum(h.covered_sales_minor)
from sales_by_hour h join analytics_progress p on p.store_id = h.store_id
group by 1, 2, 3 order by 1, 2, 3;
alter table sales_by_hour force row level security;
alter table analytics_progress force row level security;

call make_store_scoped('sales_by_day');
