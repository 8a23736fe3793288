//! The reference servers the `load` benchmark measures cognigraph against, each the least code
//! that answers `{ me { sub groups } }` at its level, on the same runtime and HTTP stack as
//! cognigraph (tokio, hyper through axum):
//!
//! - [`Reference::Minimal`]: an axum handler answering fixed JSON. The HTTP ceiling.
//! - [`Reference::Unchecked`]: axum + async-graphql answering from the token's payload without
//!   checking it. What GraphQL costs with no authentication at all.
//! - [`Reference::Lean`]: the same with a lean RS256 check: the key parsed once (aws-lc-rs), the
//!   signature and `exp` checked, nothing else. What a verified token costs at the least.
//!
//! They run as child processes of the benchmark binary itself (`LOAD_REFERENCE=<name>`), so that
//! their CPU time is measured exactly as cognigraph's is.

use std::{
    process::Command,
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema, SimpleObject};
use aws_lc_rs::{
    encoding::AsDer,
    signature::{self, ParsedPublicKey, RsaPublicKeyComponents},
};
use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode, header::AUTHORIZATION},
    response::IntoResponse,
    routing::{get, post},
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use cognigraph_token::testing::TestIssuer;
use serde::Deserialize;

/// The environment variable that turns the benchmark binary into a reference server.
pub(crate) const SELECT: &str = "LOAD_REFERENCE";
const PORT: &str = "LOAD_REFERENCE_PORT";
/// The issuer's key, base64url modulus and exponent, for the lean check.
const KEY_N: &str = "LOAD_REFERENCE_N";
const KEY_E: &str = "LOAD_REFERENCE_E";

#[derive(Clone, Copy)]
pub(crate) enum Reference {
    Minimal,
    Unchecked,
    Lean,
}

impl Reference {
    pub(crate) const ALL: [Self; 3] = [Self::Minimal, Self::Unchecked, Self::Lean];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Minimal => "minimal",
            Self::Unchecked => "unchecked",
            Self::Lean => "lean",
        }
    }

    pub(crate) fn description(self) -> &'static str {
        match self {
            Self::Minimal => "reference: minimal axum handler, fixed JSON (the HTTP ceiling)",
            Self::Unchecked => {
                "reference: axum + async-graphql, token payload read unchecked (no-auth prototype)"
            }
            Self::Lean => {
                "reference: the same + a lean RS256 check, key parsed once (lean prototype)"
            }
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The command that runs this reference on `port`, pinned like cognigraph, checking tokens
    /// of `issuer`'s current key.
    pub(crate) fn command(self, issuer: &TestIssuer, port: u16) -> Command {
        let binary = std::env::current_exe().expect("the benchmark binary");
        let mut command = super::child_server::server_command(
            binary.to_str().expect("a UTF-8 path to the benchmark"),
        );
        let key = &issuer.jwks()["keys"][0];
        command
            .env_clear()
            .env(SELECT, self.name())
            .env(PORT, port.to_string())
            .env(KEY_N, key["n"].as_str().expect("n"))
            .env(KEY_E, key["e"].as_str().expect("e"));
        command
    }
}

/// Runs the reference server named by `name` until killed.
pub(crate) fn serve(name: &str) {
    let reference = Reference::from_name(name).expect("a known reference");
    let port: u16 = std::env::var(PORT)
        .ok()
        .and_then(|p| p.parse().ok())
        .expect("LOAD_REFERENCE_PORT");
    tokio::runtime::Runtime::new()
        .expect("a runtime")
        .block_on(async move {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .expect("the port");
            let router = match reference {
                Reference::Minimal => Router::new().route("/graphql", post(minimal)),
                Reference::Unchecked | Reference::Lean => {
                    let key = matches!(reference, Reference::Lean).then(lean_key);
                    let state = Arc::new(Graphql {
                        schema: Schema::new(Query, EmptyMutation, EmptySubscription),
                        key,
                    });
                    Router::new()
                        .route("/graphql", post(graphql))
                        .with_state(state)
                }
            }
            .route("/ready", get(|| async { "ok" }));
            axum::serve(listener, router).await.expect("serving");
        });
}

async fn minimal() -> impl IntoResponse {
    (
        [("content-type", "application/json")],
        r#"{"data":{"me":{"sub":"00000000-0000-0000-0000-000000000000","groups":["viewer"]}}}"#,
    )
}

#[derive(Deserialize, SimpleObject)]
struct Me {
    sub: String,
    #[serde(rename = "cognito:groups", default)]
    groups: Vec<String>,
    /// Checked by the lean check; not in the schema.
    #[graphql(skip)]
    exp: Option<u64>,
}

struct Query;

#[Object]
impl Query {
    async fn me<'a>(&self, ctx: &async_graphql::Context<'a>) -> &'a Me {
        ctx.data_unchecked::<Me>()
    }
}

struct Graphql {
    schema: Schema<Query, EmptyMutation, EmptySubscription>,
    /// `Some` for the lean check.
    key: Option<ParsedPublicKey>,
}

fn lean_key() -> ParsedPublicKey {
    let component = |name| {
        URL_SAFE_NO_PAD
            .decode(std::env::var(name).expect("a key component"))
            .expect("base64url")
    };
    let (n, e) = (component(KEY_N), component(KEY_E));
    let der = RsaPublicKeyComponents {
        n: n.as_slice(),
        e: e.as_slice(),
    }
    .as_der()
    .expect("a DER key");
    ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, der.as_ref()).expect("an RSA key")
}

/// The caller from the Bearer token: its payload, after the signature and `exp` when a key is
/// given.
fn caller(headers: &HeaderMap, key: Option<&ParsedPublicKey>) -> Option<Me> {
    let token = headers
        .get(AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    let (signed, signature) = token.rsplit_once('.')?;
    let payload = URL_SAFE_NO_PAD.decode(signed.split_once('.')?.1).ok()?;
    let me: Me = serde_json::from_slice(&payload).ok()?;
    if let Some(key) = key {
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        key.verify_sig(signed.as_bytes(), &signature).ok()?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
        if me.exp? <= now {
            return None;
        }
    }
    Some(me)
}

async fn graphql(
    State(state): State<Arc<Graphql>>,
    headers: HeaderMap,
    Json(request): Json<async_graphql::Request>,
) -> axum::response::Response {
    let Some(me) = caller(&headers, state.key.as_ref()) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    Json(state.schema.execute(request.data(me)).await).into_response()
}
