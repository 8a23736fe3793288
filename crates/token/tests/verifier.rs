//! The verifier against its test issuer: every check with a failing token, and the JWKS rules.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first surprise"
)]

use std::{sync::Arc, time::Duration};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use cognigraph_token::{
    Clock, CognitoVerifier, ConfigError, CustomCheck, JwksError, JwksSettings, ManualClock,
    TokenCacheStats, TokenUse, UserPoolConfig, VerifiedToken, VerifierConfig, VerifyError,
    testing::{JwksMode, TestIssuer, TestSigningKey, unix_now},
};
use serde_json::{Value, json};

#[path = "verifier/mutations.rs"]
mod mutations;

fn config(issuer: &TestIssuer, token_use: TokenUse) -> VerifierConfig {
    VerifierConfig::new(vec![issuer.pool_config()], token_use).unwrap()
}

fn verifier(issuer: &TestIssuer) -> CognitoVerifier {
    CognitoVerifier::new(config(issuer, TokenUse::Access)).unwrap()
}

/// A test issuer and a verifier of its access tokens.
async fn start() -> (TestIssuer, CognitoVerifier) {
    let issuer = TestIssuer::start().await;
    let verifier = verifier(&issuer);
    (issuer, verifier)
}

/// A verifier of access tokens from any of `pools`.
fn verifier_for(pools: Vec<UserPoolConfig>) -> CognitoVerifier {
    CognitoVerifier::new(VerifierConfig::new(pools, TokenUse::Access).unwrap()).unwrap()
}

/// A test issuer, a manual clock starting now, and a verifier of the issuer's access tokens on
/// that clock, with key sets aging out after two minutes (tokens last an hour).
async fn start_with_clock() -> (TestIssuer, Arc<ManualClock>, CognitoVerifier) {
    let issuer = TestIssuer::start().await;
    let clock = Arc::new(ManualClock::starting_now());
    let settings = JwksSettings {
        max_age: Duration::from_secs(120),
        ..JwksSettings::standard()
    };
    let verifier =
        CognitoVerifier::builder(config(&issuer, TokenUse::Access).with_jwks_settings(settings))
            .clock(Arc::clone(&clock) as _)
            .build()
            .unwrap();
    (issuer, clock, verifier)
}

/// [`start_with_clock`], with the keys loaded and the cooldown over (one refetch is allowed),
/// and the issuer's key endpoint from now on answering after `delay`.
async fn hydrated_past_the_cooldown(delay: Duration) -> (TestIssuer, CognitoVerifier) {
    let (issuer, clock, verifier) = start_with_clock().await;
    verifier.hydrate().await.unwrap();
    clock.advance(Duration::from_secs(11));
    issuer.set_mode(JwksMode::Slow(delay));
    (issuer, verifier)
}

/// A token of `issuer` with its standard access claims.
fn access_token(issuer: &TestIssuer) -> String {
    issuer.sign(&issuer.access_claims())
}

/// A token for a kid the issuer never published (an unknown-`kid` attack).
fn bogus_kid_token(issuer: &TestIssuer) -> Arc<String> {
    Arc::new(issuer.sign_raw(
        &json!({"alg": "RS256", "kid": "bogus"}).to_string(),
        &issuer.access_claims().to_string(),
    ))
}

/// Claims with `changes` applied; a `null` removes the claim.
fn with(mut claims: Value, changes: Value) -> Value {
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

async fn code_of(verifier: &CognitoVerifier, token: &str) -> &'static str {
    match verifier.verify(token).await {
        Ok(_) => "ok",
        Err(e) => e.code(),
    }
}

#[tokio::test]
async fn accepts_a_cognito_access_token_and_returns_its_claims() {
    let issuer = TestIssuer::start().await;
    let claims = with(
        issuer.access_claims(),
        json!({"cognito:groups": ["editor", "viewer", "editor"], "custom:tenant": "acme",
               "scope": "openid  aws.cognito.signin.user.admin"}),
    );
    let token = verifier(&issuer)
        .verify(&issuer.sign(&claims))
        .await
        .unwrap();

    assert_eq!(token.sub(), claims["sub"]);
    assert_eq!(token.username(), Some("alice"));
    assert_eq!(token.client_id(), Some(issuer.client_id()));
    assert_eq!(
        token.groups().iter().collect::<Vec<_>>(),
        ["editor", "viewer"]
    );
    assert_eq!(
        token.scopes().iter().collect::<Vec<_>>(),
        ["aws.cognito.signin.user.admin", "openid"]
    );
    assert_eq!(token.issuer(), issuer.issuer());
    assert_eq!(token.token_use(), TokenUse::Access);
    assert_eq!(Some(token.expires_at()), claims["exp"].as_u64());
    assert_eq!(token.issued_at(), claims["iat"].as_u64());
    assert_eq!(token.auth_time(), claims["auth_time"].as_u64());
    assert_eq!(token.jti(), claims["jti"].as_str());
    assert_eq!(token.origin_jti(), claims["origin_jti"].as_str());
    assert_eq!(token.claim("custom:tenant"), Some(&json!("acme")));
    assert_eq!(token.claim("event_id"), Some(&claims["event_id"]));
    assert_eq!(
        token.claim("sub"),
        None,
        "known claims have accessors, not other_claims"
    );
}

#[tokio::test]
async fn a_user_in_no_group_has_an_empty_group_set() {
    let issuer = TestIssuer::start().await;
    let claims = with(issuer.access_claims(), json!({"cognito:groups": null}));
    let token = verifier(&issuer)
        .verify(&issuer.sign(&claims))
        .await
        .unwrap();
    assert!(token.groups().is_empty());
}

#[tokio::test]
async fn token_use_and_audience_rules() {
    let issuer = TestIssuer::start().await;
    let access = verifier(&issuer);
    let id = CognitoVerifier::new(config(&issuer, TokenUse::Id)).unwrap();
    let id_token = issuer.sign(&issuer.id_claims());
    let access_token = access_token(&issuer);

    assert_eq!(code_of(&access, &id_token).await, "invalid_token_use");
    assert_eq!(code_of(&id, &access_token).await, "invalid_token_use");

    let verified = id.verify(&id_token).await.unwrap();
    assert_eq!(verified.username(), Some("alice"));
    assert_eq!(
        verified.audience().collect::<Vec<_>>(),
        [issuer.client_id()]
    );

    let other_aud = issuer.sign(&with(issuer.id_claims(), json!({"aud": ["someoneelse"]})));
    assert_eq!(code_of(&id, &other_aud).await, "invalid_audience");
    let many_aud = issuer.sign(&with(
        issuer.id_claims(),
        json!({"aud": ["someoneelse", issuer.client_id()]}),
    ));
    assert_eq!(code_of(&id, &many_aud).await, "ok");
    let no_aud = issuer.sign(&with(issuer.id_claims(), json!({"aud": null})));
    assert_eq!(code_of(&id, &no_aud).await, "missing_claim");
}

