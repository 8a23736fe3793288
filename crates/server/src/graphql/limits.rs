//! Limits on a document's shape, checked before anything else looks at it.
//!
//! **Size.** The fields a document selects, counted as executed (a fragment spread twice counts
//! twice), may not exceed `MAX_QUERY_COMPLEXITY` (every field costs at least 1 there). Fragments
//! that spread the next one twice at each of 30 levels make a 1 kB document select 2^30 fields;
//! the engine's own complexity and validation walks follow every spread and would take hours,
//! so this count, linear in the document (each fragment counted once), refuses it first.
//!
//! **Aliases.** A document (its operations and fragments, each counted once) may not hold more
//! than `MAX_QUERY_ALIASES` aliases: aliases are how one request asks for the same costly field
//! many times over.
//!
//! **Depth.** Data selections may nest
//! `MAX_QUERY_DEPTH` fields; the subtree of a root `__schema` or `__type` field has its own
//! bound, `MAX_INTROSPECTION_DEPTH`, so that the standard introspection queries (GraphiQL's and
//! graphql-js's nest type references nine `ofType` levels: 15 fields deep) pass while data
//! queries keep their limit.
//!
//! Depth counts the fields on a path from the root: `{ me { username } }` is 2. Fragment spreads
//! and inline fragments add no level of their own; their fields count where they are spread.
//! This runs before validation, so a document may spread unknown fragments (they count 0 here;
//! validation refuses them) or spread a fragment within itself (refused here, never followed).
//! Each fragment is measured once, so the work is linear in the size of the document however
//! often its fragments are spread.

use std::collections::HashMap;

use async_graphql::{
    Name, Positioned, ServerError,
    parser::types::{ExecutableDocument, FragmentDefinition, Selection, SelectionSet},
};

use crate::errors::{ErrorCode, request_error};

/// Most nested selection sets and fragment spreads followed, whatever the limits: bounds the
/// walk's recursion (async-graphql itself refuses documents nested more than 32 levels before
/// this check runs).
pub const MAX_NESTING: usize = 128;

/// Root fields whose subtree is bounded by [`ShapeLimits::introspection`].
const INTROSPECTION_ROOTS: [&str; 2] = ["__schema", "__type"];

/// The depth bounds, in fields on a path from the root (the root field counts 1), and the size
/// bound, in fields selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShapeLimits {
    /// For every root field but `__schema` and `__type` (`MAX_QUERY_DEPTH`, default 12).
    pub data: usize,
    /// For root `__schema` and `__type` fields (`MAX_INTROSPECTION_DEPTH`, default 20).
    pub introspection: usize,
    /// Fields selected, spreads expanded (`MAX_QUERY_COMPLEXITY`, default 5000).
    pub fields: usize,
    /// Aliases in the document's operations and fragments (`MAX_QUERY_ALIASES`, default 30).
    pub aliases: usize,
}

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShapeError {
    /// A data selection nests deeper than [`ShapeLimits::data`].
    #[error("Query is nested too deep: {depth} levels of fields; at most {limit} are allowed.")]
    Data {
        /// The deepest data path, in fields.
        depth: usize,
        /// The limit.
        limit: usize,
    },
    /// An introspection selection nests deeper than [`ShapeLimits::introspection`].
    #[error(
        "Introspection is nested too deep: {depth} levels of fields; at most {limit} are allowed."
    )]
    Introspection {
        /// The deepest `__schema`/`__type` path, in fields.
        depth: usize,
        /// The limit.
        limit: usize,
    },
    /// More fields selected, fragment spreads expanded, than [`ShapeLimits::fields`].
    #[error("Query is too complex: it selects more than {limit} fields.")]
    Fields {
        /// The limit.
        limit: usize,
    },
    /// The engine's complexity of the operation (each field 1, a list page its `first` times
    /// its items' selection) above [`ShapeLimits::fields`]; checked once the document
    /// validates.
    #[error("Query is too complex: its complexity is over {limit}.")]
    Complexity {
        /// The limit.
        limit: usize,
    },
    /// More aliases in the document than [`ShapeLimits::aliases`].
    #[error("the query has {count} aliases; at most {limit} are allowed")]
    Aliases {
        /// Aliases in the document.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// Selection sets and fragment spreads nested more than [`MAX_NESTING`] levels.
    #[error("Query is nested too deep: more than {MAX_NESTING} levels of selections.")]
    Nesting,
    /// A fragment spreads itself, directly or through others.
    #[error("Cannot spread fragment \"{0}\" within itself.")]
    FragmentCycle(String),
}

