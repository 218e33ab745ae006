-- Access that can be taken away at once. An access token is honoured only if
-- it was issued at or after its user's sessions_valid_after (whole seconds:
-- a token's iat is), and never for a disabled user. Changing a password,
-- signing out everywhere, an owner changing someone's role or stores or
-- disabling them: each moves sessions_valid_after to now and revokes the
-- user's refresh tokens.
alter table users
    add column sessions_valid_after timestamptz not null default 'epoch',
    add column disabled_at timestamptz;
