//! Tickets of events: one code per seat sold, issued when the order is paid
//! (shown on the order, to the customer too), checked in once by the store's
//! staff at the door, void once refunded or cancelled (`orders::change`
//! issues and voids them in the order's own transaction).

pub mod sql;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::access::{StoreCaller, need};
use crate::error::{ApiError, Problem};
use crate::ids::{OrderId, OrderLineId, ProductId, StoreId};
use crate::validate::{self, Checks};

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(check_in))]
pub struct Api;

/// The routes, inside the app's `/v1/stores/{store_id}` scope.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/tickets/check-in", web::post().to(check_in));
}

/// One seat: its code and what became of it.
#[derive(Clone, Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Ticket {
    /// What the customer shows at the door (`XXXXX-XXXXX-XXXXX-XXXXX`).
    pub code: String,
    pub order_id: OrderId,
    pub line_id: OrderLineId,
    pub product_id: ProductId,
    pub status: TicketStatus,
    pub issued_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checked_in_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voided_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum TicketStatus {
    Valid,
    CheckedIn,
    /// Its seat was refunded, or its order cancelled.
    Void,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckIn {
    /// The code the customer shows (case and dashes as printed, or not).
    pub code: String,
}

/// Checks a ticket in at the door (store staff): once. A second scan is a
/// 409 saying when it was checked in; a refunded seat's, a 409 saying it is
/// void; a code of no ticket of this store, 404.
#[utoipa::path(post, path = "/v1/stores/{store_id}/tickets/check-in", tag = "tickets",
    params(("store_id" = StoreId, Path)),
    request_body = CheckIn,
    responses(
        (status = 200, description = "The ticket, checked in now", body = Ticket),
        (status = "4XX", description = "A problem (RFC 9457): 409 naming `code` when it was checked in before or is void", body = Problem, content_type = "application/problem+json"),
    ))]
async fn check_in(
    caller: StoreCaller<need::Staff>,
    body: web::Json<CheckIn>,
) -> Result<HttpResponse, ApiError> {
    let mut checks = Checks::default();
    let code = checks.parse("code", normalized_code(&body.code));
    let code = checks.finish_with(code)?;
    let actor = caller.actor();
    let ticket = caller
        .transaction(async |tx| sql::check_in(tx, &code, &actor).await)
        .await?;
    Ok(HttpResponse::Ok().json(ticket))
}

/// A code as stored: upper case, grouped by dashes, whatever a scanner or a
/// person typed.
fn normalized_code(typed: &str) -> Result<String, String> {
    let text = validate::text(typed, 1, 40)?;
    let chars: String = text
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if chars.len() != 20 || !chars.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(
            "must be a ticket code: 20 letters and digits (dashes and spaces are ignored)".to_owned(),
        );
    }
    Ok(chars
        .as_bytes()
        .chunks(5)
        .map(|group| String::from_utf8_lossy(group).into_owned())
        .collect::<Vec<_>>()
        .join("-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_20_characters_of_base_32_in_groups_and_differ() {
        let code = sql::new_code();
        assert_eq!(code.len(), 23);
        assert_eq!(code.split('-').map(str::len).collect::<Vec<_>>(), [5, 5, 5, 5]);
        assert!(
            code.chars()
                .all(|c| c == '-' || "0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(c))
        );
        let many: std::collections::HashSet<String> = (0..1000).map(|_| sql::new_code()).collect();
        assert_eq!(many.len(), 1000);
    }

    #[test]
    fn a_code_is_read_whatever_its_case_dashes_and_spaces() {
        let stored = "K3ZQ8-AB12C-DEF34-GH567";
        for typed in [stored, "k3zq8ab12cdef34gh567", " K3ZQ8 AB12C DEF34 GH567 "] {
            assert_eq!(normalized_code(typed).as_deref(), Ok(stored), "{typed}");
        }
        for bad in ["", "K3ZQ8", "K3ZQ8-AB12C-DEF34-GH5678", "K3ZQ8-AB12C-DEF34-GH56!"] {
            assert!(normalized_code(bad).is_err(), "{bad}");
        }
    }
}