impl ShapeError {
    /// The `extensions.code` clients see.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Data { .. } | Self::Introspection { .. } | Self::Nesting => ErrorCode::TooDeep,
            Self::Fields { .. } | Self::Complexity { .. } => ErrorCode::TooComplex,
            Self::Aliases { .. } => ErrorCode::TooManyAliases,
            Self::FragmentCycle(_) => ErrorCode::ValidationFailed,
        }
    }

    /// The `extensions.reason`: which bound was passed.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Data { .. } => "query_depth",
            Self::Introspection { .. } => "introspection_depth",
            Self::Nesting => "nesting",
            Self::Fields { .. } => "fields",
            Self::Complexity { .. } => "complexity",
            Self::Aliases { .. } => "aliases",
            Self::FragmentCycle(_) => "fragment_cycle",
        }
    }
}

impl From<ShapeError> for ServerError {
    fn from(error: ShapeError) -> Self {
        let mut server_error = request_error(error.code(), error.to_string());
        if let Some(extensions) = server_error.extensions.as_mut() {
            extensions.set("reason", error.reason());
        }
        server_error
    }
}

/// The deepest data and introspection paths of `document`'s operations (every operation: the
/// one to run is chosen later).
///
/// # Errors
/// [`ShapeError::FragmentCycle`] and [`ShapeError::Nesting`]; never a limit error.
pub fn measure(document: &ExecutableDocument) -> Result<Depths, ShapeError> {
    let mut walk = Walk::new(document);
    let mut depths = Depths::default();
    for (_, operation) in document.operations.iter() {
        let found = walk.root(&operation.node.selection_set.node, 0)?;
        depths = depths.max(found);
    }
    Ok(depths)
}

/// Refuses `document` when it has too many aliases, a path is deeper than its bound or it
/// selects too many fields.
///
/// # Errors
/// A [`ShapeError`]: a limit passed, a fragment cycle, or absurd nesting.
pub fn check(document: &ExecutableDocument, limits: ShapeLimits) -> Result<(), ShapeError> {
    let depths = measure(document)?;
    let aliases = count_aliases(document);
    if aliases > limits.aliases {
        return Err(ShapeError::Aliases {
            count: aliases,
            limit: limits.aliases,
        });
    }
    if selected_fields(document) > limits.fields as u64 {
        return Err(ShapeError::Fields {
            limit: limits.fields,
        });
    }
    if depths.data > limits.data {
        return Err(ShapeError::Data {
            depth: depths.data,
            limit: limits.data,
        });
    }
    if depths.introspection > limits.introspection {
        return Err(ShapeError::Introspection {
            depth: depths.introspection,
            limit: limits.introspection,
        });
    }
    Ok(())
}

/// Aliases in every operation and fragment of `document`, each written once (call after
/// [`measure`], which bounds the nesting).
fn count_aliases(document: &ExecutableDocument) -> usize {
    fn in_set(set: &SelectionSet) -> usize {
        set.items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(field) => {
                    usize::from(field.node.alias.is_some()) + in_set(&field.node.selection_set.node)
                }
                Selection::InlineFragment(fragment) => in_set(&fragment.node.selection_set.node),
                Selection::FragmentSpread(_) => 0,
            })
            .sum()
    }
    document
        .operations
        .iter()
        .map(|(_, op)| in_set(&op.node.selection_set.node))
        .chain(
            document
                .fragments
                .values()
                .map(|fragment| in_set(&fragment.node.selection_set.node)),
        )
        .sum()
}

