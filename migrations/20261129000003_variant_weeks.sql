-- Sales per variant and local ISO week (Monday to Sunday): a top list of
-- 30 days reads three or four weeks and a few days per variant, not 30 days
-- (docs/analytics.md, "How the answers stay exact and fast").
-- The month rollup's columns and key, the month's 1st become the Monday.
create table sales_by_variant_week (like sales_by_variant_month including all);
alter table sales_by_variant_week rename column month to week;

call make_store_scoped('sales_by_variant_week');

-- Filled by every store's next fold: a mark cut in no zone makes it rebuild
-- every rollup from the raw rows.
update analytics_progress set time_zone = '';
