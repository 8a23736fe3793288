//! A strict JSON scanner for a token's header and payload, read before the signature is checked.
//!
//! It reads a JSON object (RFC 8259) exactly as serde_json reads one, and hands each top-level
//! member to a [`Members`] reader as it meets it: a string as the span of the JSON where it stands
//! (a copy only when it has escapes), an array of strings as such spans, a number as its value,
//! anything else as its validated text. Nothing is built for a member the reader does not keep.
//!
//! Security invariants, on any input:
//! - Only RFC 8259 is accepted: no trailing commas, comments, `NaN`/`Infinity`, leading zeros or
//!   `+` signs; strings without raw control characters (U+0000–U+001F), with only the escapes
//!   `\" \\ \/ \b \f \n \r \t \uXXXX`, surrogate pairs combined and a lone surrogate refused;
//!   whitespace is space, tab, LF and CR only; nothing but whitespace after the object. A number
//!   that serde_json refuses (one too large for an `f64`) is refused.
//! - A key repeated in an object, at any depth, is refused; checking costs `O(n log n)` in the
//!   number of keys of an object, never `O(n²)`.
//! - Containers nest at most [`MAX_DEPTH`] deep (serde_json's limit), and the scanner never
//!   recurses: open containers are counted on a heap stack, so no input can exhaust the thread's
//!   stack.
//! - It never panics: every byte is read with `get`, never by indexing.
//! - Error details name a byte offset, never the token's content, except a repeated key, which
//!   is passed through [`untrusted`].

use std::{borrow::Cow, fmt};

use serde_json::{Number, Value};

use super::Text;
use crate::{VerifyError, error::untrusted};

/// Containers (objects and arrays) nested at most this deep, the top-level object included:
/// serde_json refuses the 128th.
pub(super) const MAX_DEPTH: usize = 127;

/// Why a header or payload is not a JSON object the verifier reads.
#[derive(Debug)]
pub(super) enum JsonError {
    /// Not JSON: `expected` was expected at byte `at`.
    Syntax { expected: &'static str, at: usize },
    /// A key met twice in one object (the key passed through [`untrusted`]).
    RepeatedKey(String),
    /// Containers nested deeper than [`MAX_DEPTH`].
    TooDeep { at: usize },
    /// A number too large for an `f64`.
    NumberOutOfRange { at: usize },
    /// A value the scanner accepted that serde_json does not read (a bug, never expected).
    Unreadable,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax { expected, at } => write!(f, "expected {expected} at byte {at}"),
            Self::RepeatedKey(key) => write!(f, "duplicate key `{key}`"),
            Self::TooDeep { at } => {
                write!(f, "containers nested deeper than {MAX_DEPTH} at byte {at}")
            }
            Self::NumberOutOfRange { at } => write!(f, "number out of range at byte {at}"),
            Self::Unreadable => f.write_str("a value could not be read"),
        }
    }
}

/// A top-level member's value, as the scanner met it.
#[derive(Debug)]
pub(super) enum Member<'j> {
    String(Text),
    /// An array of nothing but strings (perhaps empty).
    Strings(Vec<Text>),
    Number(Number),
    /// `true`, `false`, `null`, an object, or an array not only of strings: its JSON text,
    /// validated.
    Other(&'j str),
}

impl Member<'_> {
    /// The member as a JSON value (`json` is the text its strings point into).
    pub(super) fn into_value(self, json: &str) -> Result<Value, MemberError> {
        Ok(match self {
            Self::String(text) => Value::String(text.into_string(json)),
            Self::Strings(texts) => Value::Array(
                texts
                    .into_iter()
                    .map(|text| Value::String(text.into_string(json)))
                    .collect(),
            ),
            Self::Number(number) => Value::Number(number),
            // Validated already (no repeated key, nothing serde_json refuses): serde_json builds
            // the same value it built when it parsed the whole object. A rare path.
            Self::Other(text) => serde_json::from_str(text).map_err(|_| MemberError::Unreadable)?,
        })
    }
}

