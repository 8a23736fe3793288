//! Verifying a Cognito-shaped access token with its key set cached, beside the bare RSA-2048
//! PKCS#1 SHA-256 check of the same token (aws-lc-rs, key parsed once) and beside
//! `jsonwebtoken::decode` (aws-lc-rs backend): `cognigraph_verify` runs every check every time
//! (the verified-token cache off, as for a token never seen before); `cognigraph_verify_repeated`
//! is the same token again with the cache on (the default). `just bench` prints the ratios; the
//! verification against the bare check is also measured in interleaved rounds (`paired:`).

use std::{hint::black_box, time::Instant};

use aws_lc_rs::{
    encoding::AsDer,
    signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents},
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use cognigraph_token::{
    CognitoVerifier, TokenUse, VerifierConfig,
    testing::{TestIssuer, unix_now},
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

fn verification(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let issuer = runtime.block_on(TestIssuer::start());
    let config = VerifierConfig::new(vec![issuer.pool_config()], TokenUse::Access).expect("config");
    // Every check, every time (a token never seen before).
    let verifier =
        CognitoVerifier::new(config.clone().with_verified_token_cache(0)).expect("verifier");
    runtime.block_on(verifier.hydrate()).expect("keys");
    // The default: a token seen before is found in the verified-token cache.
    let caching = CognitoVerifier::new(config).expect("verifier");
    runtime.block_on(caching.hydrate()).expect("keys");

    let mut claims = issuer.access_claims();
    claims["exp"] = json!(unix_now() + 10 * 365 * 24 * 3600);
    claims["cognito:groups"] = json!(["admin", "editor", "viewer"]);
    let token = issuer.sign(&claims);
    runtime
        .block_on(verifier.verify(&token))
        .expect("a valid token");
    runtime
        .block_on(caching.verify(&token))
        .expect("a valid token");

    let jwk = &issuer.jwks()["keys"][0];
    let (n64, e64) = (jwk["n"].as_str().expect("n"), jwk["e"].as_str().expect("e"));
    let n = URL_SAFE_NO_PAD.decode(n64).expect("n");
    let e = URL_SAFE_NO_PAD.decode(e64).expect("e");
    let der = RsaPublicKeyComponents { n: &n, e: &e }
        .as_der()
        .expect("der");
    let bare_key = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der.as_ref()).expect("key");
    let (signing_input, signature_b64) = token.rsplit_once('.').expect("three segments");
    let signature = URL_SAFE_NO_PAD.decode(signature_b64).expect("signature");

    let jwt_key = DecodingKey::from_rsa_components(n64, e64).expect("jsonwebtoken key");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[issuer.issuer()]);
    validation.validate_aud = false;

    let mut group = c.benchmark_group("verify_access_token");
    group.throughput(Throughput::Elements(1));
    group.bench_function("bare_rsa_aws_lc_rs", |b| {
        b.iter(|| {
            bare_key
                .verify_sig(black_box(signing_input.as_bytes()), black_box(&signature))
                .expect("valid");
        });
    });
    group.bench_function("cognigraph_verify", |b| {
        b.to_async(&runtime)
            .iter(|| async { verifier.verify(black_box(&token)).await.expect("valid") });
    });
    group.bench_function("cognigraph_verify_repeated", |b| {
        b.to_async(&runtime)
            .iter(|| async { caching.verify(black_box(&token)).await.expect("valid") });
    });
    group.bench_function("jsonwebtoken_decode", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<Value>(black_box(&token), &jwt_key, &validation).expect("valid")
        });
    });
    group.finish();

    paired_ratio(
        |times| {
            for _ in 0..times {
                bare_key
                    .verify_sig(black_box(signing_input.as_bytes()), black_box(&signature))
                    .expect("valid");
            }
        },
        |times| {
            runtime.block_on(async {
                for _ in 0..times {
                    verifier.verify(black_box(&token)).await.expect("valid");
                }
            });
        },
    );
}

/// Prints `verify`'s throughput as a share of `bare`'s, measured in interleaved rounds (each
/// closure runs its check the given number of times).
///
/// Criterion measures one function after the other; on a shared VM the machine's speed drifts
/// between them by more than the difference sought, so the ratio the goal is stated in is also
/// measured with the two timed back to back in each round (median of the rounds).
#[expect(clippy::print_stdout, reason = "the ratio is what a benchmark prints")]
fn paired_ratio(mut bare: impl FnMut(usize), mut verify: impl FnMut(usize)) {
    let time = |run: &mut dyn FnMut(usize)| {
        let started = Instant::now();
        run(PAIRED_BATCH);
        started.elapsed().as_secs_f64()
    };
    let mut ratios: Vec<f64> = (0..PAIRED_ROUNDS)
        .map(|_| time(&mut bare) / time(&mut verify))
        .collect();
    ratios.sort_by(f64::total_cmp);
    println!(
        "paired: cognigraph_verify at {:.1}% of the bare signature check's throughput (median of \
         {PAIRED_ROUNDS} interleaved rounds of {PAIRED_BATCH} each; range {:.1}–{:.1}%)",
        100.0 * ratios[ratios.len() / 2],
        100.0 * ratios[0],
        100.0 * ratios[ratios.len() - 1],
    );
}

/// Interleaved rounds of the paired measurement, and verifications per round of each kind.
const PAIRED_ROUNDS: usize = 41;
const PAIRED_BATCH: usize = 400;

criterion_group!(benches, verification);
criterion_main!(benches);
