//! Which tenant a caller belongs to: `custom:tenant` from the token, or from Cognito's `GetUser`.
//!
//! `GetUser` (through [`cognigraph_cognito::UserPool`]) is called with the caller's own access
//! token, so it also tells whether the token is still good: after a global sign-out (or an
//! admin's `AdminUserGlobalSignOut`) Cognito answers `NotAuthorizedException` for every access
//! token of that user, which a signature check cannot see (the JWT stays valid until `exp`); a
//! deleted user is `UserNotFoundException`, and so on ([`Refusal`]: each a 401 with its own
//! reason). Users' attributes are cached per `sub` and token `jti` for a configurable time
//! (default 60 s, never past the token's expiry), so a revocation is noticed within it; a refusal
//! is cached until the token expires. Throttling and outages are 503s, and after one no request
//! asks Cognito for [`FAILURE_COOLDOWN`].
//!
//! A request's tenant is a [`TenantLookup`]: resolved the first time a field needs it, at most
//! once per request. `REVOCATION_CHECK=getuser` ([`RevocationCheck`]) asks `GetUser` for every
//! request instead, before any field runs.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use axum::http::HeaderValue;
use clap::ValueEnum;
use cognigraph_cognito::{CognitoError, User, UserPool};
use cognigraph_domain::TenantId;
use cognigraph_token::VerifiedToken;

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
pub struct TenantResolution {
    /// The tenant.
    pub tenant: TenantStatus,
    /// The user's email, when `GetUser` was asked.
    pub email: Option<String>,
}

/// Why the tenant could not be resolved.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TenancyError {
    /// Cognito refuses the access token or its user: the request is refused (401).
    #[error("Cognito refused the caller: {}", .0.reason())]
    Refused(Refusal),
    /// Cognito could not be asked (throttled, 5xx, timeout, unexpected answer): worth a retry
    /// (503). Shared: one failed call answers every request that waited for it.
    #[error("Cognito GetUser failed")]
    Unavailable(#[source] Arc<CognitoError>),
    /// Not asked: `GetUser` failed less than [`FAILURE_COOLDOWN`] ago (503 as well).
    #[error("Cognito GetUser not asked: it failed less than the cool-down ago")]
    CoolingDown,
}

/// Why Cognito's `GetUser` refuses a caller whose token verified. Each is a 401 with its own
/// `reason`; the token's signature and `exp` cannot tell any of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `NotAuthorizedException`: the token was revoked, its user signed out everywhere (or an
    /// admin signed them out), or the user is disabled.
    TokenRevoked,
    /// `UserNotFoundException`: the user was deleted.
    UserNotFound,
    /// `PasswordResetRequiredException`: the user must reset their password.
    PasswordResetRequired,
    /// `UserNotConfirmedException`: the user has not confirmed their account.
    UserNotConfirmed,
}

impl Refusal {
    /// The `reason` clients see (in the body and the `WWW-Authenticate` challenge).
    pub fn reason(self) -> &'static str {
        match self {
            Self::TokenRevoked => "token_revoked",
            Self::UserNotFound => "user_not_found",
            Self::PasswordResetRequired => "password_reset_required",
            Self::UserNotConfirmed => "user_not_confirmed",
        }
    }

    /// The refusal a Cognito error means, if it is one (else it is a failure to ask).
    fn of(error: &CognitoError) -> Option<Self> {
        match error {
            CognitoError::NotAuthorized { .. } => Some(Self::TokenRevoked),
            CognitoError::UserNotFound => Some(Self::UserNotFound),
            CognitoError::PasswordResetRequired => Some(Self::PasswordResetRequired),
            CognitoError::UserNotConfirmed => Some(Self::UserNotConfirmed),
            _ => None,
        }
    }
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
    answer: tokio::sync::OnceCell<Result<TenantResolution, TenancyError>>,
}

enum LookupSource {
    /// Already known (tests).
    Known(TenantResolution),
    /// Per the configured source: the claim, or Cognito's `GetUser` with the caller's token.
    Resolver(Box<ResolverRequest>),
}

struct ResolverRequest {
    resolver: TenantResolver,
    access_token: HeldToken,
    verified: VerifiedToken,
}

/// The caller's access token, held as the request's `Authorization` header value, which shares
/// its bytes with the request rather than copying them (a token is about a kilobyte, and most
/// requests never ask Cognito), and the token's length: the token is the value's end.
struct HeldToken {
    header: HeaderValue,
    len: usize,
}

