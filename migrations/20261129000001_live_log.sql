-- The live stream (docs/api.md, "Live stream"): what staff watch happen,
-- as a log in commit order, and the one-use tickets browsers open it with.

-- One row per thing that happened: an order placed or moved, a variant
-- running low, a ticket checked in. It carries ids only; the stream reads
-- the data from the order's event, the stock pool or the ticket.
--
-- The change's own transaction writes its events to `live_inbox` (so a
-- rolled-back change is never announced), by deferred triggers: at commit,
-- so that `occurred_at` is when it committed, and on every path that
-- changes an order, a stock level or a ticket. It takes no lock and sends
-- no notification: a lock or a NOTIFY in every order's commit serializes
-- the commits (measured: 21-27 % fewer orders a second). The sequencer
-- (`stream::log::sequence`, one replica at a time, every few milliseconds
-- while anyone watches) moves the inbox into `live_log`, numbering the
-- events, and notifies the stores concerned once per batch. Batches are
-- numbered one after another, so a reader that sees position n sees every
-- smaller one (or never will: that batch rolled back), and "everything past
-- n" is exact, on every replica, after any reconnect.
create sequence live_positions;

create table live_inbox (
    id bigint generated always as identity,
    store_id uuid not null,
    kind text not null,
    order_event_id uuid,
    stock_id uuid,
    ticket_id uuid,
    available bigint,
    occurred_at timestamptz not null default clock_timestamp()
);

create table live_log (
    position bigint primary key,
    store_id uuid not null,
    kind text not null check (kind in (
        'order.placed', 'order.paid', 'order.fulfilled', 'order.cancelled', 'order.refunded',
        'stock.low', 'ticket.checked_in')),
    order_event_id uuid,
    stock_id uuid,
    ticket_id uuid,
    -- stock.low: units available (on hand - reserved) after the change.
    available bigint,
    -- When the change committed.
    occurred_at timestamptz not null,
    check ((kind like 'order.%') = (order_event_id is not null)),
    check ((kind = 'stock.low') = (stock_id is not null and available is not null)),
    check ((kind = 'ticket.checked_in') = (ticket_id is not null))
);

create index live_log_store on live_log (store_id, position);
call make_store_scoped('live_inbox', 'live_log');
-- The sequencer moves every store's events, in a transaction that says so;
-- every other transaction sees its store's rows only.
create policy sequencer on live_inbox
    using (current_setting('shopfleet.sequencer', true) = 'on');
create policy sequencer on live_log
    using (current_setting('shopfleet.sequencer', true) = 'on')
    with check (current_setting('shopfleet.sequencer', true) = 'on');

-- A variant is low on stock when at most this many units are available.
create function live_low_stock_units() returns integer language sql immutable return 5;

create function announce_live() returns trigger
language plpgsql as $$
begin
    if tg_table_name = 'order_events' then
        insert into live_inbox (store_id, kind, order_event_id)
        values (new.store_id, 'order.' || case new.kind when 'created' then 'placed' else new.kind end, new.id);
    elsif tg_table_name = 'stock' then
        insert into live_inbox (store_id, kind, stock_id, available)
        values (new.store_id, 'stock.low', new.id, new.on_hand - new.reserved);
    else
        insert into live_inbox (store_id, kind, ticket_id)
        values (new.store_id, 'ticket.checked_in', new.id);
    end if;
    return null;
end
$$;

-- Deferred: they run at commit, after everything the transaction did.
create constraint trigger order_events_live after insert on order_events
    deferrable initially deferred for each row execute function announce_live();

create constraint trigger stock_live after update of on_hand, reserved on stock
    deferrable initially deferred for each row
    when (new.variant_id is not null and new.night is null
          and old.on_hand - old.reserved > live_low_stock_units()
          and new.on_hand - new.reserved <= live_low_stock_units())
    execute function announce_live();

create constraint trigger tickets_live after update of checked_in_at on tickets
    deferrable initially deferred for each row
    when (old.checked_in_at is null and new.checked_in_at is not null)
    execute function announce_live();

-- A one-use credential for opening the stream from a browser, which cannot
-- set an Authorization header on a WebSocket: issued for an access token,
-- sent as a WebSocket subprotocol (never in a URL), deleted when used.
-- Tenant-wide, like the refresh tokens.
create table stream_tickets (
    ticket_sha256 bytea primary key check (length(ticket_sha256) = 32),
    -- The access token's claims, the caller the stream is opened for.
    claims jsonb not null,
    expires_at timestamptz not null
);

create index stream_tickets_expiry on stream_tickets (expires_at);
