//! The domain's integration tests, one binary. Every database test runs on a fresh database of its
//! own: on SQLite always, and also on PostgreSQL when `TEST_POSTGRES_URL` (an admin URL such as
//! `postgres://postgres@127.0.0.1:55432/postgres`) is set; each PostgreSQL test then creates a
//! database `test_<uuid>` and drops it afterwards. An unreachable server fails the tests.
//!
//! A custom harness (libtest-mimic), so that the PostgreSQL variants exist only when asked for
//! instead of passing silently. Filter and flags work as with `cargo test`:
//! `cargo test -p cognigraph-domain -- postgres::concurrency`.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap is a failed test; the harness has no #[test] fns for clippy to see"
)]

mod audit;
mod concurrency;
mod isolation;
mod lifecycle;
mod member_admin;
mod members;
mod pagination;
mod plumbing;
mod policy;
mod row_security;
mod support;

use std::process::ExitCode;

use libtest_mimic::{Arguments, Failed, Trial};
use support::Backend;

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let mut backends = vec![Backend::Sqlite];
    if let Some(url) = std::env::var("TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.is_empty())
    {
        backends.push(Backend::Postgres(url));
    }

    let mut trials = Vec::new();
    for (module, tests) in [
        ("plumbing", plumbing::pure_tests()),
        ("policy", policy::pure_tests()),
        ("pagination", pagination::pure_tests()),
    ] {
        for (name, test) in tests {
            trials.push(Trial::test(format!("{module}::{name}"), move || {
                test();
                Ok(())
            }));
        }
    }
    for (module, tests) in [
        ("audit", audit::tests()),
        ("concurrency", concurrency::tests()),
        ("isolation", isolation::tests()),
        ("lifecycle", lifecycle::tests()),
        ("member_admin", member_admin::tests()),
        ("members", members::tests()),
        ("pagination", pagination::tests()),
        ("plumbing", plumbing::tests()),
        ("policy", policy::tests()),
        ("row_security", row_security::tests()),
    ] {
        for test in tests {
            for backend in &backends {
                let backend = backend.clone();
                let run = test.run;
                trials.push(Trial::test(
                    format!("{}::{module}::{}", backend.name(), test.name),
                    move || support::run(&backend, run).map_err(Failed::from),
                ));
            }
        }
    }
    libtest_mimic::run(&args, trials).exit_code()
}