/// What reads an object's members: checks each member's type, keeps what it needs.
pub(super) trait Members {
    /// Takes one member. `json` is the text being scanned: the spans in `value` point into it.
    fn member(&mut self, key: &str, value: Member<'_>, json: &str) -> Result<(), MemberError>;

    /// Takes a member whose value is a string without escapes, `json[start..end]`: the same as
    /// [`member`](Self::member) with a [`Member::String`], for the commonest member, passed in
    /// registers rather than as a `Member` in memory.
    fn plain_string(
        &mut self,
        key: &str,
        start: usize,
        end: usize,
        json: &str,
    ) -> Result<(), MemberError> {
        self.member(key, Member::String(Text::Span { start, end }), json)
    }

    /// Takes a member whose value is a number: the same as [`member`](Self::member) with a
    /// [`Member::Number`], passed in registers.
    fn number(&mut self, key: &str, number: Number, json: &str) -> Result<(), MemberError> {
        self.member(key, Member::Number(number), json)
    }
}

/// Why a [`Members`] reader refused a member.
#[derive(Debug)]
pub(super) enum MemberError {
    /// The key was met before in this object.
    Repeated,
    /// The value has the wrong type.
    Type(VerifyError),
    /// See [`JsonError::Unreadable`].
    Unreadable,
}

/// Scans `json`, which must be one object, into `target` member by member. The outer error is
/// structural (not JSON, not an object, a repeated key at any depth); the inner one is the first
/// member of the wrong type. The whole text is scanned even after a mistyped member, so that a
/// structural error anywhere wins.
pub(super) fn read_object(
    json: &str,
    target: &mut impl Members,
) -> Result<Result<(), VerifyError>, JsonError> {
    let mut scanner = Scanner {
        json,
        bytes: json.as_bytes(),
        pos: 0,
    };
    scanner.skip_whitespace();
    if !scanner.eat(b'{') {
        return Err(scanner.expected("a JSON object"));
    }
    let mut first_type_error = None;
    scanner.skip_whitespace();
    if !scanner.eat(b'}') {
        loop {
            let raw_key = scanner.raw_key()?;
            let unescaped;
            let mut key = scanner.slice(raw_key.start, raw_key.end)?;
            if raw_key.escaped {
                unescaped = unescape(key).ok_or(JsonError::Unreadable)?;
                key = &unescaped;
            }
            let read = match scanner.peek() {
                Some(b'"') => {
                    let raw = scanner.string()?;
                    if raw.escaped {
                        let text = unescape(scanner.slice(raw.start, raw.end)?)
                            .ok_or(JsonError::Unreadable)?;
                        let text = Text::Unescaped(text.into_boxed_str());
                        target.member(key, Member::String(text), json)
                    } else {
                        target.plain_string(key, raw.start, raw.end, json)
                    }
                }
                Some(b'-' | b'0'..=b'9') => target.number(key, scanner.number()?, json),
                _ => target.member(key, scanner.member_value()?, json),
            };
            match read {
                Ok(()) => {}
                Err(MemberError::Repeated) => return Err(JsonError::RepeatedKey(untrusted(key))),
                Err(MemberError::Type(e)) => {
                    first_type_error.get_or_insert(e);
                }
                Err(MemberError::Unreadable) => return Err(JsonError::Unreadable),
            }
            scanner.skip_whitespace();
            match scanner.next_byte() {
                Some(b',') => scanner.skip_whitespace(),
                Some(b'}') => break,
                _ => return Err(scanner.expected_before("`,` or `}`")),
            }
        }
    }
    scanner.skip_whitespace();
    if scanner.pos < json.len() {
        return Err(scanner.expected("the end of the text"));
    }
    Ok(match first_type_error {
        None => Ok(()),
        Some(e) => Err(e),
    })
}

/// A position in the JSON text being scanned.
struct Scanner<'j> {
    json: &'j str,
    bytes: &'j [u8],
    pos: usize,
}

/// A container open inside a value being skipped.
enum Open {
    Array,
    /// An object, whose keys so far are `keys[first_key..]`.
    Object {
        first_key: usize,
    },
}

/// A string's content: `start..end` of the text, between the quotes.
struct RawString {
    start: usize,
    end: usize,
    escaped: bool,
}

/// Objects with at most this many keys are checked for a repeat pair by pair; larger ones are
/// sorted.
const PAIRWISE_KEYS: usize = 8;

