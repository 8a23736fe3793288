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
//!
//! The header and payload are read by [`strict_json`], a scanner that accepts exactly the JSON
//! objects serde_json accepts (RFC 8259, nesting capped at serde_json's depth) and refuses a
//! repeated key at any depth; serde_json's own reading, which it replaced, is kept as the oracle it
//! is tested and fuzzed against.

use std::collections::BTreeSet;

use serde_json::{Map, Number, Value};

use self::strict_json::{Member, MemberError, Members};
use crate::{Malformed, VerifyError, error::untrusted_list};

#[cfg(any(test, feature = "fuzzing"))]
pub(crate) mod serde_oracle;
mod strict_json;

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

    /// The string as an owned `String`, read from `json`.
    pub(crate) fn into_string(self, json: &str) -> String {
        match self {
            Self::Span { .. } => self.read(json).to_owned(),
            Self::Unescaped(text) => text.into_string(),
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
    /// Cognito's `event_id`, which has no accessor: [`crate::VerifiedToken::claim`] shows it as
    /// one of the other claims. A field of its own so that reading it allocates nothing.
    pub(crate) event_id: Option<Text>,
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
    // The first dot and the last, found from either end, so that the payload (most of the
    // token) is not searched: a dot in it is not base64url, and is told apart (a fourth segment)
    // only when the header or payload does not decode.
    let segment_count = || VerifyError::Malformed(Malformed::SegmentCount);
    let (Some((header_b64, rest)), Some((_, signature_b64))) =
        (token.split_once('.'), token.rsplit_once('.'))
    else {
        return Err(segment_count());
    };
    // `rest` is the payload, a dot and the signature; with one dot only, the signature alone.
    let Some(payload_b64) = (rest.len())
        .checked_sub(signature_b64.len() + 1)
        .and_then(|end| rest.get(..end))
    else {
        return Err(segment_count());
    };
    let more_segments = |e| {
        if payload_b64.contains('.') {
            segment_count()
        } else {
            e
        }
    };
    let header_json = base64url("header", header_b64).map_err(more_segments)?;
    let payload_json = base64url("payload", payload_b64).map_err(more_segments)?;
    let signature = base64url("signature", signature_b64)?;
    let header_json = json_text("header", header_json)?;
    let payload_json = json_text("payload", payload_json)?;

    // Structure first (a malformed payload is `malformed` even when the header is mistyped),
    // then types.
    let mut header = RawHeader::default();
    let mut claims = RawClaims::default();
    let header_types = read_object("header", &header_json, &mut header)?;
    let claims_types = read_object("payload", &payload_json, &mut claims)?;
    header_types?;
    claims_types?;
    let claims = claims.claims;
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

impl Header {
    /// The header as read (`json`: its decoded text): refused when it names critical
    /// extensions. Shared with the reading the scanner is tested against.
    pub(super) fn checked(
        json: String,
        alg: Option<Text>,
        kid: Option<Text>,
        crit: Option<Vec<String>>,
    ) -> Result<Self, VerifyError> {
        if let Some(names) = crit {
            // This verifier implements no JWS extension, so any `crit` (even an empty one, which
            // RFC 7515 forbids) makes the token unacceptable.
            return Err(VerifyError::UnsupportedCritical {
                names: untrusted_list(names.iter().map(String::as_str)),
            });
        }
        Ok(Self { json, alg, kid })
    }
}

impl<'t> UnverifiedToken<'t> {
    /// The token once its header and payload are read (`signed`: the length of the signing
    /// input, header and payload with the dot between them). Shared with the reading the
    /// scanner is tested against.
    pub(super) fn new(
        token: &'t str,
        signed: usize,
        header: Header,
        mut claims: Claims,
        payload_json: String,
        signature: Vec<u8>,
    ) -> Self {
        claims.json = payload_json;
        Self {
            header,
            claims,
            signing_input: &token.as_bytes()[..signed],
            signature,
        }
    }
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

/// Reads the JSON object `json` of `segment` into `target` (see [`strict_json::read_object`]).
fn read_object(
    segment: &'static str,
    json: &str,
    target: &mut impl Members,
) -> Result<Result<(), VerifyError>, VerifyError> {
    strict_json::read_object(json, target).map_err(|e| {
        VerifyError::Malformed(Malformed::Json {
            segment,
            detail: e.to_string(),
        })
    })
}

/// Which known members of an object were met: a known member met twice is a repeated key, even
/// when the first had the wrong type.
#[derive(Default)]
struct Met(u32);

impl Met {
    /// Meets member `index` (below 32); its type check's outcome is `checked`.
    fn meet(&mut self, index: u32, checked: Result<(), VerifyError>) -> Result<(), MemberError> {
        let bit = 1 << index;
        if self.0 & bit != 0 {
            return Err(MemberError::Repeated);
        }
        self.0 |= bit;
        checked.map_err(MemberError::Type)
    }
}

/// The header as read, before `crit` is judged.
#[derive(Default)]
struct RawHeader {
    alg: Option<Text>,
    kid: Option<Text>,
    crit: Option<Vec<String>>,
    met: Met,
    /// The other parameters' names (`jku`, `x5u`, `jwk`… are never followed); kept only to catch
    /// repeats.
    other: BTreeSet<String>,
}

impl Members for RawHeader {
    fn member(&mut self, key: &str, value: Member<'_>, json: &str) -> Result<(), MemberError> {
        self.read(key, value, json)
    }

    fn plain_string(
        &mut self,
        key: &str,
        start: usize,
        end: usize,
        json: &str,
    ) -> Result<(), MemberError> {
        self.read(key, Member::String(Text::Span { start, end }), json)
    }

    fn number(&mut self, key: &str, number: Number, json: &str) -> Result<(), MemberError> {
        self.read(key, Member::Number(number), json)
    }
}

impl RawHeader {
    /// Takes one member (inlined in each [`Members`] method, so that the member is built in
    /// registers where it can be).
    #[inline(always)]
    fn read(&mut self, key: &str, value: Member<'_>, json: &str) -> Result<(), MemberError> {
        let (index, checked) = match key {
            "alg" => (0, text(&mut self.alg, "alg", value)),
            "kid" => (1, text(&mut self.kid, "kid", value)),
            "typ" => (2, text(&mut None, "typ", value)),
            "cty" => (3, text(&mut None, "cty", value)),
            "crit" => (
                4,
                match value {
                    Member::Strings(names) => {
                        self.crit = Some(names.iter().map(|n| n.read(json).to_owned()).collect());
                        Ok(())
                    }
                    _ => Err(VerifyError::InvalidClaimType {
                        claim: "crit",
                        expected: "an array of strings",
                    }),
                },
            ),
            _ if self.other.contains(key) => return Err(MemberError::Repeated),
            _ => {
                self.other.insert(key.to_owned());
                return Ok(());
            }
        };
        self.met.meet(index, checked)
    }
}

/// The claims as read.
#[derive(Default)]
struct RawClaims {
    claims: Claims,
    met: Met,
}

impl Members for RawClaims {
    fn member(&mut self, key: &str, value: Member<'_>, json: &str) -> Result<(), MemberError> {
        self.read(key, value, json)
    }

    fn plain_string(
        &mut self,
        key: &str,
        start: usize,
        end: usize,
        json: &str,
    ) -> Result<(), MemberError> {
        self.read(key, Member::String(Text::Span { start, end }), json)
    }

    fn number(&mut self, key: &str, number: Number, json: &str) -> Result<(), MemberError> {
        self.read(key, Member::Number(number), json)
    }
}

impl RawClaims {
    /// Takes one member (inlined in each [`Members`] method, so that the member is built in
    /// registers where it can be).
    #[inline(always)]
    fn read(&mut self, key: &str, value: Member<'_>, json: &str) -> Result<(), MemberError> {
        let claims = &mut self.claims;
        let (index, checked) = match key {
            "iss" => (0, text(&mut claims.iss, "iss", value)),
            "sub" => (1, text(&mut claims.sub, "sub", value)),
            "jti" => (2, text(&mut claims.jti, "jti", value)),
            "origin_jti" => (3, text(&mut claims.origin_jti, "origin_jti", value)),
            "scope" => (4, text(&mut claims.scope, "scope", value)),
            "username" => (5, text(&mut claims.username, "username", value)),
            "client_id" => (7, text(&mut claims.client_id, "client_id", value)),
            "token_use" => (8, text(&mut claims.token_use, "token_use", value)),
            "exp" => (9, date(&mut claims.exp, "exp", &value, f64::floor)),
            "nbf" => (10, date(&mut claims.nbf, "nbf", &value, f64::ceil)),
            "iat" => (11, date(&mut claims.iat, "iat", &value, f64::ceil)),
            "auth_time" => (
                12,
                date(&mut claims.auth_time, "auth_time", &value, f64::floor),
            ),
            "aud" => (
                13,
                match value {
                    Member::String(one) => {
                        claims.aud = Some(vec![one]);
                        Ok(())
                    }
                    Member::Strings(many) => {
                        claims.aud = Some(many);
                        Ok(())
                    }
                    _ => Err(VerifyError::InvalidClaimType {
                        claim: "aud",
                        expected: "a string or an array of strings",
                    }),
                },
            ),
            "cognito:groups" => (
                14,
                match value {
                    Member::Strings(groups) => {
                        claims.groups = Some(groups);
                        Ok(())
                    }
                    _ => Err(VerifyError::InvalidClaimType {
                        claim: "cognito:groups",
                        expected: "an array of strings",
                    }),
                },
            ),
            // Cognito strings without a field of their own: typed all the same.
            "event_id" => (15, text(&mut claims.event_id, "event_id", value)),
            "email" => (16, other_string(&mut claims.other, "email", value, json)),
            "phone_number" => (
                17,
                other_string(&mut claims.other, "phone_number", value, json),
            ),
            "cognito:username" => (
                6,
                text(&mut claims.cognito_username, "cognito:username", value),
            ),
            "cognito:preferred_role" => (
                18,
                other_string(&mut claims.other, "cognito:preferred_role", value, json),
            ),
            _ if claims.other.contains_key(key) => return Err(MemberError::Repeated),
            _ => {
                let value = value.into_value(json)?;
                claims.other.insert(key.to_owned(), value);
                return Ok(());
            }
        };
        self.met.meet(index, checked)
    }
}

/// A string claim.
fn text(
    slot: &mut Option<Text>,
    claim: &'static str,
    value: Member<'_>,
) -> Result<(), VerifyError> {
    match value {
        Member::String(text) => {
            *slot = Some(text);
            Ok(())
        }
        _ => Err(VerifyError::InvalidClaimType {
            claim,
            expected: "a string",
        }),
    }
}

/// A string claim kept with the claims that have no field of their own.
fn other_string(
    other: &mut Map<String, Value>,
    claim: &'static str,
    value: Member<'_>,
    json: &str,
) -> Result<(), VerifyError> {
    match value {
        Member::String(text) => {
            other.insert(claim.to_owned(), Value::String(text.into_string(json)));
            Ok(())
        }
        _ => Err(VerifyError::InvalidClaimType {
            claim,
            expected: "a string",
        }),
    }
}

/// A NumericDate: a non-negative JSON number of seconds. Fractions are rounded the strict way
/// (`round`), so that a fractional date never widens the validity window.
fn date(
    slot: &mut Option<u64>,
    claim: &'static str,
    value: &Member<'_>,
    round: fn(f64) -> f64,
) -> Result<(), VerifyError> {
    let invalid = VerifyError::InvalidClaimType {
        claim,
        expected: "a non-negative number (seconds since the epoch)",
    };
    let Member::Number(n) = value else {
        return Err(invalid);
    };
    *slot = Some(match (n.as_u64(), n.as_f64()) {
        (Some(secs), _) => secs,
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "checked non-negative and below 2^53 just before"
        )]
        (None, Some(f)) if (0.0..9_007_199_254_740_992.0).contains(&f) => round(f) as u64,
        _ => return Err(invalid),
    });
    Ok(())
}

#[cfg(any(test, feature = "test-helpers"))]
pub(crate) fn claims_for_tests(map: Map<String, Value>) -> Claims {
    let json = Value::Object(map).to_string();
    let mut read = RawClaims::default();
    let Ok(Ok(())) = read_object("payload", &json, &mut read) else {
        panic!("a claim has the wrong type")
    };
    let mut claims = read.claims;
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
