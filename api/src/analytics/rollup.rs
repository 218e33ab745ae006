//! What a report keeps folded for it (see `fold`).

/// A rollup: its tables, and the statement that adds the facts of store
/// $1's transactions in [$2, $3) to them, cut in zone $4. It inserts in the
/// order of the table's key, so that neighbouring hours or days lie on the
/// same pages and a report's range reads few of them (a rebuild inserting
/// in hash order spread a month of one rollup's rows over a page each).
pub struct Rollup {
    pub tables: &'static [&'static str],
    pub fold: &'static str,
}
