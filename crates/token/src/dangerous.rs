//! Reading a token **before** its signature is checked.
//!
//! Everything here treats the token as hostile: it enforces the shape (three segments of canonical
//! unpadded base64url, a size cap, JSON objects without duplicate keys at any depth, every known
//! claim of its proper type) and nothing more. What it returns is used for exactly two things: to
//! pick the issuer and key that will check the signature, and, once the signature is checked, as
//! the claims to validate. Nothing read here is trusted before [`crate::CognitoVerifier`] has
//! verified the signature.
//!
//! The decoded header and payload are kept whole, and a string claim is held as the span of the
//! JSON where it stands (a copy only when it has escapes): decoding a Cognito token allocates a
//! handful of buffers, not one per claim.

use std::{borrow::Cow, fmt, marker::PhantomData};

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

/// A string member of a decoded JSON object: where it stands in the JSON text (when it has no
/// escapes, the common case), or its unescaped copy.
#[derive(Debug, Clone)]
pub(crate) enum Text {
    /// The bytes `start..end` of the JSON text, between the quotes.
    Span {
        start: usize,
        end: usize,
    },
    Unescaped(Box<str>),
}

impl Text {
    /// `text` as part of `json` when it lies within it (a string the parser borrowed from the
    /// input, or a part of one), else a copy of it.
    pub(crate) fn locate(json: &str, text: &str) -> Self {
        let start = text.as_ptr().addr().wrapping_sub(json.as_ptr().addr());
        if start <= json.len() && text.len() <= json.len() - start {
            Self::Span {
                start,
                end: start + text.len(),
            }
        } else {
            Self::Unescaped(text.into())
        }
    }

    fn of_value(json: &str, value: Cow<'_, str>) -> Self {
        match value {
            Cow::Borrowed(text) => Self::locate(json, text),
            Cow::Owned(text) => Self::Unescaped(text.into_boxed_str()),
        }
    }

    /// The string, read from `json`: the JSON text it was decoded from.
    pub(crate) fn read<'a>(&'a self, json: &'a str) -> &'a str {
        match self {
            // A span is always within its text and on character boundaries (it was a `str`
            // there); `get` rather than indexing all the same, so a misuse reads as empty rather
            // than panicking.
            Self::Span { start, end } => json.get(*start..*end).unwrap_or_default(),
            Self::Unescaped(text) => text,
        }
    }
}

/// The JOSE header fields the verifier reads.
#[derive(Debug)]
pub(crate) struct Header {
    /// The decoded header: the JSON text the fields point into.
    json: String,
    alg: Option<Text>,
    kid: Option<Text>,
}

impl Header {
    pub(crate) fn alg(&self) -> Option<&str> {
        self.alg.as_ref().map(|alg| alg.read(&self.json))
    }

    pub(crate) fn kid(&self) -> Option<&str> {
        self.kid.as_ref().map(|kid| kid.read(&self.json))
    }
}

/// The claims, each known one checked for its JSON type; absent ones are `None`. String claims
/// are read through the accessors (they point into [`Claims::json`]).
#[derive(Debug, Default)]
pub(crate) struct Claims {
    /// The decoded payload: the JSON text the string claims point into.
    pub(crate) json: String,
    pub(crate) iss: Option<Text>,
    pub(crate) sub: Option<Text>,
    pub(crate) jti: Option<Text>,
    pub(crate) origin_jti: Option<Text>,
    pub(crate) scope: Option<Text>,
    pub(crate) username: Option<Text>,
    pub(crate) cognito_username: Option<Text>,
    pub(crate) client_id: Option<Text>,
    pub(crate) token_use: Option<Text>,
    pub(crate) aud: Option<Vec<Text>>,
    pub(crate) exp: Option<u64>,
    pub(crate) nbf: Option<u64>,
    pub(crate) iat: Option<u64>,
    pub(crate) auth_time: Option<u64>,
    pub(crate) groups: Option<Vec<Text>>,
    /// Every claim not listed above, e.g. `custom:tenant`.
    pub(crate) other: Map<String, Value>,
}

impl Claims {
    /// A string claim of these claims, read.
    pub(crate) fn read<'a>(&'a self, claim: &'a Option<Text>) -> Option<&'a str> {
        claim.as_ref().map(|text| text.read(&self.json))
    }

    /// `aud`, read (a single string is a list of one).
    pub(crate) fn audience(&self) -> impl Iterator<Item = &str> {
        self.aud.iter().flatten().map(|aud| aud.read(&self.json))
    }

