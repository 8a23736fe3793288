//! The verifier's configuration: which user pools and app clients to trust, and how strictly.
//!
//! There is no `Default` here. The security settings (pools, app clients, token use) are required
//! arguments; the tolerances have documented defaults that are never looser than aws-jwt-verify's.

use std::{fmt, sync::Arc, time::Duration};

use crate::{ConfigError, VerifiedToken};

/// An AWS region name such as `eu-west-1`, checked for its shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Region(String);

impl Region {
    /// Parses `xx-name-N` (also `us-gov-west-1`).
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        let invalid = || ConfigError::InvalidRegion(raw.to_owned());
        let mut parts = raw.split('-');
        let country = parts.next().ok_or_else(invalid)?;
        let rest: Vec<&str> = parts.collect();
        let ok = country.len() == 2
            && country.bytes().all(|b| b.is_ascii_lowercase())
            && rest.len() >= 2
            && rest[..rest.len() - 1]
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
            && rest
                .last()
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(invalid())
        }
    }

    /// The region name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user pool id, `<region>_<alphanumerics>`.
///
/// Only the shape is checked, not the length: emulators issue longer ids than Cognito's 55
/// characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolId(String);

impl PoolId {
    /// Parses a pool id and checks that its region prefix is `region`.
    pub fn parse(region: &Region, raw: &str) -> Result<Self, ConfigError> {
        let ok = raw.split_once('_').is_some_and(|(prefix, suffix)| {
            prefix == region.as_str()
                && !suffix.is_empty()
                && suffix.bytes().all(|b| b.is_ascii_alphanumeric())
        });
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ConfigError::InvalidPoolId(raw.to_owned()))
        }
    }

    /// The pool id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An app client id (Cognito's pattern: `[\w+]+`, at most 128 characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientId(String);

impl ClientId {
    /// Parses an app client id.
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        let ok = !raw.is_empty()
            && raw.len() <= 128
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'+');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ConfigError::InvalidClientId(raw.to_owned()))
        }
    }

    /// The client id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Which kind of Cognito token the verifier accepts (`token_use`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenUse {
    /// Access tokens: `client_id` is checked; they carry no `aud`.
    Access,
    /// ID tokens: `aud` is checked.
    Id,
}

impl TokenUse {
    /// The claim value: `access` or `id`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Id => "id",
        }
    }
}

impl fmt::Display for TokenUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One trusted user pool and the app clients whose tokens it accepts.
#[derive(Debug, Clone)]
pub struct UserPoolConfig {
    region: Region,
    pool_id: PoolId,
    client_ids: Vec<ClientId>,
    issuer_override: Option<String>,
    jwks_url_override: Option<String>,
    accept_issuer_subdomain: bool,
}