/// The fields `document`'s operations select, every spread expanded, saturating (call after
/// [`measure`], which refuses cycles and absurd nesting). Each fragment is counted once.
pub fn selected_fields(document: &ExecutableDocument) -> u64 {
    fn count<'a>(
        set: &'a SelectionSet,
        fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
        counted: &mut HashMap<&'a str, u64>,
    ) -> u64 {
        set.items.iter().fold(0u64, |total, item| {
            let here = match &item.node {
                Selection::Field(field) => {
                    1u64.saturating_add(count(&field.node.selection_set.node, fragments, counted))
                }
                Selection::InlineFragment(inline) => {
                    count(&inline.node.selection_set.node, fragments, counted)
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    match (counted.get(name), fragments.get_key_value(name)) {
                        (Some(known), _) => *known,
                        (None, None) => 0,
                        (None, Some((name, fragment))) => {
                            // Cycles were refused by `measure`; a cycle here counts 0, never
                            // recursing forever.
                            counted.insert(name.as_str(), 0);
                            let size = count(&fragment.node.selection_set.node, fragments, counted);
                            counted.insert(name.as_str(), size);
                            size
                        }
                    }
                }
            };
            total.saturating_add(here)
        })
    }
    let mut counted = HashMap::new();
    document
        .operations
        .iter()
        .fold(0u64, |total, (_, operation)| {
            total.saturating_add(count(
                &operation.node.selection_set.node,
                &document.fragments,
                &mut counted,
            ))
        })
}

/// The deepest paths of a document, in fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Depths {
    /// Through root fields other than `__schema` and `__type`.
    pub data: usize,
    /// Through root `__schema` and `__type` fields.
    pub introspection: usize,
}

impl Depths {
    fn max(self, other: Self) -> Self {
        Self {
            data: self.data.max(other.data),
            introspection: self.introspection.max(other.introspection),
        }
    }
}

/// A fragment being measured (a spread of it now is a cycle), or its measure.
#[derive(Debug, Clone, Copy)]
enum Memo<T> {
    InProgress,
    Done(T),
}

/// One measurement of a document: each fragment is measured once as a nested selection and
/// once as a root selection.
struct Walk<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    /// Fragment name to the deepest path of fields within it.
    heights: HashMap<&'a str, Memo<usize>>,
    /// Fragment name to its depths when spread at the root of an operation.
    roots: HashMap<&'a str, Memo<Depths>>,
}

impl<'a> Walk<'a> {
    fn new(document: &'a ExecutableDocument) -> Self {
        Self {
            fragments: &document.fragments,
            heights: HashMap::new(),
            roots: HashMap::new(),
        }
    }

    /// The depths of an operation's root selection set (or of a selection spread into it).
    fn root(&mut self, set: &'a SelectionSet, nesting: usize) -> Result<Depths, ShapeError> {
        if nesting > MAX_NESTING {
            return Err(ShapeError::Nesting);
        }
        let mut depths = Depths::default();
        for item in &set.items {
            let found = match &item.node {
                Selection::Field(field) => {
                    let depth = self.field_depth(&field.node.selection_set.node, nesting)?;
                    if INTROSPECTION_ROOTS.contains(&field.node.name.node.as_str()) {
                        Depths {
                            data: 0,
                            introspection: depth,
                        }
                    } else {
                        Depths {
                            data: depth,
                            introspection: 0,
                        }
                    }
                }
                Selection::InlineFragment(inline) => {
                    self.root(&inline.node.selection_set.node, nesting + 1)?
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    match self.roots.get(name) {
                        Some(Memo::Done(depths)) => *depths,
                        Some(Memo::InProgress) => {
                            return Err(ShapeError::FragmentCycle(name.to_owned()));
                        }
                        None => match self.fragments.get_key_value(name) {
                            // Unknown: validation reports it.
                            None => Depths::default(),
                            Some((name, fragment)) => {
                                let name = name.as_str();
                                self.roots.insert(name, Memo::InProgress);
                                let depths =
                                    self.root(&fragment.node.selection_set.node, nesting + 1)?;
                                self.roots.insert(name, Memo::Done(depths));
                                depths
                            }
                        },
                    }
                }
            };
            depths = depths.max(found);
        }
        Ok(depths)
    }

