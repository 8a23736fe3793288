//! Prometheus metrics (the `prometheus-client` crate: lock-free counters, text format 0.0.4),
//! served at `/metrics` on `METRICS_ADDR`:
//!
//! - `cognigraph_graphql_requests_total` and `cognigraph_graphql_request_duration_seconds`
//!   (histogram), by `operation_type` (`query`, `mutation`, `invalid`);
//! - `cognigraph_auth_failures_total`, by the verifier's `code`;
//! - `cognigraph_jwks_fetches_total` by `outcome` (`success`, `failure`), and
//!   `cognigraph_token_cache_lookups_total` by `outcome` (`hit`, `miss`);
//! - `cognigraph_db_connections` by `state` (`idle`, `in_use`);
//! - on Linux, the standard process figures: `process_cpu_seconds_total`,
//!   `process_resident_memory_bytes`, `process_open_fds`, `process_start_time_seconds`.

use std::time::Duration;

use cognigraph_domain::PoolUsage;
use cognigraph_token::{FetchStats, TokenCacheStats};
use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric as _},
    metrics::{
        counter::{ConstCounter, Counter},
        family::Family,
        gauge::ConstGauge,
        histogram::Histogram,
    },
    registry::Registry,
};

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation_type: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabel {
    code: &'static str,
}

type Histograms = Family<OperationLabel, Histogram, fn() -> Histogram>;

/// The service's metrics. Recording is lock-free (atomics; a read lock on a label's family).
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<OperationLabel, Counter>,
    durations: Histograms,
    auth_failures: Family<CodeLabel, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<OperationLabel, Counter>::default();
        registry.register(
            "cognigraph_graphql_requests",
            "GraphQL requests by operation type",
            requests.clone(),
        );
        let durations: Histograms =
            Family::new_with_constructor(|| Histogram::new(BUCKETS.iter().copied()));
        registry.register(
            "cognigraph_graphql_request_duration_seconds",
            "GraphQL request latency by operation type",
            durations.clone(),
        );
        let auth_failures = Family::<CodeLabel, Counter>::default();
        registry.register(
            "cognigraph_auth_failures",
            "Refused authentications by code",
            auth_failures.clone(),
        );
        registry.register_collector(Box::new(ProcessFigures));
        Self {
            registry,
            requests,
            durations,
            auth_failures,
        }
    }
}

impl Metrics {
    /// Records one GraphQL request of `operation_type` (`query`, `mutation`, `invalid`).
    pub(crate) fn observe_request(&self, operation_type: &'static str, elapsed: Duration) {
        let label = OperationLabel { operation_type };
        self.requests.get_or_create(&label).inc();
        self.durations
            .get_or_create(&label)
            .observe(elapsed.as_secs_f64());
    }

    /// Records a refused authentication by its code.
    pub(crate) fn count_auth_failure(&self, code: &'static str) {
        self.auth_failures.get_or_create(&CodeLabel { code }).inc();
    }

    /// The Prometheus text exposition (format 0.0.4), with the figures kept elsewhere as they
    /// are now.
    pub(crate) fn render(
        &self,
        jwks: FetchStats,
        token_cache: TokenCacheStats,
        connections: PoolUsage,
    ) -> String {
        let mut scrape = Registry::default();
        scrape.register_collector(Box::new(Snapshot {
            jwks,
            token_cache,
            connections,
        }));
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &scrape);
        out
    }
}

/// Counts kept by the verifier and the database pools, read at each scrape.
#[derive(Debug)]
struct Snapshot {
    jwks: FetchStats,
    token_cache: TokenCacheStats,
    connections: PoolUsage,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let counters = [
            (
                "cognigraph_jwks_fetches",
                "JWKS fetches by outcome.",
                [
                    ("success", self.jwks.succeeded),
                    ("failure", self.jwks.failed),
                ],
            ),
            (
                "cognigraph_token_cache_lookups",
                "Verified-token cache lookups by outcome.",
                [
                    ("hit", self.token_cache.hits),
                    ("miss", self.token_cache.misses),
                ],
            ),
        ];
        for (name, help, values) in counters {
            let mut family = encoder.encode_descriptor(
                name,
                help,
                None,
                ConstCounter::new(0_u64).metric_type(),
            )?;
            for (outcome, value) in values {
                ConstCounter::new(value)
                    .encode(family.encode_family(&OutcomeLabel { outcome })?)?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "cognigraph_db_connections",
            "Open database connections by state.",
            None,
            ConstGauge::new(0_i64).metric_type(),
        )?;
        let idle = i64::from(self.connections.idle);
        let in_use = i64::from(self.connections.open) - idle;
        for (state, value) in [("idle", idle), ("in_use", in_use.max(0))] {
            ConstGauge::new(value).encode(family.encode_family(&StateLabel { state })?)?;
        }
        Ok(())
    }
}

/// The standard process figures, from `/proc/self` (Linux); nothing elsewhere.
#[derive(Debug)]
struct ProcessFigures;

/// Clock ticks per second in `/proc/*/stat` (`USER_HZ`: 100 on every Linux architecture).
const TICKS_PER_SECOND: f64 = 100.0;

impl Collector for ProcessFigures {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let Some(figures) = read_process_figures() else {
            return Ok(());
        };
        let counter = ConstCounter::new(figures.cpu_seconds);
        counter.encode(encoder.encode_descriptor(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds.",
            None,
            counter.metric_type(),
        )?)?;
        let gauges = [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                figures.resident_bytes,
            ),
            (
                "process_open_fds",
                "Number of open file descriptors.",
                figures.open_fds,
            ),
            (
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                figures.start_time_seconds,
            ),
        ];
        for (name, help, value) in gauges {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        Ok(())
    }
}

struct ProcessFigureValues {
    cpu_seconds: f64,
    resident_bytes: i64,
    open_fds: i64,
    start_time_seconds: i64,
}

fn read_process_figures() -> Option<ProcessFigureValues> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces), from field 3 (`state`) on.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let field = |number: usize| fields.get(number - 3)?.parse::<u64>().ok();
    let (user_ticks, system_ticks, start_ticks) = (field(14)?, field(15)?, field(22)?);
    let resident_kib: i64 = std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    let boot_time: i64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count();
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
    Some(ProcessFigureValues {
        cpu_seconds: (user_ticks + system_ticks) as f64 / TICKS_PER_SECOND,
        resident_bytes: resident_kib * 1024,
        open_fds: i64::try_from(open_fds).unwrap_or(i64::MAX),
        start_time_seconds: boot_time + (start_ticks as f64 / TICKS_PER_SECOND) as i64,
    })
}
