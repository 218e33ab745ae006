//! The catalog's types: what clients send (parsed here into values that
//! cannot be invalid) and what they get back.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{CategoryId, ProductId, StoreId, VariantId};
use crate::validate::{Checks, text};

/// At most this many of each per product.
pub const MAX_VARIANTS: usize = 100;
const MAX_CATEGORIES: usize = 50;
const MAX_IMAGES: usize = 20;
/// One billion in major units: beyond any real price, well within i64.
pub const MAX_PRICE_MINOR: i64 = 100_000_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Kind {
    /// Goods: no date, no capacity.
    Standard,
    /// Hospitality: a night's stay, `capacity` rooms per date.
    RoomNight,
    /// Events: a seat at the event starting `event_starts_at`, `capacity` seats.
    Ticket,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Status {
    Draft,
    Active,
    Archived,
}

#[derive(Serialize, Debug, ToSchema)]
pub struct Product {
    pub id: ProductId,
    pub store_id: StoreId,
    pub title: String,
    pub description: String,
    pub kind: Kind,
    pub status: Status,
    pub category_ids: Vec<CategoryId>,
    pub image_urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_starts_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_ends_at: Option<DateTime<Utc>>,
    /// Send it back with a change: a stale one gets 409.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub variants: Vec<Variant>,
}

#[derive(Serialize, Debug, sqlx::FromRow, ToSchema)]
pub struct Variant {
    pub id: VariantId,
    #[serde(skip)]
    pub product_id: ProductId,
    pub sku: String,
    pub title: String,
    /// In the minor unit of `currency` (cents for EUR).
    pub price_minor: i64,
    pub currency: String,
    #[schema(value_type = Object)]
    pub attributes: sqlx::types::Json<serde_json::Map<String, serde_json::Value>>,
    pub position: i32,
    pub version: i32,
}

#[derive(Serialize, Debug, sqlx::FromRow, ToSchema)]
pub struct Category {
    pub id: CategoryId,
    pub name: String,
    pub slug: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCategoryRequest {
    pub name: String,
    pub slug: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProductRequest {
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub kind: Kind,
    #[serde(default = "draft")]
    pub status: Status,
    #[serde(default)]
    pub category_ids: Vec<CategoryId>,
    #[serde(default)]
    pub image_urls: Vec<String>,
    pub capacity: Option<i32>,
    pub event_starts_at: Option<DateTime<Utc>>,
    pub event_ends_at: Option<DateTime<Utc>>,
    pub variants: Vec<NewVariantRequest>,
}

fn draft() -> Status {
    Status::Draft
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVariantRequest {
    pub sku: String,
    #[serde(default)]
    pub title: String,
    pub price_minor: i64,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

/// A change to a product: only the fields sent change. `version` is the one read.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatchRequest {
    pub version: i32,
    pub title: Option<String>,
    pub description: Option<String>,
    pub status: Option<Status>,
    pub category_ids: Option<Vec<CategoryId>>,
    pub image_urls: Option<Vec<String>>,
    pub capacity: Option<i32>,
    pub event_starts_at: Option<DateTime<Utc>>,
    pub event_ends_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantPatchRequest {
    pub version: i32,
    pub sku: Option<String>,
    pub title: Option<String>,
    pub price_minor: Option<i64>,
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<serde_json::Map<String, serde_json::Value>>,
    pub position: Option<i32>,
}

/// A product's fields, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductFields {
    pub title: String,
    pub description: String,
    pub kind: Kind,
    pub status: Status,
    pub category_ids: Vec<CategoryId>,
    pub image_urls: Vec<String>,
    pub capacity: Option<i32>,
    pub event_starts_at: Option<DateTime<Utc>>,
    pub event_ends_at: Option<DateTime<Utc>>,
}

/// A variant's fields, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantFields {
    pub sku: String,
    pub title: String,
    pub price_minor: i64,
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

impl NewProductRequest {
    pub fn parse(self) -> Result<(ProductFields, Vec<VariantFields>), crate::error::ApiError> {
        let mut checks = Checks::default();
        let fields = ProductFields {
            title: checks
                .parse("title", text(&self.title, 1, 200))
                .unwrap_or_default(),
            description: checks
                .parse("description", text(&self.description, 0, 10_000))
                .unwrap_or_default(),
            kind: self.kind,
            status: self.status,
            category_ids: self.category_ids,
            image_urls: self.image_urls,
            capacity: self.capacity,
            event_starts_at: self.event_starts_at,
            event_ends_at: self.event_ends_at,
        };
        fields.check(&mut checks);
        checks.check(
            !self.variants.is_empty(),
            "variants",
            "a product needs at least one variant",
        );
        checks.check(
            self.variants.len() <= MAX_VARIANTS,
            "variants",
            format!("at most {MAX_VARIANTS} variants"),
        );
        let variants: Vec<VariantFields> = self
            .variants
            .into_iter()
            .enumerate()
            .map(|(i, v)| v.parse(&mut checks, &format!("variants[{i}].")))
            .collect();
        for (i, variant) in variants.iter().enumerate() {
            checks.check(
                !variants[..i].iter().any(|other| other.sku == variant.sku),
                format!("variants[{i}].sku"),
                "is repeated in this request",
            );
        }
        checks.finish()?;
        Ok((fields, variants))
    }
}

impl NewVariantRequest {
    /// The checked fields; errors are recorded under `prefix` (e.g. `variants[2].`).
    pub fn parse(self, checks: &mut Checks, prefix: &str) -> VariantFields {
        VariantFields {
            sku: checks
                .parse(format!("{prefix}sku"), sku(&self.sku))
                .unwrap_or_default(),
            title: checks
                .parse(format!("{prefix}title"), text(&self.title, 0, 200))
                .unwrap_or_default(),
            price_minor: checks
                .parse(format!("{prefix}price_minor"), price(self.price_minor))
                .unwrap_or_default(),
            attributes: checks
                .parse(format!("{prefix}attributes"), attributes(self.attributes))
                .unwrap_or_default(),
        }
    }
}

impl ProductFields {
    /// The rules that span fields: what each kind needs, and the limits of lists.
    pub fn check(&self, checks: &mut Checks) {
        let needs_capacity = self.kind != Kind::Standard;
        checks.check(
            self.capacity.is_some() == needs_capacity,
            "capacity",
            if needs_capacity {
                "is required for this kind"
            } else {
                "only room_night and ticket products have a capacity"
            },
        );
        checks.check(
            self.capacity.is_none_or(|c| c > 0),
            "capacity",
            "must be at least 1",
        );
        let is_ticket = self.kind == Kind::Ticket;
        checks.check(
            self.event_starts_at.is_some() == is_ticket,
            "event_starts_at",
            if is_ticket {
                "is required for a ticket"
            } else {
                "only tickets have an event time"
            },
        );
        checks.check(
            self.event_ends_at.is_none() || is_ticket,
            "event_ends_at",
            "only tickets have an event time",
        );
        if let (Some(starts), Some(ends)) = (self.event_starts_at, self.event_ends_at) {
            checks.check(ends > starts, "event_ends_at", "must be after event_starts_at");
        }
        checks.check(
            self.category_ids.len() <= MAX_CATEGORIES,
            "category_ids",
            format!("at most {MAX_CATEGORIES} categories"),
        );
        checks.check(
            self.image_urls.len() <= MAX_IMAGES,
            "image_urls",
            format!("at most {MAX_IMAGES} images"),
        );
        for (i, url) in self.image_urls.iter().enumerate() {
            checks.check(
                is_image_url(url),
                format!("image_urls[{i}]"),
                "must be an http(s) URL of at most 2048 characters",
            );
        }
    }

    /// These fields with `patch` applied (the kind never changes).
    pub fn patched(mut self, patch: ProductPatchRequest, checks: &mut Checks) -> Self {
        if let Some(title) = patch.title {
            self.title = checks.parse("title", text(&title, 1, 200)).unwrap_or_default();
        }
        if let Some(description) = patch.description {
            self.description = checks
                .parse("description", text(&description, 0, 10_000))
                .unwrap_or_default();
        }
        if let Some(status) = patch.status {
            self.status = status;
        }
        if let Some(category_ids) = patch.category_ids {
            self.category_ids = category_ids;
        }
        if let Some(image_urls) = patch.image_urls {
            self.image_urls = image_urls;
        }
        self.capacity = patch.capacity.or(self.capacity);
        self.event_starts_at = patch.event_starts_at.or(self.event_starts_at);
        self.event_ends_at = patch.event_ends_at.or(self.event_ends_at);
        self.check(checks);
        self
    }
}

impl VariantFields {
    /// These fields with `patch` applied.
    pub fn patched(self, patch: VariantPatchRequest, checks: &mut Checks) -> Self {
        Self {
            sku: match patch.sku {
                Some(value) => checks.parse("sku", sku(&value)).unwrap_or_default(),
                None => self.sku,
            },
            title: match patch.title {
                Some(value) => checks.parse("title", text(&value, 0, 200)).unwrap_or_default(),
                None => self.title,
            },
            price_minor: match patch.price_minor {
                Some(value) => checks.parse("price_minor", price(value)).unwrap_or_default(),
                None => self.price_minor,
            },
            attributes: match patch.attributes {
                Some(value) => checks.parse("attributes", attributes(value)).unwrap_or_default(),
                None => self.attributes,
            },
        }
    }
}

/// A stock keeping unit: 1 to 64 of letters, digits and `._/-`, starting
/// with a letter or digit. Unique within a store.
pub fn sku(value: &str) -> Result<String, String> {
    let valid = (1..=64).contains(&value.len())
        && value.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c));
    if valid {
        Ok(value.to_owned())
    } else {
        Err("must be 1 to 64 letters, digits or `._/-`, starting with a letter or digit".to_owned())
    }
}

fn price(value: i64) -> Result<i64, String> {
    if (0..=MAX_PRICE_MINOR).contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "must be between 0 and {MAX_PRICE_MINOR} (in the currency's minor unit)"
        ))
    }
}

