//! Parsing of free-text inputs into the values the domain stores.

use crate::DomainError;

/// A required text: trimmed, then 1..=`max` characters.
pub(crate) fn required_text(
    field: &'static str,
    raw: &str,
    max: usize,
) -> Result<String, DomainError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(DomainError::invalid(field, "must not be empty"));
    }
    at_most(field, trimmed, max)?;
    Ok(trimmed.to_owned())
}

/// An optional text of at most `max` characters, kept as given.
pub(crate) fn optional_text(
    field: &'static str,
    raw: Option<String>,
    max: usize,
) -> Result<Option<String>, DomainError> {
    if let Some(text) = &raw {
        at_most(field, text, max)?;
    }
    Ok(raw)
}

pub(crate) fn at_most(field: &'static str, text: &str, max: usize) -> Result<(), DomainError> {
    let length = text.chars().count();
    if length > max {
        return Err(DomainError::invalid(
            field,
            format!("must be at most {max} characters (got {length})"),
        ));
    }
    Ok(())
}

/// A due date within years 1–9999 (every database's date range), or an input error.
pub(crate) fn due_date(
    date: Option<chrono::NaiveDate>,
) -> Result<Option<chrono::NaiveDate>, DomainError> {
    use chrono::Datelike as _;
    match date {
        Some(d) if !(1..=9999).contains(&d.year()) => Err(DomainError::invalid(
            "dueDate",
            "must be a date in the years 1 to 9999",
        )),
        other => Ok(other),
    }
}

/// An identifier that must be given exactly (no surrounding spaces, not empty, at most `max`).
pub(crate) fn exact_text(
    field: &'static str,
    raw: &str,
    max: usize,
) -> Result<String, DomainError> {
    if raw.is_empty() || raw.trim() != raw {
        return Err(DomainError::invalid(
            field,
            "must not be empty or padded with spaces",
        ));
    }
    at_most(field, raw, max)?;
    Ok(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    #[test]
    fn due_dates_stay_within_every_databases_range() {
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        assert!(due_date(date(2030, 1, 31)).is_ok());
        assert!(due_date(date(1, 1, 1)).is_ok());
        assert!(due_date(date(9999, 12, 31)).is_ok());
        assert!(due_date(None).is_ok());
        for bad in [date(0, 1, 1), date(-5000, 1, 1), date(10_000, 1, 1)] {
            match due_date(bad) {
                Err(DomainError::InvalidInput { field, .. }) => assert_eq!(field, "dueDate"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn identifiers_are_taken_exactly() {
        assert_eq!(exact_text("sub", "bob", 10).unwrap(), "bob");
        for bad in ["", " bob", "bob ", "   "] {
            assert!(exact_text("sub", bad, 10).is_err(), "{bad:?}");
        }
        assert!(exact_text("sub", "x".repeat(11).as_str(), 10).is_err());
    }
}
