//! Who is calling, and what they may do.
//!
//! A caller is a [`Principal`]: a signed-in user (a JWT access token in
//! `Authorization: Bearer`) or a store's API key (`X-Api-Key`). Users are
//! tenant-wide: owners and customers reach every store, staff every store or
//! only those their invitation named. A secret key manages its own store; a
//! publishable key only reads its store's active catalog.

pub mod accounts;
pub mod email;
pub mod keys;
pub mod password;
pub mod routes;
pub mod tokens;

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, web};
use serde::{Deserialize, Serialize};

use crate::app::State;
use crate::error::ApiError;
use crate::ids::{StoreId, UserId};

pub const API_KEY_HEADER: &str = "X-Api-Key";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Role {
    Owner,
    Staff,
    Customer,
}

/// A user account, as tokens and `/v1/me` describe it.
#[derive(Clone, Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// For staff limited to some stores: those stores. Absent: every store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_ids: Option<Vec<StoreId>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum KeyKind {
    Secret,
    Publishable,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Principal {
    User(tokens::Claims),
    StoreKey { store_id: StoreId, kind: KeyKind },
}

/// What a principal may do in one store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum StoreAccess {
    /// Read what the store sells (active products); customers and publishable keys.
    Shopper,
    /// Manage the store: owners, its staff, its secret key.
    Manager,
}

impl Principal {
    /// This principal's access to `store`; 403 when it has none.
    pub fn store_access(&self, store: StoreId) -> Result<StoreAccess, ApiError> {
        let access = match self {
            Self::User(claims) => match claims.role {
                Role::Owner => Some(StoreAccess::Manager),
                Role::Customer => Some(StoreAccess::Shopper),
                Role::Staff => match &claims.stores {
                    Some(stores) if !stores.contains(&store) => None,
                    _ => Some(StoreAccess::Manager),
                },
            },
            Self::StoreKey { store_id, kind } if *store_id == store => Some(match kind {
                KeyKind::Secret => StoreAccess::Manager,
                KeyKind::Publishable => StoreAccess::Shopper,
            }),
            Self::StoreKey { .. } => None,
        };
        access.ok_or_else(|| ApiError::Forbidden(format!("no access to store {store}")))
    }

    /// Requires `Manager` access to `store`.
    pub fn require_manager(&self, store: StoreId) -> Result<(), ApiError> {
        match self.store_access(store)? {
            StoreAccess::Manager => Ok(()),
            StoreAccess::Shopper => Err(ApiError::Forbidden(format!(
                "only the staff of store {store} may do this"
            ))),
        }
    }

    /// Who acted, for audit logs and idempotency keys: `user:<id>`, or
    /// `key:secret` / `key:publishable` for a store's key.
    pub fn actor(&self) -> String {
        match self {
            Self::User(claims) => format!("user:{}", claims.sub),
            Self::StoreKey { kind, .. } => match kind {
                KeyKind::Secret => "key:secret".to_owned(),
                KeyKind::Publishable => "key:publishable".to_owned(),
            },
        }
    }

    /// The signed-in user's claims; 403 for an API key.
    pub fn user(&self) -> Result<&tokens::Claims, ApiError> {
        match self {
            Self::User(claims) => Ok(claims),
            Self::StoreKey { .. } => Err(ApiError::Forbidden(
                "this needs a signed-in user, not an API key".to_owned(),
            )),
        }
    }

    /// Requires a signed-in owner.
    pub fn require_owner(&self) -> Result<&tokens::Claims, ApiError> {
        let claims = self.user()?;
        if claims.role == Role::Owner {
            Ok(claims)
        } else {
            Err(ApiError::Forbidden("only an owner may do this".to_owned()))
        }
    }
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = request.app_data::<web::Data<State>>().cloned();
        let bearer = header(request, "Authorization").map(str::to_owned);
        let api_key = header(request, API_KEY_HEADER).map(str::to_owned);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal("the app has no State".to_owned()))?;
            if let Some(authorization) = bearer {
                let token = authorization.strip_prefix("Bearer ").ok_or_else(|| {
                    ApiError::Unauthorized("Authorization must be `Bearer <access token>`".to_owned())
                })?;
                let claims = state
                    .issuer
                    .verify(token.trim())
                    .map_err(ApiError::Unauthorized)?;
                return Ok(Self::User(claims));
            }
            if let Some(key) = api_key {
                let (store_id, kind) = accounts::store_key(&state.db, &state.api_keys, &key)
                    .await?
                    .ok_or_else(|| ApiError::Unauthorized("unknown or revoked API key".to_owned()))?;
                return Ok(Self::StoreKey { store_id, kind });
            }
            Err(ApiError::Unauthorized(format!(
                "send `Authorization: Bearer <access token>` or `{API_KEY_HEADER}: <store key>`"
            )))
        })
    }
}

fn header<'r>(request: &'r HttpRequest, name: &str) -> Option<&'r str> {
    request.headers().get(name).and_then(|value| value.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role, stores: Option<Vec<StoreId>>) -> Principal {
        Principal::User(tokens::Claims {
            iss: String::new(),
            aud: String::new(),
            sub: UserId::generate(),
            iat: 0,
            exp: 0,
            role,
            stores,
        })
    }

    #[test]
    fn store_access_by_role_and_key() {
        let (a, b) = (StoreId::generate(), StoreId::generate());
        assert_eq!(
            user(Role::Owner, None).store_access(b).unwrap(),
            StoreAccess::Manager
        );
        assert_eq!(
            user(Role::Customer, None).store_access(b).unwrap(),
            StoreAccess::Shopper
        );
        assert_eq!(
            user(Role::Staff, None).store_access(b).unwrap(),
            StoreAccess::Manager
        );
        let limited = user(Role::Staff, Some(vec![a]));
        assert_eq!(limited.store_access(a).unwrap(), StoreAccess::Manager);
        assert!(matches!(limited.store_access(b), Err(ApiError::Forbidden(_))));
        let secret = Principal::StoreKey {
            store_id: a,
            kind: KeyKind::Secret,
        };
        let publishable = Principal::StoreKey {
            store_id: a,
            kind: KeyKind::Publishable,
        };
        assert_eq!(secret.store_access(a).unwrap(), StoreAccess::Manager);
        assert_eq!(publishable.store_access(a).unwrap(), StoreAccess::Shopper);
        assert!(secret.store_access(b).is_err());
        assert!(publishable.require_manager(a).is_err());
        assert!(user(Role::Customer, None).require_manager(a).is_err());
    }

    #[test]
    fn only_owners_are_owners() {
        assert!(user(Role::Owner, None).require_owner().is_ok());
        assert!(user(Role::Staff, None).require_owner().is_err());
        let key = Principal::StoreKey {
            store_id: StoreId::generate(),
            kind: KeyKind::Secret,
        };
        assert!(key.require_owner().is_err());
    }
}
