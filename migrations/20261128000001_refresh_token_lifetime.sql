-- A family of refresh tokens (one sign-in) lives at most a fixed time however
-- often it is renewed: each token records when its family began, so the
-- limit does not depend on older tokens of the family still being there.
-- Families in flight when this runs count from now.
alter table refresh_tokens add column family_started_at timestamptz not null default now();

-- Expired tokens are purged hourly; this finds them.
create index refresh_tokens_expiry on refresh_tokens (expires_at);
