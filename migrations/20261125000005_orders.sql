-- Orders, their lines, the discounts applied to them and the log of every
-- change of state. Store-scoped: RLS enabled and forced.

-- Order numbers shown to people. One sequence for the tenant: numbers are
-- unique and rising, and taking one locks nothing (gaps are allowed).
create sequence order_numbers start 1001;

create table orders (
    id uuid primary key,
    -- No foreign key to stores: every order would take a share lock on its
    -- store's one row (the API opened the transaction on an existing store,
    -- and RLS pins every row to it).
    store_id uuid not null,
    number bigint not null unique default nextval('order_numbers'),
    -- The signed-in customer the order is for; null for an order staff took
    -- (point of sale) without one.
    customer_id uuid references users (id) on delete set null,
    status text not null check (status in ('pending', 'paid', 'fulfilled', 'cancelled', 'refunded')),
    currency text not null check (currency ~ '^[A-Z]{3}$'),
    subtotal_minor bigint not null check (subtotal_minor >= 0),
    discount_minor bigint not null check (discount_minor between 0 and subtotal_minor),
    total_minor bigint not null check (total_minor = subtotal_minor - discount_minor),
    paid_minor bigint not null default 0 check (paid_minor in (0, total_minor)),
    -- Never more than was paid: the database refuses it too.
    refunded_minor bigint not null default 0 check (refunded_minor between 0 and paid_minor),
    promotion_code text,
    -- `user:<id>` or `key:secret`
    placed_by text not null,
    version integer not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (store_id, id)
);

create index orders_store on orders (store_id, id desc);
create index orders_store_customer on orders (store_id, customer_id, id desc);
create index orders_store_status on orders (store_id, status, id desc);

create table order_lines (
    id uuid primary key,
    store_id uuid not null,
    order_id uuid not null,
    position smallint not null,
    -- What was sold, as it was then: the catalog may change later.
    product_id uuid not null,
    variant_id uuid not null,
    sku text not null,
    title text not null,
    night date,
    -- The pool the line reserved (null once the product is deleted).
    stock_id uuid references stock (id) on delete set null,
    quantity integer not null check (quantity between 1 and 1000),
    unit_price_minor bigint not null check (unit_price_minor >= 0),
    subtotal_minor bigint not null check (subtotal_minor = unit_price_minor * quantity),
    discount_minor bigint not null check (discount_minor between 0 and subtotal_minor),
    total_minor bigint not null check (total_minor = subtotal_minor - discount_minor),
    refunded_quantity integer not null default 0 check (refunded_quantity between 0 and quantity),
    refunded_minor bigint not null default 0 check (refunded_minor between 0 and total_minor),
    unique (order_id, position),
    foreign key (store_id, order_id) references orders (store_id, id) on delete cascade
);

create table order_discounts (
    store_id uuid not null,
    order_id uuid not null,
    position smallint not null,
    -- The promotion it came from, which may since have been changed or
    -- deleted: no foreign key, which would also make every order take a
    -- share lock on the promotion's row. Its name, kind and code are copied.
    promotion_id uuid not null,
    name text not null,
    kind text not null,
    code text,
    amount_minor bigint not null check (amount_minor > 0),
    primary key (order_id, position),
    foreign key (store_id, order_id) references orders (store_id, id) on delete cascade
);

-- Every change of an order's state, with when and who; refunds with their
-- amount and lines, so a partial refund is a recorded event too.
create table order_events (
    id uuid primary key,
    store_id uuid not null,
    order_id uuid not null,
    kind text not null check (kind in ('created', 'paid', 'fulfilled', 'cancelled', 'refunded')),
    from_status text,
    to_status text not null,
    amount_minor bigint not null default 0,
    lines jsonb not null default '[]',
    note text not null default '' check (length(note) <= 500),
    actor text not null,
    created_at timestamptz not null default now(),
    foreign key (store_id, order_id) references orders (store_id, id) on delete cascade
);

create index order_events_order on order_events (order_id, id);

do $$
declare
    t text;
begin
    foreach t in array array['orders', 'order_lines', 'order_discounts', 'order_events'] loop
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
