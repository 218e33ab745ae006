//! Days and instants for the generator: local days as day numbers (days
//! since 1970-01-01), instants as microseconds since the epoch, written as
//! COPY text without a date library in the inner loop.

use std::fmt::Write as _;

use anyhow::{Context, Result};
use jiff::tz::TimeZone;

pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The local days of the data, and where each local hour starts.
#[derive(Clone)]
pub struct Calendar {
    /// The first and last local day (day numbers), both included.
    pub first: i64,
    pub last: i64,
    /// Per day from `first` to `last + 1`: the instant each local hour
    /// starts (an hour the clocks skip starts where the next one does).
    hours: Vec<[i64; 24]>,
}

impl Calendar {
    /// `days` local days in `tz`, the last of them yesterday.
    pub fn ending_yesterday(days: u32, tz: TimeZone) -> Result<Self> {
        let today = jiff::Zoned::now().with_time_zone(tz.clone()).date();
        let today = day_number(
            i64::from(today.year()),
            i64::from(today.month()),
            i64::from(today.day()),
        );
        let last = today - 1;
        let first = last - i64::from(days) + 1;
        let hours = (first..=last + 1)
            .map(|day| {
                let (y, m, d) = ymd(day);
                let date = jiff::civil::date(y as i16, m as i8, d as i8);
                let mut starts = [0; 24];
                for (hour, start) in starts.iter_mut().enumerate() {
                    *start = date
                        .at(hour as i8, 0, 0, 0)
                        .to_zoned(tz.clone())
                        .context("a local hour in the store's zone")?
                        .timestamp()
                        .as_microsecond();
                }
                Ok(starts)
            })
            .collect::<Result<_>>()?;
        Ok(Self { first, last, hours })
    }

    pub fn days(&self) -> i64 {
        self.last - self.first + 1
    }

    /// Where local hour `hour` of local day `day` starts.
    pub fn local(&self, day: i64, hour: usize) -> i64 {
        let index = (day - self.first).clamp(0, self.hours.len() as i64 - 1) as usize;
        self.hours[index][hour]
    }

    /// The first instant of the data.
    pub fn start(&self) -> i64 {
        self.local(self.first, 0)
    }

    /// The instant after the data: today's local midnight.
    pub fn end(&self) -> i64 {
        self.local(self.last + 1, 0)
    }
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
pub fn day_number(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number.
pub fn ymd(day: i64) -> (i64, i64, i64) {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// 0 for Monday … 6 for Sunday.
pub fn weekday(day: i64) -> usize {
    (day + 3).rem_euclid(7) as usize
}

pub fn write_date(out: &mut String, day: i64) {
    let (y, m, d) = ymd(day);
    let _ = write!(out, "{y:04}-{m:02}-{d:02}");
}

/// An instant in UTC, as PostgreSQL reads a timestamptz.
pub fn write_timestamp(out: &mut String, micros: i64) {
    let day = micros.div_euclid(MICROS_PER_DAY);
    let rest = micros.rem_euclid(MICROS_PER_DAY);
    write_date(out, day);
    let seconds = rest / 1_000_000;
    let _ = write!(
        out,
        " {:02}:{:02}:{:02}.{:06}+00",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        rest % 1_000_000
    );
}

/// A day number as an ISO date.
pub fn date_text(day: i64) -> String {
    let mut text = String::new();
    write_date(&mut text, day);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_round_trip() {
        assert_eq!(day_number(1970, 1, 1), 0);
        assert_eq!(ymd(day_number(2024, 2, 29)), (2024, 2, 29));
        assert_eq!(ymd(day_number(2000, 3, 1)), (2000, 3, 1));
        assert_eq!(weekday(day_number(2026, 11, 30)), 0, "a Monday");
        let mut out = String::new();
        write_timestamp(&mut out, 86_400_000_000 + 3_723_000_004);
        assert_eq!(out, "1970-01-02 01:02:03.000004+00");
    }
}
