//! Verifying a Cognito-shaped access token with its key set cached, beside the bare RSA-2048
//! PKCS#1 SHA-256 check of the same token (aws-lc-rs, key parsed once) and beside
//! `jsonwebtoken::decode` (aws-lc-rs backend): `cognigraph_verify` runs every check every time
//! (the verified-token cache off, as for a token never seen before); `cognigraph_verify_repeated`
//! is the same token again with the cache on (the default). `just bench` prints the ratios.

use std::hint::black_box;

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
}

criterion_group!(benches, verification);
criterion_main!(benches);
