//! `spawn_app()`: each test gets its own issuer, its own app on port 0, its own client.

use std::sync::{Arc, Mutex};

use cognigraph_cognito::fake::FakeUserPool;
use cognigraph_server::{
    config::Settings,
    graphql::{self, ApiSchema, SchemaOptions},
    startup::Application,
    tenancy::TenantSource,
    testing::{self, TestPool},
};
use cognigraph_token::{
    CognitoVerifier, JwksSettings, ManualClock,
    testing::{TestIssuer, unix_now},
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::{sync::oneshot, task::JoinHandle};

pub(crate) struct TestApp {
    pub(crate) address: String,
    /// The API's socket address, for tests that speak raw TCP.
    pub(crate) socket: std::net::SocketAddr,
    /// `http://…` of the metrics listener, when `--metrics-addr` was given.
    pub(crate) metrics_address: Option<String>,
    /// The app's own SQLite database (deleted with the app).
    _database: tempfile::TempDir,
    /// A handle on the app's database (shares its statement counter).
    pub(crate) db: cognigraph_domain::Db,
    pub(crate) issuer: TestIssuer,
    /// The app's user pool: in memory, never Cognito over HTTP.
    pub(crate) user_pool: Arc<FakeUserPool>,
    pub(crate) client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

/// A change to a test app's settings, on typed fields.
pub(crate) type Configure = Box<dyn FnOnce(&mut Settings) + Send>;

/// `change` as [`AppOptions::settings`].
pub(crate) fn configure(change: impl FnOnce(&mut Settings) + Send + 'static) -> Option<Configure> {
    Some(Box::new(change))
}

#[derive(Default)]
pub(crate) struct AppOptions {
    /// The app's database (default: a SQLite file of its own).
    pub(crate) database_url: Option<String>,
    /// Changes to the settings (default: none; tenants from the token's claim).
    pub(crate) settings: Option<Configure>,
    pub(crate) clock: Option<Arc<ManualClock>>,
    pub(crate) hydrate: bool,
    /// Replaces the verifier's JWKS settings (shorter fetch timeouts, say).
    pub(crate) jwks: Option<JwksSettings>,
    /// The user pool GetUser asks (default: an empty one of the app's own).
    pub(crate) user_pool: Option<Arc<FakeUserPool>>,
}

pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_with(AppOptions {
        hydrate: true,
        ..AppOptions::default()
    })
    .await
}

pub(crate) async fn spawn_app_with(options: AppOptions) -> TestApp {
    let issuer = TestIssuer::start().await;
    spawn_app_for(issuer, options).await
}

/// A hydrated app (as [`spawn_app`]) with `change` made to its settings.
pub(crate) async fn spawn_app_configured(
    change: impl FnOnce(&mut Settings) + Send + 'static,
) -> TestApp {
    spawn_app_with(AppOptions {
        settings: configure(change),
        hydrate: true,
        ..AppOptions::default()
    })
    .await
}

/// The command-line arguments naming `issuer`'s pool (region, pool id, client id, key URL).
pub(crate) fn pool_args(issuer: &TestIssuer) -> Vec<String> {
    [
        "--region",
        "us-east-1",
        "--user-pool-id",
        issuer.pool_id(),
        "--client-id",
        issuer.client_id(),
        "--jwks-url",
        &issuer.jwks_url(),
    ]
    .map(str::to_owned)
    .to_vec()
}

/// An application built as `spawn_app_for` builds it, not yet running: for tests that drive its
/// router themselves (the Lambda adapter, say).
pub(crate) struct BuiltApp {
    pub(crate) app: Application,
    /// The app's own SQLite database folder (deleted with it).
    pub(crate) database: tempfile::TempDir,
    pub(crate) user_pool: Arc<FakeUserPool>,
}

pub(crate) async fn build_app(issuer: &TestIssuer, options: AppOptions) -> BuiltApp {
    let database = tempfile::tempdir().expect("a temporary folder");
    let database_url = options.database_url.clone().unwrap_or_else(|| {
        format!(
            "sqlite://{}?mode=rwc",
            database.path().join("cognigraph.db").display()
        )
    });
    let pool = TestPool {
        user_pool_id: issuer.pool_id().to_owned(),
        client_id: issuer.client_id().to_owned(),
        jwks_url: issuer.jwks_url(),
    };
    // Tests that exercise GetUser give a user pool (AppOptions::user_pool) and pick the source.
    let mut settings = testing::settings(&pool, &database_url, TenantSource::Claim);
    if let Some(configure) = options.settings {
        configure(&mut settings);
    }
    let mut config = settings.cognito.verifier_config().expect("pool");
    if let Some(jwks) = options.jwks {
        config = config.with_jwks_settings(jwks);
    }
    let mut builder = CognitoVerifier::builder(config);
    if let Some(clock) = options.clock {
        builder = builder.clock(clock);
    }
    let verifier = Arc::new(builder.build().expect("verifier"));
    let user_pool = options.user_pool.unwrap_or_default();
    let app = Application::build_with_parts(&settings, verifier, user_pool.clone())
        .await
        .expect("application");
    if options.hydrate {
        app.hydrate().await;
    }
    BuiltApp {
        app,
        database,
        user_pool,
    }
}

pub(crate) async fn spawn_app_for(issuer: TestIssuer, options: AppOptions) -> TestApp {
    let BuiltApp {
        app,
        database,
        user_pool,
    } = build_app(&issuer, options).await;
    let address = format!("http://{}", app.local_addr());
    let socket = app.local_addr();
    let metrics_address = app.metrics_addr().map(|addr| format!("http://{addr}"));
    let db = app.db().clone();
    let (shutdown, signal) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = signal.await;
    }));
    TestApp {
        address,
        socket,
        metrics_address,
        _database: database,
        db,
        issuer,
        user_pool,
        client: reqwest::Client::new(),
        shutdown: Some(shutdown),
        server: Some(server),
    }
}

