//! Reading a token **before** its signature is checked.
//!
//! Everything here treats the token as hostile: it enforces the shape (three segments of canonical
//! unpadded base64url, a size cap, JSON objects without duplicate keys at any depth, every known
//! claim of its proper type) and nothing more. What it returns is used for exactly two things: to
//! pick the issuer and key that will check the signature, and, once the signature is checked, as
//! the claims to validate. Nothing read here is trusted before [`crate::CognitoVerifier`] has
//! verified the signature.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::{
    Malformed, VerifyError,
    error::{untrusted, untrusted_list},
};

/// A token split and decoded, its signature not yet checked.
#[derive(Debug)]
pub(crate) struct UnverifiedToken<'a> {
    pub(crate) header: Header,
    pub(crate) claims: Claims,
    /// `base64(header).base64(payload)`: the bytes the signature covers.
    pub(crate) signing_input: &'a [u8],
    pub(crate) signature: Vec<u8>,
}

/// The JOSE header fields the verifier reads.
#[derive(Debug)]
pub(crate) struct Header {
    pub(crate) alg: Option<String>,
    pub(crate) kid: Option<String>,
}

/// The claims, each known one checked for its JSON type; absent ones are `None`.
#[derive(Debug, Default)]
pub(crate) struct Claims {
    pub(crate) iss: Option<String>,
    pub(crate) sub: Option<String>,
    pub(crate) jti: Option<String>,
    pub(crate) origin_jti: Option<String>,
    pub(crate) scope: Option<String>,
    pub(crate) username: Option<String>,
    pub(crate) cognito_username: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) token_use: Option<String>,
    pub(crate) aud: Option<Vec<String>>,
    pub(crate) exp: Option<u64>,
    pub(crate) nbf: Option<u64>,
    pub(crate) iat: Option<u64>,
    pub(crate) auth_time: Option<u64>,
    pub(crate) groups: Option<Vec<String>>,
    /// Every claim not listed above, e.g. `custom:tenant`.
    pub(crate) other: Map<String, Value>,
}

/// Splits and decodes `token`, refusing anything not shaped like a JWS compact JWT.
pub(crate) fn decode(token: &str, max_bytes: usize) -> Result<UnverifiedToken<'_>, VerifyError> {
    if token.len() > max_bytes {
        return Err(VerifyError::TooLarge {
            actual: token.len(),
            max: max_bytes,
        });
    }
    let mut segments = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(VerifyError::Malformed(Malformed::SegmentCount));
    };
    let header_json = base64url("header", header_b64)?;
    let payload_json = base64url("payload", payload_b64)?;
    let signature = base64url("signature", signature_b64)?;

    // Structure first (a malformed payload is `malformed` even when the header is mistyped),
    // then types.
    let header = parse_object::<RawHeader>("header", &header_json)?;
    let claims = parse_object::<Claims>("payload", &payload_json)?;
    let header = header?;
    let claims = claims?;
    if let Some(names) = header.crit {
        // This verifier implements no JWS extension, so any `crit` (even an empty one, which
        // RFC 7515 forbids) makes the token unacceptable.
        return Err(VerifyError::UnsupportedCritical {
            names: untrusted_list(&names),
        });
    }
    let signing_input = &token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()];
    Ok(UnverifiedToken {
        header: Header {
            alg: header.alg,
            kid: header.kid,
        },
        claims,
        signing_input,
        signature,
    })
}

/// Canonical unpadded base64url: no padding, no `+`/`/`, no stray trailing bits, not empty.
fn base64url(segment: &'static str, text: &str) -> Result<Vec<u8>, VerifyError> {
    match base64_simd::URL_SAFE_NO_PAD.decode_to_vec(text) {
        Ok(bytes) if !bytes.is_empty() => Ok(bytes),
        _ => Err(VerifyError::Malformed(Malformed::Base64 { segment })),
    }
}

/// Parses a JSON object member by member into `T`. The outer error is structural (`malformed`:
/// not JSON, not an object, a repeated key at any depth); the inner one is the first member of
/// the wrong type.
fn parse_object<T: Members>(
    segment: &'static str,
    bytes: &[u8],
) -> Result<Result<T, VerifyError>, VerifyError> {
    serde_json::from_slice::<ObjectOf<T>>(bytes)
        .map(|ObjectOf(result)| result)
        .map_err(|e| {
            VerifyError::Malformed(Malformed::Json {
                segment,
                detail: untrusted(&e.to_string()),
            })
        })
}

/// A JSON object's members, type-checked one at a time as the parser meets them.
trait Members: Default {
    /// Takes one member.
    fn member(&mut self, key: &str, value: Value) -> Result<(), MemberError>;
}

enum MemberError {
    /// The key was seen before in this object.
    Repeated,
    /// The value has the wrong type.
    Type(VerifyError),
}