impl UserPoolConfig {
    /// A pool whose tokens are accepted when issued to one of `client_ids` (at least one).
    ///
    /// The issuer is `https://cognito-idp.{region}.amazonaws.com/{pool_id}` and the keys are
    /// fetched from `{issuer}/.well-known/jwks.json` unless overridden.
    pub fn new<I, S>(region: &str, pool_id: &str, client_ids: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let region = Region::parse(region)?;
        let pool_id = PoolId::parse(&region, pool_id)?;
        let client_ids = client_ids
            .into_iter()
            .map(|c| ClientId::parse(c.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        if client_ids.is_empty() {
            return Err(ConfigError::NoClientIds(pool_id.0));
        }
        Ok(Self {
            region,
            pool_id,
            client_ids,
            issuer_override: None,
            jwks_url_override: None,
            accept_issuer_subdomain: false,
        })
    }

    /// Replaces the derived issuer (emulators issue other URLs). Default: none. Must be
    /// `https://`, or `http://` to a loopback host.
    pub fn with_issuer(mut self, issuer: &str) -> Result<Self, ConfigError> {
        self.issuer_override = Some(https_or_loopback(issuer)?);
        Ok(self)
    }

    /// Fetches keys from this URL instead of `{issuer}/.well-known/jwks.json`. Default: none.
    /// Must be `https://`, or `http://` to a loopback host.
    pub fn with_jwks_url(mut self, url: &str) -> Result<Self, ConfigError> {
        self.jwks_url_override = Some(https_or_loopback(url)?);
        Ok(self)
    }

    /// Also accepts the issuer form of newer pools,
    /// `https://issuer-cognito-idp.{region}.amazonaws.com/{pool_id}` (same keys). Default: off.
    pub fn accept_issuer_subdomain(mut self, accept: bool) -> Self {
        self.accept_issuer_subdomain = accept;
        self
    }

    /// The region.
    pub fn region(&self) -> &Region {
        &self.region
    }

    /// The pool id.
    pub fn pool_id(&self) -> &PoolId {
        &self.pool_id
    }

    /// The allowed app clients.
    pub fn client_ids(&self) -> &[ClientId] {
        &self.client_ids
    }

    /// The issuer tokens of this pool carry: the override, or the derived Cognito URL.
    pub fn issuer(&self) -> String {
        match &self.issuer_override {
            Some(issuer) => issuer.clone(),
            None => format!(
                "https://cognito-idp.{}.amazonaws.com/{}",
                self.region.as_str(),
                self.pool_id.as_str()
            ),
        }
    }

    /// Every issuer accepted for this pool (the subdomain form too, where enabled).
    pub fn issuers(&self) -> Vec<String> {
        let mut issuers = vec![self.issuer()];
        if self.accept_issuer_subdomain {
            issuers.push(format!(
                "https://issuer-cognito-idp.{}.amazonaws.com/{}",
                self.region.as_str(),
                self.pool_id.as_str()
            ));
        }
        issuers
    }

    /// Where this pool's keys are fetched: the override or `{issuer}/.well-known/jwks.json`.
    pub fn jwks_url(&self) -> String {
        match &self.jwks_url_override {
            Some(url) => url.clone(),
            None => format!("{}/.well-known/jwks.json", self.issuer()),
        }
    }

    pub(crate) fn allows_client(&self, client_id: &str) -> bool {
        self.client_ids.iter().any(|c| c.as_str() == client_id)
    }
}

/// An `https://` URL, or `http://` to a loopback host (emulators, tests), without a trailing
/// `/`: keys fetched, or tokens sent, over plain HTTP elsewhere could be read or swapped by
/// anyone on the path. The rule for every URL cognigraph talks to about tokens.
///
/// # Errors
/// [`ConfigError::InvalidUrl`] for anything else that is not an http(s) URL with a host;
/// [`ConfigError::InsecureUrl`] for plain HTTP to a host that is not loopback.
pub fn https_or_loopback(raw: &str) -> Result<String, ConfigError> {
    let invalid = || ConfigError::InvalidUrl(raw.to_owned());
    if raw.chars().any(char::is_whitespace) {
        return Err(invalid());
    }
    let (secure, rest) = match (raw.strip_prefix("https://"), raw.strip_prefix("http://")) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        (None, None) => return Err(invalid()),
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    if host.is_empty() {
        return Err(invalid());
    }
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !secure && !loopback {
        return Err(ConfigError::InsecureUrl(raw.to_owned()));
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

/// A check the application adds after every built-in one (for example, a revocation list).
///
/// It runs only on tokens that passed every other check.
#[async_trait::async_trait]
pub trait CustomCheck: Send + Sync + fmt::Debug {
    /// `Err(reason)` refuses the token with `custom_check_failed`; the reason goes to logs only.
    async fn check(&self, token: &VerifiedToken) -> Result<(), String>;
}

/// How key sets are fetched and cached.
#[derive(Debug, Clone)]
pub struct JwksSettings {
    /// After any fetch of a URL, unknown kids fail at once for this long instead of refetching.
    /// Default: 10 s (aws-jwt-verify's penalty box).
    pub cooldown: Duration,
    /// A cached key set older than this is refetched in the background on its next use; requests
    /// keep using the old keys until the new set lands, and if the refetch fails. Default: 1 hour.
    pub max_age: Duration,
    /// TCP connect timeout. Default: 1.5 s.
    pub connect_timeout: Duration,
    /// Timeout of one whole fetch, its one retry included: no caller waits longer for keys.
    /// Default: 3 s. A network error is retried once within it; an HTTP error status never.
    pub timeout: Duration,
    /// Largest JWKS body accepted. Default: 64 KiB (Cognito's is under 2 KiB).
    pub max_body_bytes: usize,
}

impl JwksSettings {
    /// The defaults listed on each field.
    pub fn standard() -> Self {
        Self {
            cooldown: Duration::from_secs(10),
            max_age: Duration::from_secs(3600),
            connect_timeout: Duration::from_millis(1500),
            timeout: Duration::from_secs(3),
            max_body_bytes: 64 * 1024,
        }
    }
}

/// How many verified tokens a verifier remembers unless told otherwise.
pub const DEFAULT_VERIFIED_TOKEN_CACHE: u64 = 10_000;

/// Everything the verifier checks against.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    pub(crate) pools: Vec<UserPoolConfig>,
    pub(crate) token_use: TokenUse,
    pub(crate) clock_skew: Duration,
    pub(crate) iat_tolerance: Duration,
    pub(crate) max_token_bytes: usize,
    pub(crate) required_scopes: Vec<String>,
    pub(crate) required_groups: Vec<String>,
    pub(crate) custom_check: Option<Arc<dyn CustomCheck>>,
    pub(crate) jwks: JwksSettings,
    pub(crate) verified_token_cache: u64,
}

impl VerifierConfig {
    /// Trusts `pools` (at least one) for tokens of `token_use`.
    ///
    /// Defaults: 0 s clock skew for `exp`/`nbf`; `iat` may be up to 60 s ahead of the clock;
    /// tokens up to 8 KiB; no required scopes or groups; no custom check; [`JwksSettings::standard`];
    /// up to 10,000 verified tokens remembered.
    pub fn new(pools: Vec<UserPoolConfig>, token_use: TokenUse) -> Result<Self, ConfigError> {
        if pools.is_empty() {
            return Err(ConfigError::NoPools);
        }
        let mut seen = std::collections::HashSet::new();
        for issuer in pools.iter().flat_map(UserPoolConfig::issuers) {
            if !seen.insert(issuer.clone()) {
                return Err(ConfigError::DuplicateIssuer(issuer));
            }
        }
        Ok(Self {
            pools,
            token_use,
            clock_skew: Duration::ZERO,
            iat_tolerance: Duration::from_secs(60),
            max_token_bytes: 8 * 1024,
            required_scopes: Vec::new(),
            required_groups: Vec::new(),
            custom_check: None,
            jwks: JwksSettings::standard(),
            verified_token_cache: DEFAULT_VERIFIED_TOKEN_CACHE,
        })
    }

    /// Leeway for `exp` and `nbf`. Default: 0 s.
    pub fn with_clock_skew(mut self, skew: Duration) -> Self {
        self.clock_skew = skew;
        self
    }

    /// How far `iat` may be ahead of the verifier's clock. Default: 60 s.
    pub fn with_iat_tolerance(mut self, tolerance: Duration) -> Self {
        self.iat_tolerance = tolerance;
        self
    }

    /// Largest token accepted, in bytes. Default: 8 KiB (Cognito's are about 1 KiB).
    pub fn with_max_token_bytes(mut self, max: usize) -> Self {
        self.max_token_bytes = max;
        self
    }

    /// The token's `scope` must contain at least one of these. Default: none required.
    pub fn with_required_scopes<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        s: I,
    ) -> Self {
        self.required_scopes = s.into_iter().map(Into::into).collect();
        self
    }

    /// The token's `cognito:groups` must contain at least one of these. Default: none required.
    pub fn with_required_groups<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        g: I,
    ) -> Self {
        self.required_groups = g.into_iter().map(Into::into).collect();
        self
    }

    /// Runs `check` after every built-in check. Default: none.
    pub fn with_custom_check(mut self, check: Arc<dyn CustomCheck>) -> Self {
        self.custom_check = Some(check);
        self
    }

    /// Key fetching and caching. Default: [`JwksSettings::standard`].
    pub fn with_jwks_settings(mut self, jwks: JwksSettings) -> Self {
        self.jwks = jwks;
        self
    }

    /// Remembers up to `max_entries` verified tokens (0: none), each until its `exp`, so that a
    /// token presented again skips the decode and the RSA signature check. Keyed by the SHA-256
    /// of the whole token: a token differing in any byte is verified afresh. A remembered token
    /// still has `exp`, `nbf` and `iat` checked, its key looked up and the custom check run on
    /// every use. Default: 10,000 (each entry holds one token's claims, a few KiB for a Cognito
    /// access token; only tokens that passed every check are kept).
    pub fn with_verified_token_cache(mut self, max_entries: u64) -> Self {
        self.verified_token_cache = max_entries;
        self
    }

    /// The trusted pools.
    pub fn pools(&self) -> &[UserPoolConfig] {
        &self.pools
    }

    /// The accepted token use.
    pub fn token_use(&self) -> TokenUse {
        self.token_use
    }
}
