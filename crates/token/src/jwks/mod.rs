//! JSON Web Key Sets: fetched over HTTP, parsed once into ready-to-verify keys, cached per URL.

mod fetch;
mod key_set;
mod store;

pub use fetch::{HttpJwksFetcher, JwksFetcher};
pub use key_set::{KeySet, SigningKey};
pub use store::{FetchStats, KeyStore};
pub(crate) use store::{KeyLookupError, SlotId};

/// Why a key set could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// Connecting, sending or reading failed (after one retry), or the fetch timeout ran out.
    #[error("network error: {0}")]
    Network(String),
    /// The server answered with a non-success status (never retried).
    #[error("HTTP status {0}")]
    Status(u16),
    /// The body is larger than allowed.
    #[error("key set larger than {max} bytes")]
    TooLarge {
        /// The configured cap.
        max: usize,
    },
    /// The body is not a JWKS (`{"keys":[…]}`).
    #[error("not a JSON Web Key Set: {0}")]
    InvalidJson(String),
    /// The key set has no RSA signing key usable for RS256.
    #[error("no usable RS256 signing key in the key set")]
    NoUsableKeys,
}
