//! A server as a child process on a free loopback port, for the benchmarks that measure real
//! processes (`load`, `pages`, `soak`): the `cognigraph` binary with the test issuer's pool, or
//! any other command (the reference servers). Waited for until its readiness path answers 200,
//! and killed when dropped.
//!
//! On a machine of two or more cores (and with `taskset`), servers run pinned to core 0 and the
//! benchmark's load generator to core 1 ([`pin_load_generator`]), so that neither steals the
//! other's CPU and a server's CPU time per request is its own.

use std::{
    net::{Ipv4Addr, SocketAddr},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use cognigraph_token::testing::TestIssuer;

use super::measure::{self, Measured};

/// The core servers run on, when pinning.
const SERVER_CORE: &str = "0";
/// The core the load generator runs on, when pinning.
const LOAD_CORE: &str = "1";

/// Whether servers and load generator get a core each. Decided once, before this process pins
/// itself (after that it sees one core).
fn pinning() -> bool {
    static PINNING: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *PINNING.get_or_init(|| {
        std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2)
            && Command::new("taskset")
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
    })
}

/// Pins this process to the load generator's core. Call it before any runtime starts: threads
/// created afterwards inherit the mask. Returns whether it pinned.
pub(crate) fn pin_load_generator() -> bool {
    pinning()
        && Command::new("taskset")
            .args(["-p", "-c", LOAD_CORE, &std::process::id().to_string()])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
}

/// `program`, pinned to the servers' core when pinning is possible.
pub(crate) fn server_command(program: &str) -> Command {
    if pinning() {
        let mut command = Command::new("taskset");
        command.args(["-c", SERVER_CORE, program]);
        command
    } else {
        Command::new(program)
    }
}

/// A free port on 127.0.0.1.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

pub(crate) struct ChildServer {
    child: Child,
    port: u16,
    /// `http://127.0.0.1:{port}`.
    pub(crate) url: String,
    /// The path the load goes to.
    path: String,
    /// From the spawn to the first 200 on the readiness path.
    pub(crate) ready_after: Duration,
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Measured for ChildServer {
    fn target(&self) -> (SocketAddr, String) {
        (
            SocketAddr::from((Ipv4Addr::LOCALHOST, self.port)),
            self.path.clone(),
        )
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// `binary serve` on `database_url` and `port`, tenants from the token's claim, warnings and
/// errors to stderr; applies pending migrations first when `migrate` is set. More settings can
/// be added to the command before it starts.
pub(crate) fn cognigraph_command(
    binary: &str,
    issuer: &TestIssuer,
    database_url: &str,
    migrate: bool,
    port: u16,
) -> Command {
    let mut command = server_command(binary);
    command
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
        .env("RUST_LOG", "warn");
    command
}

impl ChildServer {
    /// Starts the `cognigraph` binary as [`cognigraph_command`] sets it up.
    pub(crate) async fn start(
        binary: &str,
        issuer: &TestIssuer,
        database_url: &str,
        migrate: bool,
    ) -> Self {
        let port = free_port();
        let command = cognigraph_command(binary, issuer, database_url, migrate, port);
        Self::spawn(command, port, "/readyz", "/graphql").await
    }

    /// Spawns `command`, which must listen on `port`, and waits (30 s at most) until `ready_path`
    /// answers 200. Load goes to `load_path`.
    pub(crate) async fn spawn(
        mut command: Command,
        port: u16,
        ready_path: &str,
        load_path: &str,
    ) -> Self {
        let started = Instant::now();
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the server starts");
        let url = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let deadline = started + Duration::from_secs(30);
        let ready_after = loop {
            if let Ok(response) = client.get(format!("{url}{ready_path}")).send().await
                && response.status().is_success()
            {
                break started.elapsed();
            }
            assert!(Instant::now() < deadline, "the server never became ready");
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        Self {
            child,
            port,
            url,
            path: load_path.to_owned(),
            ready_after,
        }
    }

    /// `http://127.0.0.1:{port}/graphql`.
    pub(crate) fn graphql_url(&self) -> String {
        format!("{}/graphql", self.url)
    }

    /// Resident memory in MiB (Linux).
    pub(crate) fn rss_mib(&self) -> f64 {
        measure::rss_mib(self.child.id())
    }
}
