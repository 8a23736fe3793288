//! `INTROSPECTION=off`: whether a document's operation asks for `__schema` or `__type` (the
//! schema's [`DocumentRules`](super::document_rules::DocumentRules) then refuses it with
//! `INTROSPECTION_DISABLED` before it runs).
//!
//! The root selection is searched through inline fragments and fragment spreads, so
//! `{ ... on Query { __schema { types { name } } } }` is refused like `{ __schema { … } }`.
//! `__typename` stays allowed: it is not introspection of the schema.

use std::collections::HashSet;

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

use crate::graphql::selected_operation;

/// Whether the operation that would run (`name`, or the only one) selects `__schema` or
/// `__type` at its root. No such operation: `false`, the engine refuses the request itself.
pub(super) fn asks_for_schema(document: &ExecutableDocument, name: Option<&str>) -> bool {
    selected_operation(document, name).is_some_and(|operation| {
        root_selects_schema(document, &operation.selection_set.node, &mut HashSet::new())
    })
}

/// Whether `set`, a root selection, selects `__schema` or `__type`, through inline fragments and
/// fragment spreads (each fragment followed once, so a cycle ends).
fn root_selects_schema<'d>(
    document: &'d ExecutableDocument,
    set: &'d SelectionSet,
    followed: &mut HashSet<&'d str>,
) -> bool {
    set.items.iter().any(|item| match &item.node {
        Selection::Field(field) => matches!(field.node.name.node.as_str(), "__schema" | "__type"),
        Selection::InlineFragment(fragment) => {
            root_selects_schema(document, &fragment.node.selection_set.node, followed)
        }
        Selection::FragmentSpread(spread) => {
            let name = spread.node.fragment_name.node.as_str();
            followed.insert(name)
                && document.fragments.get(name).is_some_and(|fragment| {
                    root_selects_schema(document, &fragment.node.selection_set.node, followed)
                })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::asks_for_schema;

    fn asks(query: &str, name: Option<&str>) -> bool {
        let document = async_graphql::parser::parse_query(query).expect("a document");
        asks_for_schema(&document, name)
    }

    #[test]
    fn finds_schema_and_type_at_the_root_through_fragments() {
        assert!(asks("{ __schema { queryType { name } } }", None));
        assert!(asks("{ __type(name: \"Query\") { name } }", None));
        assert!(asks(
            "{ ... on Query { __schema { types { name } } } }",
            None
        ));
        assert!(asks(
            "{ ...A } fragment A on Query { ...B } fragment B on Query { __schema { types { name } } }",
            None
        ));
        assert!(asks(
            "query Data { me { sub } } query Schema { __schema { types { name } } }",
            Some("Schema")
        ));
    }

    #[test]
    fn leaves_data_typename_and_cycles_alone() {
        assert!(!asks("{ me { sub } __typename }", None));
        assert!(!asks(
            "query Data { me { sub } } query Schema { __schema { types { name } } }",
            Some("Data")
        ));
        assert!(!asks("{ ...A } fragment A on Query { ...A }", None));
        // Nested deeper than the root is not the root: such a field does not exist there, and
        // validation refuses it.
        assert!(!asks("{ me { __typename } }", None));
    }
}