#[tokio::test]
async fn every_claim_check_refuses_its_failing_token() {
    let (issuer, verifier) = start().await;
    let now = unix_now();
    let cases = [
        (json!({}), "ok"),
        (json!({"exp": now - 1}), "token_expired"),
        (json!({"exp": null}), "missing_claim"),
        (json!({"exp": "later"}), "invalid_claim_type"),
        (json!({"nbf": now + 120}), "token_not_yet_valid"),
        (json!({"nbf": now - 120}), "ok"),
        (json!({"iat": now + 30}), "ok"), // a slightly fast issuer clock is fine
        (json!({"iat": now + 120}), "issued_in_future"),
        (json!({"token_use": "id"}), "invalid_token_use"),
        (json!({"token_use": null}), "missing_claim"),
        (json!({"client_id": "someoneelse"}), "invalid_client"),
        (json!({"client_id": null}), "missing_claim"),
        (json!({"sub": null}), "missing_claim"),
        (json!({"sub": ""}), "missing_claim"),
        (
            json!({"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"}),
            "invalid_issuer",
        ),
        (json!({"iss": null}), "missing_claim"),
        (json!({"cognito:groups": "admin"}), "invalid_claim_type"),
        (json!({"auth_time": "yesterday"}), "invalid_claim_type"),
    ];
    for (changes, expected) in cases {
        let token = issuer.sign(&with(issuer.access_claims(), changes.clone()));
        assert_eq!(code_of(&verifier, &token).await, expected, "{changes}");
    }
}

#[tokio::test]
async fn exp_is_exclusive_and_skew_widens_it() {
    let (issuer, clock, strict) = start_with_clock().await;
    let now = clock.now().as_secs();
    let at_exp = issuer.sign(&with(
        issuer.access_claims(),
        json!({"exp": now, "iat": now - 10}),
    ));
    assert_eq!(code_of(&strict, &at_exp).await, "token_expired");
    let just_before = issuer.sign(&with(issuer.access_claims(), json!({"exp": now + 1})));
    assert_eq!(code_of(&strict, &just_before).await, "ok");

    let lenient = CognitoVerifier::builder(
        config(&issuer, TokenUse::Access).with_clock_skew(Duration::from_secs(10)),
    )
    .clock(Arc::clone(&clock) as _)
    .build()
    .unwrap();
    let expired_5s = issuer.sign(&with(issuer.access_claims(), json!({"exp": now - 5})));
    assert_eq!(code_of(&strict, &expired_5s).await, "token_expired");
    assert_eq!(code_of(&lenient, &expired_5s).await, "ok");
    let nbf_5s = issuer.sign(&with(issuer.access_claims(), json!({"nbf": now + 5})));
    assert_eq!(code_of(&strict, &nbf_5s).await, "token_not_yet_valid");
    assert_eq!(code_of(&lenient, &nbf_5s).await, "ok");
}

#[tokio::test]
async fn the_algorithm_is_fixed_in_code() {
    let (issuer, verifier) = start().await;
    let payload = issuer.access_claims().to_string();
    let kid = issuer.active_kid();
    for alg in [
        "none", "HS256", "HS512", "PS256", "ES256", "RS512", "rs256", "",
    ] {
        let header = json!({"kid": kid, "alg": alg}).to_string();
        let token = issuer.sign_raw(&header, &payload);
        assert_eq!(
            code_of(&verifier, &token).await,
            "invalid_algorithm",
            "{alg}"
        );
    }
    let no_alg = issuer.sign_raw(&json!({"kid": kid}).to_string(), &payload);
    assert_eq!(code_of(&verifier, &no_alg).await, "invalid_algorithm");

    // The classic confusion: HS256 keyed with the public key. Refused before any crypto.
    let header = URL_SAFE_NO_PAD.encode(json!({"kid": kid, "alg": "HS256"}).to_string());
    let body = URL_SAFE_NO_PAD.encode(&payload);
    let forged = format!("{header}.{body}.{}", URL_SAFE_NO_PAD.encode([7u8; 32]));
    assert_eq!(code_of(&verifier, &forged).await, "invalid_algorithm");
    // An unsigned token.
    assert_eq!(
        code_of(&verifier, &format!("{header}.{body}.")).await,
        "malformed"
    );
}

#[tokio::test]
async fn header_checks() {
    let (issuer, verifier) = start().await;
    let payload = issuer.access_claims().to_string();
    let kid = issuer.active_kid();
    let cases = [
        (json!({"alg": "RS256"}), "missing_kid"),
        (json!({"alg": "RS256", "kid": ""}), "missing_kid"),
        (json!({"alg": "RS256", "kid": 1}), "invalid_claim_type"),
        (json!({"alg": "RS256", "kid": "nope"}), "unknown_kid"),
        (
            json!({"alg": "RS256", "kid": kid, "crit": ["b64"], "b64": false}),
            "unsupported_crit",
        ),
        (json!({"alg": "RS256", "kid": kid, "typ": "JWT"}), "ok"),
        // Key-location headers are ignored, never followed.
        (
            json!({"alg": "RS256", "kid": kid, "jku": "http://127.0.0.1:1/evil"}),
            "ok",
        ),
    ];
    for (header, expected) in cases {
        let token = issuer.sign_raw(&header.to_string(), &payload);
        assert_eq!(code_of(&verifier, &token).await, expected, "{header}");
    }
    let duplicate = issuer.sign_raw(
        &format!(r#"{{"alg":"RS256","kid":"{kid}","alg":"RS256"}}"#),
        &payload,
    );
    assert_eq!(code_of(&verifier, &duplicate).await, "malformed");
}

#[tokio::test]
async fn signatures_are_checked() {
    let (issuer, verifier) = start().await;
    let token = access_token(&issuer);

    // Same header, payload changed (groups escalated): the signature no longer matches.
    let (header, rest) = token.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let escalated = with(issuer.access_claims(), json!({"cognito:groups": ["admin"]}));
    let body = URL_SAFE_NO_PAD.encode(escalated.to_string());
    assert_eq!(
        code_of(&verifier, &format!("{header}.{body}.{signature}")).await,
        "invalid_signature"
    );

    // A key the issuer never published, under the issuer's kid.
    let stranger = TestSigningKey::generate("stranger");
    let header = json!({"kid": issuer.active_kid(), "alg": "RS256"}).to_string();
    let forged = stranger.sign_raw(&header, &issuer.access_claims().to_string());
    assert_eq!(code_of(&verifier, &forged).await, "invalid_signature");

    // A signature one byte short.
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
    bytes.pop();
    let short = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(bytes));
    assert_eq!(code_of(&verifier, &short).await, "invalid_signature");

    // The signature is checked before the claims: an expired forgery is a forgery.
    let expired = with(issuer.access_claims(), json!({"exp": 1}));
    let forged = stranger.sign_raw(&header, &expired.to_string());
    assert_eq!(code_of(&verifier, &forged).await, "invalid_signature");
}

