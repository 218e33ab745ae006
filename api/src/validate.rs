//! Collects every invalid field of a request, so one 422 names them all.

use crate::error::{ApiError, FieldError};

#[derive(Default)]
pub struct Checks(Vec<FieldError>);

impl Checks {
    /// Records `detail` against `field` unless `ok`.
    pub fn check(&mut self, ok: bool, field: impl Into<String>, detail: impl Into<String>) {
        if !ok {
            self.0.push(FieldError::new(field, detail));
        }
    }

    /// The parsed value, or None with the error recorded against `field`.
    pub fn parse<T>(&mut self, field: impl Into<String>, parsed: Result<T, String>) -> Option<T> {
        parsed
            .map_err(|detail| self.0.push(FieldError::new(field, detail)))
            .ok()
    }

    /// Ok when every check passed.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.0))
        }
    }
}

/// A text field: trimmed, with its length in characters between `min` and `max`.
pub fn text(value: &str, min: usize, max: usize) -> Result<String, String> {
    let trimmed = value.trim();
    let length = trimmed.chars().count();
    if length < min {
        Err(if min == 1 {
            "must not be empty".to_owned()
        } else {
            format!("must be at least {min} characters")
        })
    } else if length > max {
        Err(format!("must be at most {max} characters"))
    } else {
        Ok(trimmed.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded_in_characters() {
        assert_eq!(text("  Café  ", 1, 4), Ok("Café".to_owned()));
        assert_eq!(text("   ", 1, 4), Err("must not be empty".to_owned()));
        assert_eq!(
            text("abcde", 1, 4),
            Err("must be at most 4 characters".to_owned())
        );
    }

    #[test]
    fn every_failed_check_is_reported() {
        let mut checks = Checks::default();
        checks.check(false, "a", "bad");
        assert_eq!(checks.parse::<u8>("b", Err("worse".to_owned())), None);
        checks.check(true, "c", "fine");
        let Err(ApiError::Validation(errors)) = checks.finish() else {
            panic!("expected a validation error")
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["a", "b"]);
    }
}
