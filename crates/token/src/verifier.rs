//! The checks, in order.

use std::{collections::HashMap, sync::Arc, time::Duration};

use crate::{
    Clock, ConfigError, HttpJwksFetcher, JwksFetcher, KeyStore, SystemClock, TokenUse,
    VerifiedToken, VerifierConfig, VerifyError,
    dangerous::{self, Claims},
    jwks::{FetchStats, KeyLookupError, SlotId},
};

/// Verifies Cognito User Pool tokens against a [`VerifierConfig`].
///
/// The checks run in this order, and the first failure is returned:
/// 1. shape (size, segments, canonical base64url, JSON objects without duplicate keys, claim
///    types, no `crit`);
/// 2. header: `alg` is RS256 (fixed here, never read from the token as a choice) and `kid` is set;
/// 3. issuer: `iss` is a configured pool's, before anything is fetched;
/// 4. key: `kid` in that pool's key set (fetched from the configured URL only);
/// 5. signature;
/// 6. claims: `exp`, `nbf`, `iat`, `token_use`, `sub`, `client_id` (access) or `aud` (ID), required
///    scopes and groups, then the custom check.
#[derive(Debug)]
pub struct CognitoVerifier {
    config: VerifierConfig,
    /// Issuer → its pool and key slot.
    issuers: HashMap<String, IssuerEntry>,
    keys: KeyStore,
    clock: Arc<dyn Clock>,
}

/// Where a configured issuer's tokens are checked.
#[derive(Debug)]
struct IssuerEntry {
    pool_index: usize,
    jwks_url: String,
    slot: SlotId,
}

/// Builds a [`CognitoVerifier`] with a replaced fetcher or clock.
#[derive(Debug)]
pub struct CognitoVerifierBuilder {
    config: VerifierConfig,
    fetcher: Option<Arc<dyn JwksFetcher>>,
    clock: Arc<dyn Clock>,
}

impl CognitoVerifierBuilder {
    /// Fetches key sets with `fetcher`. Default: [`HttpJwksFetcher`] with the configured timeouts.
    pub fn fetcher(mut self, fetcher: Arc<dyn JwksFetcher>) -> Self {
        self.fetcher = Some(fetcher);
        self
    }

    /// Reads the time from `clock`. Default: [`SystemClock`].
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The verifier. Fetches nothing yet: see [`CognitoVerifier::hydrate`].
    pub fn build(self) -> Result<CognitoVerifier, ConfigError> {
        let fetcher: Arc<dyn JwksFetcher> = match self.fetcher {
            Some(fetcher) => fetcher,
            None => Arc::new(HttpJwksFetcher::new(&self.config.jwks)?),
        };
        let urls = self.config.pools.iter().map(|p| p.jwks_url());
        let keys = KeyStore::new(
            urls,
            fetcher,
            Arc::clone(&self.clock),
            self.config.jwks.clone(),
        );
        let mut issuers = HashMap::new();
        for (pool_index, pool) in self.config.pools.iter().enumerate() {
            let jwks_url = pool.jwks_url();
            let Some(slot) = keys.slot_of(&jwks_url) else {
                unreachable!("every pool's JWKS URL was given to the key store")
            };
            for issuer in pool.issuers() {
                let entry = IssuerEntry {
                    pool_index,
                    jwks_url: jwks_url.clone(),
                    slot,
                };
                issuers.insert(issuer, entry);
            }
        }
        Ok(CognitoVerifier {
            config: self.config,
            issuers,
            keys,
            clock: self.clock,
        })
    }
}

impl CognitoVerifier {
    /// A verifier fetching keys over HTTP and reading the system clock.
    pub fn new(config: VerifierConfig) -> Result<Self, ConfigError> {
        Self::builder(config).build()
    }

