//! Every table-shaped report also as CSV, for `Accept: text/csv`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

/// A report as rows of cells under a header.
pub struct Table {
    pub header: &'static [&'static str],
    pub rows: Vec<Vec<Cell>>,
}

pub enum Cell {
    Text(String),
    Number(i64),
    /// A ratio already rounded (a percent with two decimals).
    Decimal(f64),
    /// No value (an average of nothing).
    Empty,
}

impl From<i64> for Cell {
    fn from(value: i64) -> Self {
        Self::Number(value)
    }
}

impl From<Option<i64>> for Cell {
    fn from(value: Option<i64>) -> Self {
        value.map_or(Self::Empty, Self::Number)
    }
}

impl From<Option<f64>> for Cell {
    fn from(value: Option<f64>) -> Self {
        value.map_or(Self::Empty, Self::Decimal)
    }
}

impl From<&str> for Cell {
    fn from(value: &str) -> Self {
        Self::Text(value.to_owned())
    }
}

impl From<String> for Cell {
    fn from(value: String) -> Self {
        Self::Text(value)
    }
}

/// The rows of a report that compares two periods: `rows` of the current
/// one, then of the previous one, each row led by its period's name.
pub fn compared_rows<P>(
    current: &P,
    previous: Option<&P>,
    rows: impl Fn(&P) -> Vec<Vec<Cell>>,
) -> Vec<Vec<Cell>> {
    [("current", Some(current)), ("previous", previous)]
        .into_iter()
        .filter_map(|(name, period)| period.map(|period| (name, period)))
        .flat_map(|(name, period)| {
            rows(period).into_iter().map(move |mut row| {
                row.insert(0, Cell::from(name));
                row
            })
        })
        .collect()
}

/// The report as JSON, or as CSV when the caller accepts `text/csv`.
pub fn respond<T: Serialize>(
    request: &HttpRequest,
    report: &T,
    table: impl FnOnce(&T) -> Table,
) -> HttpResponse {
    if wants_csv(request) {
        HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .body(table(report).to_csv())
    } else {
        HttpResponse::Ok().json(report)
    }
}

/// Whether `Accept` names CSV (this API's reports have no other form than
/// JSON, so any mention of `text/csv` decides).
fn wants_csv(request: &HttpRequest) -> bool {
    request
        .headers()
        .get_all(header::ACCEPT)
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.split(',').any(|kind| kind.trim().starts_with("text/csv")))
}

impl Table {
    /// RFC 4180: comma-separated, CRLF line ends, fields quoted when they
    /// hold a comma, a quote or a line break.
    pub fn to_csv(&self) -> String {
        let mut csv = String::new();
        let header = self.header.iter().map(|name| (*name).to_owned());
        push_row(&mut csv, header);
        for row in &self.rows {
            push_row(&mut csv, row.iter().map(Cell::render));
        }
        csv
    }
}

impl Cell {
    fn render(&self) -> String {
        match self {
            Self::Number(value) => value.to_string(),
            Self::Decimal(value) => value.to_string(),
            Self::Empty => String::new(),
            Self::Text(text) => {
                // A spreadsheet runs a cell that starts like a formula: text
                // from shoppers and staff (product titles) is never run.
                let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                    format!("'{text}")
                } else {
                    text.clone()
                };
                if text.contains([',', '"', '\n', '\r']) {
                    format!("\"{}\"", text.replace('"', "\"\""))
                } else {
                    text
                }
            }
        }
    }
}

fn push_row(csv: &mut String, cells: impl Iterator<Item = String>) {
    let cells: Vec<String> = cells.collect();
    csv.push_str(&cells.join(","));
    csv.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_when_needed_and_never_run_as_formulas() {
        let table = Table {
            header: &["title", "units", "average", "percent"],
            rows: vec![
                vec!["Mug, large".into(), 3.into(), Cell::Empty, Cell::Decimal(12.5)],
                vec!["Say \"hi\"".into(), (-2).into(), Some(150).into(), Cell::Empty],
                vec!["=HYPERLINK(\"x\")".into(), 0.into(), Some(-1).into(), Cell::Empty],
            ],
        };
        assert_eq!(
            table.to_csv(),
            "title,units,average,percent\r\n\"Mug, large\",3,,12.5\r\n\"Say \"\"hi\"\"\",-2,150,\r\n\"'=HYPERLINK(\"\"x\"\")\",0,-1,\r\n"
        );
    }
}
