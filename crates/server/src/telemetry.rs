//! Logs via `tracing`: human-readable or JSON, one span per request carrying the request id,
//! the operation name, `sub` and tenant. Never the token.

use axum::http::Request;
use tracing::Span;
use tracing_subscriber::{EnvFilter, fmt, layer::SubscriberExt, util::SubscriberInitExt};

use crate::{config::LogFormat, http::REQUEST_ID};

/// Installs the global subscriber (`RUST_LOG` filters; default `info`). Call once, from `main`.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Pretty => registry.with(fmt::layer()).init(),
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true),
            )
            .init(),
    }
}

/// The span of one HTTP request. `operation`, `sub` and `tenant` are recorded once known.
pub(crate) fn request_span<B>(request: &Request<B>) -> Span {
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        request_id,
        method = %request.method(),
        path = request.uri().path(),
        operation = tracing::field::Empty,
        sub = tracing::field::Empty,
        tenant = tracing::field::Empty,
    )
}
