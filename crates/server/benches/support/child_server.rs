//! The `cognigraph` binary as a child process on a free loopback port, for the benchmarks that
//! measure the real server (`soak`, `pages`): started with the test issuer's pool, waited for
//! until `/readyz` answers 200, and killed when dropped.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use cognigraph_token::testing::TestIssuer;

pub(crate) struct ChildServer {
    child: Child,
    /// `http://127.0.0.1:{port}`.
    pub(crate) url: String,
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ChildServer {
    /// Starts `binary serve` on `database_url`, tenants from the token's claim, warnings and
    /// errors to stderr; applies pending migrations first when `migrate` is set.
    pub(crate) async fn start(
        binary: &str,
        issuer: &TestIssuer,
        database_url: &str,
        migrate: bool,
    ) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(binary)
            .arg("serve")
            .env_clear()
            .env("COGNITO_REGION", "us-east-1")
            .env("COGNITO_USER_POOL_ID", issuer.pool_id())
            .env("COGNITO_CLIENT_ID", issuer.client_id())
            .env("COGNITO_JWKS_URL", issuer.jwks_url())
            .env("TENANT_SOURCE", "claim")
            .env("DATABASE_URL", database_url)
            .env("MIGRATE_ON_START", if migrate { "true" } else { "false" })
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the cognigraph binary starts");
        let url = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(response) = client.get(format!("{url}/readyz")).send().await
                && response.status().is_success()
            {
                break;
            }
            assert!(Instant::now() < deadline, "cognigraph never became ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { child, url }
    }

    /// `http://127.0.0.1:{port}/graphql`.
    pub(crate) fn graphql_url(&self) -> String {
        format!("{}/graphql", self.url)
    }

    /// The process's CPU time so far (user + system, all threads), in seconds (Linux).
    pub(crate) fn cpu_seconds(&self, ticks_per_second: f64) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .expect("/proc/<pid>/stat");
        // Fields after the command name (which may hold spaces) start at field 3; utime and
        // stime are fields 14 and 15.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace()
            .collect();
        let ticks = |i: usize| fields[i - 3].parse::<f64>().expect("a tick count");
        (ticks(14) + ticks(15)) / ticks_per_second
    }

    /// Resident memory in MiB (Linux).
    pub(crate) fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    }
}
