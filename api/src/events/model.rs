//! Storefront events as a shop front sends them, each checked on its own: a
//! batch keeps its good events and names the bad ones by index and field.
//! Pure: the handler adds the time and who called, the SQL stores the result.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::FieldError;
use crate::ids::UserId;
use crate::validate::{self, Checks};

/// The most events one request may carry.
pub const MAX_BATCH: usize = 500;
/// A client clock may run this far ahead of ours before its time is not believed.
pub const FUTURE_SLACK: Duration = Duration::minutes(5);
/// Events older than this (a device offline for days, a replayed backlog) are
/// kept, at the time they arrived.
pub const PAST_WINDOW: Duration = Duration::hours(72);

/// A batch, as read: each event stays raw JSON until it is checked alone,
/// so one malformed event cannot refuse the others.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBatch {
    /// 1 to 500 events.
    #[schema(value_type = Vec<EventRequest>)]
    pub events: Vec<Value>,
}

/// One event (for the API document; the handler checks each by hand).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct EventRequest {
    /// The client's id for this event: sent again, it is kept once.
    id: Uuid,
    kind: EventKind,
    /// When it happened, by the client's clock (RFC 3339). More than 5
    /// minutes ahead or 72 hours behind ours, the event is kept at the time
    /// it arrived and reported in `clamped`.
    occurred_at: DateTime<Utc>,
    /// The shopper's visit, as the client numbers it.
    session_id: Uuid,
    /// The signed-in shopper, if any. With a customer's own token it can
    /// only be that customer (and defaults to them).
    customer_id: Option<Uuid>,
    payload: EventPayload,
}

/// What an event says besides its kind; which fields, by kind:
/// `session_started`: `referrer` (optional); `product_viewed`: `product_id`,
/// `variant_id` (optional); `search_performed`: `query`, `results`;
/// `added_to_cart` and `removed_from_cart`: `variant_id`, `quantity`,
/// `product_id` (optional); `checkout_started`: `value_minor`, `items`.
/// Any other field is refused.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct EventPayload {
    /// Where the shopper came from, at most 500 characters.
    referrer: Option<String>,
    product_id: Option<Uuid>,
    variant_id: Option<Uuid>,
    /// 1 to 1000.
    quantity: Option<i32>,
    /// What was searched for, 1 to 200 characters.
    query: Option<String>,
    /// How many products the search found.
    results: Option<i32>,
    /// The cart's value at checkout, in the store currency's minor units.
    value_minor: Option<i64>,
    /// Units in the cart at checkout.
    items: Option<i32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    SessionStarted,
    ProductViewed,
    SearchPerformed,
    AddedToCart,
    RemovedFromCart,
    CheckoutStarted,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SessionStarted => "session_started",
            Self::ProductViewed => "product_viewed",
            Self::SearchPerformed => "search_performed",
            Self::AddedToCart => "added_to_cart",
            Self::RemovedFromCart => "removed_from_cart",
            Self::CheckoutStarted => "checkout_started",
        }
    }
}

/// An event that passed its checks, as it is stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub id: Uuid,
    pub kind: EventKind,
    pub session_id: Uuid,
    pub customer_id: Option<Uuid>,
    pub client_time: DateTime<Utc>,
    /// The client's time, or the arrival time when the client's was not believed.
    pub occurred_at: DateTime<Utc>,
    pub clamped: bool,
    pub payload: Payload,
}

/// The payload's fields, each stored in its own column.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Payload {
    pub referrer: Option<String>,
    pub product_id: Option<Uuid>,
    pub variant_id: Option<Uuid>,
    pub quantity: Option<i32>,
    pub query: Option<String>,
    pub results: Option<i32>,
    pub value_minor: Option<i64>,
    pub items: Option<i32>,
}

/// What became of a batch.
#[derive(Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Ingested {
    /// Events newly stored.
    pub accepted: usize,
    /// Events whose id was stored before (by this batch or an earlier one): kept once.
    pub duplicates: usize,
    /// Events refused, by their index in the batch, with every field at fault.
    pub rejected: Vec<Rejected>,
    /// Indexes of the stored events whose client time was out of bounds:
    /// kept at the time they arrived.
    pub clamped: Vec<usize>,
}

