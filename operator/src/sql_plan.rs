//! SQL plans: what a controller wants done in PostgreSQL, built as plain
//! data (so the builders are pure and unit-tested) and run by
//! [`crate::postgres`]. Every step is idempotent, so a plan can run again
//! after a crash at any point and converges.
//!
//! Names and literals never go into SQL text on our side: a [`Statement`]
//! is a template for PostgreSQL's own `format()` (`%I` an identifier, `%L`
//! a literal) and its arguments, rendered by the server ([`RENDER_QUERY`]),
//! so safety does not rest on what the names look like.

/// A statement as a `format()` template and the values it quotes. A literal
/// `%` in the template is written `%%`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub template: &'static str,
    pub args: Vec<String>,
}

impl Statement {
    pub fn new<const N: usize>(template: &'static str, args: [&str; N]) -> Self {
        Self {
            template,
            args: args.iter().map(|arg| (*arg).to_owned()).collect(),
        }
    }

    /// A statement with nothing to quote.
    pub fn fixed(template: &'static str) -> Self {
        Self::new(template, [])
    }

    /// The arguments as a JSON array, as [`RENDER_QUERY`] takes them.
    pub fn args_json(&self) -> String {
        serde_json::to_string(&self.args).expect("strings serialise")
    }
}

/// Renders statements in one round trip: bind the templates as $1 (text[])
/// and each statement's [`Statement::args_json`] as $2 (text[]); returns
/// the SQL in order.
pub const RENDER_QUERY: &str = "\
    SELECT format(s.template, VARIADIC ARRAY(SELECT jsonb_array_elements_text(s.args::jsonb))) \
    FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS s(template, args, n) \
    ORDER BY s.n";

/// One step of a server-level plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// A statement that is idempotent by itself.
    Sql(Statement),
    /// `CREATE DATABASE`, which cannot run inside a transaction or a DO block,
    /// so the executor checks `pg_database` first.
    CreateDatabase { name: String, owner: String },
}

impl Step {
    /// The statement this step runs (for `CreateDatabase`, once it is
    /// known not to exist).
    pub fn statement(&self) -> Statement {
        match self {
            Self::Sql(statement) => statement.clone(),
            Self::CreateDatabase { name, owner } => {
                Statement::new("CREATE DATABASE %I OWNER %I", [name, owner])
            }
        }
    }
}

/// Returns the markers of whichever of a tenant's database and roles exist
/// (bind the three names of [`crate::names::DatabaseNames`] as $1, $2, $3).
pub const MARKER_QUERY: &str = "\
    SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1 \
    UNION ALL \
    SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname IN ($2, $3)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_travel_as_a_json_array_of_strings() {
        let statement = Statement::new("COMMENT ON ROLE %I IS %L", ["a\"b\\c", "line\nbreak"]);
        let parsed: Vec<String> = serde_json::from_str(&statement.args_json()).unwrap();
        assert_eq!(parsed, ["a\"b\\c", "line\nbreak"]);
        assert_eq!(Statement::fixed("SELECT 1").args_json(), "[]");
    }
}
