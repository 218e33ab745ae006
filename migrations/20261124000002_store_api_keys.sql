-- API keys of stores. The operator writes the keys themselves to the Store's
-- `<store>-api-key` Secret; only their SHA-256 is kept here. A secret key
-- authenticates server-to-server calls; a publishable key allows anonymous
-- catalog reads. A key is looked up by its hash before the store is known, so
-- this table has no row-level security; the API may only read it.
create table store_api_keys (
    id uuid primary key default gen_random_uuid(),
    store_id uuid not null references stores (id),
    kind text not null check (kind in ('secret', 'publishable')),
    key_sha256 bytea not null unique check (length(key_sha256) = 32),
    created_at timestamptz not null default now(),
    revoked_at timestamptz
);

create index store_api_keys_active on store_api_keys (store_id) where revoked_at is null;