#[derive(Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Rejected {
    pub index: usize,
    pub errors: Vec<FieldError>,
}

/// The batch's own problems (not any one event's): a 422 for all of it.
pub fn check_batch(batch: &EventBatch) -> Result<(), FieldError> {
    match batch.events.len() {
        0 => Err(FieldError::new("events", "must hold at least one event")),
        n if n > MAX_BATCH => Err(FieldError::new(
            "events",
            format!("holds {n} events: at most {MAX_BATCH} per request"),
        )),
        _ => Ok(()),
    }
}

/// Each event of the batch, checked alone: the good ones with their index,
/// and the rejected ones. `customer` is the caller when it is a customer.
pub fn parse_batch(
    events: &[Value],
    now: DateTime<Utc>,
    customer: Option<UserId>,
) -> (Vec<(usize, Event)>, Vec<Rejected>) {
    let mut good = Vec::new();
    let mut rejected = Vec::new();
    for (index, value) in events.iter().enumerate() {
        match parse_event(&format!("events[{index}]"), value, now, customer) {
            Ok(event) => good.push((index, event)),
            Err(errors) => rejected.push(Rejected { index, errors }),
        }
    }
    (good, rejected)
}

/// The answer, once the events not stored before (`stored`, by id) are in.
/// An id repeated within the batch counts once, at its first index.
pub fn report(good: &[(usize, Event)], rejected: Vec<Rejected>, stored: &HashSet<Uuid>) -> Ingested {
    let mut counted = HashSet::new();
    let mut ingested = Ingested {
        accepted: 0,
        duplicates: 0,
        rejected,
        clamped: Vec::new(),
    };
    for (index, event) in good {
        if stored.contains(&event.id) && counted.insert(event.id) {
            ingested.accepted += 1;
            if event.clamped {
                ingested.clamped.push(*index);
            }
        } else {
            ingested.duplicates += 1;
        }
    }
    ingested
}

fn parse_event(
    at: &str,
    value: &Value,
    now: DateTime<Utc>,
    customer: Option<UserId>,
) -> Result<Event, Vec<FieldError>> {
    let Some(fields) = value.as_object() else {
        return Err(vec![FieldError::new(at, "must be an object")]);
    };
    let mut checks = Checks::default();
    let field = |name| Field(at, name);
    unknown_fields(
        &mut checks,
        at,
        fields,
        &[
            "id",
            "kind",
            "occurred_at",
            "session_id",
            "customer_id",
            "payload",
        ],
    );
    let id = checks.parse(field("id"), uuid_field(fields.get("id")));
    let kind = checks.parse(field("kind"), kind_field(fields.get("kind")));
    let client_time = checks.parse(field("occurred_at"), time_field(fields.get("occurred_at")));
    let session_id = checks.parse(field("session_id"), uuid_field(fields.get("session_id")));
    let claimed = checks.parse(field("customer_id"), optional(fields.get("customer_id"), uuid));
    let customer_id = match (customer, claimed) {
        (Some(me), Some(None)) => Some(Some(me.0)),
        (Some(me), Some(Some(claimed))) if claimed != me.0 => {
            checks.check(
                false,
                field("customer_id"),
                "a customer sends events as themselves only",
            );
            None
        }
        (_, claimed) => claimed,
    };
    let payload = match (kind, fields.get("payload")) {
        (Some(kind), Some(Value::Object(payload))) => {
            payload_of(&mut checks, &String::from(field("payload")), kind, payload)
        }
        (_, None) => {
            checks.check(false, field("payload"), "is required (an object, `{}` if empty)");
            None
        }
        (_, Some(Value::Object(_))) => None,
        (_, Some(_)) => {
            checks.check(false, field("payload"), "must be an object");
            None
        }
    };
    let (id, kind, client_time, session_id, (customer_id, payload)) =
        checks.outcome((id, kind, client_time, session_id, both(customer_id, payload)))?;
    let believed = client_time <= now + FUTURE_SLACK && client_time >= now - PAST_WINDOW;
    Ok(Event {
        id,
        kind,
        session_id,
        customer_id,
        client_time,
        occurred_at: if believed { client_time } else { now },
        clamped: !believed,
        payload,
    })
}