#[tokio::test]
async fn an_unknown_issuer_is_refused_before_any_fetch() {
    let (issuer, verifier) = start().await;
    let other = TestIssuer::start().await;
    let token = access_token(&other);
    assert_eq!(code_of(&verifier, &token).await, "invalid_issuer");
    assert_eq!(issuer.jwks_requests() + other.jwks_requests(), 0);
}

#[tokio::test]
async fn several_pools_each_with_their_own_clients() {
    let a = TestIssuer::start().await;
    let b = TestIssuer::start().await;
    let verifier = verifier_for(vec![a.pool_config(), b.pool_config()]);
    assert_eq!(code_of(&verifier, &access_token(&a)).await, "ok");
    assert_eq!(code_of(&verifier, &access_token(&b)).await, "ok");
    // Pool B's token issued to pool A's client.
    let crossed = b.sign(&with(
        b.access_claims(),
        json!({"client_id": a.client_id()}),
    ));
    assert_eq!(code_of(&verifier, &crossed).await, "invalid_client");
    // Signed by A's key but claiming B's issuer: B's keys do not know A's kid.
    let claims = with(
        a.access_claims(),
        json!({"iss": b.issuer(), "client_id": b.client_id()}),
    );
    assert_eq!(code_of(&verifier, &a.sign(&claims)).await, "unknown_kid");
}

#[tokio::test]
async fn the_issuer_subdomain_form_is_a_per_pool_choice() {
    let issuer = TestIssuer::start().await;
    let subdomain = format!(
        "https://issuer-cognito-idp.us-east-1.amazonaws.com/{}",
        issuer.pool_id()
    );
    let token = issuer.sign(&with(issuer.access_claims(), json!({"iss": subdomain})));
    assert_eq!(code_of(&verifier(&issuer), &token).await, "invalid_issuer");
    let accepting = verifier_for(vec![issuer.pool_config().accept_issuer_subdomain(true)]);
    assert_eq!(accepting.verify(&token).await.unwrap().issuer(), subdomain);
    assert_eq!(code_of(&accepting, &access_token(&issuer)).await, "ok");
}

#[tokio::test]
async fn required_scopes_and_groups_are_any_of() {
    let issuer = TestIssuer::start().await;
    let verifier = CognitoVerifier::new(
        config(&issuer, TokenUse::Access)
            .with_required_scopes(["api/read", "api/write"])
            .with_required_groups(["admin", "editor"]),
    )
    .unwrap();
    let cases = [
        (
            json!({"scope": "api/write", "cognito:groups": ["editor"]}),
            "ok",
        ),
        (
            json!({"scope": "openid api/read", "cognito:groups": ["x", "admin"]}),
            "ok",
        ),
        (
            json!({"scope": "openid", "cognito:groups": ["admin"]}),
            "missing_scope",
        ),
        (
            json!({"scope": null, "cognito:groups": ["admin"]}),
            "missing_scope",
        ),
        (
            json!({"scope": "api/read", "cognito:groups": ["viewer"]}),
            "missing_group",
        ),
        (
            json!({"scope": "api/read", "cognito:groups": null}),
            "missing_group",
        ),
    ];
    for (changes, expected) in cases {
        let token = issuer.sign(&with(issuer.access_claims(), changes.clone()));
        assert_eq!(code_of(&verifier, &token).await, expected, "{changes}");
    }
}

