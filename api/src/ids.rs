//! Typed ids: a `ProductId` cannot be passed where a `StoreId` is expected.

/// Defines a UUID newtype that SQL, JSON and paths read and write as a plain UUID.
macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[derive(serde::Serialize, serde::Deserialize, sqlx::Type, utoipa::ToSchema)]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            /// A new time-ordered id (UUIDv7), so newest-first is id order.
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

typed_id!(
    /// A store (the operator's `stores` row; its Store resource's `status.storeId`).
    StoreId
);
typed_id!(UserId);
typed_id!(ProductId);
typed_id!(VariantId);
typed_id!(CategoryId);
typed_id!(PromotionId);
typed_id!(OrderId);
typed_id!(OrderLineId);