impl<'j> Scanner<'j> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    #[inline]
    fn next_byte(&mut self) -> Option<u8> {
        let byte = self.peek();
        if byte.is_some() {
            self.pos += 1;
        }
        byte
    }

    #[inline]
    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.pos += 1;
        }
        found
    }

    fn expected(&self, expected: &'static str) -> JsonError {
        JsonError::Syntax {
            expected,
            at: self.pos,
        }
    }

    /// The error for the byte just read.
    fn expected_before(&self, expected: &'static str) -> JsonError {
        JsonError::Syntax {
            expected,
            at: self.pos.saturating_sub(1),
        }
    }

    #[inline]
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// `self.json[start..end]`, or an error where it is not a slice of it on character
    /// boundaries (which the scanner never asks for).
    #[inline]
    fn slice(&self, start: usize, end: usize) -> Result<&'j str, JsonError> {
        self.json.get(start..end).ok_or(JsonError::Unreadable)
    }

    /// A key, the `:` after it and the whitespace around: the key, unescaped.
    #[inline]
    fn key(&mut self) -> Result<Cow<'j, str>, JsonError> {
        let raw = self.raw_key()?;
        let key = self.slice(raw.start, raw.end)?;
        Ok(if raw.escaped {
            Cow::Owned(unescape(key).ok_or(JsonError::Unreadable)?)
        } else {
            Cow::Borrowed(key)
        })
    }

    /// A key, the `:` after it and the whitespace around: the key as it stands in the text.
    #[inline(always)]
    fn raw_key(&mut self) -> Result<RawString, JsonError> {
        if self.peek() != Some(b'"') {
            return Err(self.expected("a string key"));
        }
        let raw = self.string()?;
        self.skip_whitespace();
        if !self.eat(b':') {
            return Err(self.expected("`:`"));
        }
        self.skip_whitespace();
        Ok(raw)
    }

    /// A string, at its opening quote: its span, or its unescaped copy.
    #[inline(always)]
    fn text(&mut self) -> Result<Text, JsonError> {
        let raw = self.string()?;
        Ok(if raw.escaped {
            let text = unescape(self.slice(raw.start, raw.end)?).ok_or(JsonError::Unreadable)?;
            Text::Unescaped(text.into_boxed_str())
        } else {
            Text::Span {
                start: raw.start,
                end: raw.end,
            }
        })
    }

    /// A top-level member's value other than a string or a number (which [`read_object`] reads
    /// itself).
    #[inline(always)]
    fn member_value(&mut self) -> Result<Member<'j>, JsonError> {
        match self.peek() {
            Some(b'[') => self.array_member(),
            _ => {
                let start = self.pos;
                self.skip_value(1)?;
                self.slice(start, self.pos).map(Member::Other)
            }
        }
    }

    /// An array, member of the top-level object: its strings while it has nothing else.
    fn array_member(&mut self) -> Result<Member<'j>, JsonError> {
        let start = self.pos;
        self.pos += 1;
        let mut strings = Vec::new();
        let mut only_strings = true;
        self.skip_whitespace();
        if !self.eat(b']') {
            loop {
                if only_strings && self.peek() == Some(b'"') {
                    strings.push(self.text()?);
                } else {
                    only_strings = false;
                    // Open: the top-level object and this array.
                    self.skip_value(2)?;
                }
                self.skip_whitespace();
                match self.next_byte() {
                    Some(b',') => self.skip_whitespace(),
                    Some(b']') => break,
                    _ => return Err(self.expected_before("`,` or `]`")),
                }
            }
        }
        if only_strings {
            Ok(Member::Strings(strings))
        } else {
            self.slice(start, self.pos).map(Member::Other)
        }
    }

    /// Checks the value at the current position and moves past it, `open` containers being open
    /// around it. Iterative: nesting is counted on `stack`, not on the thread's stack.
    fn skip_value(&mut self, open: usize) -> Result<(), JsonError> {
        let mut stack: Vec<Open> = Vec::new();
        // The keys of the open objects, innermost last.
        let mut keys: Vec<Cow<'j, str>> = Vec::new();
        'value: loop {
            match self.peek() {
                Some(b'{') => {
                    if open + stack.len() >= MAX_DEPTH {
                        return Err(JsonError::TooDeep { at: self.pos });
                    }
                    self.pos += 1;
                    self.skip_whitespace();
                    if !self.eat(b'}') {
                        stack.push(Open::Object {
                            first_key: keys.len(),
                        });
                        keys.push(self.key()?);
                        continue 'value;
                    }
                }
                Some(b'[') => {
                    if open + stack.len() >= MAX_DEPTH {
                        return Err(JsonError::TooDeep { at: self.pos });
                    }
                    self.pos += 1;
                    self.skip_whitespace();
                    if !self.eat(b']') {
                        stack.push(Open::Array);
                        continue 'value;
                    }
                }
                Some(b'"') => {
                    self.string()?;
                }
                Some(b'-' | b'0'..=b'9') => {
                    self.number()?;
                }
                Some(b't') => self.literal(b"true")?,
                Some(b'f') => self.literal(b"false")?,
                Some(b'n') => self.literal(b"null")?,
                _ => return Err(self.expected("a JSON value")),
            }
            // A value ended: close what it ends, up to the next value.
            loop {
                let Some(innermost) = stack.last() else {
                    return Ok(());
                };
                self.skip_whitespace();
                match (innermost, self.next_byte()) {
                    (Open::Array, Some(b',')) => {
                        self.skip_whitespace();
                        continue 'value;
                    }
                    (Open::Object { .. }, Some(b',')) => {
                        self.skip_whitespace();
                        keys.push(self.key()?);
                        continue 'value;
                    }
                    (Open::Array, Some(b']')) => {
                        stack.pop();
                    }
                    (&Open::Object { first_key }, Some(b'}')) => {
                        check_unique(keys.get_mut(first_key..).unwrap_or_default())?;
                        keys.truncate(first_key);
                        stack.pop();
                    }
                    (Open::Array, _) => return Err(self.expected_before("`,` or `]`")),
                    (Open::Object { .. }, _) => return Err(self.expected_before("`,` or `}`")),
                }
            }
        }
    }

    fn literal(&mut self, literal: &'static [u8]) -> Result<(), JsonError> {
        if self.bytes.get(self.pos..self.pos + literal.len()) == Some(literal) {
            self.pos += literal.len();
            Ok(())
        } else {
            Err(self.expected("a JSON value"))
        }
    }

    /// A number, at its first byte. An integer that fits `u64` is read here; any other number
    /// (negative, fractional, with an exponent, or larger) is handed to serde_json, so that it has
    /// exactly the value (or the refusal, when too large for an `f64`) it had there.
    #[inline]
    fn number(&mut self) -> Result<Number, JsonError> {
        let start = self.pos;
        let negative = self.eat(b'-');
        let mut integer = Some(0_u64);
        match self.next_byte() {
            Some(b'0') => {
                if let Some(b'0'..=b'9') = self.peek() {
                    return Err(self.expected("no leading zero"));
                }
            }
            Some(digit @ b'1'..=b'9') => {
                integer = Some(u64::from(digit - b'0'));
                while let Some(digit @ b'0'..=b'9') = self.peek() {
                    self.pos += 1;
                    integer = integer
                        .and_then(|n| n.checked_mul(10))
                        .and_then(|n| n.checked_add(u64::from(digit - b'0')));
                }
            }
            _ => return Err(self.expected_before("a digit")),
        }
        let mut plain = !negative;
        if self.eat(b'.') {
            plain = false;
            self.digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            plain = false;
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.digits()?;
        }
        match integer {
            Some(n) if plain => Ok(Number::from(n)),
            _ => serde_json::from_str(self.slice(start, self.pos)?)
                .map_err(|_| JsonError::NumberOutOfRange { at: start }),
        }
    }

    /// One digit or more.
    #[inline]
    fn digits(&mut self) -> Result<(), JsonError> {
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            return Err(self.expected("a digit"));
        }
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        Ok(())
    }

    /// A string, at its opening quote: checked (no raw control character, only JSON's escapes,
    /// surrogates paired) and passed.
    #[inline(always)]
    fn string(&mut self) -> Result<RawString, JsonError> {
        let start = self.pos + 1;
        let mut pos = start;
        let mut escaped = false;
        loop {
            pos += plain_run(self.bytes.get(pos..).unwrap_or_default());
            self.pos = pos + 1;
            match self.bytes.get(pos) {
                Some(b'"') => {
                    return Ok(RawString {
                        start,
                        end: pos,
                        escaped,
                    });
                }
                Some(b'\\') => {
                    escaped = true;
                    self.escape()?;
                    pos = self.pos;
                }
                Some(_) => return Err(self.expected_before("no control character")),
                None => {
                    self.pos = pos;
                    return Err(self.expected("the end of the string"));
                }
            }
        }
    }

    /// An escape, after its backslash.
    fn escape(&mut self) -> Result<(), JsonError> {
        match self.next_byte() {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(()),
            Some(b'u') => {
                let unit = self.hex4()?;
                if is_low_surrogate(unit) {
                    return Err(self.expected_before("no lone surrogate"));
                }
                if is_high_surrogate(unit) && !self.low_surrogate_follows()? {
                    return Err(self.expected_before("no lone surrogate"));
                }
                Ok(())
            }
            _ => Err(self.expected_before("an escape")),
        }
    }

    /// After a high surrogate's escape: whether a low surrogate's escape follows.
    fn low_surrogate_follows(&mut self) -> Result<bool, JsonError> {
        Ok(self.eat(b'\\') && self.eat(b'u') && is_low_surrogate(self.hex4()?))
    }

    /// Four hex digits: a UTF-16 code unit.
    fn hex4(&mut self) -> Result<u16, JsonError> {
        let unit = self
            .bytes
            .get(self.pos..self.pos + 4)
            .and_then(hex_unit)
            .ok_or_else(|| self.expected("four hex digits"))?;
        self.pos += 4;
        Ok(unit)
    }
}

