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
        self.finish_with(())
    }

    /// The values [`Checks::parse`] returned (one `Option`, or a tuple of
    /// them), unwrapped: when every check passed, every parse succeeded.
    pub fn finish_with<V: Parsed>(self, values: V) -> Result<V::Value, ApiError> {
        self.values(values)
            .map_err(ApiError::Validation)?
            .ok_or_else(|| ApiError::Internal("a parse failed without naming its field".to_owned()))
    }

    /// [`Checks::finish_with`] for a part of a request that is accepted or
    /// refused on its own (one event of a batch): its errors as they are.
    pub fn outcome<V: Parsed>(self, values: V) -> Result<V::Value, Vec<FieldError>> {
        self.values(values)?.ok_or_else(|| {
            vec![FieldError::new(
                "(item)",
                "a check failed without naming its field: please report this",
            )]
        })
    }

    /// The errors, or the values (None if a parse failed unrecorded: a bug).
    fn values<V: Parsed>(self, values: V) -> Result<Option<V::Value>, Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(values.all())
        } else {
            Err(self.0)
        }
    }
}

/// What [`Checks::parse`] gave back: each value, or None for a recorded error.
pub trait Parsed {
    type Value;
    /// Every value, or None when any is missing.
    fn all(self) -> Option<Self::Value>;
}

impl Parsed for () {
    type Value = ();
    fn all(self) -> Option<()> {
        Some(())
    }
}

impl<A> Parsed for Option<A> {
    type Value = A;
    fn all(self) -> Option<A> {
        self
    }
}

macro_rules! parsed_tuple {
    ($($name:ident),+) => {
        impl<$($name),+> Parsed for ($(Option<$name>,)+) {
            type Value = ($($name,)+);
            #[allow(non_snake_case)]
            fn all(self) -> Option<Self::Value> {
                let ($($name,)+) = self;
                Some(($($name?,)+))
            }
        }
    };
}
parsed_tuple!(A, B);
parsed_tuple!(A, B, C);
parsed_tuple!(A, B, C, D);
parsed_tuple!(A, B, C, D, E);

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

    #[test]
    fn values_come_out_only_when_every_check_passed() {
        let mut checks = Checks::default();
        let a = checks.parse("a", Ok::<_, String>(1));
        let b = checks.parse("b", text(" x ", 1, 4));
        assert_eq!(checks.finish_with((a, b)).unwrap(), (1, "x".to_owned()));

        let mut checks = Checks::default();
        let a = checks.parse("a", Ok::<_, String>(1));
        let b = checks.parse("b", text("", 1, 4));
        let Err(ApiError::Validation(errors)) = checks.finish_with((a, b)) else {
            panic!("expected a validation error")
        };
        assert_eq!(errors[0].field, "b");
    }
}
