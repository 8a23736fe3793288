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