#[derive(Debug)]
struct DenyUser(&'static str);

#[async_trait::async_trait]
impl CustomCheck for DenyUser {
    async fn check(&self, token: &VerifiedToken) -> Result<(), String> {
        if token.username() == Some(self.0) {
            Err(format!("{} is suspended", self.0))
        } else {
            Ok(())
        }
    }
}

#[tokio::test]
async fn the_custom_check_runs_last() {
    let issuer = TestIssuer::start().await;
    let verifier = CognitoVerifier::new(
        config(&issuer, TokenUse::Access).with_custom_check(Arc::new(DenyUser("mallory"))),
    )
    .unwrap();
    let alice = access_token(&issuer);
    let mallory = issuer.sign(&with(
        issuer.access_claims(),
        json!({"username": "mallory"}),
    ));
    let expired_mallory = issuer.sign(&with(
        issuer.access_claims(),
        json!({"username": "mallory", "exp": 1}),
    ));
    assert_eq!(code_of(&verifier, &alice).await, "ok");
    assert_eq!(code_of(&verifier, &mallory).await, "custom_check_failed");
    assert_eq!(code_of(&verifier, &expired_mallory).await, "token_expired");
}

#[tokio::test]
async fn oversized_tokens_are_refused_unread() {
    let issuer = TestIssuer::start().await;
    let claims = with(issuer.access_claims(), json!({"padding": "x".repeat(9000)}));
    assert_eq!(
        code_of(&verifier(&issuer), &issuer.sign(&claims)).await,
        "token_too_large"
    );
    assert_eq!(issuer.jwks_requests(), 0);
}

// ---------------------------------------------------------------- JWKS handling

#[tokio::test]
async fn a_rotated_key_is_accepted_after_one_refetch() {
    let (issuer, clock, verifier) = start_with_clock().await;
    verifier.verify(&access_token(&issuer)).await.unwrap();
    assert_eq!(issuer.jwks_requests(), 1);

    clock.advance(Duration::from_secs(11)); // past the 10 s cooldown
    issuer.rotate();
    let rotated = access_token(&issuer);
    verifier.verify(&rotated).await.unwrap();
    verifier.verify(&rotated).await.unwrap();
    assert_eq!(
        issuer.jwks_requests(),
        2,
        "exactly one refetch for the new kid"
    );
}

#[tokio::test]
async fn unknown_kids_fail_at_once_during_the_cooldown() {
    let (issuer, clock, verifier) = start_with_clock().await;
    verifier.verify(&access_token(&issuer)).await.unwrap();

    issuer.rotate();
    let rotated = access_token(&issuer);
    clock.advance(Duration::from_secs(9));
    assert_eq!(code_of(&verifier, &rotated).await, "unknown_kid");
    assert_eq!(issuer.jwks_requests(), 1, "no fetch inside the cooldown");

    clock.advance(Duration::from_secs(2));
    assert_eq!(code_of(&verifier, &rotated).await, "ok");
    assert_eq!(issuer.jwks_requests(), 2);

    // A kid nobody has: one refetch after the cooldown, then fail-fast again.
    let bogus = bogus_kid_token(&issuer);
    assert_eq!(code_of(&verifier, &bogus).await, "unknown_kid");
    assert_eq!(
        issuer.jwks_requests(),
        2,
        "the fetch for the rotated kid started a cooldown"
    );
    clock.advance(Duration::from_secs(11));
    assert_eq!(code_of(&verifier, &bogus).await, "unknown_kid");
    assert_eq!(code_of(&verifier, &bogus).await, "unknown_kid");
    assert_eq!(issuer.jwks_requests(), 3);
}

#[tokio::test]
async fn a_key_removed_upstream_is_refused_after_the_refresh() {
    let (issuer, clock, verifier) = start_with_clock().await;
    let old_kid = issuer.active_kid();
    let old_token = access_token(&issuer);
    verifier.verify(&old_token).await.unwrap();

    issuer.rotate();
    issuer.unpublish(&old_kid);
    // Still within the maximum age: the cached set serves the old key.
    clock.advance(Duration::from_secs(60));
    assert_eq!(code_of(&verifier, &old_token).await, "ok");
    assert_eq!(issuer.jwks_requests(), 1);
    // Past it: the first use starts a refresh in the background and is answered from the old
    // set; once the refresh lands, the old key is gone.
    clock.advance(Duration::from_secs(61));
    assert_eq!(code_of(&verifier, &old_token).await, "ok");
    wait_for_fetches(&verifier, 2).await;
    assert_eq!(issuer.jwks_requests(), 2);
    assert_eq!(code_of(&verifier, &old_token).await, "unknown_kid");
    assert_eq!(code_of(&verifier, &access_token(&issuer)).await, "ok");
    assert_eq!(issuer.jwks_requests(), 2);
}

/// Waits (at most 5 s) until `count` key-set fetches have ended.
async fn wait_for_fetches(verifier: &CognitoVerifier, count: u64) {
    let ended = || {
        let stats = verifier.jwks_fetch_stats();
        stats.succeeded + stats.failed
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while ended() < count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {count} fetches ended",
            ended()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A key set past its maximum age is refreshed without making anyone wait: with the key
/// endpoint hanging, requests with a cached key answer at once, and one refresh is under way.
#[tokio::test]
async fn a_stale_key_set_is_refreshed_without_making_requests_wait() {
    let (issuer, clock, verifier) = start_with_clock().await;
    let token = access_token(&issuer);
    verifier.verify(&token).await.unwrap();

    issuer.set_mode(JwksMode::Slow(Duration::from_secs(30)));
    clock.advance(Duration::from_secs(121));
    for _ in 0..20 {
        let answered = tokio::time::timeout(Duration::from_secs(1), verifier.verify(&token)).await;
        assert!(
            matches!(answered, Ok(Ok(_))),
            "a cached key waited for the refresh: {answered:?}"
        );
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while issuer.jwks_requests() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "no refresh started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(issuer.jwks_requests(), 2, "one refresh for all twenty");
}

#[tokio::test]
async fn concurrent_unknown_kids_share_one_fetch() {
    let (issuer, clock, verifier) = start_with_clock().await;
    let verifier = Arc::new(verifier);
    issuer.set_mode(JwksMode::Slow(Duration::from_millis(200)));

    // Cold start: 100 callers, no keys yet.
    let token = Arc::new(access_token(&issuer));
    let results = run_concurrently(&verifier, &token, 100).await;
    assert!(results.iter().all(|code| *code == "ok"), "{results:?}");
    assert_eq!(issuer.jwks_requests(), 1);

    // A new kid after the cooldown: 100 callers, one refetch.
    clock.advance(Duration::from_secs(11));
    issuer.rotate();
    let rotated = Arc::new(access_token(&issuer));
    let results = run_concurrently(&verifier, &rotated, 100).await;
    assert!(results.iter().all(|code| *code == "ok"), "{results:?}");
    assert_eq!(issuer.jwks_requests(), 2);

    // A kid that does not exist: 100 callers, one refetch, all unknown_kid.
    clock.advance(Duration::from_secs(11));
    let bogus = bogus_kid_token(&issuer);
    let results = run_concurrently(&verifier, &bogus, 100).await;
    assert!(
        results.iter().all(|code| *code == "unknown_kid"),
        "{results:?}"
    );
    assert_eq!(issuer.jwks_requests(), 3);
}

async fn run_concurrently(
    verifier: &Arc<CognitoVerifier>,
    token: &Arc<String>,
    n: usize,
) -> Vec<&'static str> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let verifier = Arc::clone(verifier);
            let token = Arc::clone(token);
            tokio::spawn(async move { code_of(&verifier, &token).await })
        })
        .collect();
    let mut codes = Vec::with_capacity(n);
    for task in tasks {
        codes.push(task.await.unwrap());
    }
    codes
}

#[tokio::test]
async fn cached_keys_keep_serving_while_the_endpoint_is_down() {
    let (issuer, clock, verifier) = start_with_clock().await;
    let token = access_token(&issuer);
    verifier.hydrate().await.unwrap();
    assert!(verifier.keys_loaded());

    for mode in [JwksMode::Down, JwksMode::Status(503), JwksMode::Garbage] {
        issuer.set_mode(mode.clone());
        clock.advance(Duration::from_secs(121)); // past the maximum age: a refresh is due
        let before = verifier.jwks_fetch_stats().failed;
        assert_eq!(code_of(&verifier, &token).await, "ok", "{mode:?}");
        // The refresh runs in the background and fails there.
        let stats = verifier.jwks_fetch_stats();
        wait_for_fetches(&verifier, stats.succeeded + before + 1).await;
        assert_eq!(verifier.jwks_fetch_stats().failed, before + 1, "{mode:?}");
        // A new kid cannot be had either, but that is the token's problem, not an outage.
        clock.advance(Duration::from_secs(11));
        let stranger = bogus_kid_token(&issuer);
        assert_eq!(
            code_of(&verifier, &stranger).await,
            "unknown_kid",
            "{mode:?}"
        );
        assert!(verifier.keys_loaded());
    }
}

fn fast_settings() -> JwksSettings {
    JwksSettings {
        connect_timeout: Duration::from_millis(300),
        timeout: Duration::from_millis(300),
        max_body_bytes: 64 * 1024,
        ..JwksSettings::standard()
    }
}

async fn unavailable_error(mode: JwksMode) -> (JwksError, usize) {
    let issuer = TestIssuer::start().await;
    issuer.set_mode(mode);
    let verifier =
        CognitoVerifier::new(config(&issuer, TokenUse::Access).with_jwks_settings(fast_settings()))
            .unwrap();
    let error = verifier.verify(&access_token(&issuer)).await.unwrap_err();
    assert!(error.is_keys_unavailable(), "{error}");
    assert_eq!(error.code(), "keys_unavailable");
    assert!(!verifier.keys_loaded());
    let VerifyError::KeysUnavailable { source, url } = error else {
        unreachable!()
    };
    assert_eq!(url, issuer.jwks_url());
    (source, issuer.jwks_requests())
}

/// The retry policy too: a network failure (no answer, a body cut short) is retried once, nothing
/// else is (a status, a body too large or not a key set, a fetch out of time).
#[tokio::test]
async fn without_cached_keys_fetch_failures_are_an_outage_not_a_bad_token() {
    use std::error::Error as _;

    for mode in [JwksMode::Down, JwksMode::CutShort] {
        let (error, requests) = unavailable_error(mode.clone()).await;
        assert!(
            matches!(error, JwksError::Network(_)),
            "{mode:?}: {error:?}"
        );
        assert_eq!(error.to_string(), "network error");
        let failure = error.source().expect("the HTTP client's error");
        assert!(
            failure.source().is_some(),
            "{mode:?}: the HTTP client's error is kept whole, its causes with it: {failure}"
        );
        assert_eq!(requests, 2, "{mode:?}: a network error is retried once");
    }

    let (error, requests) = unavailable_error(JwksMode::Status(500)).await;
    assert_eq!(error, JwksError::Status(500));
    assert!(error.source().is_none());
    assert_eq!(requests, 1, "an HTTP error status is not retried");

    let (error, requests) = unavailable_error(JwksMode::Garbage).await;
    assert!(matches!(error, JwksError::InvalidJson(_)), "{error:?}");
    assert_eq!(error.to_string(), "not a JSON Web Key Set");
    assert_eq!(
        error.source().map(ToString::to_string).as_deref(),
        Some("expected value at line 1 column 1"),
        "the parser's error"
    );
    let parse = |body: &[u8]| cognigraph_token::KeySet::parse(body, Duration::ZERO).unwrap_err();
    assert_eq!(error, parse(b"<html>not a key set"), "the same failure");
    assert_ne!(error, parse(b"{}"), "another failure of the parser");
    assert_eq!(
        requests, 1,
        "a body that is not a key set is not fetched again"
    );

    let (error, requests) = unavailable_error(JwksMode::Oversized).await;
    assert_eq!(error, JwksError::TooLarge { max: 64 * 1024 });
    assert_eq!(requests, 1, "a body too large is not retried");

    let (error, requests) = unavailable_error(JwksMode::Slow(Duration::from_secs(5))).await;
    assert_eq!(
        error,
        JwksError::TimedOut {
            after: Duration::from_millis(300)
        }
    );
    assert_eq!(error.to_string(), "no answer within 300 ms");
    assert_eq!(requests, 1, "a fetch that ran out of time is not retried");
}

#[tokio::test]
async fn a_failed_fetch_also_starts_the_cooldown() {
    let (issuer, clock, verifier) = start_with_clock().await;
    issuer.set_mode(JwksMode::Status(500));
    let token = access_token(&issuer);
    assert_eq!(code_of(&verifier, &token).await, "keys_unavailable");
    assert!(verifier.hydrate().await.is_err());
    issuer.set_mode(JwksMode::Serve);
    assert_eq!(code_of(&verifier, &token).await, "keys_unavailable");
    assert_eq!(issuer.jwks_requests(), 1, "no fetch inside the cooldown");
    clock.advance(Duration::from_secs(11));
    assert_eq!(code_of(&verifier, &token).await, "ok");
    assert_eq!(verifier.jwks_fetch_stats().succeeded, 1);
    assert_eq!(verifier.jwks_fetch_stats().failed, 1);
}

#[tokio::test]
async fn hydrate_preloads_every_pool() {
    let a = TestIssuer::start().await;
    let b = TestIssuer::start().await;
    let verifier = verifier_for(vec![a.pool_config(), b.pool_config()]);
    assert!(!verifier.keys_loaded());
    verifier.hydrate().await.unwrap();
    assert!(verifier.keys_loaded());
    assert_eq!((a.jwks_requests(), b.jwks_requests()), (1, 1));
    verifier.hydrate().await.unwrap();
    assert_eq!(
        (a.jwks_requests(), b.jwks_requests()),
        (1, 1),
        "hydrating twice is free"
    );
    verifier.verify(&access_token(&b)).await.unwrap();
    assert_eq!(b.jwks_requests(), 1);
}

#[tokio::test]
async fn unusable_keys_in_a_set_are_skipped() {
    let issuer = TestIssuer::start().await;
    let good = issuer.jwks()["keys"][0].clone();
    let mut wrong_use = good.clone();
    wrong_use["use"] = json!("enc");
    wrong_use["kid"] = json!("enc-key");
    let mut wrong_alg = good.clone();
    wrong_alg["alg"] = json!("RS512");
    wrong_alg["kid"] = json!("rs512-key");
    let mut no_hints = good.clone();
    no_hints.as_object_mut().unwrap().remove("use");
    no_hints.as_object_mut().unwrap().remove("alg");
    no_hints["kid"] = json!("bare-key");
    let body = json!({"keys": [
        {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
        {"kty": "RSA", "kid": "small", "n": "AQAB", "e": "AQAB"},
        wrong_use, wrong_alg, no_hints, good,
        {"something": "else"},
    ]});
    let set = cognigraph_token::KeySet::parse(body.to_string().as_bytes(), Duration::ZERO).unwrap();
    assert_eq!(set.len(), 2);
    assert!(set.get(&issuer.active_kid()).is_some());
    assert!(set.get("bare-key").is_some());
    for kid in ["ec", "hmac", "small", "enc-key", "rs512-key"] {
        assert!(set.get(kid).is_none(), "{kid}");
    }
    let only_bad = json!({"keys": [{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}]});
    assert_eq!(
        cognigraph_token::KeySet::parse(only_bad.to_string().as_bytes(), Duration::ZERO)
            .unwrap_err(),
        JwksError::NoUsableKeys
    );
    // Two keys under one kid: neither is trusted.
    let stranger = TestSigningKey::generate(&issuer.active_kid());
    let twice = json!({"keys": [issuer.jwks()["keys"][0], stranger.jwk(), no_hints_of(&issuer)]});
    let set =
        cognigraph_token::KeySet::parse(twice.to_string().as_bytes(), Duration::ZERO).unwrap();
    assert!(set.get(&issuer.active_kid()).is_none());
}

fn no_hints_of(issuer: &TestIssuer) -> Value {
    let mut key = issuer.jwks()["keys"][0].clone();
    key["kid"] = json!("other");
    key
}

// ---------------------------------------------------------------- configuration

#[test]
fn pool_ids_are_checked_for_shape_not_length() {
    let emulator_id = format!("us-east-1_{}", "a1B2".repeat(13)); // 63 characters, like moto's
    assert!(UserPoolConfig::new("us-east-1", &emulator_id, ["client"]).is_ok());
    assert!(UserPoolConfig::new("us-gov-west-1", "us-gov-west-1_Abc123", ["c"]).is_ok());
    for bad in [
        "eu-west-1_Abc",
        "us-east-1_",
        "us-east-1-Abc",
        "us-east-1_Ab-c",
        "Abc",
    ] {
        assert!(
            matches!(
                UserPoolConfig::new("us-east-1", bad, ["client"]),
                Err(ConfigError::InvalidPoolId(_))
            ),
            "{bad}"
        );
    }
    for bad in ["useast1", "US-EAST-1", "us-east", "us-east-x", ""] {
        assert!(
            matches!(
                UserPoolConfig::new(bad, "us-east-1_A", ["c"]),
                Err(ConfigError::InvalidRegion(_))
            ),
            "{bad}"
        );
    }
}

#[test]
fn configuration_refuses_what_would_accept_nothing_or_anything() {
    let no_clients: [&str; 0] = [];
    assert!(matches!(
        UserPoolConfig::new("us-east-1", "us-east-1_A", no_clients),
        Err(ConfigError::NoClientIds(_))
    ));
    assert!(matches!(
        UserPoolConfig::new("us-east-1", "us-east-1_A", ["bad client"]),
        Err(ConfigError::InvalidClientId(_))
    ));
    assert!(matches!(
        VerifierConfig::new(vec![], TokenUse::Access),
        Err(ConfigError::NoPools)
    ));
    let pool = UserPoolConfig::new("us-east-1", "us-east-1_A", ["c"]).unwrap();
    assert!(matches!(
        VerifierConfig::new(vec![pool.clone(), pool.clone()], TokenUse::Access),
        Err(ConfigError::DuplicateIssuer(_))
    ));
    assert!(matches!(
        pool.clone().with_jwks_url("ftp://example.com/keys"),
        Err(ConfigError::InvalidUrl(_))
    ));
    assert_eq!(
        pool.issuer(),
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_A"
    );
    assert_eq!(
        pool.jwks_url(),
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_A/.well-known/jwks.json"
    );
    let emulated = pool
        .with_issuer("http://127.0.0.1:5000/us-east-1_A/")
        .unwrap();
    assert_eq!(emulated.issuer(), "http://127.0.0.1:5000/us-east-1_A");
    assert_eq!(
        emulated.jwks_url(),
        "http://127.0.0.1:5000/us-east-1_A/.well-known/jwks.json"
    );
}

// ---------------------------------------------------------------- inspection and refresh

#[tokio::test]
async fn inspect_explains_each_check() {
    let (issuer, verifier) = start().await;

    let good = verifier.inspect(&access_token(&issuer)).await;
    assert!(good.accepted());
    let names: Vec<_> = good.checks.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "shape",
            "algorithm",
            "kid",
            "issuer",
            "key",
            "signature",
            "exp",
            "nbf",
            "iat",
            "token_use",
            "sub",
            "client_id",
            "scopes",
            "groups"
        ]
    );
    assert_eq!(good.claims.as_ref().unwrap()["username"], "alice");

    // Claim failures are all reported, not only the first.
    let bad = with(
        issuer.access_claims(),
        json!({"exp": 1, "client_id": "someoneelse", "token_use": "id"}),
    );
    let report = verifier.inspect(&issuer.sign(&bad)).await;
    assert!(!report.accepted());
    let failed: Vec<_> = report
        .checks
        .iter()
        .filter_map(|c| c.outcome.as_ref().err().map(|e| (c.name, e.code())))
        .collect();
    assert_eq!(
        failed,
        [
            ("exp", "token_expired"),
            ("token_use", "invalid_token_use"),
            ("client_id", "invalid_client")
        ]
    );

    // Up to the signature, the first failure ends the report; what decodes is still shown.
    let other = TestIssuer::start().await;
    let foreign = verifier.inspect(&access_token(&other)).await;
    let last = foreign.checks.last().unwrap();
    assert_eq!(last.name, "issuer");
    assert_eq!(last.outcome.as_ref().unwrap_err().code(), "invalid_issuer");
    assert_eq!(foreign.header.as_ref().unwrap()["alg"], "RS256");

    let garbage = verifier.inspect("not a token").await;
    assert!(garbage.header.is_none());
    assert_eq!(garbage.checks.len(), 1);
    assert_eq!(
        garbage.checks[0].outcome.as_ref().unwrap_err().code(),
        "malformed"
    );
}

