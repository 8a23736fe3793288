//! What a successful verification returns.

use std::{collections::BTreeSet, sync::Arc};

use serde_json::{Map, Value};

use crate::{TokenUse, dangerous::Claims};

/// The claims of a token that passed every check.
///
/// It has no public constructor: holding one means the verifier accepted the token (the
/// `test-helpers` feature adds [`VerifiedToken::for_tests`]). Cheap to clone (the claims are
/// shared, not copied): the verified-token cache hands out a clone on every hit.
#[derive(Debug, Clone)]
pub struct VerifiedToken(Arc<VerifiedClaims>);

/// What a [`VerifiedToken`] holds.
#[derive(Debug)]
struct VerifiedClaims {
    sub: String,
    username: Option<String>,
    client_id: Option<String>,
    audience: Vec<String>,
    groups: BTreeSet<String>,
    scopes: BTreeSet<String>,
    issuer: String,
    token_use: TokenUse,
    expires_at: u64,
    issued_at: Option<u64>,
    auth_time: Option<u64>,
    jti: Option<String>,
    origin_jti: Option<String>,
    other: Map<String, Value>,
}

impl VerifiedToken {
    pub(crate) fn from_checked(
        claims: Claims,
        issuer: String,
        sub: String,
        expires_at: u64,
        token_use: TokenUse,
    ) -> Self {
        Self(Arc::new(VerifiedClaims {
            sub,
            // Access tokens say `username`, ID tokens `cognito:username`; the other claim, if
            // present, is not the Cognito username.
            username: match token_use {
                TokenUse::Access => claims.username,
                TokenUse::Id => claims.cognito_username,
            },
            client_id: claims.client_id,
            audience: claims.aud.unwrap_or_default(),
            groups: claims.groups.unwrap_or_default().into_iter().collect(),
            scopes: claims
                .scope
                .as_deref()
                .unwrap_or_default()
                .split_ascii_whitespace()
                .map(str::to_owned)
                .collect(),
            issuer,
            token_use,
            expires_at,
            issued_at: claims.iat,
            auth_time: claims.auth_time,
            jti: claims.jti,
            origin_jti: claims.origin_jti,
            other: claims.other,
        }))
    }

    /// `sub`: the user's stable id in the pool.
    pub fn sub(&self) -> &str {
        &self.0.sub
    }

    /// `username` (access tokens) or `cognito:username` (ID tokens).
    pub fn username(&self) -> Option<&str> {
        self.0.username.as_deref()
    }

    /// `client_id`: the app client the access token was issued to.
    pub fn client_id(&self) -> Option<&str> {
        self.0.client_id.as_deref()
    }

    /// `aud`: the app client(s) an ID token was issued to.
    pub fn audience(&self) -> &[String] {
        &self.0.audience
    }

    /// `cognito:groups` as a set (empty when the claim is absent, as for users in no group).
    pub fn groups(&self) -> &BTreeSet<String> {
        &self.0.groups
    }

    /// `scope`, split on spaces.
    pub fn scopes(&self) -> &BTreeSet<String> {
        &self.0.scopes
    }

    /// `iss`: one of the configured issuers.
    pub fn issuer(&self) -> &str {
        &self.0.issuer
    }

    /// `token_use`.
    pub fn token_use(&self) -> TokenUse {
        self.0.token_use
    }

    /// `exp`, seconds since the epoch.
    pub fn expires_at(&self) -> u64 {
        self.0.expires_at
    }

    /// `iat`, seconds since the epoch.
    pub fn issued_at(&self) -> Option<u64> {
        self.0.issued_at
    }

    /// `auth_time`, seconds since the epoch.
    pub fn auth_time(&self) -> Option<u64> {
        self.0.auth_time
    }

    /// `jti`: this token's id.
    pub fn jti(&self) -> Option<&str> {
        self.0.jti.as_deref()
    }

    /// `origin_jti`: the id of the sign-in this token descends from (shared across refreshes).
    pub fn origin_jti(&self) -> Option<&str> {
        self.0.origin_jti.as_deref()
    }

    /// A claim this type has no accessor for, e.g. `custom:tenant`.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.0.other.get(name)
    }

    /// Every claim this type has no accessor for.
    pub fn other_claims(&self) -> &Map<String, Value> {
        &self.0.other
    }

    /// A token value for tests of code that consumes verified tokens, built without any check.
    ///
    /// Only with the `test-helpers` feature; never enable it in a production build.
    #[cfg(any(test, feature = "test-helpers"))]
    pub fn for_tests(claims: Value) -> Self {
        let Value::Object(map) = claims else {
            panic!("for_tests takes a JSON object")
        };
        let issuer = map
            .get("iss")
            .and_then(Value::as_str)
            .unwrap_or("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_test")
            .to_owned();
        let token_use = match map.get("token_use").and_then(Value::as_str) {
            Some("id") => TokenUse::Id,
            _ => TokenUse::Access,
        };
        let decoded = crate::dangerous::claims_for_tests(map);
        let sub = decoded.sub.clone().unwrap_or_default();
        let exp = decoded.exp.unwrap_or(u64::MAX);
        Self::from_checked(decoded, issuer, sub, exp, token_use)
    }
}
