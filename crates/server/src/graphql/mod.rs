//! The GraphQL schema: roots, policies, limits.

mod access;
mod audit;
mod connection;
pub mod context;
mod date;
mod document_rules;
mod documents;
mod field_errors;
mod inputs;
mod introspection_off;
pub mod limits;
mod me;
mod members;
pub mod policies;
mod projects;
mod rules;
mod signing_keys;
mod tasks;

use std::sync::Arc;

use async_graphql::{EmptySubscription, MergedObject, Schema};
use cognigraph_token::CognitoVerifier;

use crate::member_admin::MemberAdmin;

pub use access::FieldPolicy;
pub use documents::DocumentCache;
pub(crate) use documents::selected_operation;
pub use me::Me;

/// Every query field.
#[derive(MergedObject, Default, Debug)]
pub struct Query(
    me::MeQuery,
    access::AccessQuery,
    projects::ProjectsQuery,
    tasks::TasksQuery,
    members::MembersQuery,
    audit::AuditQuery,
);

/// Every mutation field.
#[derive(MergedObject, Default, Debug)]
pub struct Mutation(
    signing_keys::SigningKeysMutation,
    projects::ProjectsMutation,
    tasks::TasksMutation,
    members::MembersMutation,
);

/// The schema served at `/graphql`.
pub type ApiSchema = Schema<Query, Mutation, EmptySubscription>;

/// Schema-wide settings (per-request data, such as the principal, is added per request).
#[derive(Debug, Clone)]
pub struct SchemaOptions {
    /// Deepest nesting allowed in data selections (`MAX_QUERY_DEPTH`, default 12).
    pub max_depth: usize,
    /// Deepest nesting allowed under a root `__schema` or `__type` field
    /// (`MAX_INTROSPECTION_DEPTH`, default 20).
    pub max_introspection_depth: usize,
    /// Largest complexity allowed.
    pub max_complexity: usize,
    /// Most aliases in one document.
    pub max_aliases: usize,
    /// Introspection disabled entirely.
    pub introspection_off: bool,
    /// A span for parsing, validation and each resolver (async-graphql's tracing extension):
    /// on when traces are exported, off otherwise (they would cost without being seen).
    pub trace_resolvers: bool,
}

/// Builds the schema. `verifier` is app data for the fields that manage signing keys,
/// `member_admin` for the ones that manage members (without it they answer INTERNAL).
pub fn build(
    options: &SchemaOptions,
    verifier: Option<Arc<CognitoVerifier>>,
    member_admin: Option<MemberAdmin>,
) -> ApiSchema {
    // Depth and complexity are our own checks (introspection has its own depth bound; errors
    // carry our codes), not async-graphql's `limit_depth` and `limit_complexity`.
    let mut builder = Schema::build(Query::default(), Mutation::default(), EmptySubscription);
    if options.introspection_off {
        // `DocumentRules` refuses it with its own code first; nothing reaches the fields
        // either way.
        builder = builder.disable_introspection();
    }
    builder = builder.extension(rules::Rules {
        document: document_rules::DocumentRules {
            shape: limits::ShapeLimits {
                data: options.max_depth,
                introspection: options.max_introspection_depth,
                fields: options.max_complexity,
                aliases: options.max_aliases,
            },
            introspection_off: options.introspection_off,
        },
    });
    if options.trace_resolvers {
        builder = builder.extension(async_graphql::extensions::Tracing);
    }
    if let Some(verifier) = verifier {
        builder = builder.data(verifier);
    }
    if let Some(member_admin) = member_admin {
        builder = builder.data(member_admin);
    }
    builder.data(access::AccessTable::from_sdl(&sdl())).finish()
}

/// The SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    let schema = Schema::build(Query::default(), Mutation::default(), EmptySubscription).finish();
    schema.sdl_with_options(async_graphql::SDLExportOptions::new().use_space_ident())
}
