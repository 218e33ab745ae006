-- Promotions: discount rules of a store, applied by the API's engine when an
-- order is created. Store-scoped: RLS enabled and forced.

create table promotions (
    id uuid primary key,
    store_id uuid not null references stores (id),
    name text not null check (length(name) between 1 and 200),
    kind text not null check (kind in ('percentage', 'fixed_amount', 'buy_x_get_y', 'free_item')),
    -- percentage: basis points off (1000 = 10 %)
    basis_points integer check (basis_points between 1 and 10000),
    -- fixed_amount: minor units off
    amount_minor bigint check (amount_minor between 1 and 100000000000),
    -- buy_x_get_y: for every buy + get units, the get cheapest are free
    buy_quantity integer check (buy_quantity between 1 and 1000),
    get_quantity integer check (get_quantity between 1 and 1000),
    -- free_item: up to free_quantity units of this variant are free
    free_variant_id uuid,
    free_quantity integer check (free_quantity between 1 and 1000),
    -- Only with this code (case-insensitive); null: applied automatically.
    code text check (code ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'),
    min_subtotal_minor bigint check (min_subtotal_minor >= 0),
    product_ids uuid[] not null default '{}' check (cardinality(product_ids) <= 100),
    category_ids uuid[] not null default '{}' check (cardinality(category_ids) <= 100),
    customer_ids uuid[] not null default '{}' check (cardinality(customer_ids) <= 1000),
    starts_at timestamptz,
    ends_at timestamptz,
    usage_limit integer check (usage_limit > 0),
    -- Counted only when usage_limit is set: an unlimited promotion is no
    -- lock that every order using it waits on.
    times_used integer not null default 0 check (times_used >= 0),
    per_customer_limit integer check (per_customer_limit > 0),
    stackable boolean not null default true,
    priority integer not null default 0,
    active boolean not null default true,
    version integer not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (store_id, id),
    check (starts_at is null or ends_at is null or ends_at > starts_at),
    check (usage_limit is null or times_used <= usage_limit),
    check (
        case kind
            when 'percentage' then basis_points is not null
                and amount_minor is null and buy_quantity is null and get_quantity is null
                and free_variant_id is null and free_quantity is null
            when 'fixed_amount' then amount_minor is not null
                and basis_points is null and buy_quantity is null and get_quantity is null
                and free_variant_id is null and free_quantity is null
            when 'buy_x_get_y' then buy_quantity is not null and get_quantity is not null
                and basis_points is null and amount_minor is null
                and free_variant_id is null and free_quantity is null
            when 'free_item' then free_variant_id is not null and free_quantity is not null
                and basis_points is null and amount_minor is null
                and buy_quantity is null and get_quantity is null
        end
    ),
    foreign key (store_id, free_variant_id) references variants (store_id, id) on delete cascade
);

-- One code names one promotion of a store, whatever its case.
create unique index promotions_code on promotions (store_id, lower(code)) where code is not null;
create index promotions_store on promotions (store_id, id desc);

-- Uses per customer, kept only for promotions with a per-customer limit.
create table promotion_redemptions (
    store_id uuid not null,
    promotion_id uuid not null,
    customer_id uuid not null references users (id) on delete cascade,
    uses integer not null check (uses > 0),
    primary key (promotion_id, customer_id),
    foreign key (store_id, promotion_id) references promotions (store_id, id) on delete cascade
);

do $$
declare
    t text;
begin
    foreach t in array array['promotions', 'promotion_redemptions'] loop
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