/// The payload's fields for `kind`: those it requires, those it allows.
fn payload_of(
    checks: &mut Checks,
    at: &str,
    kind: EventKind,
    fields: &Map<String, Value>,
) -> Option<Payload> {
    use EventKind::*;
    let (required, optional): (&[&str], &[&str]) = match kind {
        SessionStarted => (&[], &["referrer"]),
        ProductViewed => (&["product_id"], &["variant_id"]),
        SearchPerformed => (&["query", "results"], &[]),
        AddedToCart | RemovedFromCart => (&["variant_id", "quantity"], &["product_id"]),
        CheckoutStarted => (&["value_minor", "items"], &[]),
    };
    let known: Vec<&str> = required.iter().chain(optional).copied().collect();
    unknown_fields(checks, at, fields, &known);
    let payload = PayloadFields {
        at,
        kind,
        fields,
        required,
        known: &known,
    };
    let small = |n: i64| i32::try_from(n).expect("bounded to i32 by its check");
    let referrer = payload.get(checks, "referrer", |v| text(v, 0, 500));
    let product_id = payload.get(checks, "product_id", uuid);
    let variant_id = payload.get(checks, "variant_id", uuid);
    let quantity = payload.get(checks, "quantity", |v| integer(v, 1, 1000).map(small));
    let query = payload.get(checks, "query", |v| text(v, 1, 200));
    let results = payload.get(checks, "results", |v| integer(v, 0, i32::MAX.into()).map(small));
    let value_minor = payload.get(checks, "value_minor", |v| integer(v, 0, i64::MAX));
    let items = payload.get(checks, "items", |v| integer(v, 1, i32::MAX.into()).map(small));
    Some(Payload {
        referrer: referrer?,
        product_id: product_id?,
        variant_id: variant_id?,
        quantity: quantity?,
        query: query?,
        results: results?,
        value_minor: value_minor?,
        items: items?,
    })
}

/// The payload of one event of one kind.
struct PayloadFields<'a> {
    at: &'a str,
    kind: EventKind,
    fields: &'a Map<String, Value>,
    required: &'a [&'a str],
    known: &'a [&'a str],
}

impl PayloadFields<'_> {
    /// Field `name`: `Some(None)` when absent and not required (or not one
    /// of this kind's), `None` when refused (the error recorded).
    fn get<T>(
        &self,
        checks: &mut Checks,
        name: &str,
        parse: impl Fn(&Value) -> Result<T, String>,
    ) -> Option<Option<T>> {
        let field = Field(self.at, name);
        match self.fields.get(name).filter(|_| self.known.contains(&name)) {
            Some(value) => checks.parse(field, parse(value)).map(Some),
            None if self.required.contains(&name) => {
                checks.check(false, field, format!("is required for {}", self.kind.as_str()));
                None
            }
            None => Some(None),
        }
    }
}

/// A field's name below `at` (`events[3].payload` and `quantity`), made into
/// text only when a check of it fails: 500 valid events name none.
#[derive(Clone, Copy)]
struct Field<'a>(&'a str, &'a str);

impl From<Field<'_>> for String {
    fn from(Field(at, name): Field<'_>) -> String {
        format!("{at}.{name}")
    }
}

fn unknown_fields(checks: &mut Checks, at: &str, fields: &Map<String, Value>, known: &[&str]) {
    for name in fields.keys().filter(|name| !known.contains(&name.as_str())) {
        checks.check(false, format!("{at}.{name}"), "is not a field here");
    }
}

fn both<A, B>(a: Option<A>, b: Option<B>) -> Option<(A, B)> {
    Some((a?, b?))
}

fn optional<T>(value: Option<&Value>, parse: fn(&Value) -> Result<T, String>) -> Result<Option<T>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(value) => parse(value).map(Some),
    }
}

fn uuid_field(value: Option<&Value>) -> Result<Uuid, String> {
    value.map_or_else(|| Err("is required".to_owned()), uuid)
}

fn uuid(value: &Value) -> Result<Uuid, String> {
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| "must be a UUID".to_owned())
}

