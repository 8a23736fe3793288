//! Field errors as the GraphQL specification handles them (October 2021, 6.4.4): a field whose
//! resolver or guard fails is `null` in `data` when its type is nullable, and the error (with its
//! `path`) goes to `errors`; a failed non-null field makes its parent `null` instead, up to the
//! nearest nullable field or list item, or `data` itself.
//!
//! async-graphql 7.2 leaves the key of a failed field out of its parent object (and turns an
//! object whose every field failed into `null`). Clients generated from the schema (Apollo
//! iOS/Kotlin codegen, Apollo Client's cache) treat a missing key as a broken response.
//! [`mend`] mends the engine's response once it is complete: every error with a path names a
//! field, whose declared type ([`FieldTypes`], read from the schema's SDL) says whether that
//! position may be `null`.
//!
//! After the response, not around each field: an async-graphql extension is called for every
//! field and list item the engine resolves (a boxed future, a look-up of the field's type, two
//! type names formatted per list item), whether it has anything to do or not. That cost a fifth
//! of the server's CPU on a nested page of 20 projects × 10 tasks (`pages` benchmark,
//! `PAGES_CASES=assignee`); a response without errors now costs nothing here.

use std::collections::HashMap;

use async_graphql::{
    PathSegment, Positioned, Response, ServerError, Value,
    parser::types::{
        BaseType, ExecutableDocument, Field, OperationDefinition, OperationType, Selection,
        SelectionSet, Type,
    },
};

use super::{limits::MAX_NESTING, selected_operation};
use crate::errors::argument_error;

/// The declared type of every field of the schema's object types, read from its SDL
/// (introspection's own types are not in it: an error under `__schema` is left as the engine
/// gave it).
#[derive(Debug, Default)]
pub(crate) struct FieldTypes {
    fields: HashMap<(String, String), Type>,
}

impl FieldTypes {
    /// The table of `sdl`'s object types. SDL that does not parse gives an empty table (every
    /// error is then left as the engine gave it), logged.
    pub(crate) fn from_sdl(sdl: &str) -> Self {
        let mut fields = HashMap::new();
        for (name, object) in super::sdl_object_types(sdl, "field errors are not mended") {
            for field in object.fields {
                let key = (name.clone(), field.node.name.node.to_string());
                fields.insert(key, field.node.ty.node);
            }
        }
        Self { fields }
    }

    fn of(&self, object: &str, field: &str) -> Option<&Type> {
        // Two small strings per failed field: this runs only for errors.
        self.fields.get(&(object.to_owned(), field.to_owned()))
    }
}

/// [`apply`] to the response of the request whose text is `query`, parsed again only when some
/// error names a field (a refused document's errors name none, and its text may be as large as
/// the body limit allows).
pub(crate) fn mend(
    types: &FieldTypes,
    query: &str,
    operation_name: Option<&str>,
    response: &mut Response,
) {
    if response.errors.iter().all(|error| error.path.is_empty()) {
        return;
    }
    if let Ok(document) = async_graphql::parser::parse_query(query) {
        apply(types, &document, operation_name, response);
    }
}

/// Mends `response`, the engine's answer to `operation_name` in `document`: each failed field
/// (an error with a path) becomes `null` where it may be, or nulls its nearest nullable
/// ancestor, or `data`. An error raised reading one of the field's arguments is coded as that
/// argument's. Errors without a path (the request's own) are left alone.
fn apply(
    types: &FieldTypes,
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    response: &mut Response,
) {
    let Some(operation) = selected_operation(document, operation_name) else {
        return;
    };
    let mut carried_up = Vec::new();
    // One walk of the document per field, however many list items it failed in: the route
    // depends on the response keys only, not on the list indexes.
    let mut routes = HashMap::new();
    for error in &mut response.errors {
        if error.path.is_empty() {
            continue;
        }
        let keys: Vec<Option<String>> = error
            .path
            .iter()
            .map(|segment| match segment {
                PathSegment::Field(key) => Some(key.clone()),
                PathSegment::Index(_) => None,
            })
            .collect();
        let route = routes
            .entry(keys)
            .or_insert_with(|| Route::find(types, document, operation, &error.path));
        let Some(route) = route else {
            continue;
        };
        code_argument_error(error, route.field);
        if route.nullable.last() == Some(&true) {
            null_failed(&mut response.data, &error.path, &route.siblings);
        } else {
            // The nearest nullable position above the failed field.
            let parent = route.nullable[..route.nullable.len() - 1]
                .iter()
                .rposition(|nullable| *nullable);
            carried_up.push((error.path.clone(), parent));
        }
    }
    // After every nullable failure is in place, so that an object the engine turned into `null`
    // (all its fields failed) is rebuilt first and nulled again only when it must be.
    for (path, parent) in carried_up {
        match parent {
            Some(index) => null_reached(&mut response.data, &path[..=index]),
            None => response.data = Value::Null,
        }
    }
}

