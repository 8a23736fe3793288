//! Bearer extraction: the Authorization header becomes a [`Principal`] or a refusal.

use axum::{
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::AppState;
use crate::{
    authz::Principal,
    errors::{ErrorCode, chain, http_error},
    tenancy::{Refusal, RevocationCheck, TenancyError, TenantLookup},
};

/// Seconds a client should wait when the signing keys cannot be had (the JWKS cooldown).
pub(super) const RETRY_AFTER_SECS: u64 = 10;

/// The `reason` of a request with more than one Authorization header.
const MULTIPLE_AUTHORIZATION_HEADERS: &str = "multiple_authorization_headers";

/// Why a request is not authenticated.
#[derive(Debug)]
pub(super) enum AuthRejection {
    /// No usable Authorization header.
    Missing { reason: &'static str },
    /// More than one Authorization header: a proxy that reads another one than we do would
    /// disagree about who the caller is, so none is used.
    Ambiguous,
    /// A Bearer token that the verifier refused, with its code.
    Invalid { code: &'static str },
    /// The signing keys cannot be fetched and none are cached: the token may be fine.
    KeysUnavailable,
    /// Cognito's GetUser could not be asked: the token may be fine.
    IdentityProviderUnavailable,
}

/// Authenticates from the headers: `Ok(None)` when there is no Authorization header at all,
/// refused when there is more than one.
///
/// The token is never logged; only the verifier's code is.
pub(super) async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Principal>, AuthRejection> {
    let mut values = headers.get_all(header::AUTHORIZATION).into_iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        tracing::info!("request with more than one Authorization header refused");
        state
            .metrics
            .count_auth_failure(MULTIPLE_AUTHORIZATION_HEADERS);
        return Err(AuthRejection::Ambiguous);
    }
    let token = bearer_token(value).ok_or(AuthRejection::Missing {
        reason: "not_bearer",
    })?;
    match state.verifier.verify(token).await {
        Ok(verified) => {
            if state.revocation_check == RevocationCheck::Getuser {
                match state.tenants.check_revocation(token, &verified).await {
                    Ok(()) => {}
                    Err(TenancyError::Refused(refusal)) => {
                        return Err(refused(state, verified.sub(), refusal));
                    }
                    Err(error) => {
                        tracing::error!(error = %chain(&error), "revocation check unavailable");
                        return Err(AuthRejection::IdentityProviderUnavailable);
                    }
                }
            }
            // The tenant is looked up later, and only if a field needs it.
            let tenant = TenantLookup::new(&state.tenants, value, token, &verified);
            let principal = Principal::from_verified(&verified, &state.role_groups, tenant);
            tracing::Span::current().record("sub", principal.sub());
            Ok(Some(principal))
        }
        Err(error) if error.is_keys_unavailable() => {
            tracing::error!(error = %chain(&error), "signing keys unavailable");
            state.metrics.count_auth_failure(error.code());
            Err(AuthRejection::KeysUnavailable)
        }
        Err(error) => {
            tracing::info!(code = error.code(), %error, "token refused");
            state.metrics.count_auth_failure(error.code());
            Err(AuthRejection::Invalid { code: error.code() })
        }
    }
}

/// The refusal of a token whose user Cognito refuses: revoked (or the user signed out
/// everywhere, or is disabled), user deleted, password reset required, user not confirmed.
pub(super) fn refused(state: &AppState, sub: &str, refusal: Refusal) -> AuthRejection {
    let code = refusal.reason();
    if refusal == Refusal::TokenRevoked {
        tracing::info!(sub, "token revoked (GetUser)");
    } else {
        tracing::info!(sub, code, "user refused (GetUser)");
    }
    state.metrics.count_auth_failure(code);
    AuthRejection::Invalid { code }
}

/// `Bearer <token>`, the scheme case-insensitive (RFC 7235), one token with no spaces.
fn bearer_token(value: &HeaderValue) -> Option<&str> {
    let value = value.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim_start_matches(' ');
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

impl AuthRejection {
    pub(super) fn missing_token() -> Self {
        Self::Missing {
            reason: "missing_token",
        }
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Missing { reason } => {
                let mut response = http_error(
                    StatusCode::UNAUTHORIZED,
                    ErrorCode::Unauthenticated,
                    "authentication required",
                    Some(reason),
                );
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Bearer realm="cognigraph""#),
                );
                response
            }
            Self::Ambiguous => http_error(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                "send one Authorization header, not several",
                Some(MULTIPLE_AUTHORIZATION_HEADERS),
            ),
            Self::Invalid { code } => {
                let challenge = format!(
                    r#"Bearer realm="cognigraph", error="invalid_token", error_description="{code}""#
                );
                let mut response = http_error(
                    StatusCode::UNAUTHORIZED,
                    ErrorCode::Unauthenticated,
                    "invalid token",
                    Some(code),
                );
                if let Ok(value) = HeaderValue::from_str(&challenge) {
                    response
                        .headers_mut()
                        .insert(header::WWW_AUTHENTICATE, value);
                }
                response
            }
            Self::KeysUnavailable => unavailable(
                "the identity provider's signing keys are unavailable; try again later",
                "keys_unavailable",
            ),
            Self::IdentityProviderUnavailable => unavailable(
                "the identity provider cannot be asked about this user; try again later",
                "identity_provider_unavailable",
            ),
        }
    }
}

fn unavailable(message: &str, reason: &str) -> Response {
    let mut response = http_error(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::ServiceUnavailable,
        message,
        Some(reason),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive_and_strict_about_the_token() {
        let token = |v: &'static str| bearer_token(&HeaderValue::from_static(v)).map(str::to_owned);
        assert_eq!(token("Bearer abc").as_deref(), Some("abc"));
        assert_eq!(token("bearer abc").as_deref(), Some("abc"));
        assert_eq!(token("BEARER  abc").as_deref(), Some("abc"));
        assert_eq!(token("Bearer"), None);
        assert_eq!(token("Bearer "), None);
        assert_eq!(token("Bearer a b"), None);
        assert_eq!(token("Basic abc"), None);
        assert_eq!(token("abc"), None);
    }
}
