//! Differential: arbitrary bytes as a token's payload (and as its header) through the decoder's
//! strict JSON scanner and through the serde_json reading it replaced (the `fuzzing` feature's
//! oracle). They must agree on accepting or refusing (and why) and on every claim read; neither
//! may panic. No key, no signature check: only the decoding before it.
//!
//! An input is used three ways: as the payload under a plain header, as the header over an empty
//! payload, and, when it has a line break, as a header line and a payload (the form of the
//! `verify` target's JSON seeds).
#![no_main]

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use cognigraph_token::fuzzing::decode_disagreement;
use libfuzzer_sys::fuzz_target;

const HEADER: &[u8] = br#"{"alg":"RS256","kid":"fuzz"}"#;

fn check(header: &[u8], payload: &[u8]) {
    let token = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode([0x5a; 256])
    );
    if let Some(disagreement) = decode_disagreement(&token) {
        panic!(
            "header {:?}\npayload {:?}\n{disagreement}",
            String::from_utf8_lossy(header),
            String::from_utf8_lossy(payload)
        );
    }
}

fuzz_target!(|data: &[u8]| {
    check(HEADER, data);
    check(data, b"{}");
    if let Some(newline) = data.iter().position(|&b| b == b'\n') {
        let (header, payload) = data.split_at(newline);
        check(header, payload.get(1..).unwrap_or_default());
    }
});