/// The header as parsed, before `crit` is judged.
#[derive(Default)]
struct RawHeader {
    alg: Option<String>,
    kid: Option<String>,
    typ: Option<String>,
    cty: Option<String>,
    crit: Option<Vec<String>>,
    /// Other parameters (`jku`, `x5u`, `jwk`… are never followed); kept only to catch repeats.
    other: Map<String, Value>,
}

impl Members for RawHeader {
    fn member(&mut self, key: &str, value: Value) -> Result<(), MemberError> {
        match key {
            "alg" => set_string(&mut self.alg, "alg", value),
            "kid" => set_string(&mut self.kid, "kid", value),
            "typ" => set_string(&mut self.typ, "typ", value),
            "cty" => set_string(&mut self.cty, "cty", value),
            "crit" => set_once(
                &mut self.crit,
                string_array(value).ok_or(VerifyError::InvalidClaimType {
                    claim: "crit",
                    expected: "an array of strings",
                }),
            ),
            _ => set_other(&mut self.other, key, value),
        }
    }
}

impl Members for Claims {
    fn member(&mut self, key: &str, value: Value) -> Result<(), MemberError> {
        match key {
            "iss" => set_string(&mut self.iss, "iss", value),
            "sub" => set_string(&mut self.sub, "sub", value),
            "jti" => set_string(&mut self.jti, "jti", value),
            "origin_jti" => set_string(&mut self.origin_jti, "origin_jti", value),
            "scope" => set_string(&mut self.scope, "scope", value),
            "username" => set_string(&mut self.username, "username", value),
            "cognito:username" => set_string(&mut self.cognito_username, "cognito:username", value),
            "client_id" => set_string(&mut self.client_id, "client_id", value),
            "token_use" => set_string(&mut self.token_use, "token_use", value),
            "exp" => set_once(&mut self.exp, date("exp", &value, f64::floor)),
            "nbf" => set_once(&mut self.nbf, date("nbf", &value, f64::ceil)),
            "iat" => set_once(&mut self.iat, date("iat", &value, f64::ceil)),
            "auth_time" => set_once(&mut self.auth_time, date("auth_time", &value, f64::floor)),
            "aud" => set_once(
                &mut self.aud,
                match value {
                    Value::String(one) => Some(vec![one]),
                    other => string_array(other),
                }
                .ok_or(VerifyError::InvalidClaimType {
                    claim: "aud",
                    expected: "a string or an array of strings",
                }),
            ),
            "cognito:groups" => set_once(
                &mut self.groups,
                string_array(value).ok_or(VerifyError::InvalidClaimType {
                    claim: "cognito:groups",
                    expected: "an array of strings",
                }),
            ),
            // Cognito strings without a field of their own: typed all the same.
            "event_id" => set_other_string(&mut self.other, "event_id", value),
            "email" => set_other_string(&mut self.other, "email", value),
            "phone_number" => set_other_string(&mut self.other, "phone_number", value),
            "cognito:preferred_role" => {
                set_other_string(&mut self.other, "cognito:preferred_role", value)
            }
            _ => set_other(&mut self.other, key, value),
        }
    }
}

fn set_once<T>(slot: &mut Option<T>, value: Result<T, VerifyError>) -> Result<(), MemberError> {
    if slot.is_some() {
        return Err(MemberError::Repeated);
    }
    *slot = Some(value.map_err(MemberError::Type)?);
    Ok(())
}

fn set_string(
    slot: &mut Option<String>,
    claim: &'static str,
    value: Value,
) -> Result<(), MemberError> {
    let value = match value {
        Value::String(s) => Ok(s),
        _ => Err(VerifyError::InvalidClaimType {
            claim,
            expected: "a string",
        }),
    };
    set_once(slot, value)
}

fn set_other(other: &mut Map<String, Value>, key: &str, value: Value) -> Result<(), MemberError> {
    if other.contains_key(key) {
        return Err(MemberError::Repeated);
    }
    other.insert(key.to_owned(), value);
    Ok(())
}

fn set_other_string(
    other: &mut Map<String, Value>,
    claim: &'static str,
    value: Value,
) -> Result<(), MemberError> {
    if !value.is_string() {
        return Err(MemberError::Type(VerifyError::InvalidClaimType {
            claim,
            expected: "a string",
        }));
    }
    set_other(other, claim, value)
}

/// A NumericDate: a non-negative JSON number of seconds. Fractions are rounded the strict way
/// (`round`), so that a fractional date never widens the validity window.
fn date(claim: &'static str, value: &Value, round: fn(f64) -> f64) -> Result<u64, VerifyError> {
    let invalid = VerifyError::InvalidClaimType {
        claim,
        expected: "a non-negative number (seconds since the epoch)",
    };
    let Value::Number(n) = value else {
        return Err(invalid);
    };
    if let Some(secs) = n.as_u64() {
        return Ok(secs);
    }
    match n.as_f64() {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "checked non-negative and below 2^53 just before"
        )]
        Some(f) if (0.0..9_007_199_254_740_992.0).contains(&f) => Ok(round(f) as u64),
        _ => Err(invalid),
    }
}

