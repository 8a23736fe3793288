//! The request path against its references: the release `cognigraph` binary and three reference
//! servers (see `support/reference_servers.rs`: fixed JSON, GraphQL without authentication, the
//! same with a lean RS256 check), each a child process pinned to one core, loaded from the other
//! by N clients on keep-alive connections. For each case: requests per second and the server's
//! CPU time per request (median of the timed runs), and the ratios the project holds itself to.
//! Then cognigraph's start-up (spawn to `/readyz` 200) and resident memory at idle and under
//! load.
//!
//! `cargo bench -p cognigraph-server --bench load` (`just bench` runs it). Settings through the
//! environment: LOAD_SECS (seconds per timed run, default 2), LOAD_RUNS (rounds, each case once,
//! default 5), LOAD_CONCURRENCY (clients, default 32), LOAD_MEMORY_CONCURRENCY (clients of the
//! memory run, default 64), LOAD_COGNIGRAPH_BIN (another `cognigraph` binary to measure),
//! LOAD_ONLY (cases to run, comma-separated: `minimal`, `unchecked`, `lean`, `full`, `cached`,
//! `tenant`; for profiling one of them with `perf record -C 0`).
//! Loopback only, bounded in time. The report is printed and written to
//! `target/bench-results/load.md`.
#![expect(clippy::print_stdout, reason = "the report is what a benchmark prints")]
#![expect(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    reason = "rates and medians of small counts"
)]
#![expect(
    clippy::expect_used,
    reason = "a benchmark stops loudly on a broken set-up"
)]

mod support;

use std::time::Duration;

use cognigraph_token::testing::TestIssuer;
use serde_json::json;
use support::child_server::{ChildServer, cognigraph_command, free_port};
use support::measure::{Body, Expect, Figures, Load, Run, env_number, query};
use support::reference_servers::{self, Reference};

/// The request every reference answers.
const ME: &str = "{ me { sub groups } }";
/// `me` with the tenant: the tenant claim is read and the member synced.
const ME_TENANT: &str = "{ me { username tenant } }";

fn main() {
    if let Ok(name) = std::env::var(reference_servers::SELECT) {
        reference_servers::serve(&name);
        return;
    }
    let pinned = support::child_server::pin_load_generator();
    tokio::runtime::Runtime::new()
        .expect("a runtime")
        .block_on(run(pinned));
}

/// One measured case: a request to one of the servers.
struct Case {
    /// For `LOAD_ONLY` and the ratios.
    name: &'static str,
    description: String,
    /// Its index in the servers.
    server: usize,
    body: Body,
}

struct Report {
    text: String,
}

impl Report {
    fn row(&mut self, case: &str, figures: &Figures) {
        let line = format!(
            "| {case} | {:.0} | {:.1} | {:.1}–{:.1} | {} |",
            figures.per_second,
            figures.cpu_us,
            figures.cpu_us_min,
            figures.cpu_us_max,
            figures.failed
        );
        println!("{line}");
        self.text.push_str(&line);
        self.text.push('\n');
    }

    fn line(&mut self, line: &str) {
        println!("{line}");
        self.text.push_str(line);
        self.text.push('\n');
    }
}

