//! Keyset pagination: every list is ordered by a unique key, a page asks for
//! rows after the last key it saw (an opaque cursor), and no list counts its
//! rows. A page is fetched with one extra row to know whether another follows.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::validate::Checks;

pub const DEFAULT_LIMIT: i64 = 20;

pub const MAX_LIMIT: i64 = 100;

/// One page of a list.
#[derive(Serialize, Debug, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A page from `rows` fetched with `limit + 1`; `key` gives the cursor of the last item.
    pub fn from_rows<K: Serialize>(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> K) -> Self {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = more.then(|| rows.last().map(|last| encode(&key(last)))).flatten();
        Self {
            items: rows,
            next_cursor,
        }
    }
}

/// The page a plain list asks for: its size and where it starts, both checked.
pub fn page<K: DeserializeOwned>(
    limit: Option<i64>,
    cursor: Option<&str>,
) -> Result<(i64, Option<K>), ApiError> {
    let mut checks = Checks::default();
    let limit = self::limit(&mut checks, limit);
    let after = self::cursor(&mut checks, cursor);
    checks.finish()?;
    Ok((limit, after))
}

/// The page size asked for, checked against the bounds (field `limit`).
pub fn limit(checks: &mut Checks, limit: Option<i64>) -> i64 {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    checks.check(
        (1..=MAX_LIMIT).contains(&limit),
        "limit",
        format!("must be between 1 and {MAX_LIMIT}"),
    );
    limit
}

/// The key a cursor carries (field `cursor`).
pub fn cursor<K: DeserializeOwned>(checks: &mut Checks, cursor: Option<&str>) -> Option<K> {
    let decoded = cursor.map(|cursor| {
        URL_SAFE_NO_PAD
            .decode(cursor)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or_else(|| "is not a cursor this list returned".to_owned())
    })?;
    checks.parse("cursor", decoded)
}

fn encode<K: Serialize>(key: &K) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).expect("cursor keys serialize"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_page_has_a_cursor_to_the_next() {
        let page = Page::from_rows(vec![1, 2, 3], 2, |n| *n);
        assert_eq!(page.items, [1, 2]);
        let mut checks = Checks::default();
        assert_eq!(cursor::<i32>(&mut checks, page.next_cursor.as_deref()), Some(2));
        assert!(checks.finish().is_ok());
    }

    #[test]
    fn the_last_page_has_none() {
        let page = Page::from_rows(vec![1, 2], 2, |n| *n);
        assert_eq!(page.items, [1, 2]);
        assert!(page.next_cursor.is_none());
    }

    #[test]
    fn limits_and_cursors_are_checked() {
        let mut checks = Checks::default();
        assert_eq!(limit(&mut checks, None), DEFAULT_LIMIT);
        limit(&mut checks, Some(101));
        limit(&mut checks, Some(0));
        assert_eq!(cursor::<i32>(&mut checks, Some("not base64!")), None);
        let Err(crate::error::ApiError::Validation(errors)) = checks.finish() else {
            panic!()
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["limit", "limit", "cursor"]);
    }
}
