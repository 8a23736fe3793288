//! The GraphQL schema: roots, policies, limits.

mod access;
mod audit;
mod connection;
pub mod context;
mod date;
mod document_rules;
mod documents;
mod field_errors;
mod in_place;
mod inputs;
mod introspection_off;
pub mod limits;
mod me;
mod members;
pub mod policies;
mod projects;
mod signing_keys;
mod tasks;

use std::sync::Arc;

use async_graphql::{EmptySubscription, MergedObject, Request, Response, Schema};
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

/// The engine's schema: the roots and their types.
type Engine = Schema<Query, Mutation, EmptySubscription>;

/// The schema served at `/graphql`: the engine, with the rules a document must meet before it
/// runs and field errors mended as the specification has them once it has run. Cheap to clone.
///
/// No async-graphql extension does this work: the engine calls every extension for every field
/// and list item it resolves, and having one at all cost a fifth of the server's CPU on a
/// nested page (the README's benchmarks, sixth session).
#[derive(Clone)]
pub struct ApiSchema {
    engine: Engine,
    document_rules: document_rules::DocumentRules,
    field_types: Arc<field_errors::FieldTypes>,
}

impl std::fmt::Debug for ApiSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiSchema")
            .field("document_rules", &self.document_rules)
            .finish_non_exhaustive()
    }
}

impl ApiSchema {
    /// Runs one request: the document rules, then the engine (parsing unless the request
    /// carries its parsed document, validation, execution), then field errors as the
    /// specification has them. Every outcome is a GraphQL response.
    pub async fn execute(&self, request: impl Into<Request>) -> Response {
        let mut request = request.into();
        if let Err(refusal) = self.document_rules.check(&mut request) {
            return Response::from_errors(vec![refusal]);
        }
        // What mending field errors needs once the request is the engine's: the text (parsed
        // again only when a field failed) and the operation's name.
        let query = request.query.clone();
        let operation_name = request.operation_name.clone();
        let mut response = self.engine.execute(request).await;
        if response.errors.is_empty() {
            return response;
        }
        self.document_rules.code_refusal(&mut response);
        field_errors::mend(
            &self.field_types,
            &query,
            operation_name.as_deref(),
            &mut response,
        );
        response
    }
}

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
    /// on when traces are exported, off otherwise (they would cost without being seen). On, the
    /// engine resolves every object itself, so that each field has its span: objects are not
    /// resolved in place (`in_place::InPlace`), which costs more CPU per field.
    pub trace_resolvers: bool,
}

/// Builds the schema. `verifier` is app data for the fields that manage signing keys,
/// `member_admin` for the ones that manage members (without it they answer INTERNAL).
pub fn build(
    options: &SchemaOptions,
    verifier: Option<Arc<CognitoVerifier>>,
    member_admin: Option<MemberAdmin>,
) -> ApiSchema {
    // Depth is our own check (introspection has its own depth bound; errors carry our codes),
    // not async-graphql's `limit_depth`; complexity is the engine's count, its refusal coded
    // by `DocumentRules::code_refusal`.
    let mut builder = Schema::build(Query::default(), Mutation::default(), EmptySubscription);
    if options.introspection_off {
        // `DocumentRules` refuses it with its own code first; nothing reaches the fields
        // either way.
        builder = builder.disable_introspection();
    }
    if options.trace_resolvers {
        // Every extension comes with `EngineResolution`: in place, fields would bypass it.
        builder = builder
            .extension(async_graphql::extensions::Tracing)
            .data(in_place::EngineResolution);
    }
    if let Some(verifier) = verifier {
        builder = builder.data(verifier);
    }
    if let Some(member_admin) = member_admin {
        builder = builder.data(member_admin);
    }
    let sdl = sdl();
    ApiSchema {
        engine: builder
            .limit_complexity(options.max_complexity)
            .data(access::AccessTable::from_sdl(&sdl))
            .finish(),
        document_rules: document_rules::DocumentRules {
            shape: limits::ShapeLimits {
                data: options.max_depth,
                introspection: options.max_introspection_depth,
                fields: options.max_complexity,
                aliases: options.max_aliases,
            },
            introspection_off: options.introspection_off,
        },
        field_types: Arc::new(field_errors::FieldTypes::from_sdl(&sdl)),
    }
}

/// The object types of `sdl` (the schema's own), with their names, for the tables read from it
/// ([`access::AccessTable`], [`field_errors::FieldTypes`]). SDL that does not parse has none:
/// logged, with `consequence`.
fn sdl_object_types(
    sdl: &str,
    consequence: &str,
) -> Vec<(String, async_graphql::parser::types::ObjectType)> {
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    let document = match async_graphql::parser::parse_schema(sdl) {
        Ok(document) => document,
        Err(error) => {
            tracing::error!(%error, "the schema's own SDL does not parse: {consequence}");
            return Vec::new();
        }
    };
    document
        .definitions
        .into_iter()
        .filter_map(|definition| match definition {
            TypeSystemDefinition::Type(definition) => match definition.node.kind {
                TypeKind::Object(object) => Some((definition.node.name.node.to_string(), object)),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    let schema = Schema::build(Query::default(), Mutation::default(), EmptySubscription).finish();
    schema.sdl_with_options(async_graphql::SDLExportOptions::new().use_space_ident())
}
