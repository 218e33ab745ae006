-- Each customer's first paid order: the local hour it fell in (the hour of
-- `customer_hours` where their orders first rise above 0). A report of new
-- and returning customers looks up the first orders of those who bought in
-- its period, rather than reading every customer's whole history.
create table customer_firsts (
    store_id uuid not null,
    customer_id uuid not null,
    first_hour timestamptz not null,
    primary key (store_id, customer_id)
);

-- Filled from the hourly rollup (the policies lifted for the owner for this
-- statement, as for sales_by_day).
alter table customer_hours no force row level security;
insert into customer_firsts (store_id, customer_id, first_hour)
select store_id, customer_id, min(hour_start) from customer_hours where orders > 0
group by 1, 2 order by 1, 2;
alter table customer_hours force row level security;

call make_store_scoped('customer_firsts');
