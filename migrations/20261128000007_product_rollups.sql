-- Sales per variant, dated by the event, per local day and per local
-- month: the top products, variants and categories of docs/analytics.md.
-- A period's whole months come from the month rollup, its other days from
-- the day rollup, and the facts past the fold's mark from `sales_facts`.

create table sales_by_variant_day (
    store_id uuid not null,
    day date not null,
    variant_id uuid not null,
    product_id uuid not null,
    units bigint not null,
    gross_minor bigint not null,
    discounts_minor bigint not null,
    returns_minor bigint not null,
    returned_units bigint not null,
    primary key (store_id, day, variant_id)
);

create table sales_by_variant_month (
    store_id uuid not null,
    -- The 1st of the month.
    month date not null,
    variant_id uuid not null,
    product_id uuid not null,
    units bigint not null,
    gross_minor bigint not null,
    discounts_minor bigint not null,
    returns_minor bigint not null,
    returned_units bigint not null,
    primary key (store_id, month, variant_id)
);

call make_store_scoped('sales_by_variant_day', 'sales_by_variant_month');