    /// `cognito:groups`, read, in the token's order.
    pub(crate) fn groups(&self) -> impl Iterator<Item = &str> {
        self.groups
            .iter()
            .flatten()
            .map(|group| group.read(&self.json))
    }
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
    let header_json = json_text("header", header_json)?;
    let payload_json = json_text("payload", payload_json)?;

    // Structure first (a malformed payload is `malformed` even when the header is mistyped),
    // then types.
    let header = parse_object::<RawHeader>("header", &header_json)?;
    let claims = parse_object::<Claims>("payload", &payload_json)?;
    let header = header?;
    let mut claims = claims?;
    if let Some(names) = header.crit {
        // This verifier implements no JWS extension, so any `crit` (even an empty one, which
        // RFC 7515 forbids) makes the token unacceptable.
        return Err(VerifyError::UnsupportedCritical {
            names: untrusted_list(names.iter().map(String::as_str)),
        });
    }
    claims.json = payload_json;
    let signing_input = &token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()];
    Ok(UnverifiedToken {
        header: Header {
            json: header_json,
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

/// A decoded segment as text: JSON is UTF-8. (Checked once here, for the whole segment, so that
/// the parser need not check each string again.)
fn json_text(segment: &'static str, bytes: Vec<u8>) -> Result<String, VerifyError> {
    String::from_utf8(bytes).map_err(|_| {
        VerifyError::Malformed(Malformed::Json {
            segment,
            detail: "not UTF-8".to_owned(),
        })
    })
}

/// Parses a JSON object member by member into `T`. The outer error is structural (`malformed`:
/// not JSON, not an object, a repeated key at any depth); the inner one is the first member of
/// the wrong type.
fn parse_object<T: Members>(
    segment: &'static str,
    json: &str,
) -> Result<Result<T, VerifyError>, VerifyError> {
    let mut parser = serde_json::Deserializer::from_str(json);
    parser
        .deserialize_map(ObjectVisitor {
            json,
            members: PhantomData,
        })
        .and_then(|result| parser.end().map(|()| result))
        .map_err(|e| {
            VerifyError::Malformed(Malformed::Json {
                segment,
                detail: untrusted(&e.to_string()),
            })
        })
}

/// A JSON object's members, type-checked one at a time as the parser meets them.
trait Members: Default {
    /// Takes one member. `json` is the text being parsed: the strings in `value` that it
    /// borrows lie within it.
    fn member<'de>(
        &mut self,
        key: &str,
        value: Member<'de>,
        json: &'de str,
    ) -> Result<(), MemberError>;
}

enum MemberError {
    /// The key was seen before in this object.
    Repeated,
    /// The value has the wrong type.
    Type(VerifyError),
}

/// A member's value as the parser met it: strings, and arrays of nothing but strings, are
/// borrowed from the input where they have no escapes; anything else is a (strictly parsed)
/// JSON value.
enum Member<'de> {
    String(Cow<'de, str>),
    Strings(Vec<Cow<'de, str>>),
    Other(Value),
}

impl Member<'_> {
    fn into_value(self) -> Value {
        match self {
            Self::String(text) => Value::String(text.into_owned()),
            Self::Strings(texts) => Value::Array(
                texts
                    .into_iter()
                    .map(|text| Value::String(text.into_owned()))
                    .collect(),
            ),
            Self::Other(value) => value,
        }
    }
}

impl<'de> Deserialize<'de> for Member<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(MemberVisitor)
    }
}

struct MemberVisitor;

