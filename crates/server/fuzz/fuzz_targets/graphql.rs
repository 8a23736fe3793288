//! Arbitrary bytes through the whole GraphQL request path (HTTP parsing, authentication, limits,
//! validation, execution against a real SQLite database, field guards, error mapping), in
//! process through the router. Whatever the input, the service must not panic, must not answer
//! 500, and every `/graphql` answer must be a GraphQL response (a JSON object with `data` or
//! `errors`). Keys come from a fixed in-memory key set, Cognito is an in-memory user pool: no
//! network.
//!
//! The first byte of an input picks how the rest is sent (see [`Shape`]); the seeds in
//! `seeds/graphql` are written that way (a leading `1` is "the rest is a query, sent as an
//! admin", for instance).
#![no_main]

use std::sync::{Arc, OnceLock};

use axum::{
    Router,
    body::Body,
    http::{Method, Request, StatusCode, header},
};
use bytes::Bytes;
use cognigraph_cognito::fake::FakeUserPool;
use cognigraph_server::{config::Settings, startup::Application};
use cognigraph_token::{
    CognitoVerifier,
    testing::{FixedJwks, TestSigningKey, unix_now},
};
use http_body_util::BodyExt as _;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use tower::ServiceExt as _;

const REGION: &str = "us-east-1";
const POOL_ID: &str = "us-east-1_Fuzz";
const CLIENT_ID: &str = "fuzzclient";
const KID: &str = "fuzz";
const JWKS_URL: &str = "https://jwks.example/keys.json";

struct World {
    runtime: tokio::runtime::Runtime,
    router: Router,
    admin: String,
    viewer: String,
    _database: tempfile::TempDir,
}

/// An access token of tenant `acme` with `groups`, valid for a day.
fn token(key: &TestSigningKey, username: &str, groups: &[&str]) -> String {
    let now = unix_now();
    let claims = json!({
        "sub": format!("00000000-0000-4000-8000-{:012}", username.len()),
        "cognito:groups": groups,
        "iss": format!("https://cognito-idp.{REGION}.amazonaws.com/{POOL_ID}"),
        "client_id": CLIENT_ID,
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "auth_time": now,
        "iat": now,
        "exp": now + 86_400,
        "jti": format!("jti-{username}"),
        "username": username,
        "custom:tenant": "acme",
    });
    key.sign_raw(
        &json!({ "alg": "RS256", "kid": KID }).to_string(),
        &claims.to_string(),
    )
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let key = TestSigningKey::generate(KID);
        let database = tempfile::tempdir().expect("a temporary folder");
        let settings = Settings::try_parse_from_args([
            "--database-url".to_owned(),
            format!(
                "sqlite://{}?mode=rwc",
                database.path().join("fuzz.db").display()
            ),
            "--migrate".to_owned(),
            "--region".to_owned(),
            REGION.to_owned(),
            "--user-pool-id".to_owned(),
            POOL_ID.to_owned(),
            "--client-id".to_owned(),
            CLIENT_ID.to_owned(),
            "--jwks-url".to_owned(),
            JWKS_URL.to_owned(),
            "--tenant-source".to_owned(),
            "claim".to_owned(),
            "--listen-addr".to_owned(),
            "127.0.0.1:0".to_owned(),
        ])
        .expect("settings");
        let verifier = CognitoVerifier::builder(settings.cognito.verifier_config().expect("pool"))
            .fetcher(Arc::new(FixedJwks::of(&[&key])))
            .build()
            .expect("verifier");
        let router = runtime.block_on(async {
            // The in-memory user pool: nothing here may reach the network (the tenant comes
            // from the token's claim, so it is never asked anyway).
            let user_pool = Arc::new(FakeUserPool::default());
            let app = Application::build_with_parts(&settings, Arc::new(verifier), user_pool)
                .await
                .expect("application");
            app.hydrate().await;
            app.router()
        });
        let world = World {
            runtime,
            router,
            admin: token(&key, "fuzz-admin", &["admin"]),
            viewer: token(&key, "fuzz-viewer", &["viewer"]),
            _database: database,
        };
        // Some rows for resolvers to find.
        let seed = r#"mutation {
            a: createProject(input: {name: "One"}) { id }
            b: createProject(input: {name: "Two"}) { id }
        }"#;
        let (status, _) = world.send(Shape::AdminQuery, seed.as_bytes());
        assert_eq!(status, StatusCode::OK, "seeding");
        world
    })
}

