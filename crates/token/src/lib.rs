#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod claims;
mod clock;
mod config;
mod dangerous;
mod error;
pub mod jwks;
#[cfg(any(test, feature = "test-helpers"))]
pub mod testing;
mod verified_cache;
mod verifier;

pub use claims::{NameSet, VerifiedToken};
#[cfg(any(test, feature = "test-helpers"))]
pub use clock::ManualClock;
pub use clock::{Clock, SystemClock};
pub use config::{
    ClientId, CustomCheck, DEFAULT_VERIFIED_TOKEN_CACHE, JwksSettings, PoolId, Region, TokenUse,
    UserPoolConfig, VerifierConfig, https_or_loopback,
};
pub use error::{ConfigError, Malformed, VerifyError};
pub use jwks::{
    FetchFailure, FetchStats, HttpJwksFetcher, JwksError, JwksFetcher, KeySet, KeyStore, SigningKey,
};
pub use verified_cache::TokenCacheStats;
pub use verifier::{Check, CognitoVerifier, CognitoVerifierBuilder, Inspection};

/// Entry points for the fuzz targets (`fuzzing` feature only; never in a production build).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    /// How the token decoder (its strict JSON scanner) and the serde_json reading it replaced
    /// disagree on `token`, if they do: on accepting it, on why it is refused, or on any claim
    /// read. Tokens up to 64 KiB are decoded.
    pub fn decode_disagreement(token: &str) -> Option<String> {
        crate::dangerous::serde_oracle::disagreement(token, 64 * 1024)
    }
}
