//! The emulator going away mid-run: tokens whose signing keys are cached keep working, and
//! refusals still answer 401. The shared emulator stays up: this test starts its own moto.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use cognigraph_server::tenancy::TenantSource;
use cognigraph_tests::{App, Pool};
use serde_json::json;

use crate::support::{assert_refused, data, signed_in};

/// A moto of this test's own on a free port; killed (and waited for) when dropped, so a failing
/// test does not leave it behind.
#[derive(Debug)]
struct PrivateEmulator {
    url: String,
    child: Option<Child>,
}

impl PrivateEmulator {
    async fn start() -> Self {
        let moto = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv-moto/bin/moto_server");
        assert!(
            moto.exists(),
            "{} is missing: run `just emulator`",
            moto.display()
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(&moto)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_COGNITO_IDP_USER_POOL_ID_STRATEGY", "HASH")
            .env("MOTO_COGNITO_IDP_USER_POOL_CLIENT_ID_STRATEGY", "HASH")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let mut emulator = Self {
            url: format!("http://127.0.0.1:{port}"),
            child: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !emulator.answers().await {
            if let Some(child) = emulator.child.as_mut() {
                let exited = child.try_wait().expect("moto's status");
                assert!(exited.is_none(), "the private moto exited: {exited:?}");
            }
            assert!(
                Instant::now() < deadline,
                "the private moto did not answer in 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        emulator
    }

    async fn answers(&self) -> bool {
        reqwest::get(format!("{}/moto-api/", self.url))
            .await
            .is_ok_and(|r| r.status().is_success())
    }

    /// Kills moto and waits until it has exited.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateEmulator {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test]
async fn cached_keys_outlive_the_emulator() {
    let mut emulator = PrivateEmulator::start().await;
    let pool = Pool::create_on(&emulator.url).await;
    // Tenants from the claim (none here), so that only the signing keys need the emulator.
    let app = App::start(&pool, 60, |settings| {
        settings.tenant_source = TenantSource::Claim;
    })
    .await;
    let tokens = signed_in(&pool, "survivor", &["admin"], None).await;

    let query = "{ me { username roles tenant } accessPolicy { field } }";
    let before = data(&app, &tokens.access_token, query, json!({})).await;
    assert_eq!(
        before["me"],
        json!({"username": "survivor", "roles": ["ADMIN", "EDITOR", "VIEWER"], "tenant": null})
    );
    let keys = data(
        &app,
        &tokens.access_token,
        "mutation { refreshSigningKeys { loaded fetchesSucceeded fetchesFailed } }",
        json!({}),
    )
    .await;
    let status = &keys["refreshSigningKeys"];
    assert_eq!(status["loaded"], true);
    assert_eq!(status["fetchesFailed"], 0);
    assert!(
        status["fetchesSucceeded"].as_u64().is_some_and(|n| n >= 1),
        "{status}"
    );

    emulator.kill();
    assert!(!emulator.answers().await, "the private moto is gone");

    let after = data(&app, &tokens.access_token, query, json!({})).await;
    assert_eq!(after, before);
    assert_refused(&app, &tokens.id_token, "invalid_token_use").await;
    assert_refused(
        &app,
        &with_altered_signature(&tokens.access_token),
        "invalid_signature",
    )
    .await;
}

/// The token with one character of its signature changed (still canonical base64url).
fn with_altered_signature(token: &str) -> String {
    let (signed, signature) = token.rsplit_once('.').expect("a JWT");
    let middle = signature.len() / 2;
    let replacement = if &signature[middle..=middle] == "A" {
        "B"
    } else {
        "A"
    };
    format!(
        "{signed}.{}{replacement}{}",
        &signature[..middle],
        &signature[middle + 1..]
    )
}
