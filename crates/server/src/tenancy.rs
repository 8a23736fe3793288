//! Which tenant a caller belongs to: `custom:tenant` from the token, or from Cognito's `GetUser`.
//!
//! `GetUser` is called with the caller's own access token, so it also tells whether the token was
//! revoked: after a global sign-out (or an admin's `AdminUserGlobalSignOut`) Cognito answers
//! `NotAuthorizedException` for every access token of that user, which a signature check cannot
//! see (the JWT stays valid until `exp`). Results are cached per `sub` and token `jti` for a
//! configurable time (default 60 s, never past the token's expiry), so a revocation is noticed
//! within it.
//!
//! A request's tenant is a [`TenantLookup`]: resolved the first time a field needs it, at most
//! once per request. `REVOCATION_CHECK=getuser` ([`RevocationCheck`]) asks `GetUser` for every
//! request instead, before any field runs.

use std::{sync::Arc, time::Duration};

use clap::ValueEnum;
use cognigraph_domain::TenantId;
use cognigraph_token::VerifiedToken;
use serde::Deserialize;
use serde_json::json;

/// Where the tenant comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TenantSource {
    /// The `custom:tenant` claim when the access token has it, else `GetUser` (the default).
    Auto,
    /// Only the `custom:tenant` claim (added by a Pre Token Generation V2 trigger).
    Claim,
    /// Only Cognito's `GetUser` (also notices revoked tokens).
    Userinfo,
}

/// The tenant of a caller, as far as it could be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantStatus {
    /// A valid tenant id.
    Member(TenantId),
    /// The user has no tenant attribute.
    Missing,
    /// The attribute is there but not a valid tenant id (refused, never truncated).
    Invalid,
}

impl TenantStatus {
    /// The tenant id, or why tenant data is not the caller's: FORBIDDEN `no_tenant` or
    /// `invalid_tenant`.
    pub fn member(&self) -> Result<&TenantId, crate::errors::ApiError> {
        use crate::errors::ApiError;
        match self {
            Self::Member(tenant) => Ok(tenant),
            Self::Missing => Err(ApiError::Forbidden {
                reason: "no_tenant",
            }),
            Self::Invalid => Err(ApiError::Forbidden {
                reason: "invalid_tenant",
            }),
        }
    }

    /// Parses the attribute once, at the boundary, into a [`TenantId`] (1–64 characters of
    /// `[A-Za-z0-9_-]`); anything else is `Invalid`, never truncated.
    fn from_raw(raw: Option<&str>) -> Self {
        match raw.map(TenantId::parse) {
            None => Self::Missing,
            Some(Ok(tenant)) => Self::Member(tenant),
            Some(Err(_)) => Self::Invalid,
        }
    }
}

/// What tenant resolution yields beyond the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The tenant.
    pub tenant: TenantStatus,
    /// The user's email, when `GetUser` was asked.
    pub email: Option<String>,
}

/// Why the tenant could not be resolved.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TenancyError {
    /// Cognito says the access token is no longer valid (revoked, user signed out everywhere).
    #[error("the access token was revoked")]
    Revoked,
    /// Cognito could not be asked (network, 5xx, unexpected answer).
    #[error("Cognito GetUser failed: {0}")]
    Unavailable(String),
}

/// Whether every request asks Cognito's `GetUser` if its access token was revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RevocationCheck {
    /// Trust a verified token until its `exp` (the default): no call to Cognito per request.
    Off,
    /// One `GetUser` per token per `USERINFO_CACHE_SECS`: a signed-out or revoked token is
    /// refused within that time. Needs the `aws.cognito.signin.user.admin` scope in tokens.
    Getuser,
}

/// The caller's tenant for one request: looked up the first time a field needs it, at most
/// once per request, and never for requests that need no tenant (`me`, introspection).
#[derive(Clone)]
pub struct TenantLookup(Arc<Lookup>);

struct Lookup {
    source: LookupSource,
    answer: tokio::sync::OnceCell<Result<Resolved, TenancyError>>,
}

enum LookupSource {
    /// Already known (tests).
    Known(Resolved),
    /// Per the configured source: the claim, or Cognito's `GetUser` with the caller's token.
    Resolver(Box<ResolverRequest>),
}

