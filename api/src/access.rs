//! Who is calling, and the one way a route reaches a store's data.
//!
//! Every route under `/v1/stores/{store_id}` takes a [`StoreCaller<N>`]
//! among its arguments. Extracting it authenticates the caller (401 without
//! valid credentials), finds their [`StoreRole`] in that store (403 with
//! none) and refuses them unless `N` admits the role (403). The handler then
//! reaches the store's rows only through [`StoreCaller::transaction`], whose
//! row-level security shows that store alone. A route cannot skip the check:
//! without a `StoreCaller` it has no transaction to work in.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

use crate::auth::{self, Principal, StoreRole};
use crate::db::StoreTx;
use crate::error::ApiError;
use crate::ids::StoreId;
use crate::limits::admission::Client;
use crate::state::State;

/// Which store roles a route admits.
pub trait Need {
    fn admits(role: StoreRole) -> bool;
    /// Why anyone else is refused.
    const REFUSAL: &'static str;
}

/// The roles a route may need, as types: `StoreCaller<need::Staff>`.
pub mod need {
    use super::{Need, StoreRole};

    /// Anyone with a role in the store: reading what it sells.
    pub struct Anyone;
    /// Customers and staff, not a publishable key: orders.
    pub struct Buyer;
    /// The store's staff (owners, its staff, its secret key): managing it.
    pub struct Staff;

    impl Need for Anyone {
        fn admits(_: StoreRole) -> bool {
            true
        }
        const REFUSAL: &'static str = "";
    }

    impl Need for Buyer {
        fn admits(role: StoreRole) -> bool {
            matches!(role, StoreRole::Customer(_) | StoreRole::Staff)
        }
        const REFUSAL: &'static str = "only signed-in customers and the store's staff may do this";
    }

    impl Need for Staff {
        fn admits(role: StoreRole) -> bool {
            role == StoreRole::Staff
        }
        const REFUSAL: &'static str = "only the store's staff may do this";
    }
}

/// A caller admitted to `store` with a role `N` accepts.
pub struct StoreCaller<N> {
    pub store: StoreId,
    pub principal: Principal,
    pub role: StoreRole,
    state: web::Data<State>,
    need: PhantomData<N>,
}

impl<N> StoreCaller<N> {
    /// Who acted, for audit logs and idempotency keys.
    pub fn actor(&self) -> String {
        self.principal.actor()
    }

    pub fn is_staff(&self) -> bool {
        self.role == StoreRole::Staff
    }

    /// Runs `work` in one transaction of the store, committed when it
    /// succeeds and rolled back when it fails; 404 when the store does not
    /// exist or is archived.
    pub async fn transaction<T>(
        &self,
        work: impl AsyncFnOnce(&mut StoreTx) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let tx = self.state.db.store(self.store).await?;
        run(tx, work).await
    }

    /// Runs `work` in one read-only snapshot of the store (REPEATABLE READ):
    /// every statement sees the same committed state, as a report made of
    /// several queries must; 404 as [`StoreCaller::transaction`].
    pub async fn snapshot<T>(
        &self,
        work: impl AsyncFnOnce(&mut StoreTx) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let tx = self.state.db.store_reading(self.store).await?;
        run(tx, work).await
    }
}

/// Runs `work` in `tx`, committed when it succeeds and rolled back (dropped)
/// when it fails.
async fn run<T>(
    mut tx: StoreTx,
    work: impl AsyncFnOnce(&mut StoreTx) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let value = work(&mut tx).await?;
    tx.commit().await?;
    Ok(value)
}

