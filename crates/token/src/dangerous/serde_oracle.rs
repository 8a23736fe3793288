//! The serde_json-driven reading of the header and payload that [`super::strict_json`] replaced,
//! kept as the oracle the scanner is tested and fuzzed against (tests and the `fuzzing` feature
//! only; never in a production build).
//!
//! It is the previous implementation verbatim, with one correction: a key repeated in the
//! top-level object is a repeated key even when its first value had the wrong type (the previous
//! code checked repeats of a known claim by its filled slot, and a mistyped claim left the slot
//! empty, so `{"exp":"x","exp":5}` was refused as `invalid_claim_type` rather than `malformed`).

use std::{borrow::Cow, collections::BTreeSet, fmt, marker::PhantomData};

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::{Claims, Header, Text, UnverifiedToken, base64url, json_text};
use crate::{Malformed, VerifyError, error::untrusted};

/// Splits and decodes `token` as the previous implementation did.
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
    let claims = claims?;
    let signed = header_b64.len() + 1 + payload_b64.len();
    let header = Header::checked(header_json, header.alg, header.kid, header.crit)?;
    Ok(UnverifiedToken::new(
        token,
        signed,
        header,
        claims,
        payload_json,
        signature,
    ))
}

fn of_value(json: &str, value: Cow<'_, str>) -> Text {
    match value {
        Cow::Borrowed(text) => Text::locate(json, text),
        Cow::Owned(text) => Text::Unescaped(text.into_boxed_str()),
    }
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
                    Member::String(one) => Ok(vec![of_value(json, one)]),
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
        .map(|value| of_value(json, value))
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
        Member::String(text) => Ok(of_value(json, text)),
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
        // The correction (see the module docs): every key met, mistyped or not.
        let mut met = BTreeSet::new();
        while let Some(Key(key)) = access.next_key()? {
            let value: Member<'de> = access.next_value()?;
            let repeated = !met.insert(key.clone().into_owned());
            // Parsed to the end even after a type error, so that structure errors (a repeated
            // key anywhere) still win.
            match target.member(&key, value, self.json) {
                _ if repeated => {
                    return Err(de::Error::custom(format_args!(
                        "duplicate key `{}`",
                        untrusted(&key)
                    )));
                }
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

/// How [`super::decode`] and this oracle's [`decode`] disagree on `token`, if they do: on
/// accepting it, on why it is refused (the detail of a malformed segment aside: the two word it
/// differently), or on any claim read.
pub(crate) fn disagreement(token: &str, max_bytes: usize) -> Option<String> {
    let scanned = outcome(&super::decode(token, max_bytes));
    let oracle = outcome(&decode(token, max_bytes));
    (scanned != oracle).then(|| format!("scanner: {scanned}\noracle:  {oracle}"))
}

/// Every header field and claim a decode read, or why it refused the token, as a JSON value.
pub(crate) fn outcome(decoded: &Result<UnverifiedToken<'_>, VerifyError>) -> Value {
    let token = match decoded {
        Ok(token) => token,
        Err(VerifyError::Malformed(Malformed::Json { segment, .. })) => {
            return serde_json::json!({ "malformed json": segment });
        }
        Err(e) => return serde_json::json!({ "refused": e.to_string() }),
    };
    let claims = &token.claims;
    let json = claims.json.as_str();
    let texts = |texts: &Option<Vec<Text>>| -> Option<Vec<String>> {
        let texts = texts.as_ref()?;
        Some(texts.iter().map(|t| t.read(json).to_owned()).collect())
    };
    // `event_id` among the other claims, where the oracle keeps it.
    let mut other = claims.other.clone();
    if let Some(event_id) = claims.read(&claims.event_id) {
        other.insert("event_id".to_owned(), Value::from(event_id));
    }
    serde_json::json!({
        "alg": token.header.alg(),
        "kid": token.header.kid(),
        "iss": claims.read(&claims.iss),
        "sub": claims.read(&claims.sub),
        "jti": claims.read(&claims.jti),
        "origin_jti": claims.read(&claims.origin_jti),
        "scope": claims.read(&claims.scope),
        "username": claims.read(&claims.username),
        "cognito:username": claims.read(&claims.cognito_username),
        "client_id": claims.read(&claims.client_id),
        "token_use": claims.read(&claims.token_use),
        "aud": texts(&claims.aud),
        "cognito:groups": texts(&claims.groups),
        "exp": claims.exp,
        "nbf": claims.nbf,
        "iat": claims.iat,
        "auth_time": claims.auth_time,
        "other": other,
        "signing_input": String::from_utf8_lossy(token.signing_input),
        "signature": token.signature,
    })
}
