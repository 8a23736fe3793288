//! Load on loopback and what it cost the server: N clients, each on its own HTTP/1.1
//! keep-alive connection (hyper's client connection, far lighter than a pooled client, so a fast
//! server is not measured against a slow generator), sending POSTs for a fixed time. The figure
//! that matters is the server's CPU time per request: the process's user + system time from
//! `/proc/<pid>/stat` over the run, divided by the requests answered. It is steadier than
//! requests per second on a shared machine, and a database running inside the server (SQLite)
//! is counted with it.

use std::{
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;

/// A request body by client number and that client's request count.
pub(crate) type Body = Arc<dyn Fn(usize, u64) -> String + Send + Sync>;

/// The same body for every request.
pub(crate) fn fixed(body: String) -> Body {
    Arc::new(move |_, _| body.clone())
}

/// A GraphQL request body of `query` alone.
pub(crate) fn query(text: &str) -> Body {
    fixed(serde_json::json!({ "query": text }).to_string())
}

/// What one answer must be to count as answered.
#[derive(Clone, Copy)]
pub(crate) enum Expect {
    /// A 200 whose body has no `"errors"` member.
    GraphqlData,
    /// Any 200.
    Ok,
}

/// A server process under measurement.
pub(crate) trait Measured {
    /// `http://127.0.0.1:{port}{path}` of the endpoint to load.
    fn target(&self) -> (std::net::SocketAddr, String);
    /// The process id, for its CPU time.
    fn pid(&self) -> u32;
}

/// How hard and how long to load.
pub(crate) struct Load {
    pub(crate) concurrency: usize,
    pub(crate) secs: f64,
    pub(crate) runs: usize,
    pub(crate) ticks_per_second: f64,
}

/// One timed run: requests answered, requests failed, seconds, server CPU seconds.
#[derive(Clone, Copy)]
pub(crate) struct Run {
    pub(crate) requests: u64,
    pub(crate) failed: u64,
    pub(crate) seconds: f64,
    pub(crate) cpu: f64,
}

impl Run {
    pub(crate) fn per_second(self) -> f64 {
        self.requests as f64 / self.seconds
    }

    pub(crate) fn cpu_us(self) -> f64 {
        self.cpu * 1e6 / self.requests.max(1) as f64
    }
}

/// A case's result: the medians of the timed runs, and the spread of CPU per request.
pub(crate) struct Figures {
    pub(crate) per_second: f64,
    pub(crate) cpu_us: f64,
    pub(crate) cpu_us_min: f64,
    pub(crate) cpu_us_max: f64,
    /// Answers that did not meet the expectation, in all timed runs.
    pub(crate) failed: u64,
}

pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// A number from the environment, or `default`.
pub(crate) fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Clock ticks per second, the unit of `/proc/<pid>/stat` times.
pub(crate) fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100.0)
}

/// A process's CPU time so far (user + system, all threads), in seconds (Linux).
pub(crate) fn cpu_seconds(pid: u32, ticks_per_second: f64) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/<pid>/stat");
    // Fields after the command name (which may hold spaces) start at field 3; utime and stime
    // are fields 14 and 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| fields[i - 3].parse::<f64>().expect("a tick count");
    (ticks(14) + ticks(15)) / ticks_per_second
}

/// A process's resident memory in MiB (Linux).
pub(crate) fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

impl Load {
    /// From `{PREFIX}_CONCURRENCY`, `{PREFIX}_SECS` and `{PREFIX}_RUNS`, with these defaults.
    pub(crate) fn from_env(prefix: &str, concurrency: u64, secs: u64, runs: u64) -> Self {
        Self {
            concurrency: env_number(&format!("{prefix}_CONCURRENCY"), concurrency).max(1) as usize,
            secs: env_number(&format!("{prefix}_SECS"), secs) as f64,
            runs: env_number(&format!("{prefix}_RUNS"), runs).max(1) as usize,
            ticks_per_second: ticks_per_second(),
        }
    }

