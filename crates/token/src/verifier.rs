//! The checks, in order.

use std::{collections::HashMap, sync::Arc, time::Duration};

use crate::{
    Clock, ConfigError, HttpJwksFetcher, JwksFetcher, KeyStore, SystemClock, TokenUse,
    VerifiedToken, VerifierConfig, VerifyError,
    dangerous::{self, Claims, UnverifiedToken},
    error::{untrusted, untrusted_list},
    jwks::{FetchStats, KeyLookupError, SigningKey, SlotId},
    verified_cache::{CachedVerification, TokenCacheStats, TokenDigest, VerifiedTokenCache},
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
    /// Tokens verified before (none when the cache is off).
    verified: Option<VerifiedTokenCache>,
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
        let verified = (self.config.verified_token_cache > 0).then(|| {
            VerifiedTokenCache::new(self.config.verified_token_cache, Arc::clone(&self.clock))
        });
        Ok(CognitoVerifier {
            config: self.config,
            issuers,
            keys,
            clock: self.clock,
            verified,
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
            clock: Arc::new(SystemClock::default()),
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

    /// Refetches every pool's key set unless fetched within the cooldown; old keys keep serving
    /// when that fails (the first failure is returned).
    pub async fn refresh(&self) -> Result<(), VerifyError> {
        self.keys
            .refresh()
            .await
            .map_err(|(url, source)| VerifyError::KeysUnavailable { url, source })
    }

    /// Whether every configured pool's keys are loaded. No I/O.
    pub fn keys_loaded(&self) -> bool {
        self.keys.keys_loaded()
    }

    /// Hits and misses of the verified-token cache so far (zeros when it is off).
    pub fn token_cache_stats(&self) -> TokenCacheStats {
        self.verified
            .as_ref()
            .map(VerifiedTokenCache::stats)
            .unwrap_or_default()
    }

    /// JWKS fetch outcomes so far (for metrics).
    pub fn jwks_fetch_stats(&self) -> FetchStats {
        self.keys.fetch_stats()
    }

    /// Verifies `token` (the compact JWT, without any `Bearer ` prefix).
    ///
    /// A token verified before (the same bytes; see
    /// [`VerifierConfig::with_verified_token_cache`]) skips the decode and the signature check:
    /// its time claims are checked again, its key is looked up again and the custom check runs
    /// again.
    pub async fn verify(&self, token: &str) -> Result<VerifiedToken, VerifyError> {
        let Some(cache) = &self.verified else {
            return self.verify_in_full(token, None).await;
        };
        if token.len() > self.config.max_token_bytes {
            // Refused by the shape check; not worth hashing.
            return self.verify_in_full(token, None).await;
        }
        let digest = VerifiedTokenCache::digest(token);
        if let Some(cached) = cache.get(&digest).await {
            return self.reverify(&cached).await;
        }
        self.verify_in_full(token, Some((cache, digest))).await
    }

    /// Every check, in order; an accepted token is remembered in `remember`'s cache under its
    /// digest (nothing is copied for a cache when there is none).
    async fn verify_in_full(
        &self,
        token: &str,
        remember: Option<(&VerifiedTokenCache, TokenDigest)>,
    ) -> Result<VerifiedToken, VerifyError> {
        // 1. Shape.
        let unverified = dangerous::decode(token, self.config.max_token_bytes)?;
        // 2. Header.
        check_algorithm(&unverified)?;
        let kid = kid_of(&unverified)?;
        // 3. Issuer, before any fetch.
        let issuer = self.issuer_of(&unverified)?;
        // 4. Key.
        let key = self.key(issuer, kid).await?;
        // 5. Signature.
        check_signature(&key, &unverified)?;
        // 6. Claims.
        for (_, outcome) in self.claim_checks(&unverified.claims, issuer.pool_index) {
            outcome?;
        }
        let remembered_kid = remember.is_some().then(|| kid.to_owned());
        let not_before = unverified.claims.nbf;
        let verified = self.accept(unverified.claims);
        self.run_custom_check(&verified).await?;
        if let (Some((cache, digest)), Some(kid)) = (remember, remembered_kid) {
            let verification = CachedVerification {
                verified: verified.clone(),
                kid,
                not_before,
            };
            cache.insert(digest, verification).await;
        }
        Ok(verified)
    }

    /// The checks a remembered verification passes again on every use: the time claims, its key
    /// still in the issuer's key set, the custom check.
    async fn reverify(&self, cached: &CachedVerification) -> Result<VerifiedToken, VerifyError> {
        let verified = &cached.verified;
        let times = self.time_checks(
            Some(verified.expires_at()),
            cached.not_before,
            verified.issued_at(),
        );
        for (_, outcome) in times {
            outcome?;
        }
        let issuer =
            self.issuers
                .get(verified.issuer())
                .ok_or_else(|| VerifyError::InvalidIssuer {
                    actual: untrusted(verified.issuer()),
                })?;
        self.key(issuer, &cached.kid).await?;
        self.run_custom_check(verified).await?;
        Ok(verified.clone())
    }

    /// Runs the checks of [`verify`](Self::verify) one by one and reports each, for operators
    /// debugging a refused token. Stops at the first failure up to the signature (later checks
    /// depend on it); the claim checks are all reported. The header and claims are decoded for
    /// display leniently (size-capped) whatever their validity: they are untrusted.
    ///
    /// Security: the report says exactly which check failed and names the pool. It is for
    /// operators (`cognigraph token inspect`); never expose it to untrusted callers.
    pub async fn inspect(&self, token: &str) -> Inspection {
        let within_size = token.len() <= self.config.max_token_bytes;
        let mut inspection = Inspection {
            header: within_size.then(|| display_segment(token, 0)).flatten(),
            claims: within_size.then(|| display_segment(token, 1)).flatten(),
            checks: Vec::new(),
            verified: None,
        };
        let checks = &mut inspection.checks;
        let unverified = match dangerous::decode(token, self.config.max_token_bytes) {
            Ok(unverified) => {
                checks.push(Check::passed("shape", format!("{} bytes", token.len())));
                unverified
            }
            Err(e) => {
                checks.push(Check::failed("shape", e));
                return inspection;
            }
        };
        if let Err(e) = check_algorithm(&unverified) {
            checks.push(Check::failed("algorithm", e));
            return inspection;
        }
        checks.push(Check::passed("algorithm", "RS256".to_owned()));
        let kid = match kid_of(&unverified) {
            Ok(kid) => kid,
            Err(e) => {
                checks.push(Check::failed("kid", e));
                return inspection;
            }
        };
        checks.push(Check::passed("kid", kid.to_owned()));
        let issuer = match self.issuer_of(&unverified) {
            Ok(issuer) => issuer,
            Err(e) => {
                checks.push(Check::failed("issuer", e));
                return inspection;
            }
        };
        let pool = &self.config.pools[issuer.pool_index];
        checks.push(Check::passed(
            "issuer",
            format!("user pool {}", pool.pool_id().as_str()),
        ));
        let key = match self.key(issuer, kid).await {
            Ok(key) => key,
            Err(e) => {
                checks.push(Check::failed("key", e));
                return inspection;
            }
        };
        checks.push(Check::passed("key", format!("in {}", issuer.jwks_url)));
        if let Err(e) = check_signature(&key, &unverified) {
            checks.push(Check::failed("signature", e));
            return inspection;
        }
        checks.push(Check::passed("signature", "RS256 verified".to_owned()));
        let mut all_passed = true;
        for (name, outcome) in self.claim_checks(&unverified.claims, issuer.pool_index) {
            match outcome {
                Ok(()) => checks.push(Check::passed(name, String::new())),
                Err(e) => {
                    all_passed = false;
                    checks.push(Check::failed(name, e));
                }
            }
        }
        if !all_passed {
            return inspection;
        }
        let verified = self.accept(unverified.claims);
        match self.run_custom_check(&verified).await {
            Ok(()) if self.config.custom_check.is_some() => {
                checks.push(Check::passed("custom check", String::new()));
            }
            Ok(()) => {}
            Err(e) => {
                checks.push(Check::failed("custom check", e));
                return inspection;
            }
        }
        inspection.verified = Some(verified);
        inspection
    }

    fn issuer_of(&self, unverified: &UnverifiedToken<'_>) -> Result<&IssuerEntry, VerifyError> {
        let claims = &unverified.claims;
        let iss = claims
            .read(&claims.iss)
            .ok_or(VerifyError::MissingClaim { claim: "iss" })?;
        self.issuers
            .get(iss)
            .ok_or_else(|| VerifyError::InvalidIssuer {
                actual: untrusted(iss),
            })
    }

    async fn key(&self, issuer: &IssuerEntry, kid: &str) -> Result<Arc<SigningKey>, VerifyError> {
        self.keys.key(issuer.slot, kid).await.map_err(|e| match e {
            KeyLookupError::UnknownKid => VerifyError::UnknownKid {
                kid: untrusted(kid),
            },
            KeyLookupError::Unavailable(source) => VerifyError::KeysUnavailable {
                url: issuer.jwks_url.clone(),
                source,
            },
        })
    }

    /// The claim checks of step 6, in order, each with its name; all are evaluated.
    fn claim_checks(
        &self,
        claims: &Claims,
        pool_index: usize,
    ) -> [(&'static str, Result<(), VerifyError>); 8] {
        let config = &self.config;
        let pool = &config.pools[pool_index];
        let [exp, nbf, iat] = self.time_checks(claims.exp, claims.nbf, claims.iat);
        let token_use = match claims.read(&claims.token_use) {
            None => Err(VerifyError::MissingClaim { claim: "token_use" }),
            Some(actual) if actual != config.token_use.as_str() => {
                Err(VerifyError::InvalidTokenUse {
                    actual: untrusted(actual),
                    expected: config.token_use,
                })
            }
            Some(_) => Ok(()),
        };
        let sub = match claims.read(&claims.sub) {
            Some(sub) if !sub.is_empty() => Ok(()),
            _ => Err(VerifyError::MissingClaim { claim: "sub" }),
        };
        let (client_check, client) = match config.token_use {
            TokenUse::Access => (
                "client_id",
                match claims.read(&claims.client_id) {
                    None => Err(VerifyError::MissingClaim { claim: "client_id" }),
                    Some(id) if !pool.allows_client(id) => Err(VerifyError::InvalidClient {
                        actual: untrusted(id),
                    }),
                    Some(_) => Ok(()),
                },
            ),
            TokenUse::Id => (
                "aud",
                if claims.audience().next().is_none() {
                    Err(VerifyError::MissingClaim { claim: "aud" })
                } else if !claims.audience().any(|a| pool.allows_client(a)) {
                    Err(VerifyError::InvalidAudience {
                        actual: untrusted_list(claims.audience()),
                    })
                } else {
                    Ok(())
                },
            ),
        };
        let scopes = if config.required_scopes.is_empty()
            || claims.read(&claims.scope).is_some_and(|scope| {
                scope
                    .split_ascii_whitespace()
                    .any(|s| config.required_scopes.iter().any(|r| r == s))
            }) {
            Ok(())
        } else {
            Err(VerifyError::MissingScope)
        };
        let groups = if config.required_groups.is_empty()
            || claims
                .groups()
                .any(|g| config.required_groups.iter().any(|required| required == g))
        {
            Ok(())
        } else {
            Err(VerifyError::MissingGroup)
        };
        [
            exp,
            nbf,
            iat,
            ("token_use", token_use),
            ("sub", sub),
            (client_check, client),
            ("scopes", scopes),
            ("groups", groups),
        ]
    }

    /// The checks of `exp` (required), `nbf` and `iat` against the clock, each with its name.
    fn time_checks(
        &self,
        exp: Option<u64>,
        nbf: Option<u64>,
        iat: Option<u64>,
    ) -> [(&'static str, Result<(), VerifyError>); 3] {
        let config = &self.config;
        let now = self.clock.now();
        let now_secs = now.as_secs();
        let exp = match exp {
            None => Err(VerifyError::MissingClaim { claim: "exp" }),
            Some(exp) if now >= secs(exp).saturating_add(config.clock_skew) => {
                Err(VerifyError::Expired { exp, now: now_secs })
            }
            Some(_) => Ok(()),
        };
        let nbf = match nbf {
            Some(nbf) if secs(nbf) > now.saturating_add(config.clock_skew) => {
                Err(VerifyError::NotYetValid { nbf, now: now_secs })
            }
            _ => Ok(()),
        };
        let iat = match iat {
            Some(iat) if secs(iat) > now.saturating_add(config.iat_tolerance) => {
                Err(VerifyError::IssuedInFuture { iat, now: now_secs })
            }
            _ => Ok(()),
        };
        [("exp", exp), ("nbf", nbf), ("iat", iat)]
    }

    /// The claims of a token that passed every built-in check.
    fn accept(&self, claims: Claims) -> VerifiedToken {
        VerifiedToken::from_checked(claims, self.config.token_use)
    }

    async fn run_custom_check(&self, verified: &VerifiedToken) -> Result<(), VerifyError> {
        match &self.config.custom_check {
            Some(check) => check
                .check(verified)
                .await
                .map_err(|reason| VerifyError::CustomCheckFailed { reason }),
            None => Ok(()),
        }
    }
}

fn check_algorithm(unverified: &UnverifiedToken<'_>) -> Result<(), VerifyError> {
    match unverified.header.alg() {
        Some("RS256") => Ok(()),
        other => Err(VerifyError::InvalidAlgorithm {
            actual: untrusted(other.unwrap_or("(none)")),
        }),
    }
}

fn kid_of<'t>(unverified: &'t UnverifiedToken<'_>) -> Result<&'t str, VerifyError> {
    match unverified.header.kid() {
        Some(kid) if !kid.is_empty() => Ok(kid),
        _ => Err(VerifyError::MissingKid),
    }
}

fn check_signature(key: &SigningKey, unverified: &UnverifiedToken<'_>) -> Result<(), VerifyError> {
    if key.verify(unverified.signing_input, &unverified.signature) {
        Ok(())
    } else {
        Err(VerifyError::InvalidSignature)
    }
}

/// Segment `index` of the token as JSON, for display only (lenient: any base64url, any JSON).
fn display_segment(token: &str, index: usize) -> Option<serde_json::Value> {
    use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
    let segment = token.split('.').nth(index)?;
    let bytes = URL_SAFE_NO_PAD.decode(segment.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// What [`CognitoVerifier::inspect`] found.
#[derive(Debug)]
pub struct Inspection {
    /// The token's header, decoded without any trust (`None` when it does not decode).
    pub header: Option<serde_json::Value>,
    /// The token's claims, decoded without any trust.
    pub claims: Option<serde_json::Value>,
    /// Each check run, in order.
    pub checks: Vec<Check>,
    /// The verified token, when every check passed.
    pub verified: Option<VerifiedToken>,
}

impl Inspection {
    /// Whether the configured pools accept the token.
    pub fn accepted(&self) -> bool {
        self.verified.is_some()
    }
}

/// One check's outcome.
#[derive(Debug)]
pub struct Check {
    /// What was checked (`shape`, `algorithm`, `kid`, `issuer`, `key`, `signature`, `exp`…).
    pub name: &'static str,
    /// A detail when it passed, the error when it failed.
    pub outcome: Result<String, VerifyError>,
}

impl Check {
    fn passed(name: &'static str, detail: String) -> Self {
        Self {
            name,
            outcome: Ok(detail),
        }
    }

    fn failed(name: &'static str, error: VerifyError) -> Self {
        Self {
            name,
            outcome: Err(error),
        }
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}
