//! The period a report covers: whole local days in the store's time zone,
//! cut into buckets of an interval, and the period just before it of the
//! same length, to compare with.

use chrono::{Datelike, Days, Months, NaiveDate};

use crate::db::StoreTx;
use crate::error::ApiError;
use crate::validate::Checks;

/// The longest period a report covers (three years and a bit).
pub const MAX_DAYS: i64 = 1100;

/// The most buckets a series holds (an hourly series spans at most 41 days).
pub const MAX_BUCKETS: i64 = 1000;

/// How a series cuts its period: local hours, days, weeks from Monday,
/// calendar months.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    Hour,
    Day,
    Week,
    Month,
}

impl Interval {
    /// The unit PostgreSQL's `date_trunc` takes (weeks there start on Monday).
    pub fn unit(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
        }
    }

    fn parse(value: Option<&str>) -> Result<Self, String> {
        match value.unwrap_or("day") {
            "hour" => Ok(Self::Hour),
            "day" => Ok(Self::Day),
            "week" => Ok(Self::Week),
            "month" => Ok(Self::Month),
            other => Err(format!("{other:?} is not one of hour, day, week, month")),
        }
    }

    /// The most buckets `days` days can make (an hour too many on the day
    /// clocks go back is still within the bound's margin).
    fn buckets_at_most(self, days: i64) -> i64 {
        match self {
            Self::Hour => days * 24,
            Self::Day => days,
            Self::Week => days / 7 + 2,
            Self::Month => days / 28 + 2,
        }
    }
}

/// Local dates `from` (included) to `to` (excluded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dates {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Dates {
    /// The dates of a report's query parameters; None with every bad one
    /// recorded in `checks`.
    pub fn check(checks: &mut Checks, from: Option<&str>, to: Option<&str>) -> Option<Self> {
        let from = checks.parse("from", date(from));
        let to = checks.parse("to", date(to));
        let (from, to) = (from?, to?);
        let days = (to - from).num_days();
        let fits = if days <= 0 {
            Err("must be after `from`".to_owned())
        } else if days > MAX_DAYS {
            Err(format!("a report covers at most {MAX_DAYS} days"))
        } else {
            Ok(())
        };
        checks.parse("to", fits).map(|()| Self { from, to })
    }

    pub fn days(self) -> i64 {
        (self.to - self.from).num_days()
    }

    /// The whole calendar months inside, as the 1st of the first and the 1st
    /// after the last; the same date twice when there is none.
    fn whole_months(self) -> (NaiveDate, NaiveDate) {
        let first = first_of_month(self.from);
        let first = if first == self.from {
            first
        } else {
            first.checked_add_months(Months::new(1)).unwrap_or(first)
        };
        let end = first_of_month(self.to);
        if first < end {
            (first, end)
        } else {
            (self.from, self.from)
        }
    }

    /// The whole ISO weeks inside (Monday to Sunday), as the Monday of the
    /// first and the Monday after the last; the same date twice when there
    /// is none.
    fn whole_weeks(self) -> (NaiveDate, NaiveDate) {
        let to_monday = (7 - self.from.weekday().num_days_from_monday()) % 7;
        let first = self.from + Days::new(u64::from(to_monday));
        let end = self.to - Days::new(u64::from(self.to.weekday().num_days_from_monday()));
        if first < end {
            (first, end)
        } else {
            (self.from, self.from)
        }
    }

    /// The dates as rollups of months, weeks and days read them: the whole
    /// months, the whole weeks before and after them, and the other days.
    pub fn spans(self) -> Spans {
        let months = self.whole_months();
        let (before, after) = if months.0 < months.1 {
            (
                Dates {
                    from: self.from,
                    to: months.0,
                },
                Dates {
                    from: months.1,
                    to: self.to,
                },
            )
        } else {
            (
                Dates {
                    from: self.from,
                    to: self.from,
                },
                self,
            )
        };
        Spans {
            months,
            weeks_before: before.whole_weeks(),
            weeks_after: after.whole_weeks(),
        }
    }
}