fn string_array(value: Value) -> Option<Vec<String>> {
    match value {
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// A JSON value whose objects, at every depth, have no repeated key. (`serde_json::Value` keeps
/// the last of two equal keys silently; a token that says `"sub"` twice is forged or broken.)
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(StrictValueVisitor)
            .map(StrictValue)
    }
}

struct StrictValueVisitor;

impl<'de> Visitor<'de> for StrictValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "duplicate key `{}`",
                    untrusted(&key)
                )));
            }
            let StrictValue(value) = access.next_value()?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

/// A JSON object parsed into `T` member by member; repeated keys are a structural error.
struct ObjectOf<T>(Result<T, VerifyError>);

impl<'de, T: Members> Deserialize<'de> for ObjectOf<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ObjectVisitor(std::marker::PhantomData))
    }
}

struct ObjectVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Members> Visitor<'de> for ObjectVisitor<T> {
    type Value = ObjectOf<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut target = T::default();
        let mut first_type_error = None;
        while let Some(Key(key)) = access.next_key()? {
            let StrictValue(value) = access.next_value()?;
            // Parsed to the end even after a type error, so that structure errors (a repeated
            // key anywhere) still win.
            match target.member(&key, value) {
                Ok(()) => {}
                Err(MemberError::Repeated) => {
                    return Err(de::Error::custom(format_args!(
                        "duplicate key `{}`",
                        untrusted(&key)
                    )));
                }
                Err(MemberError::Type(e)) => {
                    first_type_error.get_or_insert(e);
                }
            }
        }
        Ok(ObjectOf(match first_type_error {
            None => Ok(target),
            Some(e) => Err(e),
        }))
    }
}

/// An object key, borrowed from the input when it has no escapes.
struct Key<'de>(std::borrow::Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor).map(Key)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = std::borrow::Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Owned(v))
    }
}

