//! Generated hostile input: random mutations of valid tokens. The verifier never accepts a token
//! unless it is byte-identical to one that was validly signed, and never panics (nor does
//! `inspect`). Beside the table-driven cases above, which name each known attack.

use std::sync::Arc;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use cognigraph_token::{CognitoVerifier, testing::TestIssuer};
use proptest::{
    prelude::*,
    sample::Index,
    test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner},
};
use serde_json::{Value, json};

use super::{config, with};
use cognigraph_token::TokenUse;

/// Cases per run: a few seconds in a debug build, as it runs in `just test`.
const CASES: u32 = 512;

/// What is done to a valid token.
#[derive(Debug, Clone)]
enum Mutation {
    /// The segment's text: one character replaced by any printable ASCII or a few specials.
    TextReplace(usize, Index, u8),
    /// The segment's text: one character inserted.
    TextInsert(usize, Index, u8),
    /// The segment's text: one character removed.
    TextDelete(usize, Index),
    /// The segment's decoded bytes: one byte xored, then re-encoded canonically.
    BytesFlip(usize, Index, u8),
    /// The segment's decoded bytes: one byte inserted, then re-encoded.
    BytesInsert(usize, Index, u8),
    /// The segment's decoded bytes: one byte removed, then re-encoded.
    BytesDelete(usize, Index),
    /// The segment's text in another base64 dress: padded, or in the standard alphabet.
    Redress(usize, Redress),
    /// Two segments swapped.
    Swap(usize, usize),
    /// A segment dropped, or one of them repeated at the end.
    DropSegment(usize),
    ExtraSegment(usize),
    /// The token cut short.
    Truncate(Index),
    /// Text around the token.
    Wrap(&'static str, &'static str),
    /// The payload re-encoded with a claim changed, the old signature kept.
    Claim(&'static str, Value),
    /// The payload re-encoded with a claim removed, the old signature kept.
    RemoveClaim(&'static str),
    /// The header re-encoded with a member changed, the old signature kept.
    Header(&'static str, Value),
    /// Header or payload re-serialised with the same members, differently written.
    Rewrite(usize, Rewrite),
    /// Several of the above in a row.
    Chain(Vec<Mutation>),
}

#[derive(Debug, Clone, Copy)]
enum Redress {
    /// The unused low bits of the last character set: other text, the same bytes.
    TrailingBits,
    Padded,
    StandardAlphabet,
    Whitespace,
}

#[derive(Debug, Clone, Copy)]
enum Rewrite {
    Pretty,
    KeysReversed,
    DuplicateFirstKey,
    TrailingSpace,
}

fn text_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        4 => 0x20u8..0x7f,
        1 => prop::sample::select(vec![b'.', b'=', b'+', b'/', b'-', b'_', 0, b'\n', b'\t']),
    ]
}

fn claim_change() -> impl Strategy<Value = (&'static str, Value)> {
    let names = prop::sample::select(vec![
        "sub",
        "iss",
        "client_id",
        "token_use",
        "scope",
        "username",
        "cognito:groups",
        "exp",
        "iat",
        "nbf",
        "aud",
        "custom:tenant",
    ]);
    let values = prop_oneof![
        Just(json!("admin")),
        Just(json!(["admin"])),
        Just(json!([])),
        Just(json!("")),
        Just(json!(null)),
        Just(json!(0)),
        Just(json!(-1)),
        Just(json!(1.5)),
        Just(json!(u64::MAX)),
        Just(json!({})),
        Just(json!(true)),
        any::<u32>().prop_map(|n| json!(n)),
        "[a-z0-9:-]{0,12}".prop_map(|s| json!(s)),
    ];
    (names, values)
}

fn header_change() -> impl Strategy<Value = (&'static str, Value)> {
    let names = prop::sample::select(vec![
        "alg", "alg", "alg", "kid", "kid", "kid", "typ", "crit", "jku", "x5u", "cty",
    ]);
    let values = prop_oneof![
        Just(json!("RS256")),
        Just(json!("none")),
        Just(json!("HS256")),
        Just(json!("RS512")),
        Just(json!("")),
        Just(json!(null)),
        Just(json!(["b64"])),
        Just(json!(1)),
        "[a-zA-Z0-9-]{0,12}".prop_map(|s| json!(s)),
        "\\PC{1,3}".prop_map(|s| json!(s)),
    ];
    (names, values)
}

fn single_mutation() -> impl Strategy<Value = Mutation> {
    let segment = 0usize..3;
    let two = 0usize..2;
    prop_oneof![
        1 => (segment.clone(), any::<Index>(), text_byte())
            .prop_map(|(s, i, b)| Mutation::TextReplace(s, i, b)),
        1 => (segment.clone(), any::<Index>(), text_byte())
            .prop_map(|(s, i, b)| Mutation::TextInsert(s, i, b)),
        1 => (segment.clone(), any::<Index>()).prop_map(|(s, i)| Mutation::TextDelete(s, i)),
        1 => (segment.clone(), any::<Index>(), 1u8..=255)
            .prop_map(|(s, i, b)| Mutation::BytesFlip(s, i, b)),
        1 => (segment.clone(), any::<Index>(), any::<u8>())
            .prop_map(|(s, i, b)| Mutation::BytesInsert(s, i, b)),
        1 => (segment.clone(), any::<Index>()).prop_map(|(s, i)| Mutation::BytesDelete(s, i)),
        3 => (
            segment.clone(),
            prop_oneof![
                Just(Redress::TrailingBits),
                Just(Redress::Padded),
                Just(Redress::StandardAlphabet),
                Just(Redress::Whitespace)
            ]
        )
            .prop_map(|(s, r)| Mutation::Redress(s, r)),
        1 => (segment.clone(), segment.clone()).prop_map(|(a, b)| Mutation::Swap(a, b)),
        1 => segment.clone().prop_map(Mutation::DropSegment),
        1 => segment.prop_map(Mutation::ExtraSegment),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => prop::sample::select(vec![
            ("Bearer ", ""),
            (" ", ""),
            ("", " "),
            ("", "\n"),
            ("", "."),
            (".", ""),
            ("\"", "\""),
        ])
        .prop_map(|(before, after)| Mutation::Wrap(before, after)),
        2 => claim_change().prop_map(|(name, value)| Mutation::Claim(name, value)),
        1 => prop::sample::select(vec!["exp", "sub", "iss", "client_id", "token_use"])
            .prop_map(Mutation::RemoveClaim),
        2 => header_change().prop_map(|(name, value)| Mutation::Header(name, value)),
        1 => (
            two,
            prop_oneof![
                Just(Rewrite::Pretty),
                Just(Rewrite::KeysReversed),
                Just(Rewrite::DuplicateFirstKey),
                Just(Rewrite::TrailingSpace)
            ]
        )
            .prop_map(|(s, r)| Mutation::Rewrite(s, r)),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => single_mutation(),
        1 => prop::collection::vec(single_mutation(), 2..5).prop_map(Mutation::Chain),
    ]
}

/// Applies `mutation` to `token`. Whatever comes out is ASCII, hence a `&str`.
fn apply(token: &str, mutation: &Mutation) -> String {
    let mut segments: Vec<String> = token.split('.').map(str::to_owned).collect();
    let join = |segments: &[String]| segments.join(".");
    // An earlier mutation of a chain may have dropped the segment: then there is nothing to do.
    let segment_count = segments.len();
    if mutation.segment().is_some_and(|s| s >= segment_count) {
        return token.to_owned();
    }
    match mutation {
        Mutation::TextReplace(s, at, byte) => edit_text(&mut segments[*s], |text| {
            if !text.is_empty() {
                let i = at.index(text.len());
                text[i] = *byte;
            }
        }),
        Mutation::TextInsert(s, at, byte) => edit_text(&mut segments[*s], |text| {
            let i = at.index(text.len() + 1);
            text.insert(i, *byte);
        }),
        Mutation::TextDelete(s, at) => edit_text(&mut segments[*s], |text| {
            if !text.is_empty() {
                text.remove(at.index(text.len()));
            }
        }),
        Mutation::BytesFlip(s, at, xor) => edit_bytes(&mut segments[*s], |bytes| {
            if !bytes.is_empty() {
                let i = at.index(bytes.len());
                bytes[i] ^= xor;
            }
        }),
        Mutation::BytesInsert(s, at, byte) => edit_bytes(&mut segments[*s], |bytes| {
            let i = at.index(bytes.len() + 1);
            bytes.insert(i, *byte);
        }),
        Mutation::BytesDelete(s, at) => edit_bytes(&mut segments[*s], |bytes| {
            if !bytes.is_empty() {
                bytes.remove(at.index(bytes.len()));
            }
        }),
        Mutation::Redress(s, redress) => {
            let segment = &mut segments[*s];
            if segment.is_empty() {
                return join(&segments);
            }
            match redress {
                Redress::TrailingBits => {
                    const ALPHABET: &[u8] =
                        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
                    // 2 or 4 bits of the last character are unused when the length is not a
                    // multiple of 4; flipping the lowest one keeps the decoded bytes.
                    if segment.len() % 4 >= 2 {
                        let last = segment.pop().unwrap_or('A');
                        let value = ALPHABET
                            .iter()
                            .position(|&c| char::from(c) == last)
                            .unwrap_or(0);
                        segment.push(char::from(ALPHABET[value ^ 1]));
                    }
                }
                Redress::Padded => {
                    let padding = (4 - segment.len() % 4) % 4;
                    segment.push_str(&"=".repeat(padding.max(1)));
                }
                Redress::StandardAlphabet => {
                    *segment = segment.replace('-', "+").replace('_', "/");
                }
                Redress::Whitespace => segment.insert(segment.len() / 2, ' '),
            }
        }
        Mutation::Swap(a, b) if *a < segment_count && *b < segment_count => segments.swap(*a, *b),
        Mutation::DropSegment(s) if *s < segment_count => {
            segments.remove(*s);
        }
        Mutation::ExtraSegment(s) if *s < segment_count => {
            let extra = segments[*s].clone();
            segments.push(extra);
        }
        Mutation::Swap(..) | Mutation::DropSegment(_) | Mutation::ExtraSegment(_) => {}
        Mutation::Truncate(at) => {
            let token = join(&segments);
            return token[..at.index(token.len())].to_owned();
        }
        Mutation::Wrap(before, after) => return format!("{before}{}{after}", join(&segments)),
        Mutation::Claim(name, value) => edit_json(&mut segments[1], |object| {
            object.insert((*name).to_owned(), value.clone());
        }),
        Mutation::RemoveClaim(name) => edit_json(&mut segments[1], |object| {
            object.remove(*name);
        }),
        Mutation::Header(name, value) => edit_json(&mut segments[0], |object| {
            object.insert((*name).to_owned(), value.clone());
        }),
        Mutation::Rewrite(s, rewrite) => rewrite_json(&mut segments[*s], *rewrite),
        Mutation::Chain(mutations) => {
            return mutations
                .iter()
                .fold(join(&segments), |token, m| apply(&token, m));
        }
    }
    join(&segments)
}

impl Mutation {
    /// The segment this mutation edits in place, if it edits one.
    fn segment(&self) -> Option<usize> {
        match self {
            Self::TextReplace(s, ..)
            | Self::TextInsert(s, ..)
            | Self::TextDelete(s, ..)
            | Self::BytesFlip(s, ..)
            | Self::BytesInsert(s, ..)
            | Self::BytesDelete(s, ..)
            | Self::Redress(s, _)
            | Self::Rewrite(s, _) => Some(*s),
            Self::Claim(..) | Self::RemoveClaim(_) => Some(1),
            Self::Header(..) => Some(0),
            _ => None,
        }
    }
}

fn edit_text(segment: &mut String, edit: impl FnOnce(&mut Vec<u8>)) {
    let mut text = segment.as_bytes().to_vec();
    edit(&mut text);
    // Only ASCII goes in, so this is lossless.
    *segment = String::from_utf8_lossy(&text).into_owned();
}

/// Edits the decoded bytes when the segment decodes (an earlier mutation may have broken it).
fn edit_bytes(segment: &mut String, edit: impl FnOnce(&mut Vec<u8>)) {
    if let Ok(mut bytes) = URL_SAFE_NO_PAD.decode(segment.as_bytes()) {
        edit(&mut bytes);
        *segment = URL_SAFE_NO_PAD.encode(bytes);
    }
}

/// Edits the segment's JSON object when it is one; keeps the members' order otherwise.
fn edit_json(segment: &mut String, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) {
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(segment.as_bytes()) else {
        return;
    };
    let Ok(Value::Object(mut object)) = serde_json::from_slice::<Value>(&bytes) else {
        return;
    };
    edit(&mut object);
    *segment = URL_SAFE_NO_PAD.encode(Value::Object(object).to_string());
}

fn rewrite_json(segment: &mut String, rewrite: Rewrite) {
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(segment.as_bytes()) else {
        return;
    };
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(&bytes) else {
        return;
    };
    let members: Vec<String> = object
        .iter()
        .map(|(k, v)| format!("{}:{v}", Value::from(k.as_str())))
        .collect();
    let text = match rewrite {
        Rewrite::Pretty => serde_json::to_string_pretty(&object).unwrap_or_default(),
        Rewrite::KeysReversed => {
            format!(
                "{{{}}}",
                members.iter().rev().cloned().collect::<Vec<_>>().join(",")
            )
        }
        Rewrite::DuplicateFirstKey => {
            let first = members.first().cloned().unwrap_or_default();
            format!("{{{},{first}}}", members.join(","))
        }
        Rewrite::TrailingSpace => format!("{} ", Value::Object(object)),
    };
    *segment = URL_SAFE_NO_PAD.encode(text);
}

/// Valid tokens of one issuer, unlike enough to make mutations of each worth trying.
fn seeds(issuer: &TestIssuer) -> Vec<String> {
    vec![
        issuer.sign(&issuer.access_claims()),
        issuer.sign(&with(
            issuer.access_claims(),
            json!({"cognito:groups": null, "scope": "openid profile"}),
        )),
        // Written with its members in another order: as valid, other bytes.
        issuer.sign_raw(
            &json!({"alg": "RS256", "kid": issuer.active_kid(), "typ": "JWT"}).to_string(),
            &issuer.access_claims().to_string(),
        ),
    ]
}

#[test]
fn mutated_tokens_are_refused_unless_identical_to_a_valid_one() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (issuer, verifier, seeds) = runtime.block_on(async {
        let issuer = TestIssuer::start().await;
        let verifier = CognitoVerifier::new(config(&issuer, TokenUse::Access)).unwrap();
        verifier.hydrate().await.unwrap();
        let seeds = seeds(&issuer);
        for seed in &seeds {
            assert!(verifier.verify(seed).await.is_ok(), "the seeds are valid");
        }
        (issuer, Arc::new(verifier), seeds)
    });
    // PROPTEST_CASES=100000 for a longer run by hand.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(CASES);
    let mut runner = TestRunner::new(Config {
        cases,
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..Config::default()
    });
    let strategy = (0..seeds.len(), mutation());
    let changed = std::cell::Cell::new(0u32);
    let result = runner.run(&strategy, |(seed, mutation)| {
        let token = apply(&seeds[seed], &mutation);
        let valid = seeds.contains(&token);
        changed.set(changed.get() + u32::from(!valid));
        let (verified, inspection) = runtime.block_on(async {
            (
                verifier.verify(&token).await,
                verifier.inspect(&token).await,
            )
        });
        if !valid {
            prop_assert!(
                verified.is_err(),
                "accepted a mutated token ({mutation:?}): {token}"
            );
            prop_assert!(
                !inspection.accepted(),
                "inspect accepted a mutated token ({mutation:?}): {token}"
            );
        }
        Ok::<(), TestCaseError>(())
    });
    drop(issuer);
    if let Err(failure) = result {
        panic!("{failure}");
    }
    let changed = changed.into_inner();
    assert!(
        changed >= cases * 9 / 10,
        "most cases changed the token: {changed}"
    );
}
