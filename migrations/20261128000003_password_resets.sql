-- Password resets: a short-lived, single-use token mailed to the account's
-- address; only its SHA-256 is kept here.
create table password_resets (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references users (id) on delete cascade,
    token_sha256 bytea not null unique check (length(token_sha256) = 32),
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    used_at timestamptz
);

create index password_resets_user on password_resets (user_id);

-- Messages to people (a password reset's link), written in the transaction
-- that makes them, for whatever delivers them (a mailer reads and deletes
-- them): the transactional outbox. Until delivered, a message holds what it
-- says, a reset token included.
create table outbox (
    id uuid primary key default gen_random_uuid(),
    recipient text not null,
    kind text not null,
    body jsonb not null,
    created_at timestamptz not null default now()
);