#[tokio::test]
async fn refresh_refetches_outside_the_cooldown_only() {
    let (issuer, clock, verifier) = start_with_clock().await;
    verifier.hydrate().await.unwrap();
    verifier.refresh().await.unwrap();
    assert_eq!(issuer.jwks_requests(), 1, "inside the cooldown");
    clock.advance(Duration::from_secs(11));
    issuer.rotate();
    verifier.refresh().await.unwrap();
    assert_eq!(issuer.jwks_requests(), 2);
    // The rotated key is known without a fetch on the request path.
    verifier.verify(&access_token(&issuer)).await.unwrap();
    assert_eq!(issuer.jwks_requests(), 2);
    // A failing refresh keeps the old keys.
    clock.advance(Duration::from_secs(11));
    issuer.set_mode(JwksMode::Status(500));
    verifier.refresh().await.unwrap();
    assert!(verifier.keys_loaded());
    assert_eq!(verifier.jwks_fetch_stats().failed, 1);
}

// ---------------------------------------------------------------- review follow-ups

#[tokio::test]
async fn the_id_token_username_is_cognito_username() {
    let issuer = TestIssuer::start().await;
    let id = CognitoVerifier::new(config(&issuer, TokenUse::Id)).unwrap();
    let claims = with(
        issuer.id_claims(),
        json!({"username": "added-by-a-trigger"}),
    );
    let token = id.verify(&issuer.sign(&claims)).await.unwrap();
    assert_eq!(token.username(), Some("alice"));
}