/// How many bytes at the start of `bytes` are plain string content: neither `"`, `\\` nor a
/// control character (below 0x20). Eight bytes at a time.
#[inline]
fn plain_run(bytes: &[u8]) -> usize {
    let (words, tail) = bytes.as_chunks::<8>();
    for (index, word) in words.iter().enumerate() {
        let special = special_bytes(u64::from_le_bytes(*word));
        if special != 0 {
            // The lowest flagged byte is the first special one (a false flag, from a borrow,
            // only ever stands above a true one).
            return index * 8 + (special.trailing_zeros() / 8) as usize;
        }
    }
    words.len() * 8
        + tail
            .iter()
            .position(|&byte| byte == b'"' || byte == b'\\' || byte < 0x20)
            .unwrap_or(tail.len())
}

/// The high bit of each byte of `word` (little-endian) that is a `"`, a `\\` or a control
/// character, and perhaps of bytes above such a byte (the zero-byte test of "Bit Twiddling
/// Hacks", whose borrows can flag a byte above a flagged one, never below).
fn special_bytes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_bytes = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    zero_bytes(word ^ (ONES * u64::from(b'"')))
        | zero_bytes(word ^ (ONES * u64::from(b'\\')))
        | below_space
}

fn is_high_surrogate(unit: u16) -> bool {
    (0xD800..0xDC00).contains(&unit)
}

fn is_low_surrogate(unit: u16) -> bool {
    (0xDC00..0xE000).contains(&unit)
}

/// Four hex digits (either case) as a code unit.
fn hex_unit(digits: &[u8]) -> Option<u16> {
    let [a, b, c, d] = <[u8; 4]>::try_from(digits).ok()?;
    let digit = |byte: u8| char::from(byte).to_digit(16);
    let unit = ((digit(a)? * 16 + digit(b)?) * 16 + digit(c)?) * 16 + digit(d)?;
    u16::try_from(unit).ok()
}

/// The string content `raw` (checked by [`Scanner::string`]) with its escapes replaced. `None`
/// where it is not such content.
fn unescape(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(backslash) = rest.find('\\') {
        out.push_str(rest.get(..backslash)?);
        let escape = rest.get(backslash + 1..)?;
        let (c, after) = match escape.as_bytes().first()? {
            b'"' => ('"', 1),
            b'\\' => ('\\', 1),
            b'/' => ('/', 1),
            b'b' => ('\u{8}', 1),
            b'f' => ('\u{c}', 1),
            b'n' => ('\n', 1),
            b'r' => ('\r', 1),
            b't' => ('\t', 1),
            b'u' => {
                let unit = hex_unit(escape.as_bytes().get(1..5)?)?;
                if is_high_surrogate(unit) {
                    let low = hex_unit(escape.as_bytes().get(7..11)?)?;
                    let code = 0x1_0000
                        + ((u32::from(unit) - 0xD800) << 10)
                        + (u32::from(low).checked_sub(0xDC00)?);
                    (char::from_u32(code)?, 11)
                } else {
                    (char::from_u32(u32::from(unit))?, 5)
                }
            }
            _ => return None,
        };
        out.push(c);
        rest = escape.get(after..)?;
    }
    out.push_str(rest);
    Some(out)
}

