//! What a successful verification returns.

use std::{
    fmt,
    sync::{Arc, OnceLock},
};

use serde_json::{Map, Value};

use crate::{
    TokenUse,
    dangerous::{Claims, Text},
};

/// The claims of a token that passed every check.
///
/// It has no public constructor: holding one means the verifier accepted the token (the
/// `test-helpers` feature adds `VerifiedToken::for_tests`). Cheap to clone (the claims are
/// shared, not copied): the verified-token cache hands out a clone on every hit.
#[derive(Debug, Clone)]
pub struct VerifiedToken(Arc<VerifiedClaims>);

/// What a [`VerifiedToken`] holds: the decoded claims (their strings are spans of the payload's
/// JSON text, not copies), and the two sets read from them.
#[derive(Debug)]
struct VerifiedClaims {
    claims: Claims,
    token_use: TokenUse,
    /// `cognito:groups`, sorted, without repeats.
    groups: Vec<Text>,
    /// `scope` split on spaces, sorted, without repeats.
    scopes: Scopes,
    /// `event_id` as a JSON value, made when first asked for.
    event_id: OnceLock<Option<Value>>,
    /// The claims without an accessor, `event_id` among them, made when first asked for (only
    /// when there is an `event_id`: else they are `claims.other`).
    other: OnceLock<Map<String, Value>>,
}

/// The names in `scope`: most Cognito access tokens have one (`aws.cognito.signin.user.admin`),
/// held without a `Vec`.
#[derive(Debug)]
enum Scopes {
    One(Text),
    /// None, or several, sorted, without repeats.
    Many(Vec<Text>),
}

impl Scopes {
    /// The names of `scope` (split on spaces), read from `json`.
    fn of(json: &str, scope: &str) -> Self {
        // A span of the payload where `scope` is one, else a copy.
        let names = scope
            .split_ascii_whitespace()
            .map(|name| Text::locate(json, name));
        let mut rest = names.clone();
        match (rest.next(), rest.next()) {
            (Some(one), None) => Self::One(one),
            _ => Self::Many(name_set(json, names.collect())),
        }
    }

    fn as_slice(&self) -> &[Text] {
        match self {
            Self::One(name) => std::slice::from_ref(name),
            Self::Many(names) => names,
        }
    }
}

/// The names a claim lists (`cognito:groups`, `scope`): sorted, without repeats, borrowed from the
/// verified token.
#[derive(Clone, Copy)]
pub struct NameSet<'a> {
    json: &'a str,
    names: &'a [Text],
}

impl<'a> NameSet<'a> {
    /// Whether `name` is in the set.
    pub fn contains(&self, name: &str) -> bool {
        self.names
            .binary_search_by(|entry| entry.read(self.json).cmp(name))
            .is_ok()
    }

    /// The names, in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        let json = self.json;
        self.names.iter().map(move |name| name.read(json))
    }

    /// How many names.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the set has no name.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

impl fmt::Debug for NameSet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// `names`, sorted and without repeats, as read from `json`.
fn name_set(json: &str, mut names: Vec<Text>) -> Vec<Text> {
    // Byte by byte, inlined: names are short, and a call to the C library's memcmp per
    // comparison cost more than the comparison.
    fn bytes<'a>(json: &'a str, text: &'a Text) -> std::slice::Iter<'a, u8> {
        text.read(json).as_bytes().iter()
    }
    names.sort_unstable_by(|a, b| bytes(json, a).cmp(bytes(json, b)));
    names.dedup_by(|a, b| bytes(json, a).eq(bytes(json, b)));
    names
}

impl VerifiedToken {
    /// The claims of a token that passed every built-in check (so `iss`, `sub` and `exp` are
    /// there).
    pub(crate) fn from_checked(mut claims: Claims, token_use: TokenUse) -> Self {
        let json = claims.json.as_str();
        let groups = name_set(json, claims.groups.take().unwrap_or_default());
        let scopes = Scopes::of(json, claims.read(&claims.scope).unwrap_or_default());
        Self(Arc::new(VerifiedClaims {
            claims,
            token_use,
            groups,
            scopes,
            event_id: OnceLock::new(),
            other: OnceLock::new(),
        }))
    }

    fn read<'a>(&'a self, claim: &'a Option<Text>) -> Option<&'a str> {
        self.0.claims.read(claim)
    }

    /// `sub`: the user's stable id in the pool.
    pub fn sub(&self) -> &str {
        self.read(&self.0.claims.sub).unwrap_or_default()
    }

    /// `username` (access tokens) or `cognito:username` (ID tokens).
    pub fn username(&self) -> Option<&str> {
        // Access tokens say `username`, ID tokens `cognito:username`; the other claim, if
        // present, is not the Cognito username.
        match self.0.token_use {
            TokenUse::Access => self.read(&self.0.claims.username),
            TokenUse::Id => self.read(&self.0.claims.cognito_username),
        }
    }

    /// `client_id`: the app client the access token was issued to.
    pub fn client_id(&self) -> Option<&str> {
        self.read(&self.0.claims.client_id)
    }

    /// `aud`: the app client(s) an ID token was issued to, in the token's order.
    pub fn audience(&self) -> impl Iterator<Item = &str> {
        self.0.claims.audience()
    }

