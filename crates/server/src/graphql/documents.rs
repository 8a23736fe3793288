//! Parsed GraphQL documents, remembered by their text.
//!
//! The clients this service is built for send a fixed set of documents again and again (Apollo,
//! Amplify and generated clients never build query text per request), and parsing is the
//! largest single cost of a small request: about 12 µs of the 20 µs async-graphql spends on
//! `{ me { sub groups } }` (measured with `perf`, see the README's benchmarks). A document seen
//! before is cloned from here instead (its names are shared, so a clone is a few allocations).
//!
//! Bounded: at most [`CAPACITY_BYTES`] of query text, each entry weighed at ten times its text
//! (about what its syntax tree takes), documents over [`MAX_CACHED_BYTES`] never kept; entries
//! are evicted least-frequently-used first (moka's TinyLFU), so a stream of one-off documents
//! cannot push out the ones in use. Keys are compared whole, with a randomly keyed hash, so no
//! text can be mistaken for another or collide on purpose. Only documents that parse are kept:
//! errors are parsed again each time, as cheaply as the first.
//!
//! A remembered document also remembers the engine's verdict on it: a request without variables
//! whose document passed validation before under the same operation name gets that result
//! again ([`ValidationMemo`]) instead of a second run of every validation rule (about 2 µs of
//! `{ me { sub groups } }`). Validation is a function of the schema, the document, the operation
//! name and the variables; with the same text, the same name and no variables, it has nothing
//! new to say. Only passing results are kept; a document that fails is validated every time.

use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::{
    Request, ServerError, ValidationResult,
    parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition},
};

/// The most memory the cache may hold, counted as [`WEIGHT_PER_BYTE`] × text bytes.
pub(crate) const CAPACITY_BYTES: u64 = 16 * 1024 * 1024;
/// Documents longer than this (bytes of text) are parsed every time.
pub(crate) const MAX_CACHED_BYTES: usize = 64 * 1024;
/// A parsed document takes roughly this many bytes per byte of its text.
const WEIGHT_PER_BYTE: u32 = 10;
/// Validation results remembered per document (one per operation name asked for).
const MAX_VALIDATED_OPERATIONS: usize = 8;

/// A document as remembered, with the validation results it earned.
#[derive(Debug)]
struct Remembered {
    document: ExecutableDocument,
    /// Passing results of the engine's validation without variables, by operation name.
    validated: Mutex<Vec<(Option<String>, ValidationResult)>>,
}

/// Set in a request's data when an earlier validation result may serve it: its document is
/// remembered and it has no variables. The schema's validation hook
/// ([`DocumentRules`](super::document_rules::DocumentRules)) reads it.
#[derive(Debug)]
pub(crate) struct ValidationMemo {
    remembered: Arc<Remembered>,
    operation_name: Option<String>,
}

impl ValidationMemo {
    /// The result an earlier request with this document and operation name passed with.
    pub(crate) fn result(&self) -> Option<ValidationResult> {
        self.remembered
            .validated
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|(name, _)| *name == self.operation_name)
            .map(|(_, result)| *result)
    }

    /// Remembers that the document passed validation under this operation name with `result`
    /// (the first [`MAX_VALIDATED_OPERATIONS`] names only).
    pub(crate) fn remember(&self, result: ValidationResult) {
        let mut validated = self
            .remembered
            .validated
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if validated.len() < MAX_VALIDATED_OPERATIONS
            && !validated
                .iter()
                .any(|(name, _)| *name == self.operation_name)
        {
            validated.push((self.operation_name.clone(), result));
        }
    }
}

/// The cache (cheap to clone: clones share it).
#[derive(Clone)]
pub struct DocumentCache {
    documents: moka::sync::Cache<String, Arc<Remembered>>,
}

impl std::fmt::Debug for DocumentCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentCache")
            .field("entries", &self.documents.entry_count())
            .finish()
    }
}

impl Default for DocumentCache {
    fn default() -> Self {
        Self {
            documents: moka::sync::Cache::builder()
                .max_capacity(CAPACITY_BYTES)
                .weigher(|text: &String, _| {
                    u32::try_from(text.len())
                        .unwrap_or(u32::MAX)
                        .saturating_mul(WEIGHT_PER_BYTE)
                })
                .build(),
        }
    }
}

