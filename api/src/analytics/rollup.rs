//! What a report keeps folded for it (see `fold`).

/// A rollup: its tables, and the statement that adds the facts of store
/// $1's transactions in [$2, $3) to them, cut in zone $4.
pub struct Rollup {
    pub tables: &'static [&'static str],
    pub fold: &'static str,
}