/// An error the engine raised reading an argument (an `Int` out of range: validation checks
/// only that it is a whole number) is reported at that argument's value.
fn code_argument_error(error: &mut ServerError, field: &Field) {
    if let Some((name, _)) = field
        .arguments
        .iter()
        .find(|(_, value)| error.locations.first() == Some(&value.pos))
    {
        argument_error(error, name.node.as_str());
    }
}

/// What a failed field's path leads through.
struct Route<'d> {
    /// Whether each position on the path (field or list item) may be `null`.
    nullable: Vec<bool>,
    /// The failed field (the last field on the path).
    field: &'d Field,
    /// The response keys of the failed field's parent selection, in order.
    siblings: Vec<&'d str>,
}

impl<'d> Route<'d> {
    /// The route of `path` in `operation`, or `None` when some step is not in the table
    /// (introspection, `__typename`) or does not fit the document.
    fn find(
        types: &FieldTypes,
        document: &'d ExecutableDocument,
        operation: &'d OperationDefinition,
        path: &[PathSegment],
    ) -> Option<Self> {
        let mut object = match operation.ty {
            OperationType::Query => "Query",
            OperationType::Mutation => "Mutation",
            OperationType::Subscription => "Subscription",
        }
        .to_owned();
        let mut sets = vec![&operation.selection_set.node];
        let mut position: Option<&Type> = None;
        let mut nullable = Vec::with_capacity(path.len());
        let mut last = None;
        for segment in path {
            match segment {
                PathSegment::Field(key) => {
                    if let Some(position) = position {
                        let BaseType::Named(name) = &position.base else {
                            return None;
                        };
                        object = name.to_string();
                    }
                    let mut selected = Selected::default();
                    for set in &sets {
                        selected.collect(document, set, key, 0);
                    }
                    let field = &selected.fields.first()?.node;
                    let declared = types.of(&object, field.name.node.as_str())?;
                    nullable.push(declared.nullable);
                    position = Some(declared);
                    sets = selected
                        .fields
                        .iter()
                        .map(|field| &field.node.selection_set.node)
                        .collect();
                    last = Some((field, selected.keys));
                }
                PathSegment::Index(_) => {
                    let BaseType::List(item) = &position?.base else {
                        return None;
                    };
                    nullable.push(item.nullable);
                    position = Some(item);
                }
            }
        }
        let (field, siblings) = last?;
        Some(Self {
            nullable,
            field,
            siblings,
        })
    }
}

/// The fields of one selection (fragments and inline fragments followed) answering at one
/// response key, and every response key of that selection in order.
#[derive(Default)]
struct Selected<'d> {
    fields: Vec<&'d Positioned<Field>>,
    keys: Vec<&'d str>,
}

impl<'d> Selected<'d> {
    fn collect(
        &mut self,
        document: &'d ExecutableDocument,
        set: &'d SelectionSet,
        key: &str,
        nesting: usize,
    ) {
        if nesting > MAX_NESTING {
            return;
        }
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    let response_key = field.node.response_key().node.as_str();
                    if !self.keys.contains(&response_key) {
                        self.keys.push(response_key);
                    }
                    if response_key == key {
                        self.fields.push(field);
                    }
                }
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node)
                    {
                        self.collect(
                            document,
                            &fragment.node.selection_set.node,
                            key,
                            nesting + 1,
                        );
                    }
                }
                Selection::InlineFragment(fragment) => {
                    self.collect(
                        document,
                        &fragment.node.selection_set.node,
                        key,
                        nesting + 1,
                    );
                }
            }
        }
    }
}

/// Puts `null` at `path`, a failed nullable position, in `data`. An object on the way that the
/// engine turned into `null` because every field of it failed is an object again (its fields'
/// own errors put their `null`s, or null it again, in turn). The key goes where its selection
/// puts it among `siblings`.
fn null_failed(data: &mut Value, path: &[PathSegment], siblings: &[&str]) {
    let Some((last, above)) = path.split_last() else {
        return;
    };
    let mut value = data;
    for segment in above {
        if matches!(segment, PathSegment::Field(_)) && *value == Value::Null {
            // Only an object that was resolved can hold a failed field: this `null` is the
            // engine's for "every field failed".
            *value = Value::Object(Default::default());
        }
        let Some(next) = step(value, segment) else {
            return;
        };
        value = next;
    }
    if *value == Value::Null && matches!(last, PathSegment::Field(_)) {
        *value = Value::Object(Default::default());
    }
    match (value, last) {
        (Value::Object(object), PathSegment::Field(key)) => {
            object.insert(async_graphql::Name::new(key), Value::Null);
            let order = |key: &str| siblings.iter().position(|sibling| *sibling == key);
            object.sort_by(|a, _, b, _| order(a.as_str()).cmp(&order(b.as_str())));
        }
        (Value::List(items), PathSegment::Index(index)) => {
            if let Some(item) = items.get_mut(*index) {
                *item = Value::Null;
            }
        }
        _ => {}
    }
}

/// Puts `null` at `path`, the nearest nullable position above a failed non-null field, when it
/// is still there (an earlier failure may have nulled a position above it).
fn null_reached(data: &mut Value, path: &[PathSegment]) {
    let mut value = data;
    for segment in path {
        let Some(next) = step(value, segment) else {
            return;
        };
        value = next;
    }
    *value = Value::Null;
}