#[cfg(any(test, feature = "test-helpers"))]
pub(crate) fn claims_for_tests(map: Map<String, Value>) -> Claims {
    let mut claims = Claims::default();
    for (key, value) in map {
        if claims.member(&key, value).is_err() {
            panic!("claim `{key}` has the wrong type");
        }
    }
    claims
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(json: &str) -> String {
        use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
        URL_SAFE_NO_PAD.encode(json)
    }

    fn token(header: &str, payload: &str) -> String {
        format!("{}.{}.{}", b64(header), b64(payload), b64("sig"))
    }

    const HEADER: &str = r#"{"alg":"RS256","kid":"k1"}"#;

    #[test]
    fn accepts_a_well_formed_token() {
        let t = token(
            HEADER,
            r#"{"sub":"s","exp":5,"cognito:groups":["a"],"custom:tenant":"t"}"#,
        );
        let decoded = decode(&t, 8192).expect("well formed");
        assert_eq!(decoded.header.alg.as_deref(), Some("RS256"));
        assert_eq!(decoded.claims.exp, Some(5));
        assert_eq!(decoded.claims.groups, Some(vec!["a".to_owned()]));
        assert_eq!(
            decoded.claims.other.get("custom:tenant"),
            Some(&Value::from("t"))
        );
        assert_eq!(decoded.signature, b"sig");
    }

    #[test]
    fn refuses_duplicate_keys_at_any_depth() {
        for payload in [
            r#"{"sub":"a","sub":"b"}"#,
            r#"{"x":{"y":1,"y":2}}"#,
            r#"{"x":[{"y":1,"y":2}]}"#,
        ] {
            let err = decode(&token(HEADER, payload), 8192).unwrap_err();
            assert_eq!(err.code(), "malformed", "{payload}");
        }
        let err = decode(&token(r#"{"alg":"RS256","alg":"none"}"#, "{}"), 8192).unwrap_err();
        assert_eq!(err.code(), "malformed");
    }

    #[test]
    fn refuses_non_canonical_base64url() {
        let good = token(HEADER, r#"{"sub":"s"}"#);
        let (h, rest) = good.split_once('.').unwrap();
        for bad in [
            format!("{h}=.{rest}"),                    // padding
            format!("{}.{rest}", h.replace('J', "+")), // standard alphabet
            format!(".{rest}"),                        // empty segment
        ] {
            assert_eq!(decode(&bad, 8192).unwrap_err().code(), "malformed", "{bad}");
        }
        // "_w" is the canonical encoding of the byte 0xff; "_x" decodes to it too in lenient
        // decoders, with non-zero trailing bits.
        let (signed, _) = good.rsplit_once('.').unwrap();
        assert!(decode(&format!("{signed}._w"), 8192).is_ok());
        assert_eq!(
            decode(&format!("{signed}._x"), 8192).unwrap_err().code(),
            "malformed"
        );
    }

    proptest::proptest! {
        /// The SIMD decoder accepts exactly what the `base64` crate's strict URL-safe unpadded
        /// engine accepts (canonical base64url), and decodes it to the same bytes.
        #[test]
        fn decodes_as_the_strict_base64_engine(text in "[A-Za-z0-9_=+/ -]{0,40}") {
            use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
            let strict = URL_SAFE_NO_PAD.decode(&text).ok().filter(|bytes| !bytes.is_empty());
            proptest::prop_assert_eq!(base64url("payload", &text).ok(), strict);
        }

        /// Any bytes, encoded, decode back.
        #[test]
        fn decodes_what_was_encoded(bytes in proptest::collection::vec(proptest::num::u8::ANY, 1..64)) {
            use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
            let text = URL_SAFE_NO_PAD.encode(&bytes);
            proptest::prop_assert_eq!(base64url("payload", &text).ok(), Some(bytes));
        }
    }

    #[test]
    fn refuses_wrong_segment_counts_and_sizes() {
        for bad in ["", "a", "a.b", "a.b.c.d", "a.b.c.d.e"] {
            assert_eq!(decode(bad, 8192).unwrap_err().code(), "malformed");
        }
        let big = token(HEADER, &format!(r#"{{"pad":"{}"}}"#, "x".repeat(9000)));
        assert_eq!(decode(&big, 8192).unwrap_err().code(), "token_too_large");
    }

    #[test]
    fn a_repeated_key_is_malformed_even_after_a_mistyped_claim() {
        let t = token(HEADER, r#"{"exp":"x","sub":"a","sub":"b"}"#);
        assert_eq!(decode(&t, 8192).unwrap_err().code(), "malformed");
    }

    #[test]
    fn refuses_non_objects() {
        for payload in ["[]", "1", "\"s\"", "null", "{", "{} x"] {
            assert_eq!(
                decode(&token(HEADER, payload), 8192).unwrap_err().code(),
                "malformed"
            );
        }
    }

    #[test]
    fn checks_claim_types_whether_used_or_not() {
        for (payload, claim) in [
            (r#"{"exp":"5"}"#, "exp"),
            (r#"{"nbf":true}"#, "nbf"),
            (r#"{"iat":-1}"#, "iat"),
            (r#"{"auth_time":null}"#, "auth_time"),
            (r#"{"iss":1}"#, "iss"),
            (r#"{"sub":[]}"#, "sub"),
            (r#"{"jti":{}}"#, "jti"),
            (r#"{"scope":["a"]}"#, "scope"),
            (r#"{"username":1}"#, "username"),
            (r#"{"client_id":1}"#, "client_id"),
            (r#"{"token_use":1}"#, "token_use"),
            (r#"{"origin_jti":1}"#, "origin_jti"),
            (r#"{"aud":[1]}"#, "aud"),
            (r#"{"aud":{}}"#, "aud"),
            (r#"{"cognito:groups":"admin"}"#, "cognito:groups"),
            (r#"{"cognito:groups":["a",1]}"#, "cognito:groups"),
            (r#"{"event_id":1}"#, "event_id"),
        ] {
            match decode(&token(HEADER, payload), 8192) {
                Err(VerifyError::InvalidClaimType { claim: c, .. }) => assert_eq!(c, claim),
                other => panic!("{payload}: {other:?}"),
            }
        }
        for header in [r#"{"alg":1}"#, r#"{"alg":"RS256","kid":7}"#, r#"{"typ":1}"#] {
            assert_eq!(
                decode(&token(header, "{}"), 8192).unwrap_err().code(),
                "invalid_claim_type"
            );
        }
    }

    #[test]
    fn fractional_dates_round_the_strict_way() {
        let t = token(HEADER, r#"{"exp":10.9,"nbf":10.1,"iat":10.1}"#);
        let claims = decode(&t, 8192).unwrap().claims;
        assert_eq!(
            (claims.exp, claims.nbf, claims.iat),
            (Some(10), Some(11), Some(11))
        );
    }

    #[test]
    fn refuses_any_crit() {
        for header in [
            r#"{"alg":"RS256","kid":"k","crit":["exp"]}"#,
            r#"{"alg":"RS256","kid":"k","crit":[]}"#,
        ] {
            assert_eq!(
                decode(&token(header, "{}"), 8192).unwrap_err().code(),
                "unsupported_crit"
            );
        }
        assert_eq!(
            decode(&token(r#"{"crit":"exp"}"#, "{}"), 8192)
                .unwrap_err()
                .code(),
            "invalid_claim_type"
        );
    }
}
