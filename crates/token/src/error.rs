//! What can go wrong, one variant per failed check, each with a stable machine code.

use std::fmt;

/// Why a token was refused.
///
/// Every variant has a stable [`code`](VerifyError::code) that callers may show to clients (for
/// example in `WWW-Authenticate: Bearer error_description="…"`); the `Display` text carries details
/// for logs. Values copied from the token (an issuer, a kid, a client id…) are cut to 64
/// characters with control characters escaped, so a hostile token cannot flood or forge log
/// lines; the token itself never appears.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The token is longer than the configured maximum (8 KiB unless configured otherwise).
    #[error("token is {actual} bytes, more than the {max} allowed")]
    TooLarge {
        /// Length of the presented token in bytes.
        actual: usize,
        /// The configured maximum.
        max: usize,
    },
    /// Not three segments of canonical unpadded base64url, or header/payload not a JSON object
    /// without duplicate keys.
    #[error("malformed token: {0}")]
    Malformed(Malformed),
    /// A registered or Cognito claim (or header parameter) has the wrong JSON type.
    #[error("claim `{claim}` must be {expected}")]
    InvalidClaimType {
        /// The claim or header parameter name.
        claim: &'static str,
        /// What type it must have.
        expected: &'static str,
    },
    /// A claim the checks depend on is absent.
    #[error("claim `{claim}` is missing")]
    MissingClaim {
        /// The claim name.
        claim: &'static str,
    },
    /// The header lists a critical extension (`crit`) this verifier does not implement.
    #[error("unsupported critical header parameter(s): {names:?}")]
    UnsupportedCritical {
        /// The names listed in `crit`.
        names: Vec<String>,
    },
    /// `alg` is not RS256. The algorithm is fixed in code and never taken from the token.
    #[error("algorithm `{actual}` is not accepted; only RS256 is")]
    InvalidAlgorithm {
        /// The `alg` the token claimed.
        actual: String,
    },
    /// The header has no `kid`.
    #[error("header has no `kid`")]
    MissingKid,
    /// `iss` is not one of the configured user pools' issuers.
    #[error("issuer `{actual}` is not a configured user pool")]
    InvalidIssuer {
        /// The unverified `iss` of the token.
        actual: String,
    },
    /// The issuer's key set, fetched successfully, has no usable RS256 key with this `kid`.
    #[error("no signing key `{kid}` in the issuer's key set")]
    UnknownKid {
        /// The `kid` of the token.
        kid: String,
    },
    /// The issuer's key set could not be fetched and none is cached. The token may well be valid:
    /// callers should answer "try again later" (HTTP 503), not "unauthenticated".
    #[error("signing keys unavailable from {url}: {source}")]
    KeysUnavailable {
        /// The JWKS URL (from configuration).
        url: String,
        /// Why the last fetch failed.
        #[source]
        source: crate::jwks::JwksError,
    },
    /// The RS256 signature does not match.
    #[error("signature does not verify")]
    InvalidSignature,
    /// `exp` is not after the current time (plus clock skew).
    #[error("token expired at {exp} (now {now})")]
    Expired {
        /// The `exp` claim, seconds since the epoch.
        exp: u64,
        /// The verifier's clock, seconds since the epoch.
        now: u64,
    },
    /// `nbf` is after the current time (plus clock skew).
    #[error("token not valid before {nbf} (now {now})")]
    NotYetValid {
        /// The `nbf` claim, seconds since the epoch.
        nbf: u64,
        /// The verifier's clock, seconds since the epoch.
        now: u64,
    },
    /// `iat` is further ahead of the clock than the configured tolerance.
    #[error("token issued at {iat}, in the future (now {now})")]
    IssuedInFuture {
        /// The `iat` claim, seconds since the epoch.
        iat: u64,
        /// The verifier's clock, seconds since the epoch.
        now: u64,
    },
    /// `token_use` is not the expected one (an ID token where access tokens are expected…).
    #[error("token_use `{actual}` where `{expected}` is expected")]
    InvalidTokenUse {
        /// The token's `token_use`.
        actual: String,
        /// The configured one.
        expected: crate::TokenUse,
    },
    /// The access token's `client_id` is not an allowed app client of its pool.
    #[error("client `{actual}` is not allowed")]
    InvalidClient {
        /// The token's `client_id`.
        actual: String,
    },
    /// None of the ID token's `aud` values is an allowed app client of its pool.
    #[error("audience {actual:?} is not allowed")]
    InvalidAudience {
        /// The token's `aud` values.
        actual: Vec<String>,
    },
    /// None of the required scopes is in the token's `scope`.
    #[error("none of the required scopes is granted")]
    MissingScope,
    /// None of the required groups is in the token's `cognito:groups`.
    #[error("not in any of the required groups")]
    MissingGroup,
    /// The configured custom check refused the token.
    #[error("custom check failed: {reason}")]
    CustomCheckFailed {
        /// The reason the check gave (for logs).
        reason: String,
    },
}

