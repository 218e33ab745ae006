//! Query strings many routes share.

/// The query of a plain list: how many, and where to start.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub limit: Option<i64>,
    /// The `next_cursor` of the page before.
    pub cursor: Option<String>,
}

/// The `version` a write read, for writes without a body to carry it
/// (deletes, and replacements whose body is the whole object).
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VersionQuery {
    /// The version read: 409 when it changed since.
    pub version: i32,
}
