//! Logs via `tracing`: human-readable or JSON, one span per request carrying the request id,
//! the operation name, `sub` and tenant. Never the token.
//!
//! Traces: off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set. Then every request's span and its
//! GraphQL spans (parse, validation, each resolver) are exported over OTLP (HTTP/protobuf, to
//! `{endpoint}/v1/traces`) in batches; an incoming W3C `traceparent` makes the request a child of
//! the caller's trace; and the request span carries the `trace_id`, so JSON logs name it. Off,
//! no layer is installed and no header is read: nothing is paid for them.

use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::{HeaderMap, Request, Response};
use opentelemetry::{
    propagation::{Extractor, TextMapPropagator as _},
    trace::{TraceContextExt as _, TracerProvider as _},
};
use opentelemetry_sdk::{Resource, propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::{EnvFilter, fmt, layer::SubscriberExt, util::SubscriberInitExt};

use crate::{config::LogFormat, http::REQUEST_ID};

/// Whether traces are exported (set once by [`init`]): request spans read `traceparent` only then.
static TRACES_ON: AtomicBool = AtomicBool::new(false);

/// Where traces go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceExport {
    /// The OTLP endpoint's base URL, e.g. `http://127.0.0.1:4318` (the ADOT collector's).
    pub endpoint: String,
    /// `service.name` of the exported spans.
    pub service_name: String,
}

/// Why traces cannot be exported as configured.
#[derive(Debug, thiserror::Error)]
#[error("cannot export traces to {endpoint}: {source}")]
pub struct TraceExportError {
    endpoint: String,
    #[source]
    source: opentelemetry_otlp::ExporterBuildError,
}

/// The installed telemetry; [`Telemetry::shutdown`] flushes the spans still in the batch.
#[derive(Debug)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// A handle that exports the spans finished so far (a no-op when traces are off).
    pub fn flusher(&self) -> SpanFlusher {
        SpanFlusher {
            provider: self.provider.clone(),
        }
    }

    /// Exports what is left (when traces are on) and stops the exporter.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(error) = provider.shutdown()
        {
            tracing::warn!(%error, "traces: the last spans could not be exported");
        }
    }
}

/// Exports the spans finished so far, now. On Lambda, where the sandbox is frozen between
/// events, the batch would otherwise wait for a later event (or be lost with the instance).
#[derive(Debug, Clone)]
pub struct SpanFlusher {
    provider: Option<SdkTracerProvider>,
}

impl SpanFlusher {
    /// Whether there is anything to flush (traces are on).
    pub fn is_on(&self) -> bool {
        self.provider.is_some()
    }

    /// Exports the finished spans and waits for the export (on a blocking thread: the SDK's
    /// flush blocks).
    pub async fn flush(&self) {
        let Some(provider) = self.provider.clone() else {
            return;
        };
        match tokio::task::spawn_blocking(move || provider.force_flush()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "traces: spans could not be exported"),
            Err(error) => tracing::warn!(%error, "traces: the flush did not finish"),
        }
    }
}

/// Installs the global subscriber (`RUST_LOG` filters; default `info`) and, with `traces`, the
/// OpenTelemetry layer. Call once, from `main`, inside the Tokio runtime.
pub fn init(
    format: LogFormat,
    traces: Option<&TraceExport>,
) -> Result<Telemetry, TraceExportError> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let provider = traces.map(tracer_provider).transpose()?;
    let otel = provider
        .as_ref()
        .map(|provider| tracing_opentelemetry::layer().with_tracer(provider.tracer("cognigraph")));
    let registry = tracing_subscriber::registry().with(filter).with(otel);
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
    TRACES_ON.store(provider.is_some(), Ordering::Relaxed);
    Ok(Telemetry { provider })
}

/// Whether traces are exported.
pub fn traces_on() -> bool {
    TRACES_ON.load(Ordering::Relaxed)
}

fn tracer_provider(export: &TraceExport) -> Result<SdkTracerProvider, TraceExportError> {
    use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
    let endpoint = format!("{}/v1/traces", export.endpoint.trim_end_matches('/'));
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(endpoint)
        .with_http_client(OtlpClient::new())
        .build()
        .map_err(|source| TraceExportError {
            endpoint: export.endpoint.clone(),
            source,
        })?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(export.service_name.clone())
                .build(),
        )
        .build())
}

/// The exporter's HTTP client: the service's reqwest, run on the service's Tokio runtime (the
/// batch processor calls it from a thread of its own).
#[derive(Debug, Clone)]
struct OtlpClient {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

impl OtlpClient {
    fn new() -> Self {
        Self {
            client: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            runtime: tokio::runtime::Handle::current(),
        }
    }
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for OtlpClient {
    async fn send_bytes(
        &self,
        request: Request<bytes::Bytes>,
    ) -> Result<Response<bytes::Bytes>, opentelemetry_http::HttpError> {
        let client = self.client.clone();
        let sent = self.runtime.spawn(async move {
            let request = reqwest::Request::try_from(request)?;
            let response = client.execute(request).await?;
            let mut answer = Response::builder().status(response.status());
            if let Some(headers) = answer.headers_mut() {
                *headers = response.headers().clone();
            }
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>(answer.body(body))
        });
        let answer = sent.await??;
        Ok(answer?)
    }
}

/// The span of one HTTP request. `operation`, `sub` and `tenant` are recorded once known; with
/// traces on, `trace_id` at once (the caller's, when it sent a `traceparent`).
pub(crate) fn request_span<B>(request: &Request<B>) -> Span {
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let span = tracing::info_span!(
        "request",
        request_id,
        method = %request.method(),
        path = request.uri().path(),
        operation = tracing::field::Empty,
        sub = tracing::field::Empty,
        tenant = tracing::field::Empty,
        trace_id = tracing::field::Empty,
    );
    if traces_on() {
        let parent = TraceContextPropagator::new().extract(&Headers(request.headers()));
        // Never fails while the OpenTelemetry layer is installed (which `traces_on` says).
        let _ = span.set_parent(parent);
        let trace_id = span.context().span().span_context().trace_id();
        span.record("trace_id", tracing::field::display(trace_id));
    }
    span
}

/// Request headers as OpenTelemetry's propagator reads them.
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|name| name.as_str()).collect()
    }
}