impl TestApp {
    /// An access token whose `cognito:groups` is `groups` (absent when empty).
    pub(crate) fn token(&self, groups: &[&str]) -> String {
        self.token_with(groups, json!({}))
    }

    /// An access token with `groups` and the claims in `changes` (null removes one). Each token
    /// has a `jti` of its own, as Cognito's do.
    pub(crate) fn token_with(&self, groups: &[&str], changes: Value) -> String {
        let mut claims = self.issuer.access_claims();
        claims["jti"] = json!(uuid::Uuid::new_v4().to_string());
        if groups.is_empty() {
            claims
                .as_object_mut()
                .expect("object")
                .remove("cognito:groups");
        } else {
            claims["cognito:groups"] = json!(groups);
        }
        for (name, value) in changes.as_object().expect("object") {
            if value.is_null() {
                claims.as_object_mut().expect("object").remove(name);
            } else {
                claims[name] = value.clone();
            }
        }
        self.issuer.sign(&claims)
    }

    pub(crate) fn expired_token(&self) -> String {
        self.token_with(&["admin"], json!({"exp": unix_now() - 10}))
    }

    pub(crate) async fn post(&self, token: Option<&str>, body: &Value) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.address))
            .json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("POST /graphql")
    }

    /// POSTs `query` (no variables).
    pub(crate) async fn post_query(&self, token: Option<&str>, query: &str) -> reqwest::Response {
        self.post(token, &json!({ "query": query })).await
    }

    /// POSTs `query` and returns the status and the JSON body.
    pub(crate) async fn query(&self, token: Option<&str>, query: &str) -> (StatusCode, Value) {
        let response = self.post_query(token, query).await;
        let status = response.status();
        (status, response.json().await.expect("JSON body"))
    }

    /// The id of member `username`, as `admin` (a token of an admin of its tenant) lists the
    /// tenant's members.
    pub(crate) async fn member_id(&self, admin: &str, username: &str) -> String {
        let (_, body) = self
            .query(
                Some(admin),
                "{ members(first: 100) { nodes { id username } } }",
            )
            .await;
        body["data"]["members"]["nodes"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .find(|m| m["username"] == username)
            .and_then(|m| m["id"].as_str())
            .unwrap_or_else(|| panic!("{username} is a member: {body}"))
            .to_owned()
    }

    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("GET")
    }

    /// Stops the server the graceful way and waits for it.
    pub(crate) async fn shutdown(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server");
        }
    }
}

