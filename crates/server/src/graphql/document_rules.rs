//! The rules a request's document must meet before it runs (applied by the schema's extension,
//! [`rules`](super::rules)): with `INTROSPECTION=off`, no `__schema` or `__type` at the root
//! ([`introspection_off`](super::introspection_off)); then its shape ([`limits`](super::limits));
//! and, once the engine has validated it, the complexity bound on the engine's own count.
//! Validation errors get their code here, where they are known to be validation errors.
//!
//! These run before the engine's own checks: its recursion limit would otherwise report a
//! fragment cycle, or a document nested 33 levels, as a vague validation error.

use async_graphql::{
    Request, ServerError, ServerResult, ValidationResult,
    extensions::{ExtensionContext, NextPrepareRequest, NextValidation},
};

use super::{
    documents::ValidationMemo,
    introspection_off::asks_for_schema,
    limits::{self, ShapeError, ShapeLimits},
};
use crate::errors::{ErrorCode, classify_validation_error, request_error};

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
    /// Introspection off, then the shape limits, on the parsed document.
    pub(super) async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let operation_name = request.operation_name.clone();
        // The document is parsed once and kept in the request for the engine. One that does not
        // parse is the engine's to report.
        if let Ok(document) = request.parsed_query() {
            if self.introspection_off && asks_for_schema(document, operation_name.as_deref()) {
                return Err(request_error(
                    ErrorCode::IntrospectionDisabled,
                    "introspection is disabled on this server",
                ));
            }
            limits::check(document, self.shape)?;
        }
        next.run(ctx, request).await
    }

    /// The engine's validation, or the result it gave this document before when the request
    /// carries a [`ValidationMemo`]; then the complexity bound, on the engine's own computation
    /// (our check, with our code: not the engine's `limit_complexity`, whose error has only an
    /// English message).
    pub(super) async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let memo = ctx.data_opt::<ValidationMemo>();
        let result = match memo.and_then(ValidationMemo::result) {
            Some(result) => result,
            None => {
                let result = next.run(ctx).await.map_err(|mut errors| {
                    errors.iter_mut().for_each(classify_validation_error);
                    errors
                })?;
                if let Some(memo) = memo {
                    memo.remember(result);
                }
                result
            }
        };
        if result.complexity > self.shape.fields {
            return Err(vec![
                ShapeError::Complexity {
                    complexity: result.complexity,
                    limit: self.shape.fields,
                }
                .into(),
            ]);
        }
        Ok(result)
    }
}
