-- The stores of this tenant. The operator upserts one row per Store resource
-- (keyed by the resource's uid) and archives it when the Store is deleted, so
-- a name is unique only among stores that are not archived.
create table stores (
    id uuid primary key,
    k8s_uid uuid not null unique,
    name text not null check (name ~ '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$'),
    display_name text not null check (length(display_name) between 1 and 100),
    industry text not null check (industry in ('retail', 'hospitality', 'events')),
    currency char(3) not null check (currency ~ '^[A-Z]{3}$'),
    timezone text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    archived_at timestamptz
);

create unique index stores_active_name on stores (name) where archived_at is null;
