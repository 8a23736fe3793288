//! The soak: the release `cognigraph` binary under mixed reads and writes across tenants and
//! roles, on SQLite (one instance) and on PostgreSQL (two instances sharing one database), from
//! a load generator on loopback. Reports requests served, answers by status, 5xx, lost writes
//! (every acknowledged create must be there afterwards, counted through the API and its audit
//! trail), latency percentiles and each server's resident memory after warm-up and at the end.
//!
//! `just soak` (not part of `just test`). Settings through the environment: SOAK_SECS (per
//! store, default 60), SOAK_CONNECTIONS (default 64), SOAK_POSTGRES_URL or TEST_POSTGRES_URL (an
//! admin URL; without one only SQLite runs). Bounded in time, loopback only. The report is
//! printed and written to `target/bench-results/soak.md`.
#![expect(clippy::print_stdout, reason = "the report is what a benchmark prints")]
#![expect(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "percentile arithmetic on small counts"
)]
#![expect(
    clippy::expect_used,
    reason = "a benchmark stops loudly on a broken set-up"
)]

mod support;

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use cognigraph_token::testing::TestIssuer;
use serde_json::{Value, json};
use support::child_server::ChildServer;

/// The release binary this benchmark measures.
const BINARY: &str = env!("CARGO_BIN_EXE_cognigraph");

const TENANTS: [&str; 4] = ["acme", "globex", "initech", "umbrella"];
const ROLES: [&str; 3] = ["admin", "editor", "viewer"];

const PAGE: &str = "{ projects(first: 20) { totalCount edges { node { name taskCount \
    tasks(first: 10) { title status assignee { username } } } } } }";
const TASKS: &str =
    "{ tasks(first: 20) { totalCount edges { node { title createdBy { username } } } } }";
const ME: &str = "{ me { username tenant roles } }";

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One caller of the soak: a tenant, a role, a token.
#[derive(Clone)]
struct Caller {
    tenant: usize,
    role: &'static str,
    token: String,
}