struct ResolverRequest {
    resolver: TenantResolver,
    access_token: String,
    verified: VerifiedToken,
}

impl std::fmt::Debug for TenantLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the access token.
        f.debug_struct("TenantLookup")
            .field("answer", &self.0.answer.get())
            .finish_non_exhaustive()
    }
}

impl TenantLookup {
    /// A lookup for the caller of `access_token`, through `resolver` when first asked.
    pub fn new(resolver: &TenantResolver, access_token: &str, verified: &VerifiedToken) -> Self {
        Self::with_source(LookupSource::Resolver(Box::new(ResolverRequest {
            resolver: resolver.clone(),
            access_token: access_token.to_owned(),
            verified: verified.clone(),
        })))
    }

    /// A lookup whose answer is known already.
    pub fn known(resolved: Resolved) -> Self {
        Self::with_source(LookupSource::Known(resolved))
    }

    fn with_source(source: LookupSource) -> Self {
        Self(Arc::new(Lookup {
            source,
            answer: tokio::sync::OnceCell::new(),
        }))
    }

    /// The tenant (and email), resolved on the first call; later calls share the answer.
    pub async fn get(&self) -> Result<&Resolved, TenancyError> {
        let answer = self
            .0
            .answer
            .get_or_init(|| async {
                match &self.0.source {
                    LookupSource::Known(resolved) => Ok(resolved.clone()),
                    LookupSource::Resolver(request) => {
                        let ResolverRequest {
                            resolver,
                            access_token,
                            verified,
                        } = &**request;
                        resolver.resolve(access_token, verified).await
                    }
                }
            })
            .await;
        answer.as_ref().map_err(Clone::clone)
    }

    /// Whether a lookup of this request found the token revoked.
    pub fn found_revoked(&self) -> bool {
        matches!(self.0.answer.get(), Some(Err(TenancyError::Revoked)))
    }
}

/// Resolves tenants per the configured source, with the `GetUser` cache.
#[derive(Debug, Clone)]
pub struct TenantResolver {
    source: TenantSource,
    user_info: Arc<UserInfoClient>,
    cache: moka::future::Cache<String, (Resolved, u64)>,
    ttl: Duration,
}

impl TenantResolver {
    /// A resolver asking `endpoint` (Cognito's API URL) when it needs `GetUser`, caching answers
    /// for `ttl` (0: no cache).
    pub fn new(
        source: TenantSource,
        endpoint: String,
        ttl: Duration,
    ) -> Result<Self, TenancyError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(1500))
            .timeout(Duration::from_secs(3))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| TenancyError::Unavailable(e.to_string()))?;
        Ok(Self {
            source,
            user_info: Arc::new(UserInfoClient { client, endpoint }),
            cache: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(ttl.max(Duration::from_millis(1)))
                .build(),
            ttl,
        })
    }

    /// Asks Cognito whether `access_token` is still valid (through the same cache as tenant
    /// answers): `Err(Revoked)` after a global sign-out or revocation.
    pub async fn check_revocation(
        &self,
        access_token: &str,
        verified: &VerifiedToken,
    ) -> Result<(), TenancyError> {
        self.ask_cognito(access_token, verified).await.map(drop)
    }

    /// The tenant (and email) of the caller of `access_token`.
    pub async fn resolve(
        &self,
        access_token: &str,
        verified: &VerifiedToken,
    ) -> Result<Resolved, TenancyError> {
        let claim = verified.claim("custom:tenant");
        let claim_text = claim.and_then(|v| v.as_str());
        let from_claim = || Resolved {
            tenant: match claim {
                Some(v) if !v.is_string() => TenantStatus::Invalid,
                _ => TenantStatus::from_raw(claim_text),
            },
            email: None,
        };
        match self.source {
            TenantSource::Claim => Ok(from_claim()),
            TenantSource::Auto if claim.is_some() => Ok(from_claim()),
            TenantSource::Auto | TenantSource::Userinfo => {
                self.ask_cognito(access_token, verified).await
            }
        }
    }

    async fn ask_cognito(
        &self,
        access_token: &str,
        verified: &VerifiedToken,
    ) -> Result<Resolved, TenancyError> {
        let now = cognigraph_token::Clock::now(&cognigraph_token::SystemClock::default()).as_secs();
        // Keyed by user and token id together (defence in depth: a jti is only unique per pool).
        let key = verified
            .jti()
            .map(|jti| format!("{}\u{0}{jti}", verified.sub()));
        if !self.ttl.is_zero()
            && let Some(key) = &key
            && let Some((resolved, expires)) = self.cache.get(key).await
            && now < expires
        {
            return Ok(resolved);
        }
        let resolved = self.user_info.get_user(access_token).await?;
        if !self.ttl.is_zero()
            && let Some(key) = key
        {
            let expires = cache_deadline(now, self.ttl, verified.expires_at());
            self.cache.insert(key, (resolved.clone(), expires)).await;
        }
        Ok(resolved)
    }
}

