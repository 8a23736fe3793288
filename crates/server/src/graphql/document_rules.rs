//! The rules a request's document must meet before it runs (applied by
//! [`ApiSchema::execute`](super::ApiSchema::execute)): with `INTROSPECTION=off`, no `__schema`
//! or `__type` at the root ([`introspection_off`](super::introspection_off)); then its shape
//! ([`limits`](super::limits)). After the engine's validation, the complexity bound on the
//! engine's own count (its `limit_complexity`), and every validation error gets its code here,
//! where they are known to be validation errors.
//!
//! These run before the engine's own checks: its recursion limit would otherwise report a
//! fragment cycle, or a document nested 33 levels, as a vague validation error.

use async_graphql::{Request, Response, ServerError};

use super::{
    introspection_off::asks_for_schema,
    limits::{self, ShapeError, ShapeLimits},
};
use crate::errors::{ErrorCode, classify_validation_error, request_error};

/// The engine's refusal of a document over its `limit_complexity`.
const ENGINE_TOO_COMPLEX: &str = "Query is too complex.";

/// The rules, with the settings they apply.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DocumentRules {
    /// The shape limits (`MAX_QUERY_DEPTH`, `MAX_INTROSPECTION_DEPTH`, `MAX_QUERY_COMPLEXITY`,
    /// `MAX_QUERY_ALIASES`).
    pub(crate) shape: ShapeLimits,
    /// `INTROSPECTION=off`: a document asking for the schema is refused with
    /// `INTROSPECTION_DISABLED` (the schema is also built with introspection disabled, so
    /// nothing reaches those fields whatever the document).
    pub(crate) introspection_off: bool,
}

impl DocumentRules {
    /// Introspection off, then the shape limits, on the parsed document (parsed once and kept in
    /// the request for the engine). One that does not parse is the engine's to report.
    pub(super) fn check(&self, request: &mut Request) -> Result<(), ServerError> {
        let operation_name = request.operation_name.clone();
        if let Ok(document) = request.parsed_query() {
            if self.introspection_off && asks_for_schema(document, operation_name.as_deref()) {
                return Err(request_error(
                    ErrorCode::IntrospectionDisabled,
                    "introspection is disabled on this server",
                ));
            }
            limits::check(document, self.shape)?;
        }
        Ok(())
    }

    /// Codes the errors of a request the engine refused before running it (every error without
    /// a path, when none has one): the complexity bound with ours (the engine's error has only
    /// an English message), any other as validation's.
    pub(super) fn code_refusal(&self, response: &mut Response) {
        if response.errors.iter().any(|error| !error.path.is_empty()) {
            return;
        }
        for error in &mut response.errors {
            if error.message == ENGINE_TOO_COMPLEX && error.extensions.is_none() {
                *error = ShapeError::Complexity {
                    limit: self.shape.fields,
                }
                .into();
            } else {
                classify_validation_error(error);
            }
        }
    }
}
