//! Divisions, each rounded one documented way: half up (the figures
//! divided are never negative where these are used).

/// `total ÷ count` in whole minor units; None for a count of zero.
pub fn average(total: i64, count: i64) -> Option<i64> {
    (count > 0).then(|| (2 * total + count).div_euclid(2 * count))
}

/// `part ÷ whole` to two decimals; None when `whole` is zero.
pub fn hundredths(part: i64, whole: i64) -> Option<f64> {
    average(100 * part, whole).map(|hundredths| hundredths as f64 / 100.0)
}

/// `part ÷ whole` in percent, to two decimals; None when `whole` is zero.
pub fn percent(part: i64, whole: i64) -> Option<f64> {
    hundredths(100 * part, whole)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_round_half_up_and_are_absent_without_a_count() {
        assert_eq!(average(1000, 3), Some(333));
        assert_eq!(average(1001, 2), Some(501));
        assert_eq!(average(1003, 2), Some(502));
        assert_eq!(average(0, 4), Some(0));
        assert_eq!(average(500, 0), None);
    }

    #[test]
    fn ratios_and_percents_round_half_up_to_hundredths() {
        assert_eq!(hundredths(4, 3), Some(1.33));
        assert_eq!(hundredths(5, 3), Some(1.67));
        assert_eq!(hundredths(1, 8), Some(0.13));
        assert_eq!(percent(1, 3), Some(33.33));
        assert_eq!(percent(2, 3), Some(66.67));
        assert_eq!(percent(1, 8), Some(12.5));
        assert_eq!(percent(4, 4), Some(100.0));
        assert_eq!(percent(0, 5), Some(0.0));
        assert_eq!(percent(3, 0), None);
    }
}
