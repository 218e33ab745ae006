-- The events report reads the day rollup of a few ticket products over all
-- their days: by product, not by day (the primary key's order), or it reads
-- the store's every variant and day.
create index sales_by_variant_day_product on sales_by_variant_day (store_id, product_id, day);