    /// A builder, to replace the fetcher or the clock.
    pub fn builder(config: VerifierConfig) -> CognitoVerifierBuilder {
        CognitoVerifierBuilder {
            config,
            fetcher: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &VerifierConfig {
        &self.config
    }

    /// Fetches the key set of every configured pool that has none yet (start-up preloading).
    pub async fn hydrate(&self) -> Result<(), VerifyError> {
        self.keys
            .hydrate()
            .await
            .map_err(|(url, source)| VerifyError::KeysUnavailable { url, source })
    }

    /// Whether every configured pool's keys are loaded. No I/O.
    pub fn keys_loaded(&self) -> bool {
        self.keys.keys_loaded()
    }

    /// JWKS fetch outcomes so far (for metrics).
    pub fn jwks_fetch_stats(&self) -> FetchStats {
        self.keys.fetch_stats()
    }

    /// Verifies `token` (the compact JWT, without any `Bearer ` prefix).
    pub async fn verify(&self, token: &str) -> Result<VerifiedToken, VerifyError> {
        // 1. Shape.
        let unverified = dangerous::decode(token, self.config.max_token_bytes)?;
        // 2. Header.
        match unverified.header.alg.as_deref() {
            Some("RS256") => {}
            other => {
                return Err(VerifyError::InvalidAlgorithm {
                    actual: other.unwrap_or("(none)").to_owned(),
                });
            }
        }
        let kid = match unverified.header.kid.as_deref() {
            Some(kid) if !kid.is_empty() => kid,
            _ => return Err(VerifyError::MissingKid),
        };
        // 3. Issuer, before any fetch.
        let iss = unverified
            .claims
            .iss
            .as_deref()
            .ok_or(VerifyError::MissingClaim { claim: "iss" })?;
        let issuer = self
            .issuers
            .get(iss)
            .ok_or_else(|| VerifyError::InvalidIssuer {
                actual: iss.to_owned(),
            })?;
        // 4. Key.
        let key = self.keys.key(issuer.slot, kid).await.map_err(|e| match e {
            KeyLookupError::UnknownKid => VerifyError::UnknownKid {
                kid: kid.to_owned(),
            },
            KeyLookupError::Unavailable(source) => VerifyError::KeysUnavailable {
                url: issuer.jwks_url.clone(),
                source,
            },
        })?;
        // 5. Signature.
        if !key.verify(unverified.signing_input, &unverified.signature) {
            return Err(VerifyError::InvalidSignature);
        }
        // 6. Claims.
        let verified = self.check_claims(unverified.claims, issuer.pool_index)?;
        if let Some(check) = &self.config.custom_check {
            check
                .check(&verified)
                .await
                .map_err(|reason| VerifyError::CustomCheckFailed { reason })?;
        }
        Ok(verified)
    }

    fn check_claims(
        &self,
        mut claims: Claims,
        pool_index: usize,
    ) -> Result<VerifiedToken, VerifyError> {
        let config = &self.config;
        let now = self.clock.now();
        let now_secs = now.as_secs();
        let exp = claims
            .exp
            .ok_or(VerifyError::MissingClaim { claim: "exp" })?;
        if now >= secs(exp).saturating_add(config.clock_skew) {
            return Err(VerifyError::Expired { exp, now: now_secs });
        }
        if let Some(nbf) = claims.nbf
            && secs(nbf) > now.saturating_add(config.clock_skew)
        {
            return Err(VerifyError::NotYetValid { nbf, now: now_secs });
        }
        if let Some(iat) = claims.iat
            && secs(iat) > now.saturating_add(config.iat_tolerance)
        {
            return Err(VerifyError::IssuedInFuture { iat, now: now_secs });
        }
        let token_use = claims
            .token_use
            .as_deref()
            .ok_or(VerifyError::MissingClaim { claim: "token_use" })?;
        if token_use != config.token_use.as_str() {
            return Err(VerifyError::InvalidTokenUse {
                actual: token_use.to_owned(),
                expected: config.token_use,
            });
        }
        let sub = match claims.sub.as_deref() {
            Some(sub) if !sub.is_empty() => sub.to_owned(),
            _ => return Err(VerifyError::MissingClaim { claim: "sub" }),
        };
        let pool = &config.pools[pool_index];
        match config.token_use {
            TokenUse::Access => {
                let client_id = claims
                    .client_id
                    .as_deref()
                    .ok_or(VerifyError::MissingClaim { claim: "client_id" })?;
                if !pool.allows_client(client_id) {
                    return Err(VerifyError::InvalidClient {
                        actual: client_id.to_owned(),
                    });
                }
            }
            TokenUse::Id => {
                let audience = claims.aud.as_deref().unwrap_or_default();
                if audience.is_empty() {
                    return Err(VerifyError::MissingClaim { claim: "aud" });
                }
                if !audience.iter().any(|aud| pool.allows_client(aud)) {
                    return Err(VerifyError::InvalidAudience {
                        actual: audience.to_vec(),
                    });
                }
            }
        }
        let issuer = claims.iss.take().unwrap_or_default();
        let verified = VerifiedToken::from_checked(claims, issuer, sub, exp, config.token_use);
        if !config.required_scopes.is_empty()
            && !config
                .required_scopes
                .iter()
                .any(|s| verified.scopes().contains(s))
        {
            return Err(VerifyError::MissingScope);
        }
        if !config.required_groups.is_empty()
            && !config
                .required_groups
                .iter()
                .any(|g| verified.groups().contains(g))
        {
            return Err(VerifyError::MissingGroup);
        }
        Ok(verified)
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}
