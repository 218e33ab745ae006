-- People who sign in to this tenant: its owners, its staff and its customers.
-- Tenant-wide (one database per tenant is their wall), so no row-level security.
create table users (
    id uuid primary key,
    email text not null unique check (email = lower(email) and length(email) <= 254),
    name text not null default '' check (length(name) <= 100),
    role text not null check (role in ('owner', 'staff', 'customer')),
    -- Staff limited to some stores; null means every store. Only staff are limited.
    store_ids uuid[] check (store_ids is null or role = 'staff'),
    password_hash text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

-- Invitations to become an owner or staff member. The token itself is given to
-- the invitee (the first owner's by the operator, through the Secret
-- `<tenant>-owner-invite`); only its SHA-256 is kept here.
create table invitations (
    id uuid primary key default gen_random_uuid(),
    email text not null check (email = lower(email)),
    role text not null check (role in ('owner', 'staff')),
    store_ids uuid[] check (store_ids is null or role = 'staff'),
    token_sha256 bytea not null unique check (length(token_sha256) = 32),
    invited_by uuid references users (id) on delete set null,
    created_at timestamptz not null default now(),
    -- Null for the operator's owner invitation: the tenant's first owner must
    -- always be able to get in.
    expires_at timestamptz,
    accepted_at timestamptz,
    accepted_by uuid references users (id) on delete set null
);

-- Refresh tokens, stored hashed. Each refresh spends its token and issues the
-- next one in the same family; presenting a spent token again means it was
-- stolen, and revokes the whole family.
create table refresh_tokens (
    id uuid primary key default gen_random_uuid(),
    family_id uuid not null,
    user_id uuid not null references users (id) on delete cascade,
    token_sha256 bytea not null unique check (length(token_sha256) = 32),
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    spent_at timestamptz,
    revoked_at timestamptz
);

create index refresh_tokens_family on refresh_tokens (family_id);
create index refresh_tokens_user on refresh_tokens (user_id);
