-- Each customer's paid orders and net sales per local hour, dated by
-- transaction: new and returning customers, cohorts, repeat purchases and
-- RFM segments of docs/analytics.md. Orders without a customer (taken by
-- staff) are not here.
create table customer_hours (
    store_id uuid not null,
    customer_id uuid not null,
    hour_start timestamptz not null,
    -- Orders paid in the hour (0 for an hour of refunds only).
    orders bigint not null,
    -- Gross − discounts of what was paid, less what was refunded, in the hour.
    net_minor bigint not null,
    primary key (store_id, customer_id, hour_start)
);

create index customer_hours_store_hour on customer_hours (store_id, hour_start);

call make_store_scoped('customer_hours');
