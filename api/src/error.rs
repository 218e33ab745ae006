//! Every error the API returns, rendered as RFC 9457 `application/problem+json`.
//! This is the only place that knows the shape of an HTTP error: handlers
//! return an [`ApiError`], and the extractors' own failures (malformed JSON,
//! a bad path or query) are turned into one by the `*_config` functions.

use std::fmt;

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::Serialize;

/// Problem types are stable URIs under this base; a client may switch on them.
const TYPE_BASE: &str = "https://shopfleet.io/problems/";

/// One offending field of a request, e.g. `{"field": "price", "detail": "must be at least 0"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub detail: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            detail: detail.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body, path or query could not be read (malformed JSON, wrong type, unknown field).
    #[error("{0}")]
    MalformedRequest(String),

    /// The request was read, but some fields are invalid.
    #[error("{} field(s) are invalid", .0.len())]
    Validation(Vec<FieldError>),

    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),

    /// No credentials, or credentials that do not check out.
    #[error("{0}")]
    Unauthorized(String),

    /// Authenticated, but not allowed to do this.
    #[error("{0}")]
    Forbidden(String),

    #[error("{0}")]
    NotFound(String),

    /// The request conflicts with the current state: a stale `version`, a
    /// taken email or SKU. The field is named when there is one.
    #[error("{detail}")]
    Conflict { detail: String, field: Option<String> },

    /// The database is unreachable or not at the schema this build expects.
    #[error("{0}")]
    Unavailable(String),

    /// Too much of one costly kind of work at once (password hashing, or
    /// every database connection busy): refused rather than queued without
    /// bound; retry in a second.
    #[error("{0}")]
    Overloaded(String),

    /// Over a rate limit (`limits`): retry after `Retry-After` seconds.
    #[error("{}", .0.detail)]
    TooManyRequests(crate::limits::throttled::Throttled),

    /// A bug or an outage: the detail is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// The problem's stable `type` suffix and `title`.
    fn kind(&self) -> (&'static str, &'static str) {
        match self {
            Self::MalformedRequest(_) => ("malformed-request", "The request could not be read"),
            Self::Validation(_) => ("validation", "The request has invalid fields"),
            Self::PayloadTooLarge(_) => ("payload-too-large", "The request body is too large"),
            Self::Unauthorized(_) => ("unauthorized", "Authentication is required"),
            Self::Forbidden(_) => ("forbidden", "Not allowed"),
            Self::NotFound(_) => ("not-found", "Not found"),
            Self::Conflict { .. } => ("conflict", "The request conflicts with the current state"),
            Self::Unavailable(_) => ("unavailable", "The service is not ready"),
            Self::Overloaded(_) => ("overloaded", "Too busy; retry shortly"),
            Self::TooManyRequests(_) => ("rate-limited", "Too many requests"),
            Self::Internal(_) => ("internal", "Internal error"),
        }
    }
}

impl ApiError {
    /// A conflict on one field, e.g. a taken email.
    pub fn conflict(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Conflict {
            detail: detail.into(),
            field: Some(field.into()),
        }
    }

    /// A write made from a stale copy: the client read `version` before someone else wrote.
    pub fn stale_version() -> Self {
        Self::conflict(
            "version",
            "the object was changed since this version was read; read it again and retry",
        )
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            // Every connection stayed busy for the acquire timeout: a burst,
            // not an outage, so the client is told to retry in a second.
            sqlx::Error::PoolTimedOut => {
                Self::Overloaded("the database is busy; retry in a second".to_owned())
            }
            // A connection that died (a database restart or failover): it is
            // dropped, and the next try gets a fresh one.
            sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::PoolClosed => {
                tracing::warn!(error = %error, "a database connection failed");
                Self::Unavailable("the database connection failed; retry".to_owned())
            }
            other => Self::Internal(format!("database: {other}")),
        }
    }
}

/// The name of the unique constraint `error` violated, if it is one.
pub fn unique_violation(error: &sqlx::Error) -> Option<&str> {
    match error {
        sqlx::Error::Database(db) if db.is_unique_violation() => db.constraint(),
        _ => None,
    }
}

/// An RFC 9457 problem: the body of every error (`application/problem+json`).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A stable URI under `https://shopfleet.io/problems/`; switch on it.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    /// What went wrong, for a person.
    pub detail: String,
    /// The offending fields, when there are any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::MalformedRequest(_) => StatusCode::BAD_REQUEST,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Unavailable(_) | Self::Overloaded(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let detail = match self {
            Self::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                "something went wrong on our side; it has been logged".to_owned()
            }
            other => other.to_string(),
        };
        let (suffix, title) = self.kind();
        let errors = match self {
            Self::Validation(errors) => errors.clone(),
            Self::Conflict {
                detail,
                field: Some(field),
            } => vec![FieldError::new(field.clone(), detail.clone())],
            _ => Vec::new(),
        };
        let problem = Problem {
            type_: format!("{TYPE_BASE}{suffix}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            errors,
        };
        let mut response = HttpResponse::build(status);
        response.insert_header(ContentType(
            "application/problem+json".parse().expect("a valid media type"),
        ));
        if status == StatusCode::UNAUTHORIZED {
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        if let Self::Overloaded(_) = self {
            response.insert_header(("Retry-After", "1"));
        }
        let mut response = response.json(problem);
        if let Self::TooManyRequests(throttled) = self {
            throttled.write_headers(response.headers_mut());
        }
        response
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.detail)
    }
}

/// JSON bodies: at most `limit` bytes, and every failure as problem+json that
/// names the field when serde can (e.g. `price: invalid type: string "x", expected i64`).
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(move |error, _: &HttpRequest| {
            match error {
                JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
                    ApiError::PayloadTooLarge(limit)
                }
                JsonPayloadError::ContentType => ApiError::MalformedRequest(
                    "the body must be JSON (Content-Type: application/json)".to_owned(),
                ),
                JsonPayloadError::Deserialize(error) => {
                    ApiError::MalformedRequest(format!("invalid JSON body: {error}"))
                }
                other => ApiError::MalformedRequest(other.to_string()),
            }
            .into()
        })
}

/// Path parameters (ids) that do not parse.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|error: PathError, _| {
        ApiError::MalformedRequest(format!("invalid path parameter: {error}")).into()
    })
}

/// Query strings that do not parse.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error: QueryPayloadError, _| {
        ApiError::MalformedRequest(format!("invalid query: {error}")).into()
    })
}

#[cfg(test)]
mod tests {
    use actix_web::body::to_bytes;

    use super::*;

    async fn body_of(error: ApiError) -> (StatusCode, String, serde_json::Value) {
        let response = error.error_response();
        let content_type = response
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let status = response.status();
        let bytes = to_bytes(response.into_body()).await.unwrap();
        (status, content_type, serde_json::from_slice(&bytes).unwrap())
    }

    #[actix_web::test]
    async fn validation_errors_name_their_fields() {
        let error = ApiError::Validation(vec![FieldError::new("price", "must be at least 0")]);
        let (status, content_type, body) = body_of(error).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(content_type, "application/problem+json");
        assert_eq!(body["type"], "https://shopfleet.io/problems/validation");
        assert_eq!(body["status"], 422);
        assert_eq!(body["errors"][0]["field"], "price");
    }

    #[actix_web::test]
    async fn internal_errors_keep_their_detail_to_the_logs() {
        let error = ApiError::Internal("relation \"secrets\" does not exist".to_owned());
        let (status, _, body) = body_of(error).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!body.to_string().contains("relation"), "{body}");
        assert!(body.get("errors").is_none());
    }
}
