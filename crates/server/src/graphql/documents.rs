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
//! A remembered document does not spare the engine's validation of each request: async-graphql
//! offers no way to skip it but an extension, and an extension costs every field of every
//! request (see [`field_errors`](super::field_errors)). An earlier build kept validation results
//! here and spared about 2 µs of `{ me { sub groups } }`; the extension it needed cost the
//! nested page of 20 projects × 10 tasks about 400 µs of its 2,000.

use std::sync::Arc;

use async_graphql::{
    Request, ServerError,
    parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition},
};

/// The most memory the cache may hold, counted as [`WEIGHT_PER_BYTE`] × text bytes.
pub(crate) const CAPACITY_BYTES: u64 = 16 * 1024 * 1024;
/// Documents longer than this (bytes of text) are parsed every time.
pub(crate) const MAX_CACHED_BYTES: usize = 64 * 1024;
/// A parsed document takes roughly this many bytes per byte of its text.
const WEIGHT_PER_BYTE: u32 = 10;

/// The cache (cheap to clone: clones share it).
#[derive(Clone)]
pub struct DocumentCache {
    documents: moka::sync::Cache<String, Arc<ExecutableDocument>>,
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
    /// it is set on the request, so the engine does not parse it again.
    ///
    /// # Errors
    /// The query does not parse (the engine's syntax error, with its position).
    pub fn parse<'r>(
        &self,
        request: &'r mut Request,
    ) -> Result<&'r ExecutableDocument, ServerError> {
        if request.query.len() <= MAX_CACHED_BYTES {
            if let Some(remembered) = self.documents.get(request.query.as_str()) {
                request.set_parsed_query(ExecutableDocument::clone(&remembered));
            } else {
                let document = Arc::new(request.parsed_query()?.clone());
                self.documents.insert(request.query.clone(), document);
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
