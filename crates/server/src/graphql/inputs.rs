//! Input at the boundary: GraphQL `ID` strings parsed into UUIDs once, and nullable input fields
//! into "keep" / "clear" / "set".

use async_graphql::{ID, MaybeUndefined};
use uuid::Uuid;

use crate::errors::ApiError;

/// Parses `id`, naming `field` when it is not an id at all.
pub(crate) fn parse_id(field: &str, id: &ID) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id.as_str()).map_err(|_| ApiError::BadUserInput {
        field: field.to_owned(),
        message: format!("{field}: not an id"),
    })
}

/// Parses an optional id.
pub(crate) fn parse_optional_id(field: &str, id: Option<&ID>) -> Result<Option<Uuid>, ApiError> {
    id.map(|id| parse_id(field, id)).transpose()
}

/// An update's field: absent keeps the value (`None`), `null` clears it (`Some(None)`), a
/// value sets it (`Some(Some(v))`).
pub(crate) fn patch<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}
