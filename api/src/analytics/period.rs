//! The period a report covers: whole local days in the store's time zone,
//! cut into buckets of an interval, and the period just before it of the
//! same length, to compare with.

use chrono::NaiveDate;

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

/// Local dates `from` (included) to `to` (excluded), by `interval`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
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
        let from = checks.parse("from", date(from));
        let to = checks.parse("to", date(to));
        let interval = checks.parse("interval", Interval::parse(interval));
        let (from, to, interval) = (from?, to?, interval?);
        let days = (to - from).num_days();
        let fits = checks.parse(
            "to",
            if days <= 0 {
                Err("must be after `from`".to_owned())
            } else if days > MAX_DAYS {
                Err(format!("a report covers at most {MAX_DAYS} days"))
            } else {
                Ok(())
            },
        );
        let buckets = checks.parse(
            "interval",
            if interval.buckets_at_most(days) <= MAX_BUCKETS {
                Ok(())
            } else {
                Err(format!(
                    "makes more than {MAX_BUCKETS} buckets of this period: choose a longer one"
                ))
            },
        );
        fits.and(buckets).map(|()| Self { from, to, interval })
    }

    /// The period of the same length that ends where this one starts.
    pub fn previous(self) -> Self {
        Self {
            from: self.from - (self.to - self.from),
            to: self.from,
            interval: self.interval,
        }
    }
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
        assert_eq!((before.from, before.to), (day("2026-01-29"), day("2026-03-01")));
        assert_eq!(before.interval, Interval::Week);
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
