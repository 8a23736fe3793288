//! The first run: the real `cognigraph` binary on an empty database, the migration setting, a
//! readiness probe that knows about migrations, `.env`, and secrets kept out of `--help`.

use std::{
    io::{BufRead as _, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    sync::{Arc, mpsc},
    time::{Duration, Instant},
};

use cognigraph_migration::{Migrator, MigratorTrait as _};
use cognigraph_server::{config::Settings, startup::Application};
use cognigraph_token::{CognitoVerifier, testing::TestIssuer};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{FreshDatabase, fresh_postgres_database, pool_args};

/// How long a start-up may take (a debug build on a busy machine).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The settings of `issuer`'s pool as environment variables, nothing else.
fn pool_env(issuer: &TestIssuer) -> Vec<(&'static str, String)> {
    vec![
        ("COGNITO_REGION", "us-east-1".to_owned()),
        ("COGNITO_USER_POOL_ID", issuer.pool_id().to_owned()),
        ("COGNITO_CLIENT_ID", issuer.client_id().to_owned()),
        ("COGNITO_JWKS_URL", issuer.jwks_url()),
    ]
}

/// `cognigraph` with an empty environment (the test's own settings only) in `folder`, so neither
/// the developer's environment nor a `.env` of the repository leaks in.
fn cognigraph(folder: &Path, env: &[(&str, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cognigraph"));
    command.current_dir(folder).env_clear();
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// A running `cognigraph serve`, killed when dropped.
struct Running {
    child: Child,
    address: String,
    /// Its stdout lines after "listening" (JSON log events).
    logs: mpsc::Receiver<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `cognigraph serve` (JSON logs, port 0) and waits for its "listening" line.
fn serve(folder: &Path, env: &[(&str, String)]) -> Running {
    let mut env = env.to_vec();
    env.extend([
        ("LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("LOG_FORMAT", "json".to_owned()),
    ]);
    let mut child = cognigraph(folder, &env)
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        // Reads to the end, so the child never blocks on a full pipe.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let line = received
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("no \"listening\" line: {:?}", child.try_wait()));
        let Ok(event) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if event["message"] == "listening" {
            let address = format!("http://{}", event["addr"].as_str().unwrap());
            return Running {
                child,
                address,
                logs: received,
            };
        }
    }
}

/// Runs `cognigraph serve` expecting it to stop on its own; its exit code and stderr. Fails if it
/// is still running after the start-up timeout (it started although it should not have).
fn serve_expecting_exit(folder: &Path, env: &[(&str, String)]) -> (Option<i32>, String) {
    let mut env = env.to_vec();
    env.push(("LISTEN_ADDR", "127.0.0.1:0".to_owned()));
    let mut child = cognigraph(folder, &env)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + START_TIMEOUT;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cognigraph serve started instead of stopping");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

async fn wait_until_ready(client: &reqwest::Client, address: &str) {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let response = client
            .get(format!("{address}/readyz"))
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::OK {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never ready: {}",
            response.text().await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn editor_token(issuer: &TestIssuer, tenant: &str) -> String {
    let mut claims = issuer.access_claims();
    claims["cognito:groups"] = json!(["editor"]);
    claims["custom:tenant"] = json!(tenant);
    issuer.sign(&claims)
}

/// `{ projects(first: 1) { totalCount } }` to `app`, as an editor of tenant `acme`.
async fn count_projects(
    client: &reqwest::Client,
    app: &Running,
    issuer: &TestIssuer,
) -> reqwest::Response {
    client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(editor_token(issuer, "acme"))
        .json(&json!({"query": "{ projects(first: 1) { totalCount } }"}))
        .send()
        .await
        .unwrap()
}

/// The issue's first run: default settings but the pool, an empty folder (so the default
/// `sqlite://cognigraph.db` is a new file), and the first tenant query answers data.
#[tokio::test]
async fn the_binary_on_an_empty_sqlite_file_migrates_and_answers_tenant_queries() {
    let issuer = TestIssuer::start().await;
    let folder = tempfile::tempdir().unwrap();
    let app = serve(folder.path(), &pool_env(&issuer));
    assert!(folder.path().join("cognigraph.db").exists());
    let client = reqwest::Client::new();
    wait_until_ready(&client, &app.address).await;

    let response = count_projects(&client, &app, &issuer).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"data": {"projects": {"totalCount": 0}}}),
        "{body}"
    );
}

/// The binary's allocator (mimalloc, `crates/server/src/main.rs`) is built to take no
/// transparent huge pages (`.cargo/config.toml`): with them, each thread's first allocation made
/// 2 MiB resident, and memory at idle went from 28 to 43 MiB. (On a kernel whose THP mode is
/// `never` there are none to take, and this passes whatever the build.)
#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_binary_takes_no_transparent_huge_pages() {
    let issuer = TestIssuer::start().await;
    let folder = tempfile::tempdir().unwrap();
    let app = serve(folder.path(), &pool_env(&issuer));
    let client = reqwest::Client::new();
    wait_until_ready(&client, &app.address).await;
    // A request, so that the threads that serve one have allocated.
    let response = count_projects(&client, &app, &issuer).await;
    assert_eq!(response.status(), StatusCode::OK);

    let memory = std::fs::read_to_string(format!("/proc/{}/smaps_rollup", app.child.id())).unwrap();
    let huge_kib = memory
        .lines()
        .find_map(|line| line.strip_prefix("AnonHugePages:"))
        .and_then(|size| {
            size.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .unwrap_or_else(|| panic!("no AnonHugePages in smaps_rollup: {memory}"));
    assert_eq!(huge_kib, 0, "{memory}");
}

/// `MIGRATE_ON_START=false` on a new SQLite file: start-up stops and says what to run.
#[tokio::test]
async fn migrate_false_refuses_to_start_on_a_schema_that_is_behind() {
    let issuer = TestIssuer::start().await;
    let folder = tempfile::tempdir().unwrap();
    let mut env = pool_env(&issuer);
    env.push(("MIGRATE_ON_START", "false".to_owned()));
    let (code, stderr) = serve_expecting_exit(folder.path(), &env);
    assert_ne!(code, Some(0), "{stderr}");
    assert!(stderr.contains("cognigraph migrate"), "{stderr}");
    assert!(stderr.contains("--migrate"), "{stderr}");
}

/// On PostgreSQL the default (`auto`) never migrates: a fresh database stops start-up with a
/// message naming `cognigraph migrate`; after `cognigraph migrate` the service starts.
#[tokio::test]
async fn on_a_fresh_postgres_database_start_up_stops_until_migrated() {
    let FreshDatabase {
        url: database_url, ..
    } = fresh_postgres_database().await;
    let issuer = TestIssuer::start().await;
    let folder = tempfile::tempdir().unwrap();
    let mut env = pool_env(&issuer);
    env.push(("DATABASE_URL", database_url.clone()));
    let (code, stderr) = serve_expecting_exit(folder.path(), &env);
    assert_ne!(code, Some(0), "{stderr}");
    assert!(stderr.contains("cognigraph migrate"), "{stderr}");
    assert!(stderr.contains("MIGRATE_ON_START=auto"), "{stderr}");

    let migrate = cognigraph(folder.path(), &env)
        .arg("migrate")
        .output()
        .unwrap();
    assert!(migrate.status.success(), "{migrate:?}");
    let app = serve(folder.path(), &env);
    wait_until_ready(&reqwest::Client::new(), &app.address).await;
}

/// `/readyz` says 503 while migrations are pending, 200 once they are applied, and from then on
/// answers from memory (no migration query per probe).
#[tokio::test]
async fn readyz_is_not_ready_while_migrations_are_pending() {
    let issuer = TestIssuer::start().await;
    let folder = tempfile::tempdir().unwrap();
    let database_url = format!(
        "sqlite://{}?mode=rwc",
        folder.path().join("cognigraph.db").display()
    );
    let settings = Settings::try_parse_from_args(
        [
            "--database-url",
            &database_url,
            "--listen-addr",
            "127.0.0.1:0",
        ]
        .map(str::to_owned)
        .into_iter()
        .chain(pool_args(&issuer)),
    )
    .unwrap();
    let verifier =
        Arc::new(CognitoVerifier::new(settings.cognito.verifier_config().unwrap()).unwrap());
    let app = Application::build_with_verifier(&settings, verifier)
        .await
        .unwrap();
    app.hydrate().await;
    let address = format!("http://{}", app.local_addr());
    let db = app.db().clone();
    let server = tokio::spawn(app.run_until(std::future::pending()));
    let client = reqwest::Client::new();
    let readyz = async || {
        let response = client
            .get(format!("{address}/readyz"))
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    };

    // Someone rolls the schema back under the running service.
    let other = sea_orm::Database::connect(&database_url).await.unwrap();
    Migrator::down(&other, None).await.unwrap();
    let (status, body) = readyz().await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("cognigraph migrate"), "{body}");

    db.migrate().await.unwrap();
    assert_eq!(readyz().await.0, StatusCode::OK);
    let statements = db.statement_count();
    assert_eq!(readyz().await.0, StatusCode::OK);
    assert_eq!(readyz().await.0, StatusCode::OK);
    assert_eq!(
        db.statement_count(),
        statements,
        "an up-to-date schema is not asked about again"
    );
    server.abort();
}

/// `.env` in the working directory fills in settings, and a variable of the real environment
/// wins over it.
#[tokio::test]
async fn dotenv_fills_in_settings_without_overriding_the_environment() {
    let issuer = TestIssuer::start().await;
    let folder = tempfile::tempdir().unwrap();
    let mut dotenv: String = pool_env(&issuer)
        .iter()
        .map(|(name, value)| format!("{name}={value}\n"))
        .collect();
    // `serve` sets LISTEN_ADDR=127.0.0.1:0 in the environment: this line must lose.
    dotenv.push_str("LISTEN_ADDR=not-an-address\n");
    std::fs::write(folder.path().join(".env"), dotenv).unwrap();
    let app = serve(folder.path(), &[]);
    wait_until_ready(&reqwest::Client::new(), &app.address).await;
}

/// A `.env` that cannot be parsed stops the binary with a message naming it.
#[test]
fn a_malformed_dotenv_is_a_clear_error() {
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(folder.path().join(".env"), "COGNITO_REGION='unterminated\n").unwrap();
    let output = cognigraph(folder.path(), &[])
        .arg("schema")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains(".env"), "{stderr}");
}

/// `--help` names the variables of secrets but never shows their values.
#[test]
fn help_never_shows_a_secret_from_the_environment() {
    let folder = tempfile::tempdir().unwrap();
    let env = [
        (
            "DATABASE_URL",
            "postgres://app:hunter2@db.example.com/cognigraph".to_owned(),
        ),
        (
            "GRAPHIQL_DEFAULT_HEADERS",
            r#"{"Authorization":"Bearer sekrit-token"}"#.to_owned(),
        ),
    ];
    for command in ["serve", "migrate"] {
        let output = cognigraph(folder.path(), &env)
            .args([command, "--help"])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(help.contains("DATABASE_URL"), "{help}");
        assert!(!help.contains("hunter2"), "{command} --help: {help}");
        assert!(!help.contains("sekrit-token"), "{command} --help: {help}");
    }
}

/// `cognigraph dev seed --sandbox-region` takes the standard AWS configuration, as against a
/// real sandbox pool: region, credentials from the environment, the endpoint from
/// `AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER` (here the emulator, standing in for AWS). The
/// settings it writes name no emulator and no credentials.
#[test]
fn dev_seed_reaches_a_sandbox_pool_through_the_standard_aws_configuration() {
    let emulator = std::env::var("COGNITO_EMULATOR_URL")
        .unwrap_or_else(|_| "http://127.0.0.1:5000".to_owned());
    let folder = tempfile::tempdir().unwrap();
    let output = cognigraph(
        folder.path(),
        &[
            (
                "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
                emulator.clone(),
            ),
            ("AWS_ACCESS_KEY_ID", "sandbox-key".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "sandbox-secret".to_owned()),
            ("AWS_CONFIG_FILE", "/nonexistent".to_owned()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent".to_owned()),
        ],
    )
    .args(["dev", "seed", "--sandbox-region", "eu-west-1"])
    .args([
        "--pool-name",
        &format!("it-sandbox-{}", uuid::Uuid::new_v4().simple()),
    ])
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "needs the emulator at {emulator} (`just emulator`): {stdout} {stderr}"
    );
    assert!(stdout.contains("alice    ADMIN    acme"), "{stdout}");
    let env = std::fs::read_to_string(folder.path().join(".dev/cognigraph.env")).unwrap();
    assert!(env.contains("COGNITO_REGION='eu-west-1'\n"), "{env}");
    assert!(env.contains("COGNITO_USER_POOL_ID='eu-west-1_"), "{env}");
    assert!(env.contains("USER_MANAGEMENT='true'\n"), "{env}");
    for emulator_only in [
        "COGNITO_ENDPOINT",
        "COGNITO_JWKS_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET",
    ] {
        assert!(!env.contains(emulator_only), "{emulator_only} in {env}");
    }
}

/// With `OTEL_EXPORTER_OTLP_ENDPOINT`, a request's spans (the request's and the GraphQL ones down
/// to each resolver) reach an OTLP collector (here one of the test's own, recording what it is
/// sent) under the trace of the caller's `traceparent`, and the JSON logs name that trace.
#[tokio::test]
async fn traces_reach_the_otlp_endpoint_under_the_callers_trace() {
    use axum::{Router, extract::State, routing::post};
    let received: Arc<std::sync::Mutex<Vec<Vec<u8>>>> = Arc::default();
    let collector = Router::new()
        .route(
            "/v1/traces",
            post(
                |State(received): State<Arc<std::sync::Mutex<Vec<Vec<u8>>>>>,
                 body: axum::body::Bytes| async move {
                    received.lock().unwrap().push(body.to_vec());
                    StatusCode::OK
                },
            ),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector_address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, collector).await });

    let issuer = TestIssuer::start().await;
    let folder = tempfile::tempdir().unwrap();
    let mut env = pool_env(&issuer);
    env.extend([
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://{collector_address}"),
        ),
        ("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()),
    ]);
    let running = serve(folder.path(), &env);
    let client = reqwest::Client::new();
    wait_until_ready(&client, &running.address).await;

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let traceparent = format!("00-{trace_id}-00f067aa0ba902b7-01");
    let token = issuer.sign(&issuer.access_claims());
    let answer: Value = client
        .post(format!("{}/graphql", running.address))
        .bearer_auth(&token)
        .header("traceparent", &traceparent)
        .json(&json!({"query": "{ me { sub } }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(answer["data"]["me"]["sub"].is_string(), "{answer}");

    // The exported spans: the trace id (16 bytes in the protobuf), the request span and the
    // GraphQL spans down to the resolver of `me`.
    let trace_bytes: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&trace_id[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    let exported = loop {
        let all: Vec<u8> = received.lock().unwrap().concat();
        let contains = |needle: &[u8]| all.windows(needle.len()).any(|w| w == needle);
        if contains(&trace_bytes) && contains(b"field") && contains(b"me") {
            break all;
        }
        assert!(
            Instant::now() < deadline,
            "no spans of trace {trace_id} exported"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for name in [
        &b"request"[..],
        b"parse",
        b"validation",
        b"execute",
        b"cognigraph",
    ] {
        assert!(
            exported.windows(name.len()).any(|w| w == name),
            "{} not exported",
            String::from_utf8_lossy(name)
        );
    }

    // A refused token is logged (info) inside the request span, which names the trace.
    let refused = client
        .post(format!("{}/graphql", running.address))
        .bearer_auth("not-a-token")
        .header("traceparent", &traceparent)
        .json(&json!({"query": "{ me { sub } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let line = running
            .logs
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("a log line naming the trace");
        let Ok(event) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if event["message"] == "token refused" {
            assert_eq!(event["span"]["trace_id"], trace_id, "{line}");
            break;
        }
    }
}
