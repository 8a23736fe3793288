//! JSON Web Key Sets: fetched over HTTP, parsed once into ready-to-verify keys, cached per URL.

mod fetch;
mod key_set;
mod store;

use std::{error::Error, fmt, sync::Arc, time::Duration};

pub use fetch::{HttpJwksFetcher, JwksFetcher};
pub use key_set::{KeySet, SigningKey};
pub use store::{FetchStats, KeyStore};
pub(crate) use store::{KeyLookupError, SlotId};

/// Why a key set could not be had.
///
/// `Display` names what failed, for logs ("network error", "no answer within 3000 ms"); a
/// network or JSON failure keeps the HTTP client's or the parser's error as its `source()`,
/// whose own causes say why ("connection refused"): log the whole chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// Connecting, sending or reading failed ([`HttpJwksFetcher`] retries once first). The
    /// failure is the HTTP client's error.
    #[error("network error")]
    Network(#[source] FetchFailure),
    /// No answer within the fetch timeout ([`JwksSettings::timeout`](crate::JwksSettings),
    /// the retry included); never retried.
    #[error("no answer within {} ms", .after.as_millis())]
    TimedOut {
        /// The fetch timeout that ran out.
        after: Duration,
    },
    /// The server answered with a non-success status (never retried).
    #[error("HTTP status {0}")]
    Status(u16),
    /// The body is larger than allowed (never retried).
    #[error("key set larger than {max} bytes")]
    TooLarge {
        /// The configured cap.
        max: usize,
    },
    /// The body is not a JWKS (`{"keys":[…]}`). The failure is the JSON parser's error.
    #[error("not a JSON Web Key Set")]
    InvalidJson(#[source] FetchFailure),
    /// The key set has no RSA signing key usable for RS256.
    #[error("no usable RS256 signing key in the key set")]
    NoUsableKeys,
    /// The fetch stopped before it had an outcome: the runtime its task ran on shut down.
    #[error("the key set fetch stopped before it ended")]
    Interrupted,
    /// No fetch has ended with an outcome yet, and the cooldown allows none now (the last one
    /// was cancelled with its caller, outside a Tokio runtime).
    #[error("no key set fetched yet")]
    NotFetchedYet,
}

/// The error under a [`JwksError::Network`] (the HTTP client's) or [`JwksError::InvalidJson`]
/// (the JSON parser's), kept whole: its `Display` is the error's own, and its `source()` is the
/// error's, so the causes follow it in the chain.
///
/// Cloning shares the error: every caller that waited on one fetch, and the store that
/// remembers the last failure, hold the same one. Errors cannot be compared in general, so two
/// failures are equal when they read the same (their `Display`); what kind of failure it is,
/// the [`JwksError`] variant holding it says.
#[derive(Debug, Clone, thiserror::Error)]
#[error(transparent)]
pub struct FetchFailure(Arc<dyn Error + Send + Sync>);

impl FetchFailure {
    /// Keeps `error`: what a [`JwksFetcher`] of one's own failed with.
    pub fn new(error: impl Error + Send + Sync + 'static) -> Self {
        Self(Arc::new(error))
    }
}

impl PartialEq for FetchFailure {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for FetchFailure {}

/// An error and its causes (its `source()` chain), `: `-separated: how this crate logs a failure,
/// so that what lies under "network error" reaches the log in every log format.
pub(crate) struct WithCauses<'a>(pub(crate) &'a dyn Error);

impl fmt::Display for WithCauses<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}