    /// `cognito:groups` as a set (empty when the claim is absent, as for users in no group).
    pub fn groups(&self) -> NameSet<'_> {
        NameSet {
            json: &self.0.claims.json,
            names: &self.0.groups,
        }
    }

    /// `scope`, split on spaces.
    pub fn scopes(&self) -> NameSet<'_> {
        NameSet {
            json: &self.0.claims.json,
            names: self.0.scopes.as_slice(),
        }
    }

    /// `iss`: one of the configured issuers.
    pub fn issuer(&self) -> &str {
        self.read(&self.0.claims.iss).unwrap_or_default()
    }

    /// `token_use`.
    pub fn token_use(&self) -> TokenUse {
        self.0.token_use
    }

    /// `exp`, seconds since the epoch.
    pub fn expires_at(&self) -> u64 {
        self.0.claims.exp.unwrap_or_default()
    }

    /// `iat`, seconds since the epoch.
    pub fn issued_at(&self) -> Option<u64> {
        self.0.claims.iat
    }

    /// `auth_time`, seconds since the epoch.
    pub fn auth_time(&self) -> Option<u64> {
        self.0.claims.auth_time
    }

    /// `jti`: this token's id.
    pub fn jti(&self) -> Option<&str> {
        self.read(&self.0.claims.jti)
    }

    /// `origin_jti`: the id of the sign-in this token descends from (shared across refreshes).
    pub fn origin_jti(&self) -> Option<&str> {
        self.read(&self.0.claims.origin_jti)
    }

    /// A claim this type has no accessor for, e.g. `custom:tenant`.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        match name {
            "event_id" => self
                .0
                .event_id
                .get_or_init(|| self.read(&self.0.claims.event_id).map(Value::from))
                .as_ref(),
            _ => self.0.claims.other.get(name),
        }
    }

    /// Every claim this type has no accessor for.
    pub fn other_claims(&self) -> &Map<String, Value> {
        let claims = &self.0.claims;
        let Some(event_id) = claims.read(&claims.event_id) else {
            return &claims.other;
        };
        self.0.other.get_or_init(|| {
            let mut other = claims.other.clone();
            other.insert("event_id".to_owned(), Value::from(event_id));
            other
        })
    }

    /// A token value for tests of code that consumes verified tokens, built without any check:
    /// `iss` defaults to a test pool's, `exp` to the end of time.
    ///
    /// Only with the `test-helpers` feature; never enable it in a production build.
    #[cfg(any(test, feature = "test-helpers"))]
    pub fn for_tests(claims: Value) -> Self {
        let Value::Object(mut map) = claims else {
            panic!("for_tests takes a JSON object")
        };
        map.entry("iss")
            .or_insert_with(|| "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_test".into());
        map.entry("exp").or_insert_with(|| u64::MAX.into());
        let token_use = match map.get("token_use").and_then(Value::as_str) {
            Some("id") => TokenUse::Id,
            _ => TokenUse::Access,
        };
        Self::from_checked(crate::dangerous::claims_for_tests(map), token_use)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn name_sets_are_sorted_without_repeats_whether_escaped_or_not() {
        // The serializer escapes the quote and the tab: one group, and every scope, are copies;
        // the rest are spans of the payload.
        let token = VerifiedToken::for_tests(json!({
            "sub": "s",
            "cognito:groups": ["b", "a\"q", "b", "c"],
            "scope": "z a\ty a",
        }));
        let groups = token.groups();
        assert_eq!(groups.iter().collect::<Vec<_>>(), ["a\"q", "b", "c"]);
        assert_eq!(groups.len(), 3);
        assert!(groups.contains("a\"q") && groups.contains("c"));
        assert!(!groups.contains("a") && !groups.contains("d"));
        assert_eq!(token.scopes().iter().collect::<Vec<_>>(), ["a", "y", "z"]);
        assert!(token.scopes().contains("y"));
        assert_eq!(format!("{groups:?}"), r#"{"a\"q", "b", "c"}"#);
        let none = VerifiedToken::for_tests(json!({"sub": "s"}));
        assert!(none.groups().is_empty() && none.scopes().is_empty());
        for scope in ["only", " only ", "only only"] {
            let one = VerifiedToken::for_tests(json!({"sub": "s", "scope": scope}));
            assert_eq!(
                one.scopes().iter().collect::<Vec<_>>(),
                ["only"],
                "{scope:?}"
            );
            assert!(one.scopes().contains("only") && !one.scopes().contains("o"));
        }
        let blank = VerifiedToken::for_tests(json!({"sub": "s", "scope": " "}));
        assert!(blank.scopes().is_empty());
    }

    #[test]
    fn event_id_is_one_of_the_other_claims() {
        let token = VerifiedToken::for_tests(json!({
            "sub": "s",
            "event_id": "e-1",
            "custom:tenant": "acme",
        }));
        assert_eq!(token.claim("event_id"), Some(&json!("e-1")));
        assert_eq!(token.claim("custom:tenant"), Some(&json!("acme")));
        assert_eq!(
            Value::Object(token.other_claims().clone()),
            json!({"event_id": "e-1", "custom:tenant": "acme"})
        );
        let without = VerifiedToken::for_tests(json!({"sub": "s", "custom:tenant": "acme"}));
        assert_eq!(without.claim("event_id"), None);
        assert_eq!(
            Value::Object(without.other_claims().clone()),
            json!({"custom:tenant": "acme"})
        );
    }
}
