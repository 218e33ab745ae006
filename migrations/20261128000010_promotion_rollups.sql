-- What each promotion brought, per local day of the transaction: the
-- orders paid with it, the discount it gave, and the net sales of those
-- orders (refunds included, on their day). An order with two promotions
-- counts in both. See docs/analytics.md, "Promotions".
create table promotion_sales_by_day (
    store_id uuid not null,
    day date not null,
    promotion_id uuid not null,
    orders bigint not null,
    discount_minor bigint not null,
    net_sales_minor bigint not null,
    primary key (store_id, day, promotion_id)
);

call make_store_scoped('promotion_sales_by_day');