impl HeldToken {
    /// `token` must end `header` (as the Bearer token does); otherwise the held token is empty,
    /// which Cognito refuses.
    fn new(header: &HeaderValue, token: &str) -> Self {
        let ends_header = header.as_bytes().ends_with(token.as_bytes());
        Self {
            header: header.clone(),
            len: if ends_header { token.len() } else { 0 },
        }
    }

    fn as_str(&self) -> &str {
        self.header
            .to_str()
            .ok()
            .and_then(|value| value.get(value.len().saturating_sub(self.len)..))
            .unwrap_or_default()
    }
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
    /// `access_token` is the end of `header`, the request's `Authorization` value, which is
    /// held rather than the token copied.
    pub fn new(
        resolver: &TenantResolver,
        header: &HeaderValue,
        access_token: &str,
        verified: &VerifiedToken,
    ) -> Self {
        Self::with_source(LookupSource::Resolver(Box::new(ResolverRequest {
            resolver: resolver.clone(),
            access_token: HeldToken::new(header, access_token),
            verified: verified.clone(),
        })))
    }

    /// A lookup whose answer is known already.
    pub fn known(resolved: TenantResolution) -> Self {
        Self::with_source(LookupSource::Known(resolved))
    }

    fn with_source(source: LookupSource) -> Self {
        Self(Arc::new(Lookup {
            source,
            answer: tokio::sync::OnceCell::new(),
        }))
    }

    /// The tenant (and email), resolved on the first call; later calls share the answer.
    pub async fn get(&self) -> Result<&TenantResolution, TenancyError> {
        let answer = match self.0.answer.get() {
            Some(answer) => answer,
            // Boxed: the lookup (Cognito's `GetUser`, with retries) is a large future, and every
            // field guard that asks for the tenant would otherwise carry room for it, in every
            // field future of its type (boxed by the engine for each field it resolves).
            None => Box::pin(self.0.answer.get_or_init(|| self.look_up())).await,
        };
        answer.as_ref().map_err(Clone::clone)
    }

    async fn look_up(&self) -> Result<TenantResolution, TenancyError> {
        match &self.0.source {
            LookupSource::Known(resolved) => Ok(resolved.clone()),
            LookupSource::Resolver(request) => {
                let ResolverRequest {
                    resolver,
                    access_token,
                    verified,
                } = &**request;
                resolver.resolve(access_token.as_str(), verified).await
            }
        }
    }

    /// The refusal a lookup of this request found (the token revoked, the user deleted, ...).
    pub fn found_refusal(&self) -> Option<Refusal> {
        match self.0.answer.get() {
            Some(Err(TenancyError::Refused(refusal))) => Some(*refusal),
            _ => None,
        }
    }
}

/// How long, after `GetUser` failed (throttled, 5xx, timeout), no request asks it again: they
/// fail at once as unavailable (503 with `Retry-After`), so a storm of requests during an outage
/// or a throttling spell costs one call per cool-down, not one per request.
pub const FAILURE_COOLDOWN: Duration = Duration::from_secs(5);

/// Resolves tenants per the configured source, with the `GetUser` cache.
///
/// `GetUser` answers are cached per `sub` and token `jti` (tokens without a `jti` are not
/// cached; Cognito's always have one): a user's attributes for the configured time (never past
/// the token's expiry), and a refusal (revoked, user deleted, ...) until the token expires, so a
/// refused token replayed any number of times costs one call. Concurrent lookups of the same
/// token share one call. After a failure, no call is made for [`FAILURE_COOLDOWN`].
#[derive(Debug, Clone)]
pub struct TenantResolver {
    source: TenantSource,
    user_pool: Arc<dyn UserPool>,
    cache: moka::future::Cache<String, CachedAnswer>,
    ttl: Duration,
    failing_until: Arc<Mutex<Option<Instant>>>,
}

/// A `GetUser` answer, kept until `until`.
#[derive(Debug, Clone)]
struct CachedAnswer {
    answer: Result<TenantResolution, Refusal>,
    until: Instant,
}

/// Each cached answer lives until its own deadline.
struct UntilDeadline;

impl moka::Expiry<String, CachedAnswer> for UntilDeadline {
    fn expire_after_create(
        &self,
        _key: &String,
        value: &CachedAnswer,
        created_at: Instant,
    ) -> Option<Duration> {
        Some(value.until.saturating_duration_since(created_at))
    }
}