fn kind_field(value: Option<&Value>) -> Result<EventKind, String> {
    let value = value.ok_or_else(|| "is required".to_owned())?;
    serde_json::from_value(value.clone()).map_err(|_| {
        "must be one of session_started, product_viewed, search_performed, added_to_cart, \
         removed_from_cart, checkout_started"
            .to_owned()
    })
}

fn time_field(value: Option<&Value>) -> Result<DateTime<Utc>, String> {
    let value = value.ok_or_else(|| "is required".to_owned())?;
    value
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|time| time.with_timezone(&Utc))
        .ok_or_else(|| "must be an RFC 3339 time, e.g. 2026-11-28T09:30:00Z".to_owned())
}

fn text(value: &Value, min: usize, max: usize) -> Result<String, String> {
    let text = value.as_str().ok_or_else(|| "must be a string".to_owned())?;
    validate::text(text, min, max)
}

fn integer(value: &Value, min: i64, max: i64) -> Result<i64, String> {
    match value.as_i64() {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        _ if max == i64::MAX => Err(format!("must be a whole number of at least {min}")),
        _ => Err(format!("must be a whole number from {min} to {max}")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-11-28T12:00:00Z".parse().unwrap()
    }

    fn event(kind: &str, payload: Value) -> Value {
        json!({
            "id": "0194f0c1-0000-7000-8000-000000000001", "kind": kind,
            "occurred_at": "2026-11-28T11:59:00Z",
            "session_id": "0194f0c1-0000-7000-8000-0000000000aa", "payload": payload,
        })
    }

    fn fields(value: Value, customer: Option<UserId>) -> Vec<String> {
        match parse_event("events[0]", &value, now(), customer) {
            Ok(event) => panic!("accepted: {event:?}"),
            Err(errors) => errors.into_iter().map(|e| e.field).collect(),
        }
    }

    fn parsed(value: Value) -> Event {
        parse_event("events[0]", &value, now(), None).unwrap()
    }

    #[test]
    fn each_kind_takes_its_own_payload() {
        let product: Uuid = "0194f0c1-0000-7000-8000-0000000000bb".parse().unwrap();
        let cases = [
            ("session_started", json!({}), Payload::default()),
            (
                "session_started",
                json!({"referrer": " https://a.example "}),
                Payload {
                    referrer: Some("https://a.example".to_owned()),
                    ..Payload::default()
                },
            ),
            (
                "product_viewed",
                json!({"product_id": product}),
                Payload {
                    product_id: Some(product),
                    ..Payload::default()
                },
            ),
            (
                "search_performed",
                json!({"query": "mug", "results": 0}),
                Payload {
                    query: Some("mug".to_owned()),
                    results: Some(0),
                    ..Payload::default()
                },
            ),
            (
                "removed_from_cart",
                json!({"variant_id": product, "quantity": 1000}),
                Payload {
                    variant_id: Some(product),
                    quantity: Some(1000),
                    ..Payload::default()
                },
            ),
            (
                "checkout_started",
                json!({"value_minor": 0, "items": 1}),
                Payload {
                    value_minor: Some(0),
                    items: Some(1),
                    ..Payload::default()
                },
            ),
        ];
        for (kind, payload, expected) in cases {
            let event = parsed(event(kind, payload));
            assert_eq!(event.kind.as_str(), kind);
            assert_eq!(event.payload, expected, "{kind}");
            assert_eq!(
                event.occurred_at,
                "2026-11-28T11:59:00Z".parse::<DateTime<Utc>>().unwrap()
            );
            assert!(!event.clamped);
        }
    }

    #[test]
    fn every_bad_field_is_named_with_its_index() {
        assert_eq!(fields(json!([1]), None), ["events[0]"]);
        assert_eq!(
            fields(json!({"kind": "teleported", "payload": [], "extra": 1}), None),
            [
                "events[0].extra",
                "events[0].id",
                "events[0].kind",
                "events[0].occurred_at",
                "events[0].session_id",
                "events[0].payload"
            ]
        );
        let mut bad_envelope = event("session_started", json!({}));
        bad_envelope["id"] = json!("nope");
        bad_envelope["occurred_at"] = json!("yesterday");
        bad_envelope["customer_id"] = json!(7);
        assert_eq!(
            fields(bad_envelope, None),
            ["events[0].id", "events[0].occurred_at", "events[0].customer_id"]
        );
        assert_eq!(
            fields(
                event("added_to_cart", json!({"quantity": 1001, "query": "x"})),
                None
            ),
            [
                "events[0].payload.query",
                "events[0].payload.variant_id",
                "events[0].payload.quantity"
            ]
        );
        assert_eq!(
            fields(
                event("search_performed", json!({"query": " ", "results": -1})),
                None
            ),
            ["events[0].payload.query", "events[0].payload.results"]
        );
        assert_eq!(
            fields(
                event("checkout_started", json!({"value_minor": -5, "items": 0})),
                None
            ),
            ["events[0].payload.value_minor", "events[0].payload.items"]
        );
    }

    #[test]
    fn a_client_clock_out_of_bounds_is_not_believed() {
        let at = |time: &str| {
            let mut value = event("session_started", json!({}));
            value["occurred_at"] = json!(time);
            let event = parsed(value);
            (event.occurred_at, event.clamped)
        };
        let believed = |time: &str| (time.parse::<DateTime<Utc>>().unwrap(), false);
        assert_eq!(at("2026-11-28T12:05:00Z"), believed("2026-11-28T12:05:00Z"));
        assert_eq!(at("2026-11-28T12:05:01Z"), (now(), true));
        assert_eq!(at("2026-11-25T12:00:00Z"), believed("2026-11-25T12:00:00Z"));
        assert_eq!(at("2026-11-25T11:59:59Z"), (now(), true));
        // Other offsets are the same instant.
        assert_eq!(at("2026-11-28T13:00:00+01:00"), believed("2026-11-28T12:00:00Z"));
    }

    #[test]
    fn a_customer_is_always_themselves() {
        let me = UserId("0194f0c1-0000-7000-8000-0000000000cc".parse().unwrap());
        let unnamed = parse_event("e", &event("session_started", json!({})), now(), Some(me)).unwrap();
        assert_eq!(unnamed.customer_id, Some(me.0));
        let mut other = event("session_started", json!({}));
        other["customer_id"] = json!("0194f0c1-0000-7000-8000-0000000000dd");
        assert_eq!(fields(other.clone(), Some(me)), ["events[0].customer_id"]);
        // A key or staff: the shopper they name.
        assert_eq!(
            parsed(other).customer_id,
            Some("0194f0c1-0000-7000-8000-0000000000dd".parse().unwrap())
        );
    }

    #[test]
    fn an_id_counts_once_whether_repeated_in_the_batch_or_stored_before() {
        let with_id = |id: &str, minute: u32| {
            let mut value = event("session_started", json!({}));
            value["id"] = json!(id);
            value["occurred_at"] = json!(format!("2026-11-{minute}T12:00:00Z"));
            value
        };
        let a = "0194f0c1-0000-7000-8000-00000000000a";
        let b = "0194f0c1-0000-7000-8000-00000000000b";
        let c = "0194f0c1-0000-7000-8000-00000000000c";
        let events = [
            with_id(a, 28),
            with_id(b, 20),
            json!(null),
            with_id(a, 28),
            with_id(c, 28),
        ];
        let (good, rejected) = parse_batch(&events, now(), None);
        // c was stored by an earlier batch: this insert stored a and b only.
        let stored: HashSet<Uuid> = [a, b].iter().map(|id| id.parse().unwrap()).collect();
        let ingested = report(&good, rejected, &stored);
        assert_eq!((ingested.accepted, ingested.duplicates), (2, 2));
        assert_eq!(ingested.clamped, [1], "b's time is 8 days old");
        assert_eq!(ingested.rejected.len(), 1);
        assert_eq!(ingested.rejected[0].index, 2);
    }

    #[test]
    fn a_batch_holds_one_to_500_events() {
        let batch = |n: usize| EventBatch {
            events: vec![json!({}); n],
        };
        assert!(check_batch(&batch(0)).is_err());
        assert!(check_batch(&batch(1)).is_ok());
        assert!(check_batch(&batch(500)).is_ok());
        assert_eq!(check_batch(&batch(501)).unwrap_err().field, "events");
    }
}
