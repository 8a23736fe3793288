//! The `NaiveDate` scalar: a calendar date, checked when the document is validated.
//!
//! async-graphql's own `NaiveDate` scalar parses its value only when the resolver reads its
//! argument, so a date that is not one failed while resolving, as an error the server could
//! recognise only by its English text. This one has the same name, description and format, and
//! tells validation which values it takes: a bad date is refused with the other argument errors,
//! as `BAD_USER_INPUT` naming its field, before any resolver runs.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::NaiveDate;

/// The one format, `YYYY-MM-DD`, in and out.
const FORMAT: &str = "%Y-%m-%d";

/// A calendar date without time zone (`YYYY-MM-DD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Date(pub(crate) NaiveDate);

/// ISO 8601 calendar date without timezone.
/// Format: %Y-%m-%d
///
/// # Examples
///
/// * `1994-11-13`
/// * `2000-02-24`
#[Scalar(name = "NaiveDate")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => NaiveDate::parse_from_str(text, FORMAT)
                .map(Date)
                .map_err(|_| InputValueError::expected_type(value)),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(text) if NaiveDate::parse_from_str(text, FORMAT).is_ok())
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format(FORMAT).to_string())
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{ScalarType, Value};
    use chrono::NaiveDate;

    use super::Date;

    #[test]
    fn takes_and_gives_iso_dates_only() {
        let day = NaiveDate::from_ymd_opt(2000, 2, 29).expect("a leap day");
        let text = Value::String("2000-02-29".to_owned());
        assert!(Date::is_valid(&text));
        assert_eq!(Date::parse(text.clone()).ok(), Some(Date(day)));
        assert_eq!(Date(day).to_value(), text);
        for refused in [
            Value::String("someday".to_owned()),
            Value::String("2001-02-29".to_owned()),
            Value::String("2000-02-29T00:00:00Z".to_owned()),
            Value::from(20_000_229),
            Value::Null,
        ] {
            assert!(!Date::is_valid(&refused), "{refused}");
            assert!(Date::parse(refused).is_err());
        }
    }
}