impl<'de> Visitor<'de> for MemberVisitor {
    type Value = Member<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Member::String(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Member::String(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Member::String(Cow::Owned(v)))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        StrictValueVisitor.visit_bool(v).map(Member::Other)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        StrictValueVisitor.visit_i64(v).map(Member::Other)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        StrictValueVisitor.visit_u64(v).map(Member::Other)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        StrictValueVisitor.visit_f64(v).map(Member::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        StrictValueVisitor.visit_unit().map(Member::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut strings = Vec::new();
        while let Some(item) = seq.next_element::<Member<'de>>()? {
            match item {
                Member::String(text) => strings.push(text),
                // Not only strings: the rest is a plain (strict) value.
                other => {
                    let mut items: Vec<Value> = strings
                        .into_iter()
                        .map(|text| Value::String(text.into_owned()))
                        .collect();
                    items.push(other.into_value());
                    while let Some(StrictValue(item)) = seq.next_element()? {
                        items.push(item);
                    }
                    return Ok(Member::Other(Value::Array(items)));
                }
            }
        }
        Ok(Member::Strings(strings))
    }

    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<Self::Value, A::Error> {
        StrictValueVisitor.visit_map(access).map(Member::Other)
    }
}

/// The header as parsed, before `crit` is judged.
#[derive(Default)]
struct RawHeader {
    alg: Option<Text>,
    kid: Option<Text>,
    typ: Option<Text>,
    cty: Option<Text>,
    crit: Option<Vec<String>>,
    /// Other parameters (`jku`, `x5u`, `jwk`… are never followed); kept only to catch repeats.
    other: Map<String, Value>,
}

impl Members for RawHeader {
    fn member<'de>(
        &mut self,
        key: &str,
        value: Member<'de>,
        json: &'de str,
    ) -> Result<(), MemberError> {
        match key {
            "alg" => set_text(&mut self.alg, "alg", value, json),
            "kid" => set_text(&mut self.kid, "kid", value, json),
            "typ" => set_text(&mut self.typ, "typ", value, json),
            "cty" => set_text(&mut self.cty, "cty", value, json),
            "crit" => set_once(
                &mut self.crit,
                match value {
                    Member::Strings(names) => Ok(names.into_iter().map(Cow::into_owned).collect()),
                    _ => Err(VerifyError::InvalidClaimType {
                        claim: "crit",
                        expected: "an array of strings",
                    }),
                },
            ),
            _ => set_other(&mut self.other, key, value.into_value()),
        }
    }
}

impl Members for Claims {
    fn member<'de>(
        &mut self,
        key: &str,
        value: Member<'de>,
        json: &'de str,
    ) -> Result<(), MemberError> {
        match key {
            "iss" => set_text(&mut self.iss, "iss", value, json),
            "sub" => set_text(&mut self.sub, "sub", value, json),
            "jti" => set_text(&mut self.jti, "jti", value, json),
            "origin_jti" => set_text(&mut self.origin_jti, "origin_jti", value, json),
            "scope" => set_text(&mut self.scope, "scope", value, json),
            "username" => set_text(&mut self.username, "username", value, json),
            "cognito:username" => {
                set_text(&mut self.cognito_username, "cognito:username", value, json)
            }
            "client_id" => set_text(&mut self.client_id, "client_id", value, json),
            "token_use" => set_text(&mut self.token_use, "token_use", value, json),
            "exp" => set_once(&mut self.exp, date("exp", &value, f64::floor)),
            "nbf" => set_once(&mut self.nbf, date("nbf", &value, f64::ceil)),
            "iat" => set_once(&mut self.iat, date("iat", &value, f64::ceil)),
            "auth_time" => set_once(&mut self.auth_time, date("auth_time", &value, f64::floor)),
            "aud" => set_once(
                &mut self.aud,
                match value {
                    Member::String(one) => Ok(vec![Text::of_value(json, one)]),
                    Member::Strings(many) => Ok(texts(json, many)),
                    Member::Other(_) => Err(VerifyError::InvalidClaimType {
                        claim: "aud",
                        expected: "a string or an array of strings",
                    }),
                },
            ),
            "cognito:groups" => set_once(
                &mut self.groups,
                match value {
                    Member::Strings(groups) => Ok(texts(json, groups)),
                    _ => Err(VerifyError::InvalidClaimType {
                        claim: "cognito:groups",
                        expected: "an array of strings",
                    }),
                },
            ),
            // Cognito strings without a field of their own: typed all the same.
            "event_id" => set_other_string(&mut self.other, "event_id", value),
            "email" => set_other_string(&mut self.other, "email", value),
            "phone_number" => set_other_string(&mut self.other, "phone_number", value),
            "cognito:preferred_role" => {
                set_other_string(&mut self.other, "cognito:preferred_role", value)
            }
            _ => set_other(&mut self.other, key, value.into_value()),
        }
    }
}

fn texts(json: &str, values: Vec<Cow<'_, str>>) -> Vec<Text> {
    values
        .into_iter()
        .map(|value| Text::of_value(json, value))
        .collect()
}

fn set_once<T>(slot: &mut Option<T>, value: Result<T, VerifyError>) -> Result<(), MemberError> {
    if slot.is_some() {
        return Err(MemberError::Repeated);
    }
    *slot = Some(value.map_err(MemberError::Type)?);
    Ok(())
}