fn step<'v>(value: &'v mut Value, segment: &PathSegment) -> Option<&'v mut Value> {
    match (value, segment) {
        (Value::Object(object), PathSegment::Field(key)) => object.get_mut(key.as_str()),
        (Value::List(items), PathSegment::Index(index)) => items.get_mut(*index),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Result, Schema};
    use serde_json::{Value as Json, json};

    use super::{FieldTypes, apply};

    struct Query;

    #[Object]
    impl Query {
        async fn thing(&self) -> Option<Thing> {
            Some(Thing)
        }
        async fn things(&self) -> Vec<Option<Thing>> {
            vec![Some(Thing), Some(Thing)]
        }
        async fn strict_things(&self) -> Option<Vec<Thing>> {
            Some(vec![Thing, Thing])
        }
        async fn must(&self) -> Result<i32> {
            Err("must failed".into())
        }
        async fn count(&self, n: i32) -> i32 {
            n
        }
    }

    struct Thing;

    #[Object]
    impl Thing {
        async fn ok(&self) -> i32 {
            1
        }
        async fn soft(&self) -> Result<Option<i32>> {
            Err("soft failed".into())
        }
        async fn hard(&self) -> Result<i32> {
            Err("hard failed".into())
        }
        async fn inner(&self) -> Thing {
            Thing
        }
    }

    /// The mended answer to `query`: its `data` as JSON text (keys in order, as sent) and its
    /// errors' paths.
    async fn answer(query: &str) -> (String, Vec<Json>) {
        let schema = Schema::new(Query, EmptyMutation, EmptySubscription);
        let types = FieldTypes::from_sdl(&schema.sdl());
        let mut response = schema.execute(query).await;
        let document = async_graphql::parser::parse_query(query).expect("parses");
        apply(&types, &document, None, &mut response);
        let paths = response
            .errors
            .iter()
            .map(|error| serde_json::to_value(&error.path).expect("JSON"))
            .collect();
        (serde_json::to_string(&response.data).expect("JSON"), paths)
    }

    #[tokio::test]
    async fn a_failed_nullable_field_is_null_in_its_place() {
        let (data_, paths) = answer("{ thing { ok soft } }").await;
        assert_eq!(data_, r#"{"thing":{"ok":1,"soft":null}}"#);
        assert_eq!(paths, [json!(["thing", "soft"])]);
        // In the selection's order, through aliases and fragments.
        let (data_, _) = answer(
            "{ thing { s: soft ...F ok } } fragment F on Thing { ... on Thing { t: soft } }",
        )
        .await;
        assert_eq!(data_, r#"{"thing":{"s":null,"t":null,"ok":1}}"#);
    }

    #[tokio::test]
    async fn an_object_whose_every_field_failed_is_an_object_of_nulls() {
        let (data_, paths) = answer("{ thing { soft inner { soft } } }").await;
        assert_eq!(data_, r#"{"thing":{"soft":null,"inner":{"soft":null}}}"#);
        assert_eq!(paths.len(), 2);
        let (data_, _) = answer("{ thing { soft } }").await;
        assert_eq!(data_, r#"{"thing":{"soft":null}}"#);
    }

    #[tokio::test]
    async fn a_failed_non_null_field_nulls_its_nearest_nullable_ancestor() {
        let (data_, paths) = answer("{ thing { ok inner { ok hard } } count(n: 2) }").await;
        assert_eq!(data_, r#"{"thing":null,"count":2}"#);
        assert_eq!(paths, [json!(["thing", "inner", "hard"])]);
        // With a nullable sibling failed too: both errors, one null.
        let (data_, paths) = answer("{ thing { soft hard } }").await;
        assert_eq!(data_, r#"{"thing":null}"#);
        assert_eq!(paths.len(), 2);
        // A nullable list item.
        let (data_, _) = answer("{ things { ok hard } }").await;
        assert_eq!(data_, r#"{"things":[null,null]}"#);
        // Non-null items in a nullable list: the list.
        let (data_, _) = answer("{ strictThings { ok hard } count(n: 1) }").await;
        assert_eq!(data_, r#"{"strictThings":null,"count":1}"#);
    }

    #[tokio::test]
    async fn a_failed_non_null_root_field_nulls_data() {
        let (data_, paths) = answer("{ count(n: 1) must }").await;
        assert_eq!(data_, "null");
        assert_eq!(paths, [json!(["must"])]);
    }

    #[tokio::test]
    async fn an_argument_the_engine_cannot_read_is_coded_at_that_argument() {
        let schema = Schema::new(Query, EmptyMutation, EmptySubscription);
        let query = "{ thing { ok } count(n: 3000000000) }";
        let mut response = schema.execute(query).await;
        let document = async_graphql::parser::parse_query(query).expect("parses");
        apply(
            &FieldTypes::from_sdl(&schema.sdl()),
            &document,
            None,
            &mut response,
        );
        let errors = serde_json::to_value(&response.errors).expect("JSON");
        assert_eq!(errors[0]["extensions"]["field"], "n", "{errors}");
    }
}