    /// The depth of a field with this selection set: 1 for a leaf.
    fn field_depth(&mut self, set: &'a SelectionSet, nesting: usize) -> Result<usize, ShapeError> {
        if set.items.is_empty() {
            Ok(1)
        } else {
            Ok(1 + self.height(set, nesting + 1)?)
        }
    }

    /// The deepest path of fields within a nested selection set.
    fn height(&mut self, set: &'a SelectionSet, nesting: usize) -> Result<usize, ShapeError> {
        if nesting > MAX_NESTING {
            return Err(ShapeError::Nesting);
        }
        let mut height = 0;
        for item in &set.items {
            let found = match &item.node {
                Selection::Field(field) => {
                    self.field_depth(&field.node.selection_set.node, nesting)?
                }
                Selection::InlineFragment(inline) => {
                    self.height(&inline.node.selection_set.node, nesting + 1)?
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    match self.heights.get(name) {
                        Some(Memo::Done(height)) => *height,
                        Some(Memo::InProgress) => {
                            return Err(ShapeError::FragmentCycle(name.to_owned()));
                        }
                        None => match self.fragments.get_key_value(name) {
                            None => 0,
                            Some((name, fragment)) => {
                                let name = name.as_str();
                                self.heights.insert(name, Memo::InProgress);
                                let height =
                                    self.height(&fragment.node.selection_set.node, nesting + 1)?;
                                self.heights.insert(name, Memo::Done(height));
                                height
                            }
                        },
                    }
                }
            };
            height = height.max(found);
        }
        Ok(height)
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "a test fails loudly on the first surprise"
    )]

    use super::*;

    fn depths(query: &str) -> Result<Depths, ShapeError> {
        measure(&async_graphql::parser::parse_query(query).unwrap())
    }

    fn data(depth: usize) -> Depths {
        Depths {
            data: depth,
            introspection: 0,
        }
    }

    #[test]
    fn depth_counts_fields_not_fragments() {
        assert_eq!(depths("{ __typename }"), Ok(data(1)));
        assert_eq!(depths("{ me { username } }"), Ok(data(2)));
        assert_eq!(
            depths("{ me { ... on Me { username } } ...F } fragment F on Query { a { b { c } } }"),
            Ok(data(3))
        );
        // A fragment spread in several places counts where it is spread.
        assert_eq!(
            depths("{ a { ...F } b { c { ...F } } } fragment F on T { x { y } }"),
            Ok(data(4))
        );
        assert_eq!(depths("{ a { ...Unknown } }"), Ok(data(1)));
    }

    #[test]
    fn introspection_is_measured_apart_from_data() {
        assert_eq!(
            depths("{ __schema { types { name } } me { sub } }"),
            Ok(Depths {
                data: 2,
                introspection: 3
            })
        );
        assert_eq!(
            depths(
                "{ ... on Query { __type(name: \"Query\") { name } } ...R } fragment R on Query { __schema { queryType { name } } }"
            ),
            Ok(Depths {
                data: 0,
                introspection: 3
            })
        );
        // Only at the root: a nested `__type` is data (and invalid).
        assert_eq!(depths("{ me { __type { name } } }"), Ok(data(3)));
    }

    #[test]
    fn cycles_are_refused_not_followed() {
        for query in [
            "{ ...A } fragment A on Query { ...A }",
            "{ me { ...A } } fragment A on Me { ...B } fragment B on Me { x { ...A } }",
            "{ ...A } fragment A on Query { ... on Query { ...B } } fragment B on Query { ...A }",
        ] {
            assert!(
                matches!(depths(query), Err(ShapeError::FragmentCycle(_))),
                "{query}"
            );
        }
    }

    #[test]
    fn nesting_is_bounded() {
        // The parser bounds nesting within one definition (64); a chain of fragments is not.
        let chain = |links: usize| {
            let mut query = String::from("{ a { ...F0 } }\n");
            for link in 0..links {
                query.push_str(&format!("fragment F{link} on T {{ ...F{} }}\n", link + 1));
            }
            query.push_str(&format!("fragment F{links} on T {{ b }}\n"));
            query
        };
        assert_eq!(depths(&chain(MAX_NESTING - 2)), Ok(data(2)));
        assert_eq!(depths(&chain(MAX_NESTING)), Err(ShapeError::Nesting));
    }

    #[test]
    fn fragments_are_measured_once() {
        // Each fragment spreads the next one 8 times, 12 levels down: 8^12 paths if each
        // spread were walked again; measured once each, this takes no time.
        let mut query = String::from("{ ...F0 }\nfragment F0 on Query { a { ");
        query.push_str(&"...F1 ".repeat(8));
        query.push_str("} }\n");
        for level in 1..12 {
            query.push_str(&format!("fragment F{level} on T {{ a {{ "));
            query.push_str(&format!("...F{} ", level + 1).repeat(8));
            query.push_str("} }\n");
        }
        query.push_str("fragment F12 on T { leaf }\n");
        assert_eq!(depths(&query), Ok(data(13)));
    }

    #[test]
    fn check_names_the_bound_passed() {
        let limits = ShapeLimits {
            data: 2,
            introspection: 3,
            fields: 100,
            aliases: 30,
        };
        let parse = |q| async_graphql::parser::parse_query(q).unwrap();
        assert_eq!(check(&parse("{ me { sub } }"), limits), Ok(()));
        assert_eq!(
            check(&parse("{ me { a { b } } }"), limits),
            Err(ShapeError::Data { depth: 3, limit: 2 })
        );
        assert_eq!(
            check(&parse("{ __schema { types { name } } }"), limits),
            Ok(())
        );
        assert_eq!(
            check(&parse("{ __schema { types { fields { name } } } }"), limits),
            Err(ShapeError::Introspection { depth: 4, limit: 3 })
        );
    }

    /// Fragments that spread the next one twice, `levels` deep: 2^levels leaf fields.
    fn doubling(levels: usize) -> String {
        let mut query = String::from("{ ...F0 }\n");
        for i in 0..levels {
            query.push_str(&format!(
                "fragment F{i} on Query {{ ...F{} ...F{} }}\n",
                i + 1,
                i + 1
            ));
        }
        query.push_str(&format!("fragment F{levels} on Query {{ leaf }}\n"));
        query
    }

    #[test]
    fn spreads_count_as_often_as_they_run_and_each_fragment_is_counted_once() {
        let parse = |q: &str| async_graphql::parser::parse_query(q).unwrap();
        assert_eq!(selected_fields(&parse("{ a b { c d } }")), 4);
        assert_eq!(selected_fields(&parse(&doubling(3))), 8);
        // 2^60 fields, counted in microseconds.
        assert_eq!(selected_fields(&parse(&doubling(60))), 1 << 60);
        let limits = ShapeLimits {
            data: 12,
            introspection: 20,
            fields: 5000,
            aliases: 30,
        };
        assert_eq!(
            check(&parse(&doubling(30)), limits),
            Err(ShapeError::Fields { limit: 5000 })
        );
    }
}