impl<N: Need + 'static> FromRequest for StoreCaller<N> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let principal = Principal::from_request(request, payload);
        let state = app_state(request);
        let store = request
            .match_info()
            .get("store_id")
            .map(|id| id.parse().map(StoreId));
        Box::pin(async move {
            let principal = principal.await?;
            let store = match store {
                Some(Ok(store)) => store,
                Some(Err(error)) => {
                    return Err(ApiError::MalformedRequest(format!(
                        "invalid path parameter: store_id: {error}"
                    )));
                }
                None => return Err(ApiError::Internal("a store route without {store_id}".to_owned())),
            };
            let role = principal.role_in(store)?;
            if !N::admits(role) {
                return Err(ApiError::Forbidden(N::REFUSAL.to_owned()));
            }
            Ok(Self {
                store,
                principal,
                role,
                state: state?,
                need: PhantomData,
            })
        })
    }
}

/// The caller, from `Authorization: Bearer <access token>`, a store's key
/// in `X-Api-Key`, or (opening a WebSocket, which browsers cannot give
/// headers) a stream ticket among its subprotocols, used up by this;
/// 401 without any, or when it does not check out.
impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = app_state(request);
        let bearer = header(request, "Authorization").map(str::to_owned);
        let api_key = header(request, auth::API_KEY_HEADER).map(str::to_owned);
        let client = Client::extract(request).into_inner();
        let ticket = stream_ticket(request);
        Box::pin(async move {
            let state = state?;
            if let Some(authorization) = bearer {
                let token = authorization.strip_prefix("Bearer ").ok_or_else(|| {
                    ApiError::Unauthorized("Authorization must be `Bearer <access token>`".to_owned())
                })?;
                let claims = state
                    .issuer
                    .verify(token.trim())
                    .map_err(ApiError::Unauthorized)?;
                state.sessions.check(&state.db, &claims).await?;
                return Ok(Self::User(claims));
            }
            if let Some(key) = api_key {
                let (store_id, kind) = match auth::accounts::cached_store_key(&state.api_keys, &key) {
                    Some(found) => found,
                    // A key found lately is not a guess: only lookups are
                    // refused to a client that presented too many unknown keys.
                    None => {
                        let client = client?.0;
                        state.limits.refuse_guessing(client)?;
                        let found = auth::accounts::store_key(&state.db, &state.api_keys, &key).await?;
                        found.ok_or_else(|| {
                            state.limits.count_unknown_credential(client);
                            ApiError::Unauthorized("unknown or revoked API key".to_owned())
                        })?
                    }
                };
                return Ok(Self::StoreKey { store_id, kind });
            }
            if let Some(ticket) = ticket {
                let mut conn = state.db.tenant_wide_conn().await?;
                let claims = crate::stream::ticket::take_ticket(&mut conn, &auth::tokens::sha256(&ticket))
                    .await?
                    .ok_or_else(|| {
                        ApiError::Unauthorized("unknown, used or expired stream ticket".to_owned())
                    })?;
                drop(conn);
                state.sessions.check(&state.db, &claims).await?;
                return Ok(Self::User(claims));
            }
            Err(ApiError::Unauthorized(format!(
                "send `Authorization: Bearer <access token>` or `{}: <store key>`",
                auth::API_KEY_HEADER
            )))
        })
    }
}

fn app_state(request: &HttpRequest) -> Result<web::Data<State>, ApiError> {
    request
        .app_data::<web::Data<State>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal("the app has no State".to_owned()))
}

/// The ticket of a WebSocket request's `shopfleet.ticket.<ticket>` subprotocol.
fn stream_ticket(request: &HttpRequest) -> Option<String> {
    let upgrade = header(request, "Upgrade")?;
    if !upgrade.eq_ignore_ascii_case("websocket") {
        return None;
    }
    header(request, "Sec-WebSocket-Protocol")?
        .split(',')
        .find_map(|protocol| {
            protocol
                .trim()
                .strip_prefix(crate::stream::ticket::TICKET_PROTOCOL_PREFIX)
        })
        .map(str::to_owned)
}

fn header<'r>(request: &'r HttpRequest, name: &str) -> Option<&'r str> {
    request.headers().get(name).and_then(|value| value.to_str().ok())
}
