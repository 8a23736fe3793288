//! Field errors as the GraphQL specification handles them (October 2021, 6.4.4): a field whose
//! resolver or guard fails is `null` in `data` when its type is nullable, and the error (with its
//! `path`) goes to `errors`; a failed non-null field makes its parent `null` instead, up to the
//! nearest nullable field or list item, or `data` itself.
//!
//! async-graphql 7.2 leaves the key of a failed field out of its parent object (and turns an
//! object whose every field failed into `null`). Clients generated from the schema (Apollo
//! iOS/Kotlin codegen, Apollo Client's cache) treat a missing key as a broken response.
//! [`SpecFieldErrors`] wraps every field and list item (through the schema's extension,
//! [`rules`](super::rules)): it turns a failure of a nullable position into `null` plus the
//! error, and carries a failure of a non-null position up to its parent.

use std::{
    collections::HashSet,
    sync::{
        Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use async_graphql::{
    PathSegment, QueryPathNode, QueryPathSegment, Response, ServerError, ServerResult, Value,
    extensions::{ExtensionContext, NextExecute, NextResolve, ResolveInfo},
};

use crate::errors::argument_error;

/// Message of the internal error that carries a non-null failure from a child to its parent.
/// It never reaches a client: the original error is already in `errors`.
const PROPAGATED: &str = "\u{0}cognigraph: null propagated from a non-null child";

/// A position in the response, root first: response keys and list indexes.
type Path = Vec<Step>;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Step {
    Key(String),
    Index(usize),
}

/// One request's field errors.
#[derive(Debug, Default)]
pub(super) struct SpecFieldErrors {
    /// Whether any path was nulled (saves building paths on the common path).
    any_nulled: AtomicBool,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Errors of nullable fields that became `null` (the engine never saw them).
    errors: Vec<ServerError>,
    /// Positions that must become `null` because a non-null child failed.
    nulled: HashSet<Path>,
}

impl SpecFieldErrors {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state half-written (each critical
        // section is one insert or push), so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Marks the parent of `path` as failed (it becomes `null`, or carries the failure on up).
    fn null_parent(&self, path: &[Step]) {
        let parent = path[..path.len().saturating_sub(1)].to_vec();
        self.lock().nulled.insert(parent);
        self.any_nulled.store(true, Ordering::Release);
    }

    fn is_nulled(&self, node: &QueryPathNode<'_>) -> bool {
        self.any_nulled.load(Ordering::Acquire) && self.lock().nulled.contains(&path_of(node))
    }
}

/// The response path of `node`, root first.
fn path_of(node: &QueryPathNode<'_>) -> Path {
    let mut path: Path = std::iter::once(node)
        .chain(node.parents())
        .map(|node| match node.segment {
            QueryPathSegment::Name(name) => Step::Key(name.to_owned()),
            QueryPathSegment::Index(index) => Step::Index(index),
        })
        .collect();
    path.reverse();
    path
}

fn is_propagated(error: &ServerError) -> bool {
    error.message == PROPAGATED
}

/// `Int!`, `[Task!]!`: non-null; `Int`, `[Task!]`: nullable.
fn is_nullable(type_name: &str) -> bool {
    !type_name.ends_with('!')
}

impl SpecFieldErrors {
    /// Runs the operation, then adds the errors of the fields that became `null`, and nulls
    /// `data` when a non-null root field failed.
    pub(super) async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        let state = std::mem::take(&mut *self.lock());
        response.errors.retain(|error| !is_propagated(error));
        response.errors.extend(state.errors);
        if state.nulled.contains(&Path::new()) {
            // A non-null root field failed: the spec nulls `data` itself.
            response.data = Value::Null;
        }
        response
    }

    /// Resolves one field or list item: a failure becomes `null` plus its error when the
    /// position is nullable, else it is carried up to the parent.
    pub(super) async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let nullable = is_nullable(info.return_type);
        let node = info.path_node;
        let field = info.field;
        let failure = match next.run(ctx, info).await {
            Ok(value) => {
                if !self.is_nulled(node) {
                    return Ok(value);
                }
                // A non-null child failed (its error is already reported).
                None
            }
            Err(error) if is_propagated(&error) => None,
            Err(mut error) => {
                // An argument the engine could not read (an `Int` out of range: validation
                // checks only that it is a whole number) is reported at that argument's value.
                if let Some((name, _)) = field
                    .arguments
                    .iter()
                    .find(|(_, value)| error.locations.first() == Some(&value.pos))
                {
                    argument_error(&mut error, name.node.as_str());
                }
                if error.path.is_empty() {
                    error.path = path_of(node)
                        .into_iter()
                        .map(|step| match step {
                            Step::Key(key) => PathSegment::Field(key),
                            Step::Index(index) => PathSegment::Index(index),
                        })
                        .collect();
                }
                Some(error)
            }
        };
        if nullable {
            if let Some(error) = failure {
                self.lock().errors.push(error);
            }
            return Ok(Some(Value::Null));
        }
        self.null_parent(&path_of(node));
        Err(failure.unwrap_or_else(|| ServerError::new(PROPAGATED, None)))
    }
}