impl DocumentCache {
    /// The document of `request`'s query: from the cache, or parsed (and remembered). Either way
    /// it is set on the request, so the engine does not parse it again; a remembered document's
    /// validation memo is added to the request's data when the request has no variables.
    ///
    /// # Errors
    /// The query does not parse (the engine's syntax error, with its position).
    pub fn parse<'r>(
        &self,
        request: &'r mut Request,
    ) -> Result<&'r ExecutableDocument, ServerError> {
        if request.query.len() <= MAX_CACHED_BYTES {
            let remembered = if let Some(remembered) = self.documents.get(request.query.as_str()) {
                request.set_parsed_query(remembered.document.clone());
                remembered
            } else {
                let remembered = Arc::new(Remembered {
                    document: request.parsed_query()?.clone(),
                    validated: Mutex::default(),
                });
                self.documents
                    .insert(request.query.clone(), Arc::clone(&remembered));
                remembered
            };
            if request.variables.is_empty() {
                let memo = ValidationMemo {
                    remembered,
                    operation_name: request.operation_name.clone(),
                };
                request.data.insert(memo);
            }
        }
        request.parsed_query()
    }

    /// How many documents are remembered (after pending maintenance).
    pub fn len(&self) -> u64 {
        self.documents.run_pending_tasks();
        self.documents.entry_count()
    }

    /// Whether no document is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The operation of `document` that a request naming `name` runs: the named one, or the only
/// one. `None` when there is no such operation (the engine refuses the request then).
pub(crate) fn selected_operation<'d>(
    document: &'d ExecutableDocument,
    name: Option<&str>,
) -> Option<&'d OperationDefinition> {
    let operation = match (&document.operations, name) {
        (DocumentOperations::Single(operation), _) => Some(operation),
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next()
        }
        (DocumentOperations::Multiple(_), None) => None,
    }?;
    Some(&operation.node)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_seen_again_comes_from_the_cache_and_equals_a_fresh_parse() {
        let cache = DocumentCache::default();
        let text = "query Q($n: Int) { a: me { sub } ...F } fragment F on Query { me { groups } }";
        let mut first = Request::new(text);
        let parsed = format!("{:?}", cache.parse(&mut first).expect("parses"));
        assert_eq!(cache.len(), 1);
        let mut again = Request::new(text);
        let cached = format!("{:?}", cache.parse(&mut again).expect("parses"));
        assert_eq!(cached, parsed);
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn texts_differing_in_one_byte_are_different_documents() {
        let cache = DocumentCache::default();
        let mut a = Request::new("{ me { sub } }");
        let mut b = Request::new("{ me { sul } }");
        let a = format!("{:?}", cache.parse(&mut a).expect("parses"));
        let b = format!("{:?}", cache.parse(&mut b).expect("parses"));
        assert_ne!(a, b);
        assert_eq!(cache.len(), 2);
    }

    fn memo_of(request: &Request) -> Option<&ValidationMemo> {
        request
            .data
            .get(&std::any::TypeId::of::<ValidationMemo>())
            .and_then(|memo| memo.downcast_ref())
    }

    #[test]
    fn validation_results_are_offered_only_without_variables_and_per_operation_name() {
        let cache = DocumentCache::default();
        let text = "query A { me { sub } } query B($n: Int) { me { groups } }";
        let request = |operation: Option<&str>, variables: serde_json::Value| {
            let mut request =
                Request::new(text).variables(async_graphql::Variables::from_json(variables));
            request.operation_name = operation.map(str::to_owned);
            cache.parse(&mut request).expect("parses");
            request
        };
        let first = request(Some("A"), serde_json::json!({}));
        let memo = memo_of(&first).expect("no variables: a memo");
        assert!(memo.result().is_none(), "nothing validated yet");
        let passed = ValidationResult {
            cache_control: async_graphql::CacheControl::default(),
            complexity: 3,
            depth: 2,
        };
        memo.remember(passed);

        let again = request(Some("A"), serde_json::json!({}));
        let remembered = memo_of(&again).and_then(ValidationMemo::result);
        assert_eq!(remembered.map(|r| (r.complexity, r.depth)), Some((3, 2)));
        for other in [Some("B"), None] {
            let request = request(other, serde_json::json!({}));
            assert!(memo_of(&request).and_then(ValidationMemo::result).is_none());
        }
        let with_variables = request(Some("B"), serde_json::json!({"n": 1}));
        assert!(memo_of(&with_variables).is_none());
        // Only a remembered document offers a memo.
        let mut long = Request::new(format!("{text}{}", " ".repeat(MAX_CACHED_BYTES)));
        cache.parse(&mut long).expect("parses");
        assert!(memo_of(&long).is_none());
    }

    #[test]
    fn syntax_errors_and_long_documents_are_not_kept() {
        let cache = DocumentCache::default();
        let mut broken = Request::new("{ me { sub }");
        assert!(cache.parse(&mut broken).is_err());
        let long = format!("{{ me {{ sub }} }}{}", " ".repeat(MAX_CACHED_BYTES));
        let mut long = Request::new(long);
        assert!(cache.parse(&mut long).is_ok());
        assert!(cache.is_empty());
    }
}
