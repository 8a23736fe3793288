//! Prometheus counters and histograms, rendered as text at `/metrics`.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use cognigraph_token::{FetchStats, TokenCacheStats};

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (bound, count) in BUCKETS.iter().zip(self.counts.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }
}

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<&'static str, Histogram>,
    auth_failures: BTreeMap<&'static str, u64>,
}

/// The service's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    /// Records one GraphQL request of `operation_type` (`query`, `mutation`, `invalid`).
    pub fn observe_request(&self, operation_type: &'static str, elapsed: Duration) {
        self.lock()
            .requests
            .entry(operation_type)
            .or_default()
            .observe(elapsed.as_secs_f64());
    }

    /// Records a refused authentication by its code.
    pub fn count_auth_failure(&self, code: &'static str) {
        *self.lock().auth_failures.entry(code).or_default() += 1;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The Prometheus text exposition.
    pub fn render(&self, jwks: FetchStats, token_cache: TokenCacheStats) -> String {
        let inner = self.lock();
        let mut out = String::new();
        out.push_str(
            "# HELP cognigraph_graphql_requests_total GraphQL requests by operation type.\n",
        );
        out.push_str("# TYPE cognigraph_graphql_requests_total counter\n");
        for (op, histogram) in &inner.requests {
            let _ = writeln!(
                out,
                "cognigraph_graphql_requests_total{{operation_type=\"{op}\"}} {}",
                histogram.count
            );
        }
        out.push_str(
            "# HELP cognigraph_graphql_request_duration_seconds GraphQL request latency by operation type.\n",
        );
        out.push_str("# TYPE cognigraph_graphql_request_duration_seconds histogram\n");
        for (op, histogram) in &inner.requests {
            for (bound, count) in BUCKETS.iter().zip(histogram.counts.iter()) {
                let _ = writeln!(
                    out,
                    "cognigraph_graphql_request_duration_seconds_bucket{{operation_type=\"{op}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "cognigraph_graphql_request_duration_seconds_bucket{{operation_type=\"{op}\",le=\"+Inf\"}} {}",
                histogram.count
            );
            let _ = writeln!(
                out,
                "cognigraph_graphql_request_duration_seconds_sum{{operation_type=\"{op}\"}} {}",
                histogram.sum
            );
            let _ = writeln!(
                out,
                "cognigraph_graphql_request_duration_seconds_count{{operation_type=\"{op}\"}} {}",
                histogram.count
            );
        }
        out.push_str("# HELP cognigraph_auth_failures_total Refused authentications by code.\n");
        out.push_str("# TYPE cognigraph_auth_failures_total counter\n");
        for (code, count) in &inner.auth_failures {
            let _ = writeln!(
                out,
                "cognigraph_auth_failures_total{{code=\"{code}\"}} {count}"
            );
        }
        out.push_str("# HELP cognigraph_jwks_fetches_total JWKS fetches by outcome.\n");
        out.push_str("# TYPE cognigraph_jwks_fetches_total counter\n");
        let _ = writeln!(
            out,
            "cognigraph_jwks_fetches_total{{outcome=\"success\"}} {}",
            jwks.succeeded
        );
        let _ = writeln!(
            out,
            "cognigraph_jwks_fetches_total{{outcome=\"failure\"}} {}",
            jwks.failed
        );
        out.push_str(
            "# HELP cognigraph_token_cache_lookups_total Verified-token cache lookups by outcome.\n",
        );
        out.push_str("# TYPE cognigraph_token_cache_lookups_total counter\n");
        let _ = writeln!(
            out,
            "cognigraph_token_cache_lookups_total{{outcome=\"hit\"}} {}",
            token_cache.hits
        );
        let _ = writeln!(
            out,
            "cognigraph_token_cache_lookups_total{{outcome=\"miss\"}} {}",
            token_cache.misses
        );
        out
    }
}
