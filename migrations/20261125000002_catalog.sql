-- The catalog of each store: categories, products and their variants.
--
-- Row-level security is the second wall between stores. Every table here has
-- `store_id`, and RLS is enabled and forced with a policy on the transaction
-- setting `shopfleet.store_id` (the API sets it with set_config(..., true)
-- inside each transaction). When the setting is unset or empty the policy
-- compares with null, so nothing is visible and nothing can be written.

create table categories (
    id uuid primary key,
    store_id uuid not null references stores (id),
    name text not null check (length(name) between 1 and 100),
    slug text not null check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' and length(slug) <= 100),
    created_at timestamptz not null default now(),
    unique (store_id, slug),
    -- lets product_categories reference (store_id, id), so a product cannot be
    -- put in another store's category
    unique (store_id, id)
);

create table products (
    id uuid primary key,
    store_id uuid not null references stores (id),
    title text not null check (length(title) between 1 and 200),
    description text not null default '' check (length(description) <= 10000),
    kind text not null check (kind in ('standard', 'room_night', 'ticket')),
    status text not null check (status in ('draft', 'active', 'archived')),
    image_urls text[] not null default '{}' check (cardinality(image_urls) <= 20),
    -- room_night: rooms per night; ticket: seats for the event
    capacity integer check (capacity > 0),
    event_starts_at timestamptz,
    event_ends_at timestamptz,
    version integer not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    search tsvector generated always as (
        setweight(to_tsvector('english', title), 'A') ||
        setweight(to_tsvector('english', description), 'B')
    ) stored,
    unique (store_id, id),
    check (
        case kind
            when 'standard' then capacity is null and event_starts_at is null and event_ends_at is null
            when 'room_night' then capacity is not null and event_starts_at is null and event_ends_at is null
            when 'ticket' then capacity is not null and event_starts_at is not null
                and (event_ends_at is null or event_ends_at > event_starts_at)
        end
    )
);

-- Newest first (ids are UUIDv7, so time-ordered) within a store, per status.
create index products_store_status on products (store_id, status, id desc);
create index products_search on products using gin (search);

create table product_categories (
    store_id uuid not null,
    product_id uuid not null,
    category_id uuid not null,
    primary key (product_id, category_id),
    foreign key (store_id, product_id) references products (store_id, id) on delete cascade,
    foreign key (store_id, category_id) references categories (store_id, id) on delete cascade
);

create index product_categories_category on product_categories (category_id);

create table variants (
    id uuid primary key,
    store_id uuid not null,
    product_id uuid not null,
    sku text not null check (sku ~ '^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$'),
    title text not null default '' check (length(title) <= 200),
    -- in the minor unit of the store's currency (cents for EUR)
    price_minor bigint not null check (price_minor between 0 and 100000000000),
    attributes jsonb not null default '{}' check (jsonb_typeof(attributes) = 'object'),
    position integer not null default 0,
    version integer not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (store_id, sku),
    unique (store_id, id),
    foreign key (store_id, product_id) references products (store_id, id) on delete cascade
);

create index variants_product on variants (product_id, position);

do $$
declare
    t text;
begin
    foreach t in array array['categories', 'products', 'product_categories', 'variants'] loop
        execute format('alter table %I enable row level security', t);
        execute format('alter table %I force row level security', t);
        execute format(
            'create policy store_isolation on %I '
            'using (store_id = nullif(current_setting(''shopfleet.store_id'', true), '''')::uuid) '
            'with check (store_id = nullif(current_setting(''shopfleet.store_id'', true), '''')::uuid)',
            t);
    end loop;
end
$$;
