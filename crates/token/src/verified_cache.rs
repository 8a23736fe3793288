//! Tokens already verified, remembered until they expire: a token seen again costs a hash and a
//! lookup instead of a decode and an RSA signature check.
//!
//! Invariants:
//! - the key is the SHA-256 digest of the whole token as received, so a token that differs in
//!   any byte (signature included) is a miss and goes through every check;
//! - an entry is made only from a token that passed every built-in check;
//! - a hit is not a verdict: the verifier re-checks `exp`, `nbf` and `iat` against its clock,
//!   looks the signing key up again (a key removed upstream refuses its cached tokens once the
//!   refreshed key set lands) and runs the custom check, every time;
//! - an entry leaves at the token's `exp` at the latest, and the cache holds at most
//!   [`VerifierConfig::with_verified_token_cache`](crate::VerifierConfig::with_verified_token_cache)
//!   entries (moka's TinyLFU policy picks which leave, so a burst of new tokens does not push
//!   out the ones in use).

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use aws_lc_rs::digest;

use crate::{Clock, VerifiedToken};

/// The SHA-256 of a token.
pub(crate) type TokenDigest = [u8; 32];

/// What a verification found that a later use of the same token needs again.
#[derive(Debug)]
pub(crate) struct CachedVerification {
    /// The accepted claims.
    pub(crate) verified: VerifiedToken,
    /// The `kid` of the key that checked the signature.
    pub(crate) kid: String,
    /// The token's `nbf`, if any (`exp` and `iat` are in `verified`).
    pub(crate) not_before: Option<u64>,
}

/// The cache.
#[derive(Debug)]
pub(crate) struct VerifiedTokenCache {
    entries: moka::future::Cache<TokenDigest, Arc<CachedVerification>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// How often a verifier found a token in its cache of verified tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenCacheStats {
    /// Tokens found (then re-checked: time claims, key, custom check).
    pub hits: u64,
    /// Tokens verified in full (whether accepted or not).
    pub misses: u64,
}

impl VerifiedTokenCache {
    /// A cache of at most `max_entries` tokens, each kept until its `exp` by `clock`.
    pub(crate) fn new(max_entries: u64, clock: Arc<dyn Clock>) -> Self {
        Self {
            entries: moka::future::Cache::builder()
                .name("cognigraph-verified-tokens")
                .max_capacity(max_entries)
                .expire_after(UntilExpiry { clock })
                .build(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The digest a token is cached under.
    pub(crate) fn digest(token: &str) -> TokenDigest {
        let mut key = [0; 32];
        key.copy_from_slice(digest::digest(&digest::SHA256, token.as_bytes()).as_ref());
        key
    }

    /// The verification of the token with this digest, if one is remembered.
    pub(crate) async fn get(&self, digest: &TokenDigest) -> Option<Arc<CachedVerification>> {
        let found = self.entries.get(digest).await;
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Remembers a verification.
    pub(crate) async fn insert(&self, digest: TokenDigest, verification: CachedVerification) {
        self.entries.insert(digest, Arc::new(verification)).await;
    }

    /// Hits and misses so far.
    pub(crate) fn stats(&self) -> TokenCacheStats {
        TokenCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

/// Each entry lives until its token's `exp`, by the verifier's clock.
struct UntilExpiry {
    clock: Arc<dyn Clock>,
}

impl moka::Expiry<TokenDigest, Arc<CachedVerification>> for UntilExpiry {
    fn expire_after_create(
        &self,
        _key: &TokenDigest,
        value: &Arc<CachedVerification>,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        let now = self.clock.now();
        Some(Duration::from_secs(value.verified.expires_at()).saturating_sub(now))
    }
}