/// A period cut into whole months, whole weeks around them, and days:
/// each range from its first date to the one after its last (the same date
/// twice when empty); the days are those in none of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spans {
    pub months: (NaiveDate, NaiveDate),
    pub weeks_before: (NaiveDate, NaiveDate),
    pub weeks_after: (NaiveDate, NaiveDate),
}

fn first_of_month(date: NaiveDate) -> NaiveDate {
    date.with_day(1).unwrap_or(date)
}

/// Dates cut into buckets of `interval`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub dates: Dates,
    pub interval: Interval,
}

impl Period {
    /// The period of a report's query parameters; None with every bad one
    /// recorded in `checks`.
    pub fn check(
        checks: &mut Checks,
        from: Option<&str>,
        to: Option<&str>,
        interval: Option<&str>,
    ) -> Option<Self> {
        let dates = Dates::check(checks, from, to);
        let interval = checks.parse("interval", Interval::parse(interval));
        let (dates, interval) = (dates?, interval?);
        let buckets = if interval.buckets_at_most(dates.days()) <= MAX_BUCKETS {
            Ok(())
        } else {
            Err(format!(
                "makes more than {MAX_BUCKETS} buckets of this period: choose a longer one"
            ))
        };
        checks
            .parse("interval", buckets)
            .map(|()| Self { dates, interval })
    }
}

/// What a report can compare with the same length of time just before.
pub trait Comparable: Copy {
    /// The same length of time that ends where this one starts.
    fn previous(self) -> Self;
}

impl Comparable for Dates {
    fn previous(self) -> Self {
        Self {
            from: self.from - (self.to - self.from),
            to: self.from,
        }
    }
}

impl Comparable for Period {
    fn previous(self) -> Self {
        Self {
            dates: self.dates.previous(),
            interval: self.interval,
        }
    }
}

/// What `of` makes of `period`, and of the period before when `compare`.
pub async fn with_previous<P: Comparable, T>(
    tx: &mut StoreTx,
    period: P,
    compare: bool,
    of: impl AsyncFn(&mut StoreTx, P) -> Result<T, ApiError>,
) -> Result<(T, Option<T>), ApiError> {
    let current = of(tx, period).await?;
    let previous = match compare {
        true => Some(of(tx, period.previous()).await?),
        false => None,
    };
    Ok((current, previous))
}

fn date(value: Option<&str>) -> Result<NaiveDate, String> {
    let value = value.ok_or("is required: a local date such as 2026-03-01")?;
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| format!("{value:?} is not a date such as 2026-03-01"))
}