/// Until when (epoch seconds) a `GetUser` answer may be reused: `ttl` from now, never past the
/// token's expiry.
fn cache_deadline(now: u64, ttl: Duration, token_expires_at: u64) -> u64 {
    now.saturating_add(ttl.as_secs().max(1))
        .min(token_expires_at)
}

/// Cognito's `GetUser`, over its JSON protocol.
#[derive(Debug)]
struct UserInfoClient {
    client: reqwest::Client,
    endpoint: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetUserResponse {
    #[serde(default)]
    user_attributes: Vec<Attribute>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Attribute {
    name: String,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Deserialize)]
struct CognitoError {
    #[serde(rename = "__type", default)]
    kind: String,
}

impl UserInfoClient {
    async fn get_user(&self, access_token: &str) -> Result<Resolved, TenancyError> {
        let response = self
            .client
            .post(&self.endpoint)
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", "AWSCognitoIdentityProviderService.GetUser")
            .body(json!({ "AccessToken": access_token }).to_string())
            .send()
            .await
            .map_err(|e| TenancyError::Unavailable(e.to_string()))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| TenancyError::Unavailable(e.to_string()))?;
        if !status.is_success() {
            let kind = serde_json::from_slice::<CognitoError>(&body)
                .map(|e| e.kind)
                .unwrap_or_default();
            // `__type` may carry a namespace prefix ("com.amazonaws…#NotAuthorizedException").
            if kind.rsplit('#').next() == Some("NotAuthorizedException") {
                return Err(TenancyError::Revoked);
            }
            return Err(TenancyError::Unavailable(format!("HTTP {status} {kind}")));
        }
        let user: GetUserResponse = serde_json::from_slice(&body)
            .map_err(|e| TenancyError::Unavailable(format!("unexpected GetUser answer: {e}")))?;
        let attribute = |name: &str| {
            user.user_attributes
                .iter()
                .find(|a| a.name == name)
                .and_then(|a| a.value.clone())
        };
        Ok(Resolved {
            tenant: TenantStatus::from_raw(attribute("custom:tenant").as_deref()),
            email: attribute("email"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_are_checked_not_truncated() {
        let member = |t: &str| TenantStatus::Member(TenantId::parse(t).unwrap());
        assert_eq!(TenantStatus::from_raw(Some("acme")), member("acme"));
        assert_eq!(
            TenantStatus::from_raw(Some("Acme_Corp-2")),
            member("Acme_Corp-2")
        );
        let longest = "x".repeat(64);
        assert_eq!(TenantStatus::from_raw(Some(&longest)), member(&longest));
        assert_eq!(TenantStatus::from_raw(None), TenantStatus::Missing);
        for bad in ["", "acme corp", "acme/../globex", "ä", &"x".repeat(65)] {
            assert_eq!(
                TenantStatus::from_raw(Some(bad)),
                TenantStatus::Invalid,
                "{bad}"
            );
        }
    }

    #[test]
    fn cached_answers_never_outlive_the_token() {
        let ttl = Duration::from_secs(60);
        assert_eq!(cache_deadline(1_000, ttl, 5_000), 1_060);
        assert_eq!(cache_deadline(1_000, ttl, 1_010), 1_010);
    }
}