impl VerifyError {
    /// The stable machine code of this failure, e.g. `token_expired` or `unknown_kid`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "token_too_large",
            Self::Malformed(_) => "malformed",
            Self::InvalidClaimType { .. } => "invalid_claim_type",
            Self::MissingClaim { .. } => "missing_claim",
            Self::UnsupportedCritical { .. } => "unsupported_crit",
            Self::InvalidAlgorithm { .. } => "invalid_algorithm",
            Self::MissingKid => "missing_kid",
            Self::InvalidIssuer { .. } => "invalid_issuer",
            Self::UnknownKid { .. } => "unknown_kid",
            Self::KeysUnavailable { .. } => "keys_unavailable",
            Self::InvalidSignature => "invalid_signature",
            Self::Expired { .. } => "token_expired",
            Self::NotYetValid { .. } => "token_not_yet_valid",
            Self::IssuedInFuture { .. } => "issued_in_future",
            Self::InvalidTokenUse { .. } => "invalid_token_use",
            Self::InvalidClient { .. } => "invalid_client",
            Self::InvalidAudience { .. } => "invalid_audience",
            Self::MissingScope => "missing_scope",
            Self::MissingGroup => "missing_group",
            Self::CustomCheckFailed { .. } => "custom_check_failed",
        }
    }

    /// True when the token could not be judged because signing keys are unavailable: the fault is
    /// on the issuer's side (or the network), not the token's.
    pub fn is_keys_unavailable(&self) -> bool {
        matches!(self, Self::KeysUnavailable { .. })
    }
}

/// What exactly is malformed (details for logs; the code stays `malformed`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Malformed {
    /// Not exactly three dot-separated segments.
    SegmentCount,
    /// A segment is empty or not canonical unpadded base64url.
    Base64 {
        /// `header`, `payload` or `signature`.
        segment: &'static str,
    },
    /// Header or payload is not valid JSON, not an object, or repeats a key.
    Json {
        /// `header` or `payload`.
        segment: &'static str,
        /// The parser's message (about the token's structure, never its content).
        detail: String,
    },
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SegmentCount => f.write_str("a JWT has exactly three segments"),
            Self::Base64 { segment } => {
                write!(f, "{segment} is not canonical unpadded base64url")
            }
            Self::Json { segment, detail } => write!(f, "{segment} is not a JSON object: {detail}"),
        }
    }
}

/// A verifier configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The region is not of the form `us-east-1`.
    #[error("`{0}` is not an AWS region name (like us-east-1)")]
    InvalidRegion(String),
    /// The pool id is not `<region>_<alphanumerics>`, or its region is not the configured one.
    #[error("`{0}` is not a user pool id of the form <region>_<alphanumerics> for this region")]
    InvalidPoolId(String),
    /// An app client id is empty or contains characters Cognito never uses.
    #[error("`{0}` is not an app client id (alphanumerics)")]
    InvalidClientId(String),
    /// A pool without allowed app clients would accept no token.
    #[error("user pool {0} has no allowed app client ids")]
    NoClientIds(String),
    /// A verifier without user pools would accept no token.
    #[error("no user pools configured")]
    NoPools,
    /// An override is not an `http(s)://` URL with a host.
    #[error("`{0}` is not an http(s) URL")]
    InvalidUrl(String),
    /// A plain `http://` URL to a host other than loopback.
    #[error("`{0}` must use https (plain http is allowed for loopback hosts only)")]
    InsecureUrl(String),
    /// Two pools claim the same issuer.
    #[error("issuer {0} is configured twice")]
    DuplicateIssuer(String),
    /// The HTTP client for JWKS fetches could not be built.
    #[error("cannot build the JWKS HTTP client: {0}")]
    HttpClient(String),
}

/// A value copied from an untrusted token into an error: at most 64 characters, control
/// characters escaped, a `…` where it was cut.
pub(crate) fn untrusted(text: &str) -> String {
    const MAX_CHARS: usize = 64;
    let mut out = String::new();
    for (index, c) in text.chars().enumerate() {
        if index == MAX_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The first few values of an untrusted list, each passed through [`untrusted`].
pub(crate) fn untrusted_list<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    values.into_iter().take(8).map(untrusted).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untrusted_text_is_cut_and_escaped() {
        assert_eq!(untrusted("iss\nfake log line"), "iss\\nfake log line");
        assert_eq!(untrusted("a\nb"), "a\\nb");
        let long = "x".repeat(100);
        assert_eq!(untrusted(&long).chars().count(), 65);
        assert!(untrusted(&long).ends_with('…'));
    }
}
