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
pub mod purge;
pub mod sessions;
pub mod tokens;

use serde::{Deserialize, Serialize};

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

/// Who a principal is in one store: what it may see and do there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreRole {
    /// A publishable key: reads what the store sells (active products).
    Visitor,
    /// A signed-in customer: reads what the store sells, buys, sees their own orders.
    Customer(UserId),
    /// Owners, the store's staff, its secret key: manage the store.
    Staff,
}

impl StoreRole {
    /// The customer whose own data alone this role sees (None: staff and
    /// visitors, whom other checks bound).
    pub fn customer(self) -> Option<UserId> {
        match self {
            Self::Customer(id) => Some(id),
            Self::Visitor | Self::Staff => None,
        }
    }
}

impl Principal {
    /// This principal's role in `store`; 403 when it has none.
    pub fn role_in(&self, store: StoreId) -> Result<StoreRole, ApiError> {
        let role = match self {
            Self::User(claims) => match claims.role {
                Role::Owner => Some(StoreRole::Staff),
                Role::Customer => Some(StoreRole::Customer(claims.sub)),
                Role::Staff => match &claims.stores {
                    Some(stores) if !stores.contains(&store) => None,
                    _ => Some(StoreRole::Staff),
                },
            },
            Self::StoreKey { store_id, kind } if *store_id == store => Some(match kind {
                KeyKind::Secret => StoreRole::Staff,
                KeyKind::Publishable => StoreRole::Visitor,
            }),
            Self::StoreKey { .. } => None,
        };
        role.ok_or_else(|| ApiError::Forbidden(format!("no access to store {store}")))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role, stores: Option<Vec<StoreId>>) -> Principal {
        Principal::User(tokens::Claims {
            iss: String::new(),
            aud: String::new(),
            sub: UserId::generate(),
            iat: 0,
            iat_us: 0,
            exp: 0,
            role,
            stores,
        })
    }

    #[test]
    fn roles_by_user_role_and_key() {
        let (a, b) = (StoreId::generate(), StoreId::generate());
        assert_eq!(user(Role::Owner, None).role_in(b).unwrap(), StoreRole::Staff);
        let customer = user(Role::Customer, None);
        let Principal::User(claims) = &customer else {
            unreachable!()
        };
        assert_eq!(customer.role_in(b).unwrap(), StoreRole::Customer(claims.sub));
        assert_eq!(user(Role::Staff, None).role_in(b).unwrap(), StoreRole::Staff);
        let limited = user(Role::Staff, Some(vec![a]));
        assert_eq!(limited.role_in(a).unwrap(), StoreRole::Staff);
        assert!(matches!(limited.role_in(b), Err(ApiError::Forbidden(_))));
        let secret = Principal::StoreKey {
            store_id: a,
            kind: KeyKind::Secret,
        };
        let publishable = Principal::StoreKey {
            store_id: a,
            kind: KeyKind::Publishable,
        };
        assert_eq!(secret.role_in(a).unwrap(), StoreRole::Staff);
        assert_eq!(publishable.role_in(a).unwrap(), StoreRole::Visitor);
        assert!(matches!(secret.role_in(b), Err(ApiError::Forbidden(_))));
        assert!(matches!(publishable.role_in(b), Err(ApiError::Forbidden(_))));
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