#[tokio::test]
async fn iat_tolerance_boundary() {
    let (issuer, clock, verifier) = start_with_clock().await;
    let now = clock.now().as_secs();
    let at_limit = issuer.sign(&with(issuer.access_claims(), json!({"iat": now + 60})));
    assert_eq!(code_of(&verifier, &at_limit).await, "ok");
    let past_limit = issuer.sign(&with(issuer.access_claims(), json!({"iat": now + 61})));
    assert_eq!(code_of(&verifier, &past_limit).await, "issued_in_future");
}

#[tokio::test]
async fn an_issuer_override_is_what_tokens_must_carry() {
    let issuer = TestIssuer::start().await;
    let emulated = format!("http://127.0.0.1:5000/{}", issuer.pool_id());
    let pool = issuer.pool_config().with_issuer(&emulated).unwrap();
    let verifier = verifier_for(vec![pool]);
    let token = issuer.sign(&with(issuer.access_claims(), json!({"iss": emulated})));
    assert_eq!(verifier.verify(&token).await.unwrap().issuer(), emulated);
    let canonical = access_token(&issuer);
    assert_eq!(code_of(&verifier, &canonical).await, "invalid_issuer");
}

#[tokio::test]
async fn token_values_in_errors_are_cut_and_escaped() {
    let issuer = TestIssuer::start().await;
    let hostile = format!(
        "https://evil\n2026-01-01 INFO forged line {}",
        "x".repeat(500)
    );
    let token = issuer.sign(&with(issuer.access_claims(), json!({"iss": hostile})));
    let error = verifier(&issuer).verify(&token).await.unwrap_err();
    let text = error.to_string();
    assert!(!text.contains('\n'), "{text}");
    assert!(text.contains("\\n"), "{text}");
    assert!(text.len() < 200, "{text}");
}