/// Refuses a repeated key among one object's `keys`: pair by pair for a few, else sorted.
fn check_unique(keys: &mut [Cow<'_, str>]) -> Result<(), JsonError> {
    let repeated = if keys.len() <= PAIRWISE_KEYS {
        keys.iter()
            .enumerate()
            .find_map(|(i, key)| keys.get(i + 1..)?.contains(key).then_some(key))
    } else {
        keys.sort_unstable();
        keys.windows(2).find_map(|pair| match pair {
            [a, b] if a == b => Some(a),
            _ => None,
        })
    };
    match repeated {
        Some(key) => Err(JsonError::RepeatedKey(untrusted(key))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::MAX_DEPTH;
    use crate::dangerous::{Text, decode, serde_oracle};

    fn b64(json: &[u8]) -> String {
        use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
        URL_SAFE_NO_PAD.encode(json)
    }

    const HEADER: &str = r#"{"alg":"RS256","kid":"k1"}"#;

    /// A token of `payload` (any bytes) under a plain header.
    fn token(payload: &[u8]) -> String {
        format!(
            "{}.{}.{}",
            b64(HEADER.as_bytes()),
            b64(payload),
            b64(b"sig")
        )
    }

    /// The verifier's code for `payload` ("ok" when it decodes), after checking that the serde_json
    /// oracle agrees on the outcome.
    fn code(payload: &str) -> &'static str {
        code_of_bytes(payload.as_bytes())
    }

    fn code_of_bytes(payload: &[u8]) -> &'static str {
        let token = token(payload);
        if let Some(disagreement) = serde_oracle::disagreement(&token, 1 << 20) {
            panic!("{}:\n{disagreement}", String::from_utf8_lossy(payload));
        }
        match decode(&token, 1 << 20) {
            Ok(_) => "ok",
            Err(e) => e.code(),
        }
    }

    /// The verifier's code for a token with `header` and an empty payload, after checking that
    /// the oracle agrees. (The header's unknown parameters are checked and dropped: no later
    /// step reads them, so a malformed one is refused by the scanner alone.)
    fn header_code(header: &str) -> &'static str {
        let token = format!("{}.{}.{}", b64(header.as_bytes()), b64(b"{}"), b64(b"sig"));
        if let Some(disagreement) = serde_oracle::disagreement(&token, 8192) {
            panic!("{header}:\n{disagreement}");
        }
        match decode(&token, 8192) {
            Ok(_) => "ok",
            Err(e) => e.code(),
        }
    }

    fn assert_codes(cases: &[(&str, &str)]) {
        for (payload, expected) in cases {
            assert_eq!(code(payload), *expected, "{payload}");
        }
    }

    #[test]
    fn trailing_commas_are_refused() {
        assert_codes(&[
            (r#"{"a":1,}"#, "malformed"),
            (r#"{"a":[1,]}"#, "malformed"),
            (r#"{"cognito:groups":["a",]}"#, "malformed"),
            (r#"{"x":{"a":1,}}"#, "malformed"),
            (r#"{"x":[[1],[2,],3]}"#, "malformed"),
            (r#"{,}"#, "malformed"),
            (r#"{"x":[,]}"#, "malformed"),
            (r#"{"a":1,"b":[1,2],"c":{"d":[]}}"#, "ok"),
        ]);
    }

    #[test]
    fn only_json_values_are_accepted() {
        assert_codes(&[
            (r#"{"a":NaN}"#, "malformed"),
            (r#"{"a":Infinity}"#, "malformed"),
            (r#"{"a":-Infinity}"#, "malformed"),
            (r#"{"exp":+1}"#, "malformed"),
            (r#"{"a":[+1]}"#, "malformed"),
            (r#"{/*c*/}"#, "malformed"),
            (r#"{"a":1}//c"#, "malformed"),
            (r#"{'a':1}"#, "malformed"),
            (r#"{a:1}"#, "malformed"),
            (r#"{"a":'b'}"#, "malformed"),
            (r#"{"a":tru}"#, "malformed"),
            (r#"{"a":[nul]}"#, "malformed"),
            (r#"{"a":True}"#, "malformed"),
            (r#"{"a":undefined}"#, "malformed"),
            (r#"{"a" 1}"#, "malformed"),
            (r#"{"a":1 "b":2}"#, "malformed"),
            (r#"{1:1}"#, "malformed"),
            (r#"{"a":{1:1}}"#, "malformed"),
            (r#"{"a":true,"b":false,"c":null,"d":[true,null]}"#, "ok"),
        ]);
    }

    #[test]
    fn numbers_follow_rfc_8259() {
        assert_codes(&[
            (r#"{"a":01}"#, "malformed"),
            (r#"{"a":-01}"#, "malformed"),
            (r#"{"a":00}"#, "malformed"),
            (r#"{"exp":05}"#, "malformed"),
            (r#"{"a":[0.1,01]}"#, "malformed"),
            (r#"{"a":1.}"#, "malformed"),
            (r#"{"a":.5}"#, "malformed"),
            (r#"{"a":1e}"#, "malformed"),
            (r#"{"a":1e+}"#, "malformed"),
            (r#"{"a":1.e5}"#, "malformed"),
            (r#"{"a":-}"#, "malformed"),
            (r#"{"a":--1}"#, "malformed"),
            (r#"{"a":0x1}"#, "malformed"),
            (r#"{"a":1.5.3}"#, "malformed"),
            // Too large for an f64: serde_json refuses it, at any depth.
            (r#"{"a":1e400}"#, "malformed"),
            (r#"{"exp":1e309}"#, "malformed"),
            (r#"{"a":[{"b":-1e400}]}"#, "malformed"),
            (
                r#"{"a":0,"b":-0,"c":0.0,"d":1E5,"e":1e-5,"f":-1.5e+3,"g":1e-400}"#,
                "ok",
            ),
            (r#"{"a":[0,-0,1e308,123456789012345678901234567890]}"#, "ok"),
        ]);
    }

    #[test]
    fn raw_control_characters_in_strings_are_refused() {
        for c in (0x00..0x20_u8).chain([b'\n', b'\t']) {
            for payload in [
                format!(r#"{{"sub":"a{}b"}}"#, char::from(c)),
                format!(r#"{{"x":["a","{}"]}}"#, char::from(c)),
                format!(r#"{{"x":{{"k{}":1}}}}"#, char::from(c)),
            ] {
                assert_eq!(code(&payload), "malformed", "{payload:?}");
                assert_eq!(header_code(&payload), "malformed", "{payload:?}");
            }
        }
        assert_codes(&[
            ("{\"sub\":\"a\u{7f}b\"}", "ok"),
            (r#"{"sub":"a\u0001\u001fb"}"#, "ok"),
        ]);
    }

    #[test]
    fn only_json_escapes_are_accepted() {
        for escape in [
            r"\a", r"\x41", r"\'", r"\U0041", r"\u12", r"\u12g4", r"\ ", r"\0", r"\",
        ] {
            for payload in [
                format!(r#"{{"sub":"{escape}"}}"#),
                format!(r#"{{"x":[1,"{escape}"]}}"#),
                format!(r#"{{"{escape}":1}}"#),
            ] {
                assert_eq!(code(&payload), "malformed", "{payload}");
                assert_eq!(header_code(&payload), "malformed", "{payload}");
            }
        }
        let payload = r#"{"sub":"\"\\\/\b\f\n\r\t\u0041\u00e9\uABCD\uabcd"}"#;
        assert_eq!(code(payload), "ok");
        let claims = decode(&token(payload.as_bytes()), 8192).unwrap().claims;
        assert_eq!(
            claims.read(&claims.sub),
            Some("\"\\/\u{8}\u{c}\n\r\t\u{41}\u{e9}\u{abcd}\u{abcd}")
        );
    }

    #[test]
    fn surrogate_pairs_are_combined_and_lone_surrogates_refused() {
        let payload =
            r#"{"sub":"\ud83d\ude00","x":["\uD83D\uDE00"],"\ud83d\ude00":{"\ud83d\ude00":1}}"#;
        assert_eq!(code(payload), "ok");
        let claims = decode(&token(payload.as_bytes()), 8192).unwrap().claims;
        assert_eq!(claims.read(&claims.sub), Some("\u{1f600}"));
        assert_eq!(claims.other["x"], serde_json::json!(["\u{1f600}"]));
        for lone in [
            r"\ud83d",
            r"\ude00",
            r"\ud83dx",
            r"\ud83d\u0041",
            r"\ud83d\ud83d",
            r"\ude00\ud83d",
            r"\ud83d\n",
            r"\udbff",
            r"\udc00",
        ] {
            for payload in [
                format!(r#"{{"sub":"{lone}"}}"#),
                format!(r#"{{"x":"{lone}"}}"#),
                format!(r#"{{"x":[{{"y":"{lone}"}}]}}"#),
                format!(r#"{{"{lone}":1}}"#),
                format!(r#"{{"x":{{"{lone}":1}}}}"#),
            ] {
                assert_eq!(code(&payload), "malformed", "{payload}");
                assert_eq!(header_code(&payload), "malformed", "{payload}");
            }
        }
    }

    #[test]
    fn whitespace_is_space_tab_lf_and_cr_only() {
        assert_codes(&[
            (
                " \t\n\r{ \t\n\r\"a\" \t\n\r: \t\n\r[ 1 , { \"b\" : 2 } ] \t\n\r} \t\n\r",
                "ok",
            ),
            ("{\"a\":\u{c}1}", "malformed"),
            ("{\"a\":\u{b}1}", "malformed"),
            ("\u{c}{}", "malformed"),
            ("{}\u{c}", "malformed"),
            ("{\"a\":[1,\u{a0}2]}", "malformed"),
            ("{\u{feff}}", "malformed"),
            ("\u{feff}{}", "malformed"),
        ]);
    }

    #[test]
    fn nothing_but_whitespace_follows_the_object() {
        assert_codes(&[
            ("{} \n", "ok"),
            ("{} x", "malformed"),
            ("{}{}", "malformed"),
            ("{},", "malformed"),
            ("{}]", "malformed"),
            ("{}\u{0}", "malformed"),
            ("", "malformed"),
            ("[]", "malformed"),
            ("\"s\"", "malformed"),
            ("{\"a\":1", "malformed"),
            ("{\"a\":[1", "malformed"),
            ("{\"a\":\"b", "malformed"),
            ("{\"a\":{", "malformed"),
        ]);
    }

    /// `{"x":[[…]]}` with `depth` containers in all, the top-level object included.
    fn nested(depth: usize, open: &str, close: &str) -> String {
        let inner = depth - 1;
        format!(r#"{{"x":{}{}}}"#, open.repeat(inner), close.repeat(inner))
    }

    #[test]
    fn nesting_is_capped_where_serde_json_caps_it() {
        for (open, close) in [("[", "]"), (r#"{"y":"#, "}")] {
            let close_inner = if open == "[" { "" } else { "1" };
            for depth in [2, 3, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, MAX_DEPTH + 2] {
                let payload =
                    nested(depth, open, close).replacen(close, &format!("{close_inner}{close}"), 1);
                let expected = if depth <= MAX_DEPTH {
                    "ok"
                } else {
                    "malformed"
                };
                assert_eq!(code(&payload), expected, "depth {depth} of {open}");
            }
        }
        // Behind an array member's strings too (the object and that array are two).
        let behind_strings = |inner: usize| {
            format!(
                r#"{{"x":["a",{}{}]}}"#,
                "[".repeat(inner),
                "]".repeat(inner)
            )
        };
        assert_eq!(code(&behind_strings(MAX_DEPTH - 2)), "ok");
        assert_eq!(code(&behind_strings(MAX_DEPTH - 1)), "malformed");
    }

    #[test]
    fn hostile_nesting_neither_recurses_nor_panics() {
        // Run on a small stack: a recursive scanner would overflow it.
        let scan = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(|| {
                for payload in [
                    format!(r#"{{"x":{}"#, "[".repeat(500_000)),
                    format!(r#"{{"x":{}"#, r#"{"a":"#.repeat(100_000)),
                    format!(r#"{{"x":["a",{}"#, "[".repeat(500_000)),
                ] {
                    let token = token(payload.as_bytes());
                    assert_eq!(decode(&token, 1 << 22).unwrap_err().code(), "malformed");
                }
            })
            .unwrap();
        scan.join().unwrap();
    }

    #[test]
    fn repeated_keys_are_refused_at_every_depth() {
        let many_keys = |repeat: &str| {
            let keys: Vec<String> = (0..40).map(|i| format!(r#""k{i}":{i}"#)).collect();
            format!(r#"{{"x":{{{},{repeat}}}}}"#, keys.join(","))
        };
        assert_codes(&[
            (r#"{"sub":"a","sub":"b"}"#, "malformed"),
            (r#"{"x":1,"x":1}"#, "malformed"),
            (r#"{"email":"a","email":"a"}"#, "malformed"),
            (r#"{"a":1,"\u0061":2}"#, "malformed"),
            (r#"{"s\u0075b":"a","sub":"b"}"#, "malformed"),
            (r#"{"x":{"y":1,"y":2}}"#, "malformed"),
            (r#"{"x":{"y":1,"\u0079":2}}"#, "malformed"),
            (r#"{"x":[{"y":1,"y":2}]}"#, "malformed"),
            (r#"{"x":["a",{"y":1,"y":2}]}"#, "malformed"),
            (r#"{"x":{"y":{"z":1},"w":{"z":1}}}"#, "ok"),
            (r#"{"x":{"y":1},"y":1}"#, "ok"),
            (
                r#"{"x":{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"a":0}}"#,
                "malformed",
            ),
            (&many_keys(r#""k17":0"#), "malformed"),
            (&many_keys(r#""k40":0"#), "ok"),
            // A repeated key is structural even when its first value is mistyped (the previous
            // implementation said invalid_claim_type here; see the oracle's module docs).
            (r#"{"exp":"x","exp":5}"#, "malformed"),
            (r#"{"event_id":1,"event_id":"e"}"#, "malformed"),
        ]);
        for header in [r#"{"alg":1,"alg":"RS256"}"#, r#"{"x5u":"a","x5u":"b"}"#] {
            let token = format!("{}.{}.{}", b64(header.as_bytes()), b64(b"{}"), b64(b"sig"));
            assert_eq!(
                decode(&token, 8192).unwrap_err().code(),
                "malformed",
                "{header}"
            );
            assert_eq!(serde_oracle::disagreement(&token, 8192), None);
        }
    }

    #[test]
    fn segments_are_counted_as_before() {
        let good = token(b"{}");
        let (h, rest) = good.split_once('.').unwrap();
        let (p, sig) = rest.split_once('.').unwrap();
        for token in [
            String::new(),
            ".".to_owned(),
            "..".to_owned(),
            "...".to_owned(),
            h.to_owned(),
            format!("{h}.{p}"),
            format!("{h}.{p}.{sig}.{sig}"),
            format!("{h}.{p}.{sig}."),
            format!(".{h}.{p}.{sig}"),
            format!("{h}.{p}.{p}.{sig}"),
            format!("{h}!.{p}.x.{sig}"),
            format!("{h}.{p}!.x.{sig}"),
            format!("{h}.{p}.x!.{sig}"),
            format!("{h}!.{p}.{sig}"),
            format!("{h}.{p}!.{sig}"),
            format!("{h}.{p}.{sig}!"),
            format!("{h}.{p}.{sig}"),
            format!("{h}..{sig}"),
        ] {
            assert_eq!(serde_oracle::disagreement(&token, 8192), None, "{token}");
        }
    }

    #[test]
    fn dates_read_as_before() {
        for (value, exp) in [
            ("0", Some(0)),
            ("5", Some(5)),
            ("-0", Some(0)),
            ("1e3", Some(1000)),
            ("1.5", Some(1)),
            ("10.9", Some(10)),
            ("0.5e1", Some(5)),
            ("18446744073709551615", Some(u64::MAX)),
            // serde_json's default float parsing (what the claims were read with) is not
            // correctly rounded: this is 9007199254740990 there, and so here.
            ("9007199254740991.0", Some(9_007_199_254_740_990)),
            ("9007199254740991", Some(9_007_199_254_740_991)),
            ("18446744073709551616", None),
            ("9007199254740992.0", None),
            ("-1", None),
            ("-0.5", None),
            ("1e-400", Some(0)),
        ] {
            let payload = format!(r#"{{"exp":{value},"iat":{value}}}"#);
            let token = token(payload.as_bytes());
            let result = decode(&token, 8192);
            assert_eq!(
                result.as_ref().ok().and_then(|t| t.claims.exp),
                exp,
                "{value}"
            );
            assert_eq!(serde_oracle::disagreement(&token, 8192), None);
        }
    }

    #[test]
    fn plain_strings_are_spans_and_escaped_ones_copies() {
        let payload = r#"{"sub":"plain","iss":"a\nb","aud":["x","\u0079"],"cognito:groups":["g"]}"#;
        let claims = decode(&token(payload.as_bytes()), 8192).unwrap().claims;
        assert!(matches!(claims.sub, Some(Text::Span { .. })));
        assert!(matches!(claims.iss, Some(Text::Unescaped(_))));
        assert!(matches!(
            claims.aud.as_deref(),
            Some([Text::Span { .. }, Text::Unescaped(_)])
        ));
        assert!(matches!(
            claims.groups.as_deref(),
            Some([Text::Span { .. }])
        ));
        assert_eq!(claims.audience().collect::<Vec<_>>(), ["x", "y"]);
    }

    /// Pieces of JSON, joined at random: mostly broken, sometimes whole.
    const PIECES: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        " ",
        "\t",
        "\n",
        "\u{c}",
        "\"",
        "\\",
        r#""sub""#,
        r#""exp""#,
        r#""aud""#,
        r#""cognito:groups""#,
        r#""event_id""#,
        r#""custom:x""#,
        r#""x""#,
        r#""\u0078""#,
        r#""a\nb""#,
        r#""\ud83d\ude00""#,
        r#""\ud83d""#,
        "\"\u{1}\"",
        r#""é""#,
        "0",
        "1",
        "-0",
        "01",
        "1.5",
        "1e400",
        "1e3",
        "-1",
        "18446744073709551616",
        "true",
        "null",
        "nul",
        "+1",
    ];

    /// A JSON value whose objects use a few keys (so some repeat).
    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            "[a-c\u{e9}\"\\\\\n\u{1f600}]{0,4}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 24, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::from),
                proptest::collection::vec((key(), inner), 0..5).prop_map(|members| {
                    serde_json::Value::Object(members.into_iter().collect())
                }),
            ]
        })
    }

    /// Every name the readers know, and some they do not.
    const NAMES: &[&str] = &[
        "iss",
        "sub",
        "jti",
        "origin_jti",
        "scope",
        "username",
        "cognito:username",
        "client_id",
        "token_use",
        "exp",
        "nbf",
        "iat",
        "auth_time",
        "aud",
        "cognito:groups",
        "event_id",
        "email",
        "phone_number",
        "cognito:preferred_role",
        "custom:tenant",
    ];

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            proptest::sample::select(NAMES).prop_map(str::to_owned),
            "[a-c]{1,2}",
        ]
    }

    #[test]
    fn every_known_claim_is_typed() {
        for name in NAMES.iter().filter(|name| !name.starts_with("custom:")) {
            for value in ["{}", "[1]", "true", "null", "\"s\"", "1", "[\"s\"]"] {
                let payload = format!(r#"{{"{name}":{value}}}"#);
                let token = token(payload.as_bytes());
                assert_eq!(serde_oracle::disagreement(&token, 8192), None, "{payload}");
            }
        }
        assert_codes(&[
            (r#"{"cognito:username":1}"#, "invalid_claim_type"),
            (r#"{"cognito:preferred_role":[]}"#, "invalid_claim_type"),
            (r#"{"email":null}"#, "invalid_claim_type"),
            (r#"{"phone_number":1}"#, "invalid_claim_type"),
            (r#"{"custom:tenant":1}"#, "ok"),
        ]);
    }

    #[test]
    fn the_header_is_read_as_before() {
        for header in [
            r#"{"alg":"RS256","kid":"k"}"#,
            r#"{"alg":"RS256","kid":"k","typ":"JWT","cty":"x","jku":"u","x5u":["a",1]}"#,
            r#"{"alg":"RS256","kid":"k","crit":["b64"],"b64":false}"#,
            r#"{"crit":[]}"#,
            r#"{"crit":"x"}"#,
            r#"{"crit":["a",1]}"#,
            r#"{"typ":1}"#,
            r#"{"cty":[]}"#,
            r#"{"kid":"k","k\u0069d":"l"}"#,
            r#"{"jku":1,"jku":2}"#,
            r#"{"alg":1,"x":{"y":1,"y":2}}"#,
            r#"{"alg":"\u0052S256"}"#,
        ] {
            let token = format!("{}.{}.{}", b64(header.as_bytes()), b64(b"{}"), b64(b"sig"));
            assert_eq!(serde_oracle::disagreement(&token, 8192), None, "{header}");
        }
    }

    proptest! {
        /// The eight-bytes-at-a-time run finder stops where a byte-by-byte one does.
        #[test]
        fn plain_runs_end_where_bytes_say(bytes in proptest::collection::vec(prop_oneof![
            Just(b'"'), Just(b'\\'), 0x00..0x20_u8, 0x20..0xff_u8, Just(0xff_u8), Just(0x80_u8)
        ], 0..40)) {
            let expected = bytes
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .unwrap_or(bytes.len());
            prop_assert_eq!(super::plain_run(&bytes), expected);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// Pieces of JSON joined at random: the scanner and the serde_json oracle agree.
        #[test]
        fn agrees_with_serde_json_on_pieces(pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..24)) {
            let payload = format!("{{{}", pieces.concat());
            code(&payload);
        }

        /// Objects of members written out, then cut or spliced: the scanner and the oracle agree.
        #[test]
        fn agrees_with_serde_json_on_objects(
            members in proptest::collection::vec((key(), json_value()), 0..8),
            cut in any::<proptest::sample::Index>(),
            splice in proptest::sample::select(PIECES),
            how in 0..3_u8,
        ) {
            let mut payload = String::from("{");
            for (i, (key, value)) in members.iter().enumerate() {
                if i > 0 {
                    payload.push(',');
                }
                payload.push_str(&format!("{}:{value}", serde_json::Value::from(key.as_str())));
            }
            payload.push('}');
            let at = cut.index(payload.len() + 1);
            let at = (0..=at).rev().find(|&i| payload.is_char_boundary(i)).unwrap_or(0);
            match how {
                0 => {}
                1 => payload.insert_str(at, splice),
                _ => payload.truncate(at),
            }
            code(&payload);
        }

        /// Any bytes at all: the scanner and the oracle agree.
        #[test]
        fn agrees_with_serde_json_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..48)) {
            code_of_bytes(&bytes);
        }
    }
}
