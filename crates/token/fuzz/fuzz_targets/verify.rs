//! Arbitrary bytes as a token, through the whole verifier (shape, header, issuer, key, signature,
//! claims) and `inspect`: neither may panic, and nothing is accepted, since the fuzzer does not
//! hold the signing key. Keys come from a fixed in-memory key set: no network.
//!
//! An input is either a token as sent, or (when it starts with `{`) its header JSON, payload JSON
//! and optionally signature text on separate lines, which the target encodes: mutations of that
//! form act on the JSON itself, which mutations of base64 text seldom reach.
#![no_main]

use std::sync::{Arc, OnceLock};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use cognigraph_token::{
    CognitoVerifier, TokenUse, UserPoolConfig, VerifierConfig,
    testing::{FixedJwks, TestSigningKey},
};
use libfuzzer_sys::fuzz_target;

/// The pool the seeds in `seeds/verify` are written for.
const REGION: &str = "us-east-1";
const POOL_ID: &str = "us-east-1_Fuzz";
const CLIENT_ID: &str = "fuzzclient";
const KID: &str = "fuzz";

struct World {
    runtime: tokio::runtime::Runtime,
    verifier: CognitoVerifier,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let key = TestSigningKey::generate(KID);
        let pool = UserPoolConfig::new(REGION, POOL_ID, [CLIENT_ID])
            .and_then(|p| p.with_jwks_url("https://jwks.example/keys.json"))
            .expect("pool configuration");
        let config = VerifierConfig::new(vec![pool], TokenUse::Access).expect("configuration");
        let verifier = CognitoVerifier::builder(config)
            .fetcher(Arc::new(FixedJwks::of(&[&key])))
            .build()
            .expect("verifier");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        runtime
            .block_on(verifier.hydrate())
            .expect("keys from memory");
        World { runtime, verifier }
    })
}

/// The token `text` stands for (see the module docs).
fn token_of(text: &str) -> String {
    if !text.starts_with('{') {
        return text.to_owned();
    }
    let mut lines = text.splitn(3, '\n');
    let header = lines.next().unwrap_or_default();
    let payload = lines.next().unwrap_or_default();
    let signature = match lines.next() {
        Some(signature) => signature.to_owned(),
        None => URL_SAFE_NO_PAD.encode([0x5a; 256]),
    };
    format!(
        "{}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    )
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let token = token_of(text);
    let token = token.as_str();
    let world = world();
    world.runtime.block_on(async {
        let verified = world.verifier.verify(token).await;
        assert!(
            verified.is_err(),
            "accepted a token nobody signed: {token:?}"
        );
        let inspection = world.verifier.inspect(token).await;
        assert!(!inspection.accepted(), "inspect accepted: {token:?}");
    });
});