async fn run(pinned: bool) {
    let load = Load::from_env("LOAD", 32, 2, 5);
    let binary = std::env::var("LOAD_COGNIGRAPH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_cognigraph").to_owned());
    let issuer = TestIssuer::start().await;
    let mut claims = issuer.access_claims();
    claims["cognito:groups"] = json!(["viewer"]);
    claims["custom:tenant"] = json!("acme");
    let token = issuer.sign(&claims);
    let me = query(ME);

    let mut report = Report {
        text: format!(
            "# The request path against its references ({} clients, {} rounds of {} s per case, \
             median; {}{})\n\n\
             Binary: `{binary}`. Server CPU is the process's user + system time over a run \
             divided by its requests. Every request carries the same access token.\n\n\
             | request | req/s | server CPU µs/req (median) | min–max | failed |\n\
             |---|---|---|---|---|\n",
            load.concurrency,
            load.runs,
            load.secs,
            std::fs::read_to_string("/proc/loadavg")
                .map(|l| format!("load average at start {}", l.trim()))
                .unwrap_or_default(),
            if pinned {
                "; servers pinned to core 0, clients to core 1"
            } else {
                "; not pinned (fewer than 2 cores or no taskset)"
            },
        ),
    };
    println!("{}", report.text);

    // Every server is started first and the cases are measured in rounds, each case once per
    // round: the machine's drift over the minutes of the benchmark then touches every case alike,
    // and the ratios compare runs made seconds apart.
    let only = std::env::var("LOAD_ONLY").unwrap_or_default();
    let wanted = |name: &str| only.is_empty() || only.split(',').any(|o| o.trim() == name);
    let database = tempfile::tempdir().expect("a temporary folder");
    let sqlite = |name: &str| format!("sqlite://{}?mode=rwc", database.path().join(name).display());
    let mut servers: Vec<ChildServer> = Vec::new();
    let mut cases: Vec<Case> = Vec::new();
    for reference in Reference::ALL {
        if wanted(reference.name()) {
            let port = free_port();
            let command = reference.command(&issuer, port);
            servers.push(ChildServer::spawn(command, port, "/ready", "/graphql").await);
            cases.push(Case {
                name: reference.name(),
                description: reference.description().to_owned(),
                server: servers.len() - 1,
                body: me.clone(),
            });
        }
    }
    if wanted("full") {
        // The token cache off: each use of the token costs what a token never seen before
        // costs (less the cache's insert).
        let port = free_port();
        let mut command = cognigraph_command(&binary, &issuer, &sqlite("full.db"), true, port);
        command.env("TOKEN_CACHE_ENTRIES", "0");
        servers.push(ChildServer::spawn(command, port, "/readyz", "/graphql").await);
        cases.push(Case {
            name: "full",
            description: format!(
                "cognigraph `{ME}`, token cache off (every request verified in full)"
            ),
            server: servers.len() - 1,
            body: me.clone(),
        });
    }
    // The defaults: a token seen before is taken from the cache.
    let defaults = ChildServer::start(&binary, &issuer, &sqlite("defaults.db"), true).await;
    let ready_after = defaults.ready_after;
    let idle_rss = defaults.rss_mib();
    servers.push(defaults);
    let defaults = servers.len() - 1;
    if wanted("cached") {
        cases.push(Case {
            name: "cached",
            description: format!("cognigraph `{ME}`, defaults (the token from the cache)"),
            server: defaults,
            body: me.clone(),
        });
    }
    if wanted("tenant") {
        cases.push(Case {
            name: "tenant",
            description: format!("cognigraph `{ME_TENANT}` (tenant claim, member sync), defaults"),
            server: defaults,
            body: query(ME_TENANT),
        });
    }

    for case in &cases {
        let server = &servers[case.server];
        load.run(server, Some(&token), &case.body, Expect::GraphqlData, 0.5)
            .await; // warm-up
    }
    let mut runs: Vec<Vec<Run>> = cases.iter().map(|_| Vec::new()).collect();
    for _ in 0..load.runs {
        for (case, runs) in cases.iter().zip(&mut runs) {
            let server = &servers[case.server];
            runs.push(
                load.run(
                    server,
                    Some(&token),
                    &case.body,
                    Expect::GraphqlData,
                    load.secs,
                )
                .await,
            );
        }
    }
    // Server CPU µs per request by case name, for the ratios.
    let mut cpu = std::collections::HashMap::new();
    for (case, runs) in cases.iter().zip(&runs) {
        let figures = Figures::of(runs);
        report.row(&case.description, &figures);
        cpu.insert(case.name, figures.cpu_us);
    }

    let memory_load = Load {
        concurrency: env_number("LOAD_MEMORY_CONCURRENCY", 64).max(1) as usize,
        secs: load.secs,
        runs: 1,
        ticks_per_second: load.ticks_per_second,
    };
    let under_load = peak_rss_during(&memory_load, &servers[defaults], &token, &me).await;

    let ratio = |a: &str, b: &str| match (cpu.get(a), cpu.get(b)) {
        (Some(a), Some(b)) => format!("{:.2}", a / b),
        _ => "(not measured)".to_owned(),
    };
    report.line("");
    report.line(&format!(
        "- cognigraph, verified in full, against the lean prototype: **{} ×** (goal ≤ 1.1)",
        ratio("full", "lean")
    ));
    report.line(&format!(
        "- cognigraph, cached token, against the no-auth prototype: **{} ×** (goal ≤ 1.2)",
        ratio("cached", "unchecked")
    ));
    report.line(&format!(
        "- cognigraph start-up, spawn to `/readyz` 200: **{:.0} ms** (goal < 300)",
        ready_after.as_secs_f64() * 1000.0
    ));
    report.line(&format!(
        "- cognigraph resident memory: **{idle_rss:.1} MiB** at idle after start (goal < 30), \
         **{under_load:.1} MiB** at most under {} connections (goal < 100)",
        memory_load.concurrency
    ));

    let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/bench-results");
    std::fs::create_dir_all(folder).expect("target/bench-results");
    let path = format!("{folder}/load.md");
    std::fs::write(&path, &report.text).expect("the report");
    println!("load: report written to {path}");
}

/// Loads `server` with `load` once, sampling its resident memory every 50 ms; the highest
/// sample.
async fn peak_rss_during(load: &Load, server: &ChildServer, token: &str, body: &Body) -> f64 {
    let peak = std::cell::Cell::new(server.rss_mib());
    let done = std::cell::Cell::new(false);
    let sampling = async {
        while !done.get() {
            peak.set(peak.get().max(server.rss_mib()));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let loading = async {
        load.run(server, Some(token), body, Expect::GraphqlData, load.secs)
            .await;
        done.set(true);
    };
    tokio::join!(loading, sampling);
    peak.get().max(server.rss_mib())
}
