-- Stock and its audit log, and the idempotency keys of money and stock
-- mutations. Store-scoped like the catalog: RLS enabled and forced.

-- What can be sold. A pool is what one sale draws from:
--   standard:   one pool per variant (night null);
--   room_night: one pool per product and night (a product's rate plans share its rooms);
--   ticket:     one pool per product (its ticket classes share the seats).
-- Pools of room nights and tickets start at the product's capacity the first
-- time they are used; a standard variant's pool starts at 0.
create table stock (
    id uuid primary key,
    store_id uuid not null,
    product_id uuid not null,
    variant_id uuid,
    night date,
    on_hand integer not null check (on_hand >= 0),
    -- Held by open orders. Never above on_hand: the database itself refuses an oversell.
    reserved integer not null default 0 check (reserved >= 0 and reserved <= on_hand),
    updated_at timestamptz not null default now(),
    unique nulls not distinct (store_id, product_id, variant_id, night),
    foreign key (store_id, product_id) references products (store_id, id) on delete cascade,
    foreign key (store_id, variant_id) references variants (store_id, id) on delete cascade
);

-- Every change a person or a key made to on_hand, with why and who.
create table stock_adjustments (
    id uuid primary key,
    store_id uuid not null,
    stock_id uuid not null references stock (id) on delete cascade,
    delta integer not null check (delta <> 0),
    on_hand_after integer not null,
    reason text not null check (reason in ('received', 'correction', 'damaged', 'lost', 'returned')),
    note text not null default '' check (length(note) <= 500),
    -- `user:<id>` or `key:<kind>`
    actor text not null,
    created_at timestamptz not null default now()
);

create index stock_adjustments_store on stock_adjustments (store_id, id desc);
create index stock_adjustments_stock on stock_adjustments (stock_id, id desc);

-- A mutation's response, kept 24 hours under the key its caller chose, so a
-- retry gets the same answer instead of a second order or adjustment.
create table idempotency_keys (
    store_id uuid not null,
    -- Who sent it (`user:<id>`, `key:<kind>`): keys of different callers never meet.
    principal text not null,
    key text not null check (length(key) between 1 and 255),
    request_sha256 bytea not null check (length(request_sha256) = 32),
    status smallint not null,
    body jsonb not null,
    created_at timestamptz not null default now(),
    primary key (store_id, principal, key)
);

create index idempotency_keys_age on idempotency_keys (store_id, created_at);

do $$
declare
    t text;
begin
    foreach t in array array['stock', 'stock_adjustments', 'idempotency_keys'] loop
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
