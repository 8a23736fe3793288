//! The schema's one async-graphql extension: the rules a document must meet before it runs
//! ([`document_rules`](super::document_rules)), and field errors as the specification handles
//! them while it runs ([`field_errors`](super::field_errors)).
//!
//! One extension, not one per concern: the engine calls every extension for every field it
//! resolves, each call a boxed future, and a second extension cost 4 % of the server's CPU on a
//! nested page of 20 projects × 10 tasks (`pages` benchmark, `PAGES_CASES=assignee`).

use std::sync::Arc;

use async_graphql::{
    Request, Response, ServerError, ServerResult, ValidationResult, Value,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextPrepareRequest,
        NextResolve, NextValidation, ResolveInfo,
    },
};

use super::{document_rules::DocumentRules, field_errors::SpecFieldErrors};

/// The extension factory, with the document rules' settings.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rules {
    pub(super) document: DocumentRules,
}

impl ExtensionFactory for Rules {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequestRules {
            document: self.document,
            fields: SpecFieldErrors::default(),
        })
    }
}

/// The rules of one request.
#[derive(Debug)]
struct RequestRules {
    document: DocumentRules,
    fields: SpecFieldErrors,
}

#[async_trait::async_trait]
impl Extension for RequestRules {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        self.document.prepare_request(ctx, request, next).await
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        self.document.validation(ctx, next).await
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        self.fields.execute(ctx, operation_name, next).await
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        self.fields.resolve(ctx, info, next).await
    }
}
