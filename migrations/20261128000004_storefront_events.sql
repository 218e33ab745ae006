-- What shoppers do before they buy, as their shop front reports it (the
-- funnel of docs/analytics.md). Store-scoped: RLS enabled and forced.
-- Revenue never comes from here: orders feed analytics by themselves.
create table storefront_events (
    store_id uuid not null,
    -- The client's id for the event: a batch sent twice is kept once.
    event_id uuid not null,
    kind text not null check (kind in (
        'session_started', 'product_viewed', 'search_performed',
        'added_to_cart', 'removed_from_cart', 'checkout_started')),
    session_id uuid not null,
    -- The shopper, as the shop front says (a customer's own token: always
    -- themselves). No foreign key: a batch is not refused for one stale id.
    customer_id uuid,
    -- When it happened: the client's time, or when it arrived if the
    -- client's was out of bounds (`clamped`, the client's kept beside it).
    occurred_at timestamptz not null,
    client_occurred_at timestamptz not null,
    clamped boolean not null,
    received_at timestamptz not null default now(),
    -- The payload, by kind (see docs/api.md).
    product_id uuid,
    variant_id uuid,
    quantity integer check (quantity between 1 and 1000),
    search_query text check (length(search_query) between 1 and 200),
    result_count integer check (result_count >= 0),
    referrer text check (length(referrer) <= 500),
    value_minor bigint check (value_minor >= 0),
    item_count integer check (item_count >= 1),
    primary key (store_id, event_id)
);

create index storefront_events_store_time on storefront_events (store_id, occurred_at);

alter table storefront_events enable row level security;
alter table storefront_events force row level security;
create policy store_isolation on storefront_events
    using (store_id = nullif(current_setting('shopfleet.store_id', true), '')::uuid)
    with check (store_id = nullif(current_setting('shopfleet.store_id', true), '')::uuid);