fn set_text(
    slot: &mut Option<Text>,
    claim: &'static str,
    value: Member<'_>,
    json: &str,
) -> Result<(), MemberError> {
    let value = match value {
        Member::String(text) => Ok(Text::of_value(json, text)),
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
    value: Member<'_>,
) -> Result<(), MemberError> {
    if !matches!(value, Member::String(_)) {
        return Err(MemberError::Type(VerifyError::InvalidClaimType {
            claim,
            expected: "a string",
        }));
    }
    set_other(other, claim, value.into_value())
}

/// A NumericDate: a non-negative JSON number of seconds. Fractions are rounded the strict way
/// (`round`), so that a fractional date never widens the validity window.
fn date(
    claim: &'static str,
    value: &Member<'_>,
    round: fn(f64) -> f64,
) -> Result<u64, VerifyError> {
    let invalid = VerifyError::InvalidClaimType {
        claim,
        expected: "a non-negative number (seconds since the epoch)",
    };
    let Member::Other(Value::Number(n)) = value else {
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

/// Parses a JSON object into `T` member by member; repeated keys are a structural error.
struct ObjectVisitor<'j, T> {
    /// The text being parsed.
    json: &'j str,
    members: PhantomData<T>,
}

impl<'de, T: Members> Visitor<'de> for ObjectVisitor<'de, T> {
    type Value = Result<T, VerifyError>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut target = T::default();
        let mut first_type_error = None;
        while let Some(Key(key)) = access.next_key()? {
            let value: Member<'de> = access.next_value()?;
            // Parsed to the end even after a type error, so that structure errors (a repeated
            // key anywhere) still win.
            match target.member(&key, value, self.json) {
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
        Ok(match first_type_error {
            None => Ok(target),
            Some(e) => Err(e),
        })
    }
}

/// An object key, borrowed from the input when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor).map(Key)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

#[cfg(any(test, feature = "test-helpers"))]
pub(crate) fn claims_for_tests(map: Map<String, Value>) -> Claims {
    let json = Value::Object(map).to_string();
    let Ok(Ok(mut claims)) = parse_object::<Claims>("payload", &json) else {
        panic!("a claim has the wrong type")
    };
    claims.json = json;
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
        assert_eq!(decoded.header.alg(), Some("RS256"));
        assert_eq!(decoded.header.kid(), Some("k1"));
        assert_eq!(decoded.claims.exp, Some(5));
        assert_eq!(decoded.claims.groups().collect::<Vec<_>>(), ["a"]);
        assert_eq!(
            decoded.claims.other.get("custom:tenant"),
            Some(&Value::from("t"))
        );
        assert_eq!(decoded.signature, b"sig");
    }

    #[test]
    fn reads_strings_with_and_without_escapes_alike() {
        let t = token(
            HEADER,
            r#"{"sub":"a\"b","iss":"plain","cognito:groups":["g\u00e9","h"],
                "aud":"c","custom":["a",1,{"k":"v"}],"other":["x","y"]}"#,
        );
        let claims = decode(&t, 8192).expect("well formed").claims;
        assert_eq!(claims.read(&claims.sub), Some("a\"b"));
        assert!(matches!(claims.sub, Some(Text::Unescaped(_))));
        assert_eq!(claims.read(&claims.iss), Some("plain"));
        assert!(matches!(claims.iss, Some(Text::Span { .. })));
        assert_eq!(claims.groups().collect::<Vec<_>>(), ["g\u{e9}", "h"]);
        assert_eq!(claims.audience().collect::<Vec<_>>(), ["c"]);
        assert_eq!(
            claims.other.get("custom"),
            Some(&serde_json::json!(["a", 1, {"k": "v"}]))
        );
        assert_eq!(
            claims.other.get("other"),
            Some(&serde_json::json!(["x", "y"]))
        );
    }

    #[test]
    fn refuses_duplicate_keys_at_any_depth() {
        for payload in [
            r#"{"sub":"a","sub":"b"}"#,
            r#"{"x":{"y":1,"y":2}}"#,
            r#"{"x":[{"y":1,"y":2}]}"#,
            r#"{"x":["a",{"y":1,"y":2}]}"#,
            r#"{"x":"a","cognito:groups":[1],"aud":{"y":1,"y":2}}"#,
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
    fn refuses_segments_that_are_not_utf8() {
        use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
        let not_utf8 = URL_SAFE_NO_PAD.encode(b"{\"sub\":\"\xff\"}");
        for t in [
            format!("{}.{not_utf8}.{}", b64(HEADER), b64("sig")),
            format!("{not_utf8}.{}.{}", b64("{}"), b64("sig")),
        ] {
            assert_eq!(decode(&t, 8192).unwrap_err().code(), "malformed");
        }
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