/// How an input's bytes (after the first) are sent.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// `POST /graphql`, the bytes as a JSON body, as an admin.
    AdminBody,
    /// `POST /graphql` with `{"query": <the bytes as text>}`, as an admin.
    AdminQuery,
    /// The same as a viewer.
    ViewerQuery,
    /// The same without a token.
    AnonymousQuery,
    /// `GET /graphql?<the bytes as the query string>`, as an admin.
    AdminGet,
    /// `POST /graphql` with `Accept: application/graphql-response+json` and the bytes as the
    /// body of a batch (`[` … `]`), as an admin.
    AdminBatch,
}

impl Shape {
    fn of(byte: u8) -> Self {
        match byte % 6 {
            0 => Self::AdminBody,
            1 => Self::AdminQuery,
            2 => Self::ViewerQuery,
            3 => Self::AnonymousQuery,
            4 => Self::AdminGet,
            _ => Self::AdminBatch,
        }
    }
}

impl World {
    /// Sends `rest` shaped as `shape`; the status and body of the answer.
    fn send(&self, shape: Shape, rest: &[u8]) -> (StatusCode, Bytes) {
        let text = String::from_utf8_lossy(rest);
        let token = match shape {
            Shape::ViewerQuery => Some(self.viewer.as_str()),
            Shape::AnonymousQuery => None,
            _ => Some(self.admin.as_str()),
        };
        let mut request = Request::builder()
            .uri("/graphql")
            .method(Method::POST)
            .header(header::CONTENT_TYPE, "application/json");
        let body = match shape {
            Shape::AdminBody => Body::from(rest.to_vec()),
            Shape::AdminQuery | Shape::ViewerQuery | Shape::AnonymousQuery => {
                Body::from(json!({ "query": text }).to_string())
            }
            Shape::AdminGet => {
                let query: String = text
                    .chars()
                    .filter(|c| c.is_ascii_graphic() && *c != '#')
                    .collect();
                request = Request::builder()
                    .uri(format!("/graphql?{query}"))
                    .method(Method::GET);
                Body::empty()
            }
            Shape::AdminBatch => {
                request = request.header(header::ACCEPT, "application/graphql-response+json");
                let mut batch = b"[".to_vec();
                batch.extend_from_slice(rest);
                batch.push(b']');
                Body::from(batch)
            }
        };
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let Ok(request) = request.body(body) else {
            // Not an HTTP request (a URI no client could send): nothing reaches the service.
            return (StatusCode::BAD_REQUEST, Bytes::new());
        };
        self.runtime.block_on(async {
            let response = self
                .router
                .clone()
                .oneshot(request)
                .await
                .expect("the router is infallible");
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .expect("the body arrives")
                .to_bytes();
            (status, body)
        })
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let shape = Shape::of(first);
    let (status, body) = world().send(shape, rest);
    assert_ne!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{shape:?}: {}",
        String::from_utf8_lossy(&body)
    );
    // Requests refused before GraphQL (bad media type, method, size) may answer plain text;
    // every other answer is a GraphQL response.
    if let Ok(answer) = serde_json::from_slice::<Value>(&body) {
        let is_response = answer.get("data").is_some() || answer.get("errors").is_some();
        let is_batch = answer.as_array().is_some_and(|answers| {
            answers
                .iter()
                .all(|a| a.get("data").is_some() || a.get("errors").is_some())
        });
        assert!(
            is_response || is_batch,
            "{shape:?}: not a GraphQL response: {answer}"
        );
        if let Some(errors) = answer.get("errors").and_then(Value::as_array) {
            for error in errors {
                let code = error["extensions"]["code"].as_str().unwrap_or_default();
                assert!(
                    !code.is_empty() && code != "INTERNAL",
                    "{shape:?}: an error without a client-facing code: {error}"
                );
            }
        }
    }
});