impl TenantResolver {
    /// A resolver asking `user_pool` when it needs `GetUser`, caching users' attributes for
    /// `ttl` (0: not cached, but refusals still are until the token expires).
    pub fn new(source: TenantSource, user_pool: Arc<dyn UserPool>, ttl: Duration) -> Self {
        Self {
            source,
            user_pool,
            cache: moka::future::Cache::builder()
                .max_capacity(100_000)
                .expire_after(UntilDeadline)
                .build(),
            ttl,
            failing_until: Arc::new(Mutex::new(None)),
        }
    }

    /// Asks Cognito whether `access_token` is still valid (through the same cache as tenant
    /// answers): `Err(Refused(..))` after a global sign-out, a revocation, a deletion, ...
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
    ) -> Result<TenantResolution, TenancyError> {
        let claim = verified.claim("custom:tenant");
        let claim_text = claim.and_then(|v| v.as_str());
        let from_claim = || TenantResolution {
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
    ) -> Result<TenantResolution, TenancyError> {
        let now = cognigraph_token::Clock::now(&cognigraph_token::SystemClock::default()).as_secs();
        let token_left = Duration::from_secs(verified.expires_at().saturating_sub(now));
        // Keyed by user and token id together (defence in depth: a jti is only unique per pool).
        let Some(key) = verified
            .jti()
            .map(|jti| format!("{}\u{0}{jti}", verified.sub()))
        else {
            return self
                .get_user(access_token)
                .await
                .and_then(|answer| answer.map_err(TenancyError::Refused));
        };
        let cached = self
            .cache
            .try_get_with(key, async {
                let answer = self.get_user(access_token).await?;
                let keep = match answer {
                    Ok(_) => cache_time(self.ttl, token_left),
                    Err(_) => token_left,
                };
                Ok::<_, TenancyError>(CachedAnswer {
                    answer,
                    until: Instant::now() + keep,
                })
            })
            .await
            .map_err(|error| (*error).clone())?;
        cached.answer.map_err(TenancyError::Refused)
    }

    /// One `GetUser`, unless it failed less than [`FAILURE_COOLDOWN`] ago: the user, or why
    /// Cognito refuses them.
    async fn get_user(
        &self,
        access_token: &str,
    ) -> Result<Result<TenantResolution, Refusal>, TenancyError> {
        if self.cooling_down() {
            return Err(TenancyError::CoolingDown);
        }
        match self.user_pool.get_user(access_token).await {
            Ok(user) => Ok(Ok(resolved(&user))),
            Err(error) => match Refusal::of(&error) {
                Some(refusal) => Ok(Err(refusal)),
                None => {
                    self.start_cooldown();
                    Err(TenancyError::Unavailable(Arc::new(error)))
                }
            },
        }
    }

    fn cooling_down(&self) -> bool {
        let failing_until = self
            .failing_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        failing_until.is_some_and(|until| Instant::now() < until)
    }

    fn start_cooldown(&self) {
        tracing::warn!(
            cooldown_secs = FAILURE_COOLDOWN.as_secs(),
            "GetUser failed: not asking Cognito again during the cool-down"
        );
        *self
            .failing_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now() + FAILURE_COOLDOWN);
    }
}

/// The tenant and email of a `GetUser` answer.
fn resolved(user: &User) -> TenantResolution {
    TenantResolution {
        tenant: TenantStatus::from_raw(user.tenant()),
        email: user.email().map(str::to_owned),
    }
}

/// An error and its causes, for the log.
/// How long a user's `GetUser` answer may be reused: `ttl`, never past the token's expiry
/// (`token_left` from now).
fn cache_time(ttl: Duration, token_left: Duration) -> Duration {
    ttl.min(token_left)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_token_is_the_end_of_its_header() {
        let header = HeaderValue::from_static("bearer   eyJ.abc.def");
        assert_eq!(
            HeldToken::new(&header, "eyJ.abc.def").as_str(),
            "eyJ.abc.def"
        );
        assert_eq!(
            HeldToken::new(&header, "eyJ.abc").as_str(),
            "",
            "not the header's end: nothing is sent to Cognito"
        );
        let longer = "x".repeat(40);
        assert_eq!(HeldToken::new(&header, &longer).as_str(), "");
    }

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
        assert_eq!(cache_time(ttl, Duration::from_secs(4_000)), ttl);
        assert_eq!(
            cache_time(ttl, Duration::from_secs(10)),
            Duration::from_secs(10)
        );
    }
}
