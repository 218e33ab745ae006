-- New customers are the first orders of the period: found by their hour.
create index customer_firsts_hour on customer_firsts (store_id, first_hour);

-- The customers of a period are read from the index alone: the rows are
-- stored by customer, so a period's rows lie on a page each.
drop index customer_hours_store_hour;
create index customer_hours_store_hour on customer_hours (store_id, hour_start) include (customer_id, orders, net_minor);
