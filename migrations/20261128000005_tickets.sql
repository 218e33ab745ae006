-- Tickets: one code per seat sold, issued when the order is paid, checked
-- in once at the door, void once refunded or cancelled. Store-scoped: RLS
-- enabled and forced.
create table tickets (
    id uuid primary key,
    store_id uuid not null,
    order_id uuid not null,
    line_id uuid not null references order_lines (id) on delete cascade,
    product_id uuid not null,
    -- What the customer shows: 100 random bits, unguessable.
    code text not null unique,
    status text not null default 'valid' check (status in ('valid', 'checked_in', 'void')),
    issued_at timestamptz not null default now(),
    checked_in_at timestamptz,
    checked_in_by text,
    voided_at timestamptz,
    check ((checked_in_at is null) = (checked_in_by is null)),
    check (status <> 'checked_in' or checked_in_at is not null),
    check ((status = 'void') = (voided_at is not null)),
    foreign key (store_id, order_id) references orders (store_id, id) on delete cascade
);

create index tickets_order on tickets (order_id);
create index tickets_line on tickets (line_id);
create index tickets_store_product on tickets (store_id, product_id);

alter table tickets enable row level security;
alter table tickets force row level security;
create policy store_isolation on tickets
    using (store_id = nullif(current_setting('shopfleet.store_id', true), '')::uuid)
    with check (store_id = nullif(current_setting('shopfleet.store_id', true), '')::uuid);
