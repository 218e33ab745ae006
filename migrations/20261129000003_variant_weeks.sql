-- Sales per variant and local ISO week (Monday to Sunday): a top list of
-- 30 days reads three or four weeks and a few days per variant, not 30 days
-- (docs/analytics.md, "How the answers stay exact and fast").
create table sales_by_variant_week (
    store_id uuid not null,
    -- The Monday.
    week date not null,
    variant_id uuid not null,
    product_id uuid not null,
    units bigint not null,
    gross_minor bigint not null,
    discounts_minor bigint not null,
    returns_minor bigint not null,
    returned_units bigint not null,
    primary key (store_id, week, variant_id)
);

call make_store_scoped('sales_by_variant_week');

-- Filled by every store's next fold: a mark cut in no zone makes it rebuild
-- every rollup from the raw rows.
update analytics_progress set time_zone = '';