#[test]
fn moduli_under_2048_bits_are_refused() {
    let e = [1, 0, 1];
    let mut n = vec![0xff; 256];
    assert!(cognigraph_token::SigningKey::from_components("k", &n, &e).is_some());
    n[0] = 0x7f; // 2047 bits
    assert!(cognigraph_token::SigningKey::from_components("k", &n, &e).is_none());
    let mut leading_zero = vec![0];
    leading_zero.extend(vec![0xff; 256]);
    assert!(cognigraph_token::SigningKey::from_components("k", &leading_zero, &e).is_some());
}

#[test]
fn key_urls_must_be_https_unless_loopback() {
    let pool = UserPoolConfig::new("us-east-1", "us-east-1_A", ["c"]).unwrap();
    for ok in [
        "https://keys.example.com/jwks.json",
        "http://127.0.0.1:5000/p/.well-known/jwks.json",
        "http://localhost:5000/jwks",
        "http://[::1]:5000/jwks",
    ] {
        assert!(pool.clone().with_jwks_url(ok).is_ok(), "{ok}");
    }
    assert!(matches!(
        pool.clone()
            .with_jwks_url("http://keys.example.com/jwks.json"),
        Err(ConfigError::InsecureUrl(_))
    ));
    for bad in ["https:///", "https://", "keys.example.com", "https://a b"] {
        assert!(
            matches!(
                pool.clone().with_issuer(bad),
                Err(ConfigError::InvalidUrl(_))
            ),
            "{bad}"
        );
    }
}

/// A fetcher that moves the clock past the cooldown while it fetches, so that only the
/// single-flight bookkeeping (not the cooldown) can stop waiters from fetching again.
#[derive(Debug)]
struct ClockMovingFetcher {
    inner: cognigraph_token::HttpJwksFetcher,
    clock: Arc<ManualClock>,
}

#[async_trait::async_trait]
impl cognigraph_token::JwksFetcher for ClockMovingFetcher {
    async fn fetch(&self, url: &str) -> Result<bytes::Bytes, JwksError> {
        let body = self.inner.fetch(url).await;
        self.clock.advance(Duration::from_secs(11));
        body
    }
}

#[tokio::test]
async fn waiters_use_the_fetch_they_waited_for_even_past_the_cooldown() {
    let issuer = TestIssuer::start().await;
    issuer.set_mode(JwksMode::Slow(Duration::from_millis(200)));
    let clock = Arc::new(ManualClock::starting_now());
    let fetcher = ClockMovingFetcher {
        inner: cognigraph_token::HttpJwksFetcher::new(&JwksSettings::standard()).unwrap(),
        clock: Arc::clone(&clock),
    };
    let verifier = Arc::new(
        CognitoVerifier::builder(config(&issuer, TokenUse::Access))
            .clock(Arc::clone(&clock) as _)
            .fetcher(Arc::new(fetcher))
            .build()
            .unwrap(),
    );
    let bogus = bogus_kid_token(&issuer);
    let results = run_concurrently(&verifier, &bogus, 50).await;
    assert!(results.iter().all(|c| *c == "unknown_kid"), "{results:?}");
    assert_eq!(issuer.jwks_requests(), 1);
}

