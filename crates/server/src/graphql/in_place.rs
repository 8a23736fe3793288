//! Objects whose fields are resolved in place: [`InPlace`].
//!
//! The engine resolves an object by boxing one future per selected field and polling them in a
//! `FuturesUnordered` (an allocation per field and per object, the field's future copied into
//! its box, a reference-counted task per field). On a page of 20 projects × 10 tasks with
//! their assignees that machinery was about half of the engine's time, though nearly every
//! field there is ready at once (a column of the row, a member read ahead).
//!
//! [`InPlace`] resolves the same fields, by the same resolvers (`ContainerType::resolve_field`,
//! guards and policies included), one after another inside its own future, and joins the fields
//! only from the first one that has to wait (a DataLoader's batch): that field and every field
//! after it then wait together, so sibling fields still share a loader's batch. Values keep the
//! selection's order (the engine's own order is the order fields finish in); errors may be listed
//! in another order than the engine's (the specification orders neither errors nor, for the
//! engine, fields that finish apart).

use std::{
    any::TypeId,
    borrow::Cow,
    future::Future,
    pin::{Pin, pin},
    task::Poll,
};

use async_graphql::{
    ContextSelectionSet, Name, ObjectType, OutputType, Positioned, ServerError, ServerResult,
    Value,
    futures_util::{self, future},
    indexmap::IndexMap,
    parser::types::{Field, Selection, SelectionSet},
    registry::Registry,
    resolver_utils::ContainerType,
};

/// `T` as a GraphQL object whose selected fields are resolved in place (the module's doc): the
/// same type in the schema, the same values and errors, fewer allocations per field. `T` is a
/// plain object type (`#[Object]` or `SimpleObject`, not `serial`), never an interface or a
/// union: its fields are collected here as the engine collects a plain object's.
///
/// Falls back to `T`'s own resolution (the engine's) when the schema has [`EngineResolution`]
/// (its extensions must see each field), and, defensively, when a field carries a directive
/// (none can today: `@skip` and `@include` are applied before execution, and the schema
/// declares no other directive on queries).
#[derive(Debug, Clone)]
pub(crate) struct InPlace<T>(pub(crate) T);

impl<T: ObjectType> OutputType for InPlace<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn introspection_type_name(&self) -> Cow<'static, str> {
        self.0.introspection_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let mut fields = Vec::with_capacity(ctx.item.node.items.len());
        if ctx
            .schema_env
            .data
            .contains_key(&TypeId::of::<EngineResolution>())
            || !collect_fields(ctx, &self.0, ctx.item, &mut fields)?
        {
            return self.0.resolve(ctx, field).await;
        }
        Ok(resolve_fields(ctx, &self.0, &fields).await)
    }
}

/// Schema data that turns [`InPlace`] off, for a schema with extensions: the engine then
/// resolves every object itself, each field through the extensions (the tracing of resolvers
/// wraps each field's future in a span). Every extension the schema adds needs it (the engine's
/// own test for extensions is private to it).
#[derive(Debug)]
pub(crate) struct EngineResolution;