/// Whether a report compares with the period before: `compare=previous_period`.
pub fn compares(value: Option<&str>) -> Result<bool, String> {
    match value {
        None => Ok(false),
        Some("previous_period") => Ok(true),
        Some(other) => Err(format!("{other:?} is not `previous_period`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    /// The period, or the fields named as bad.
    fn period(from: Option<&str>, to: Option<&str>, interval: Option<&str>) -> Result<Period, Vec<String>> {
        let mut checks = Checks::default();
        let period = Period::check(&mut checks, from, to, interval);
        match checks.finish_with(period) {
            Ok(period) => Ok(period),
            Err(crate::error::ApiError::Validation(errors)) => {
                Err(errors.into_iter().map(|e| e.field).collect())
            }
            Err(other) => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn the_previous_period_has_the_same_length_and_ends_where_it_starts() {
        let march = period(Some("2026-03-01"), Some("2026-04-01"), Some("week")).unwrap();
        assert_eq!(march.interval, Interval::Week);
        let before = march.previous();
        assert_eq!(
            (before.dates.from, before.dates.to),
            (day("2026-01-29"), day("2026-03-01"))
        );
        assert_eq!(before.interval, Interval::Week);
    }

    #[test]
    fn whole_months_are_those_the_dates_cover_from_first_to_last_day() {
        let months = |from: &str, to: &str| {
            let (first, end) = Dates {
                from: day(from),
                to: day(to),
            }
            .whole_months();
            (first.to_string(), end.to_string())
        };
        assert_eq!(
            months("2026-01-15", "2026-04-10"),
            ("2026-02-01".into(), "2026-04-01".into())
        );
        assert_eq!(
            months("2026-01-01", "2026-03-01"),
            ("2026-01-01".into(), "2026-03-01".into())
        );
        assert_eq!(
            months("2026-01-15", "2026-02-20"),
            ("2026-01-15".into(), "2026-01-15".into())
        );
        assert_eq!(
            months("2026-12-02", "2027-02-01"),
            ("2027-01-01".into(), "2027-02-01".into())
        );
    }

    #[test]
    fn whole_weeks_run_from_the_first_monday_to_the_last() {
        let weeks = |from: &str, to: &str| {
            let (first, end) = Dates {
                from: day(from),
                to: day(to),
            }
            .whole_weeks();
            (first.to_string(), end.to_string())
        };
        // 2026-11-02 and 2026-11-23 are Mondays.
        assert_eq!(
            weeks("2026-10-30", "2026-11-29"),
            ("2026-11-02".into(), "2026-11-23".into())
        );
        assert_eq!(
            weeks("2026-11-02", "2026-11-23"),
            ("2026-11-02".into(), "2026-11-23".into())
        );
        assert_eq!(
            weeks("2026-11-03", "2026-11-15"),
            ("2026-11-03".into(), "2026-11-03".into())
        );
    }

    #[test]
    fn spans_put_weeks_on_both_sides_of_the_months_and_days_around_them() {
        let spans = Dates {
            from: day("2025-11-20"),
            to: day("2026-02-12"),
        }
        .spans();
        assert_eq!(spans.months, (day("2025-12-01"), day("2026-02-01")));
        // Monday 2025-11-24 to Monday 2025-12-01; Monday 2026-02-02 to Monday 2026-02-09.
        assert_eq!(spans.weeks_before, (day("2025-11-24"), day("2025-12-01")));
        assert_eq!(spans.weeks_after, (day("2026-02-02"), day("2026-02-09")));
        let no_month = Dates {
            from: day("2026-10-30"),
            to: day("2026-11-29"),
        }
        .spans();
        assert_eq!(no_month.months, (day("2026-10-30"), day("2026-10-30")));
        assert_eq!(no_month.weeks_before, (day("2026-10-30"), day("2026-10-30")));
        assert_eq!(no_month.weeks_after, (day("2026-11-02"), day("2026-11-23")));
    }

    #[test]
    fn the_interval_defaults_to_days() {
        let one_day = period(Some("2026-03-01"), Some("2026-03-02"), None).unwrap();
        assert_eq!(one_day.interval, Interval::Day);
    }

    #[test]
    fn every_bad_parameter_is_named() {
        assert_eq!(
            period(None, Some("1 May"), Some("year")).unwrap_err(),
            ["from", "to", "interval"]
        );
        assert_eq!(
            period(Some("2026-03-02"), Some("2026-03-02"), None).unwrap_err(),
            ["to"]
        );
        assert_eq!(
            period(None, None, Some("year")).unwrap_err(),
            ["from", "to", "interval"]
        );
        assert_eq!(
            period(Some("2020-01-01"), Some("2026-01-01"), Some("month")).unwrap_err(),
            ["to"]
        );
        // 42 days of hours is 1,008 buckets; 41 days is within the bound.
        assert_eq!(
            period(Some("2026-03-01"), Some("2026-04-12"), Some("hour")).unwrap_err(),
            ["interval"]
        );
        period(Some("2026-03-01"), Some("2026-04-11"), Some("hour")).unwrap();
        assert!(compares(Some("last_year")).is_err());
        assert_eq!(compares(Some("previous_period")), Ok(true));
        assert_eq!(compares(None), Ok(false));
    }
}