#[tokio::test]
async fn waiters_share_a_failed_cold_fetch_and_its_error() {
    let issuer = TestIssuer::start().await;
    issuer.set_mode(JwksMode::Status(502));
    let verifier = Arc::new(verifier(&issuer));
    let token = Arc::new(access_token(&issuer));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let verifier = Arc::clone(&verifier);
            let token = Arc::clone(&token);
            tokio::spawn(async move { verifier.verify(&token).await.unwrap_err() })
        })
        .collect();
    for task in tasks {
        match task.await.unwrap() {
            VerifyError::KeysUnavailable { source, .. } => {
                assert_eq!(source, JwksError::Status(502));
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(issuer.jwks_requests(), 1);
}

#[tokio::test]
async fn a_cancelled_fetch_does_not_lock_out_the_next_caller() {
    let (issuer, verifier, token) =
        hung_up_mid_fetch(Duration::from_millis(300), Duration::from_millis(50)).await;
    issuer.set_mode(JwksMode::Serve);
    assert_eq!(code_of(&verifier, &token).await, "ok");
}

// ---------------------------------------------------------------- callers that hang up

/// An issuer whose key endpoint answers after `fetch`, a verifier of its tokens, and a token
/// whose first verification (which started the key fetch) its caller gave up after `patience`.
async fn hung_up_mid_fetch(
    fetch: Duration,
    patience: Duration,
) -> (TestIssuer, CognitoVerifier, String) {
    let (issuer, verifier) = start().await;
    issuer.set_mode(JwksMode::Slow(fetch));
    let token = access_token(&issuer);
    let cancelled = tokio::time::timeout(patience, verifier.verify(&token)).await;
    assert!(cancelled.is_err(), "the caller hung up mid-fetch");
    (issuer, verifier, token)
}

#[tokio::test]
async fn callers_that_hang_up_mid_fetch_cannot_bypass_the_cooldown() {
    let (issuer, verifier) = hydrated_past_the_cooldown(Duration::from_millis(150)).await;
    let bogus = bogus_kid_token(&issuer);

    // 40 clients send an unknown kid and give up after 5 ms, spread over twice the fetch time,
    // so some hang up while the fetch runs and others arrive after it ended.
    for _ in 0..40 {
        let hung_up = tokio::time::timeout(Duration::from_millis(5), verifier.verify(&bogus)).await;
        if let Ok(outcome) = hung_up {
            assert_eq!(outcome.unwrap_err().code(), "unknown_kid");
        }
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    // Whether the fetch has ended or not, this caller waits for it (or finds its keys).
    assert_eq!(code_of(&verifier, &bogus).await, "unknown_kid");
    assert_eq!(
        issuer.jwks_requests(),
        2,
        "hydration plus exactly one refetch within the cooldown"
    );
    assert_eq!(verifier.jwks_fetch_stats().succeeded, 2);
}

#[tokio::test]
async fn a_fetch_outlives_the_caller_that_started_it() {
    let (issuer, verifier, token) =
        hung_up_mid_fetch(Duration::from_millis(100), Duration::from_millis(5)).await;
    // Nobody calls again: the fetch must finish on its own (the endpoint takes 100 ms).
    for _ in 0..100 {
        if verifier.keys_loaded() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        verifier.keys_loaded(),
        "the fetch finished without a caller"
    );
    assert_eq!(verifier.jwks_fetch_stats().succeeded, 1);
    assert_eq!(code_of(&verifier, &token).await, "ok");
    assert_eq!(issuer.jwks_requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_concurrent_unknown_kids_cause_one_fetch() {
    let (issuer, verifier) = hydrated_past_the_cooldown(Duration::from_millis(200)).await;
    let verifier = Arc::new(verifier);
    let results = run_concurrently(&verifier, &bogus_kid_token(&issuer), 500).await;
    assert!(results.iter().all(|c| *c == "unknown_kid"), "{results:?}");
    assert_eq!(issuer.jwks_requests(), 2, "hydration plus one refetch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_concurrent_unknown_kids_half_hanging_up_cause_one_fetch() {
    let (issuer, verifier) = hydrated_past_the_cooldown(Duration::from_millis(200)).await;
    let verifier = Arc::new(verifier);
    let bogus = bogus_kid_token(&issuer);
    let tasks: Vec<_> = (0..500)
        .map(|i| {
            let verifier = Arc::clone(&verifier);
            let bogus = Arc::clone(&bogus);
            tokio::spawn(async move {
                let verification = verifier.verify(&bogus);
                if i % 2 == 0 {
                    // This client hangs up after 5 ms.
                    tokio::time::timeout(Duration::from_millis(5), verification)
                        .await
                        .ok()
                        .map(|outcome| outcome.unwrap_err().code())
                } else {
                    Some(verification.await.unwrap_err().code())
                }
            })
        })
        .collect();
    for task in tasks {
        if let Some(code) = task.await.unwrap() {
            assert_eq!(code, "unknown_kid");
        }
    }
    assert_eq!(issuer.jwks_requests(), 2, "hydration plus one refetch");
}

/// A fetch ends within the fetch timeout, its retry included: a key endpoint that accepts the
/// connection and never answers is asked once and given up on after `timeout`, not twice that.
#[tokio::test]
async fn a_hanging_key_endpoint_is_given_up_on_after_one_fetch_timeout() {
    use cognigraph_token::{HttpJwksFetcher, JwksFetcher as _};

    let issuer = TestIssuer::start().await;
    issuer.set_mode(JwksMode::Slow(Duration::from_secs(30)));
    let timeout = Duration::from_millis(600);
    let fetcher = HttpJwksFetcher::new(&JwksSettings {
        timeout,
        ..JwksSettings::standard()
    })
    .unwrap();
    let started = tokio::time::Instant::now();
    let outcome = fetcher.fetch(&issuer.jwks_url()).await;
    let took = started.elapsed();
    assert_eq!(outcome.err(), Some(JwksError::TimedOut { after: timeout }));
    assert!(took >= timeout, "gave up early, after {took:?}");
    assert!(
        took < timeout * 3 / 2,
        "waited {took:?}, past the {timeout:?} fetch timeout"
    );
}

/// A token presented again skips the decode and the RSA check (one full verification for a
/// hundred uses) but not the time checks: once expired it is refused although remembered.
#[tokio::test]
async fn a_repeated_token_is_verified_in_full_once_and_still_expires() {
    let (issuer, clock, verifier) = start_with_clock().await;
    let token = access_token(&issuer);
    for _ in 0..100 {
        let verified = verifier.verify(&token).await.unwrap();
        assert_eq!(verified.username(), Some("alice"));
    }
    assert_eq!(
        verifier.token_cache_stats(),
        TokenCacheStats {
            hits: 99,
            misses: 1
        }
    );

    // The token's `exp` is a whole second an hour after it was signed, which was after the clock
    // started: an hour exactly can fall short of it by up to a second.
    clock.advance(Duration::from_secs(3601));
    assert_eq!(code_of(&verifier, &token).await, "token_expired");
    assert_eq!(
        verifier.token_cache_stats().misses,
        1,
        "refused from the cache"
    );
}

/// The cache is keyed by the whole token: any one-character change of a remembered token is a
/// miss, verified in full and refused.
#[tokio::test]
async fn a_token_differing_in_any_character_never_hits_the_cache() {
    let (issuer, verifier) = start().await;
    let token = access_token(&issuer);
    verifier.verify(&token).await.unwrap();
    let before = verifier.token_cache_stats();
    for position in 0..token.len() {
        let mut bytes = token.clone().into_bytes();
        bytes[position] = match bytes[position] {
            b'A' => b'B',
            b'.' => b'A',
            _ => b'A',
        };
        let changed = String::from_utf8(bytes).unwrap();
        assert!(
            verifier.verify(&changed).await.is_err(),
            "accepted with character {position} changed"
        );
    }
    let after = verifier.token_cache_stats();
    assert_eq!(after.hits, before.hits, "a changed token hit the cache");
    assert_eq!(after.misses, before.misses + token.len() as u64);
    // The original is still remembered.
    verifier.verify(&token).await.unwrap();
    assert_eq!(verifier.token_cache_stats().hits, before.hits + 1);
}

/// The custom check is not cached: it runs on every use of a remembered token.
#[tokio::test]
async fn the_custom_check_runs_on_every_use_of_a_remembered_token() {
    #[derive(Debug, Default)]
    struct Counting(std::sync::atomic::AtomicUsize);
    #[async_trait::async_trait]
    impl CustomCheck for Counting {
        async fn check(&self, _token: &VerifiedToken) -> Result<(), String> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        }
    }
    let issuer = TestIssuer::start().await;
    let check = Arc::new(Counting::default());
    let verifier =
        CognitoVerifier::new(config(&issuer, TokenUse::Access).with_custom_check(check.clone()))
            .unwrap();
    let token = access_token(&issuer);
    for _ in 0..3 {
        verifier.verify(&token).await.unwrap();
    }
    assert_eq!(verifier.token_cache_stats().hits, 2);
    assert_eq!(check.0.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_cache_of_zero_entries_remembers_nothing() {
    let issuer = TestIssuer::start().await;
    let verifier =
        CognitoVerifier::new(config(&issuer, TokenUse::Access).with_verified_token_cache(0))
            .unwrap();
    let token = access_token(&issuer);
    for _ in 0..3 {
        verifier.verify(&token).await.unwrap();
    }
    assert_eq!(verifier.token_cache_stats(), TokenCacheStats::default());
}