/// Appends the fields of `selection_set` (a selection on `root`, or a fragment's) that apply to
/// `root`, fragments spread in order, as the engine collects them. `false` when a field carries
/// a directive (then the engine resolves the object).
fn collect_fields<'a, T: ContainerType>(
    ctx: &ContextSelectionSet<'a>,
    root: &T,
    selection_set: &'a Positioned<SelectionSet>,
    fields: &mut Vec<&'a Positioned<Field>>,
) -> ServerResult<bool> {
    for selection in &selection_set.node.items {
        let (condition, selection_set) = match &selection.node {
            Selection::Field(field) => {
                if !field.node.directives.is_empty() {
                    return Ok(false);
                }
                fields.push(field);
                continue;
            }
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                let Some(fragment) = ctx.query_env.fragments.get(name) else {
                    return Err(ServerError::new(
                        format!(r#"Unknown fragment "{name}"."#),
                        Some(spread.pos),
                    ));
                };
                (
                    Some(&fragment.node.type_condition.node.on.node),
                    &fragment.node.selection_set,
                )
            }
            Selection::InlineFragment(fragment) => (
                fragment
                    .node
                    .type_condition
                    .as_ref()
                    .map(|condition| &condition.node.on.node),
                &fragment.node.selection_set,
            ),
        };
        if condition.is_none_or(|condition| applies(ctx, root, condition))
            && !collect_fields(ctx, root, selection_set, fields)?
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether a fragment on `condition` applies to `root`: its type, or an interface it
/// implements.
fn applies<T: ContainerType>(ctx: &ContextSelectionSet<'_>, root: &T, condition: &str) -> bool {
    let type_name = root.introspection_type_name();
    type_name == condition
        || T::type_name() == condition
        || ctx
            .schema_env
            .registry
            .implements
            .get(type_name.as_ref())
            .is_some_and(|interfaces| interfaces.contains(condition))
}

/// One field's response key and value: the type's name for `__typename`, else its resolver's.
async fn resolve_field<'a, T: ContainerType>(
    ctx: &ContextSelectionSet<'a>,
    root: &T,
    field: &'a Positioned<Field>,
) -> (Name, ServerResult<Option<Value>>) {
    let key = field.node.response_key().node.clone();
    if field.node.name.node == "__typename" {
        let name = root.introspection_type_name().into_owned();
        return (key, Ok(Some(Value::String(name))));
    }
    let value = root.resolve_field(&ctx.with_field(field)).await;
    (key, value)
}

/// The object of `fields` on `root`: each resolved in place until one has to wait, then that one
/// and the rest joined. A failed field is left out and its error recorded, as the engine does
/// (the schema's field-error mending then puts `null` where the specification wants it).
///
/// One boxed future per object (besides the field list and the object's map; once a field waits,
/// `join_all`'s slice of the rest, or past 30 of them a task each): object types refer to each
/// other (a project's tasks, a task's project), so their futures would otherwise contain each
/// other.
fn resolve_fields<'a, T: ContainerType>(
    ctx: &'a ContextSelectionSet<'a>,
    root: &'a T,
    fields: &'a [&'a Positioned<Field>],
) -> Pin<Box<dyn Future<Output = Value> + Send + 'a>> {
    Box::pin(async move {
        let mut object = IndexMap::with_capacity(fields.len());
        let mut keep = |(key, value): (Name, ServerResult<Option<Value>>)| match value {
            Ok(value) => insert_value(&mut object, key, value.unwrap_or_default()),
            Err(error) => ctx.add_error(error),
        };
        let mut rest = fields.iter();
        while let Some(field) = rest.next() {
            let mut resolving = pin!(resolve_field(ctx, root, field));
            if let Poll::Ready(resolved) = futures_util::poll!(resolving.as_mut()) {
                keep(resolved);
                continue;
            }
            let others = rest.map(|field| resolve_field(ctx, root, field));
            let (resolved, others) = future::join(resolving, future::join_all(others)).await;
            keep(resolved);
            others.into_iter().for_each(&mut keep);
            break;
        }
        if object.is_empty() {
            Value::Null
        } else {
            Value::Object(object)
        }
    })
}

/// Adds `value` under `name`, merging it into an object or list already there (the same
/// response key selected twice, with different sub-selections), as the engine does.
fn insert_value(object: &mut IndexMap<Name, Value>, name: Name, value: Value) {
    let Some(existing) = object.get_mut(&name) else {
        object.insert(name, value);
        return;
    };
    match (existing, value) {
        (Value::Object(existing), Value::Object(value)) => {
            for (name, value) in value {
                insert_value(existing, name, value);
            }
        }
        (Value::List(existing), Value::List(value)) => {
            for (existing, value) in existing.iter_mut().zip(value) {
                if let (Value::Object(existing), Value::Object(value)) = (existing, value) {
                    for (name, value) in value {
                        insert_value(existing, name, value);
                    }
                }
            }
        }
        _ => {}
    }
}
