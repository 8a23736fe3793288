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