    /// Sends `body` with `token` from `concurrency` clients for `seconds`.
    pub(crate) async fn run(
        &self,
        server: &impl Measured,
        token: Option<&str>,
        body: &Body,
        expect: Expect,
        seconds: f64,
    ) -> Run {
        let (address, path) = server.target();
        let deadline = Instant::now() + Duration::from_secs_f64(seconds);
        let answered = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let cpu_before = cpu_seconds(server.pid(), self.ticks_per_second);
        let started = Instant::now();
        let authorization = token.map(|token| format!("Bearer {token}"));
        let workers: Vec<_> = (0..self.concurrency)
            .map(|worker| {
                let (path, authorization, body, answered, failed) = (
                    path.clone(),
                    authorization.clone(),
                    Arc::clone(body),
                    Arc::clone(&answered),
                    Arc::clone(&failed),
                );
                tokio::spawn(async move {
                    let stream = tokio::net::TcpStream::connect(address)
                        .await
                        .expect("connect");
                    stream.set_nodelay(true).expect("TCP_NODELAY");
                    let (mut sender, connection) =
                        hyper::client::conn::http1::handshake(TokioIo::new(stream))
                            .await
                            .expect("HTTP/1.1 handshake");
                    tokio::spawn(connection);
                    let mut n = 0;
                    while Instant::now() < deadline {
                        let mut request = hyper::Request::post(path.as_str())
                            .header("host", address.to_string())
                            .header("content-type", "application/json");
                        if let Some(authorization) = &authorization {
                            request = request.header("authorization", authorization);
                        }
                        let request = request
                            .body(Full::new(Bytes::from(body(worker, n))))
                            .expect("a request");
                        let response = sender.send_request(request).await.expect("an answer");
                        let status = response.status();
                        let text = response
                            .into_body()
                            .collect()
                            .await
                            .expect("the body")
                            .to_bytes();
                        n += 1;
                        let good = status.is_success()
                            && match expect {
                                Expect::Ok => true,
                                Expect::GraphqlData => {
                                    !text.windows(8).any(|window| window == b"\"errors\"")
                                }
                            };
                        if good {
                            answered.fetch_add(1, Ordering::Relaxed);
                        } else if failed.fetch_add(1, Ordering::Relaxed) == 0 {
                            // Counted, not fatal: an old build may time out (408) on large data.
                            println!(
                                "a failed answer: {status}: {:.200}",
                                String::from_utf8_lossy(&text)
                            );
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.await.expect("worker");
        }
        let seconds = started.elapsed().as_secs_f64();
        let cpu = cpu_seconds(server.pid(), self.ticks_per_second) - cpu_before;
        Run {
            requests: answered.load(Ordering::Relaxed),
            failed: failed.load(Ordering::Relaxed),
            seconds,
            cpu,
        }
    }

    /// Half a second of warm-up, then `runs` timed runs; medians and spread.
    pub(crate) async fn measure(
        &self,
        server: &impl Measured,
        token: Option<&str>,
        body: &Body,
        expect: Expect,
    ) -> Figures {
        self.run(server, token, body, expect, 0.5).await;
        let mut runs = Vec::new();
        for _ in 0..self.runs {
            runs.push(self.run(server, token, body, expect, self.secs).await);
        }
        Figures::of(&runs)
    }
}

impl Figures {
    /// The medians and spread of `runs` (at least one).
    pub(crate) fn of(runs: &[Run]) -> Self {
        let cpu: Vec<f64> = runs.iter().map(|run| run.cpu_us()).collect();
        Self {
            per_second: median(runs.iter().map(|run| run.per_second()).collect()),
            cpu_us: median(cpu.clone()),
            cpu_us_min: cpu.iter().copied().fold(f64::INFINITY, f64::min),
            cpu_us_max: cpu.iter().copied().fold(0.0, f64::max),
            failed: runs.iter().map(|run| run.failed).sum(),
        }
    }
}