/// Free-form variant attributes (`{"size": "M"}`), kept small.
fn attributes(
    value: serde_json::Map<String, serde_json::Value>,
) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let size = serde_json::to_string(&value).map_or(usize::MAX, |json| json.len());
    if value.len() <= 20 && size <= 4096 {
        Ok(value)
    } else {
        Err("at most 20 attributes and 4 KiB".to_owned())
    }
}

fn is_image_url(url: &str) -> bool {
    url.len() <= 2048
        && (url.starts_with("https://") || url.starts_with("http://"))
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A category's URL name: lower-case words joined by `-`.
pub fn slug(value: &str) -> Result<String, String> {
    let valid = (1..=100).contains(&value.len())
        && value.split('-').all(|word| {
            !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
    if valid {
        Ok(value.to_owned())
    } else {
        Err("must be lower-case letters and digits in words joined by `-`".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    fn request(kind: Kind) -> NewProductRequest {
        NewProductRequest {
            title: " Espresso cup ".into(),
            description: String::new(),
            kind,
            status: Status::Active,
            category_ids: vec![],
            image_urls: vec!["https://cdn.example.com/cup.jpg".into()],
            capacity: None,
            event_starts_at: None,
            event_ends_at: None,
            variants: vec![NewVariantRequest {
                sku: "CUP-1".into(),
                title: "White".into(),
                price_minor: 1299,
                attributes: Default::default(),
            }],
        }
    }

    fn fields_of(error: ApiError) -> Vec<String> {
        match error {
            ApiError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_standard_product_parses_trimmed() {
        let (fields, variants) = request(Kind::Standard).parse().unwrap();
        assert_eq!(fields.title, "Espresso cup");
        assert_eq!(variants[0].price_minor, 1299);
    }

    #[test]
    fn each_kind_needs_its_own_fields() {
        assert_eq!(
            fields_of(request(Kind::RoomNight).parse().unwrap_err()),
            ["capacity"]
        );
        assert_eq!(
            fields_of(request(Kind::Ticket).parse().unwrap_err()),
            ["capacity", "event_starts_at"]
        );
        let mut standard = request(Kind::Standard);
        standard.capacity = Some(3);
        standard.event_ends_at = Some(Utc::now());
        assert_eq!(
            fields_of(standard.parse().unwrap_err()),
            ["capacity", "event_ends_at"]
        );
        let mut ticket = request(Kind::Ticket);
        ticket.capacity = Some(100);
        ticket.event_starts_at = Some(Utc::now());
        ticket.event_ends_at = Some(Utc::now() - chrono::Duration::hours(1));
        assert_eq!(fields_of(ticket.parse().unwrap_err()), ["event_ends_at"]);
    }

    #[test]
    fn variants_are_checked_field_by_field() {
        let mut bad = request(Kind::Standard);
        bad.variants.push(NewVariantRequest {
            sku: "CUP-1".into(),
            title: String::new(),
            price_minor: -1,
            attributes: Default::default(),
        });
        bad.variants.push(NewVariantRequest {
            sku: "-bad sku".into(),
            title: String::new(),
            price_minor: MAX_PRICE_MINOR + 1,
            attributes: Default::default(),
        });
        bad.image_urls.push("javascript:alert(1)".into());
        assert_eq!(
            fields_of(bad.parse().unwrap_err()),
            [
                "image_urls[1]",
                "variants[1].price_minor",
                "variants[2].sku",
                "variants[2].price_minor",
                "variants[1].sku"
            ]
        );
        let mut none = request(Kind::Standard);
        none.variants.clear();
        assert_eq!(fields_of(none.parse().unwrap_err()), ["variants"]);
    }

    #[test]
    fn skus_and_slugs() {
        for good in ["A", "cup-1", "CUP_1.2/b"] {
            assert!(sku(good).is_ok(), "{good}");
        }
        for bad in ["", "-a", "a b", "ü", &"a".repeat(65)] {
            assert!(sku(bad).is_err(), "{bad}");
        }
        assert!(slug("hot-drinks-2").is_ok());
        for bad in ["", "Hot", "hot--drinks", "-hot", "hot_drinks"] {
            assert!(slug(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_patch_changes_only_what_it_sends_and_is_checked_whole() {
        let (fields, _) = request(Kind::Standard).parse().unwrap();
        let patch = |json: serde_json::Value| serde_json::from_value::<ProductPatchRequest>(json).unwrap();
        let mut checks = Checks::default();
        let patched = fields.clone().patched(
            patch(serde_json::json!({"version": 1, "title": "Mug"})),
            &mut checks,
        );
        assert!(checks.finish().is_ok());
        assert_eq!(
            patched,
            ProductFields {
                title: "Mug".into(),
                ..fields.clone()
            }
        );

        let mut checks = Checks::default();
        fields.patched(
            patch(serde_json::json!({"version": 1, "capacity": 4, "title": ""})),
            &mut checks,
        );
        assert_eq!(fields_of(checks.finish().unwrap_err()), ["title", "capacity"]);
    }
}