/// A new, empty database on the `TEST_POSTGRES_URL` server.
pub(crate) struct FreshDatabase {
    /// Its URL.
    pub(crate) url: String,
    /// Its name.
    pub(crate) name: String,
    /// The server's admin URL (`TEST_POSTGRES_URL`).
    pub(crate) admin_url: String,
}

/// A new, empty database on the `TEST_POSTGRES_URL` server.
///
/// # Panics
/// Without `TEST_POSTGRES_URL` (`just test` starts a throwaway cluster and sets it; by hand:
/// `eval "$(.ci/postgres start)"`): a test of PostgreSQL never passes by skipping itself.
pub(crate) async fn fresh_postgres_database() -> FreshDatabase {
    let admin_url = std::env::var("TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .expect("TEST_POSTGRES_URL: run `just test`, or `eval \"$(.ci/postgres start)\"` first");
    let database = cognigraph_domain::testing::create_postgres_database(&admin_url, "api")
        .await
        .expect("a new database on TEST_POSTGRES_URL");
    FreshDatabase {
        url: database.url,
        name: database.name,
        admin_url,
    }
}

/// The schema as served, with limits out of the way of generated queries, resolvers traced
/// (`trace_resolvers`: async-graphql's tracing extension, and the engine resolving every
/// object itself) or not.
pub(crate) fn schema_without_limits(trace_resolvers: bool) -> ApiSchema {
    graphql::build(
        &SchemaOptions {
            max_depth: 64,
            max_introspection_depth: 64,
            max_complexity: 100_000,
            max_aliases: 1_000,
            introspection_off: false,
            trace_resolvers,
        },
        None,
        None,
    )
}

/// A migrated SQLite database, `name` in a new temporary folder, which lives as long as the
/// folder returned with it: for tests that execute the schema directly.
pub(crate) async fn temporary_sqlite(name: &str) -> (tempfile::TempDir, cognigraph_domain::Db) {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let url = format!("sqlite://{}?mode=rwc", folder.path().join(name).display());
    let db = cognigraph_domain::Db::connect(&url)
        .await
        .expect("a SQLite database");
    db.migrate().await.expect("migrations");
    (folder, db)
}

/// Everything logged on the current thread while a [`CapturedLogs::capture`] guard lives: every
/// level, plain text (no colours).
#[derive(Clone, Default)]
pub(crate) struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Starts capturing on the current thread; it stops when the guard is dropped.
    pub(crate) fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    /// What was logged so far.
    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("the log buffer").clone()).expect("UTF-8 logs")
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("the log buffer")
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Asserts that neither the payload nor the signature of any of `tokens` is in `logs`.
pub(crate) fn assert_no_token_in(logs: &str, tokens: impl IntoIterator<Item = impl AsRef<str>>) {
    for token in tokens {
        let token = token.as_ref();
        let payload = token.split('.').nth(1).expect("a JWT");
        assert!(!logs.contains(payload), "a token's payload is in the logs");
        let signature = token.rsplit('.').next().expect("a JWT");
        assert!(
            !logs.contains(signature),
            "a token's signature is in the logs"
        );
    }
}

/// The `extensions.code` of each error (the server's test helper).
pub(crate) use cognigraph_server::testing::error_codes;