/// What the load saw.
#[derive(Default)]
struct Tally {
    statuses: Mutex<BTreeMap<u16, u64>>,
    codes: Mutex<BTreeMap<String, u64>>,
    latencies: Mutex<Vec<Duration>>,
    /// Acknowledged creates per tenant: projects, tasks.
    projects: [AtomicU64; TENANTS.len()],
    tasks: [AtomicU64; TENANTS.len()],
    /// Project ids per tenant, for new tasks.
    project_ids: [Mutex<Vec<String>>; TENANTS.len()],
    failures: Mutex<Vec<String>>,
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> (u16, Value) {
    match client
        .post(format!("{url}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
    {
        Ok(response) => {
            let status = response.status().as_u16();
            (status, response.json().await.unwrap_or(Value::Null))
        }
        Err(error) => (0, json!({ "transport": error.to_string() })),
    }
}

/// One request of the mix, chosen by `n`; acknowledged creates are counted.
async fn one_request(client: &reqwest::Client, url: &str, caller: &Caller, n: u64, tally: &Tally) {
    let writer = caller.role != "viewer";
    let t = caller.tenant;
    let (query, variables, kind) = match n % 10 {
        0..=2 => (PAGE, json!({}), "read"),
        3 | 4 => (TASKS, json!({}), "read"),
        5 => (ME, json!({}), "read"),
        6 | 7 if writer => (
            "mutation($n: String!) { createProject(input: {name: $n}) { id } }",
            json!({ "n": format!("soak {n}") }),
            "project",
        ),
        8 | 9 if writer => {
            let project = {
                let ids = tally.project_ids[t].lock().expect("lock");
                ids.get(n as usize % ids.len().max(1)).cloned()
            };
            match project {
                Some(project) => (
                    "mutation($p: ID!, $t: String!) { createTask(input: {projectId: $p, title: $t}) { id } }",
                    json!({ "p": project, "t": format!("task {n}") }),
                    "task",
                ),
                None => (PAGE, json!({}), "read"),
            }
        }
        _ => (PAGE, json!({}), "read"),
    };
    let started = Instant::now();
    let (status, body) = post(client, url, &caller.token, query, variables).await;
    let elapsed = started.elapsed();
    tally.latencies.lock().expect("lock").push(elapsed);
    *tally
        .statuses
        .lock()
        .expect("lock")
        .entry(status)
        .or_default() += 1;
    if let Some(errors) = body["errors"].as_array() {
        for error in errors {
            let code = error["extensions"]["code"]
                .as_str()
                .unwrap_or("(none)")
                .to_owned();
            *tally.codes.lock().expect("lock").entry(code).or_default() += 1;
        }
    }
    if status >= 500 || status == 0 {
        tally
            .failures
            .lock()
            .expect("lock")
            .push(format!("{status}: {body}"));
    }
    match kind {
        "project" => {
            if let Some(id) = body["data"]["createProject"]["id"].as_str() {
                tally.projects[t].fetch_add(1, Ordering::Relaxed);
                tally.project_ids[t]
                    .lock()
                    .expect("lock")
                    .push(id.to_owned());
            }
        }
        "task" if body["data"]["createTask"]["id"].is_string() => {
            tally.tasks[t].fetch_add(1, Ordering::Relaxed);
        }
        _ => {}
    }
}

/// `connections` clients, each with its own kept-alive connection, send the mix to `servers` in
/// turn until `duration` has passed.
async fn run_load(
    servers: &[ChildServer],
    callers: &[Caller],
    duration: Duration,
    connections: u64,
    tally: &Arc<Tally>,
) {
    let deadline = Instant::now() + duration;
    let counter = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..connections)
        .map(|worker| {
            let (tally, counter) = (Arc::clone(tally), Arc::clone(&counter));
            let caller = callers[worker as usize % callers.len()].clone();
            let urls: Vec<String> = servers.iter().map(|s| s.url.clone()).collect();
            tokio::spawn(async move {
                let client = reqwest::Client::builder()
                    .pool_max_idle_per_host(1)
                    .build()
                    .expect("client");
                while Instant::now() < deadline {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let url = &urls[n as usize % urls.len()];
                    one_request(&client, url, &caller, n, &tally).await;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("worker");
    }
}

/// Runs the mix against `servers` for `duration` from `connections` clients; returns the report.
async fn soak(
    name: &str,
    servers: &[ChildServer],
    callers: &[Caller],
    duration: Duration,
    connections: u64,
) -> String {
    let tally = Arc::new(Tally::default());
    let admin = |tenant: usize| {
        callers
            .iter()
            .find(|c| c.tenant == tenant && c.role == "admin")
            .expect("an admin per tenant")
            .clone()
    };
    // Warm-up: members enter, one project per tenant to add tasks to.
    let client = reqwest::Client::new();
    for tenant in 0..TENANTS.len() {
        one_request(&client, &servers[0].url, &admin(tenant), 6, &tally).await;
        for caller in callers.iter().filter(|c| c.tenant == tenant) {
            for server in servers {
                post(&client, &server.url, &caller.token, ME, json!({})).await;
            }
        }
    }
    // A warm-up of the same load (a sixth of the run, at most 10 s) fills the caches and the
    // pools before memory is first read; its writes count toward the lost-writes check.
    let warm_up = (duration / 6).min(Duration::from_secs(10));
    run_load(servers, callers, warm_up, connections, &tally).await;
    tally.latencies.lock().expect("lock").clear();
    tally.statuses.lock().expect("lock").clear();
    tally.codes.lock().expect("lock").clear();
    let rss_start: Vec<f64> = servers.iter().map(ChildServer::rss_mib).collect();

    let started = Instant::now();
    run_load(servers, callers, duration, connections, &tally).await;
    let elapsed = started.elapsed();
    let rss_end: Vec<f64> = servers.iter().map(ChildServer::rss_mib).collect();

    // Lost writes: every acknowledged create is there, through the API and in the audit trail.
    let mut lost = Vec::new();
    let mut acknowledged = 0;
    for (tenant, tenant_name) in TENANTS.iter().enumerate() {
        let (status, body) = post(
            &client,
            &servers[0].url,
            &admin(tenant).token,
            "{ projects { totalCount } tasks { totalCount } auditEvents { totalCount } }",
            json!({}),
        )
        .await;
        let count = |field: &str| {
            body["data"][field]["totalCount"]
                .as_u64()
                .unwrap_or(u64::MAX)
        };
        let (projects, tasks) = (
            tally.projects[tenant].load(Ordering::Relaxed),
            tally.tasks[tenant].load(Ordering::Relaxed),
        );
        acknowledged += projects + tasks;
        if status != 200 || count("projects") != projects || count("tasks") != tasks {
            lost.push(format!(
                "{tenant_name}: acknowledged {projects} projects, {tasks} tasks; found {body}"
            ));
        }
        // Each create is an audit event; members joining add more.
        if count("auditEvents") < projects + tasks {
            lost.push(format!("{tenant_name}: audit trail short: {body}"));
        }
    }

    let mut latencies = std::mem::take(&mut *tally.latencies.lock().expect("lock"));
    latencies.sort_unstable();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len().max(1) as f64 - 1.0) * p).round() as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let served = latencies.len();
    let statuses = tally.statuses.lock().expect("lock").clone();
    let errors_5xx: u64 = statuses
        .iter()
        .filter(|(s, _)| **s >= 500 || **s == 0)
        .map(|(_, n)| n)
        .sum();
    let failures = tally.failures.lock().expect("lock").clone();
    for failure in failures.iter().take(5) {
        println!("soak {name}: failure: {failure}");
    }
    for problem in &lost {
        println!("soak {name}: LOST: {problem}");
    }
    let rss = servers
        .iter()
        .enumerate()
        .map(|(i, _)| {
            let growth = (rss_end[i] / rss_start[i].max(0.001) - 1.0) * 100.0;
            format!(
                "{:.1} → {:.1} MiB ({growth:+.1} %)",
                rss_start[i], rss_end[i]
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    format!(
        "| {name} | {} | {served} | {:.0} | {errors_5xx} | {acknowledged} | {} | {:.2} | {:.2} | {rss} | {statuses:?} | {:?} |",
        servers.len(),
        served as f64 / elapsed.as_secs_f64(),
        lost.len(),
        percentile(0.50),
        percentile(0.99),
        tally.codes.lock().expect("lock"),
    )
}

#[tokio::main]
async fn main() {
    let duration = Duration::from_secs(env_number("SOAK_SECS", 60));
    let connections = env_number("SOAK_CONNECTIONS", 64).max(1);
    let issuer = TestIssuer::start().await;
    let callers: Vec<Caller> = TENANTS
        .iter()
        .enumerate()
        .flat_map(|(tenant, name)| ROLES.iter().map(move |role| (tenant, *name, *role)))
        .map(|(tenant, name, role)| {
            let mut claims = issuer.access_claims();
            claims["sub"] = json!(format!("{name}-{role}"));
            claims["username"] = json!(format!("{name}-{role}"));
            claims["cognito:groups"] = json!([role]);
            claims["custom:tenant"] = json!(name);
            claims["exp"] = json!(cognigraph_token::testing::unix_now() + 3 * 3600);
            Caller {
                tenant,
                role,
                token: issuer.sign(&claims),
            }
        })
        .collect();

    let mut rows = Vec::new();
    let folder = tempfile::tempdir().expect("temporary folder");
    let sqlite = format!(
        "sqlite://{}?mode=rwc",
        folder.path().join("soak.db").display()
    );
    {
        let servers = [ChildServer::start(BINARY, &issuer, &sqlite, true).await];
        rows.push(soak("SQLite", &servers, &callers, duration, connections).await);
    }
    let postgres = std::env::var("SOAK_POSTGRES_URL")
        .or_else(|_| std::env::var("TEST_POSTGRES_URL"))
        .ok()
        .filter(|url| !url.is_empty());
    match postgres {
        Some(admin_url) => {
            let database = cognigraph_domain::testing::create_postgres_database(&admin_url, "soak")
                .await
                .expect("a new database on the PostgreSQL server");
            let servers = [
                ChildServer::start(BINARY, &issuer, &database.url, true).await,
                ChildServer::start(BINARY, &issuer, &database.url, true).await,
            ];
            rows.push(soak("PostgreSQL", &servers, &callers, duration, connections).await);
        }
        None => println!("soak: no SOAK_POSTGRES_URL or TEST_POSTGRES_URL: PostgreSQL skipped"),
    }

    let report = format!(
        "# Soak ({} s per store, {connections} connections, {} tenants × {} roles; editors and \
         admins write in 4 requests of 10, viewers only read)\n\n\
         | store | instances | requests | req/s | 5xx | acknowledged writes | tenants with lost writes | p50 ms | p99 ms | resident memory (warm → end) | statuses | GraphQL error codes |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|\n{}\n",
        duration.as_secs(),
        TENANTS.len(),
        ROLES.len(),
        rows.join("\n")
    );
    println!("{report}");
    let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/bench-results");
    if std::fs::create_dir_all(folder).is_ok() {
        let _ = std::fs::write(format!("{folder}/soak.md"), &report);
    }
}
