//! Serving under AWS Lambda: the same router behind API Gateway (HTTP API, `$default` stage),
//! through `lambda_http`, when the process finds itself in a Lambda sandbox
//! (`AWS_LAMBDA_RUNTIME_API` is set).
//!
//! On Lambda: the store must be PostgreSQL (SQLite is refused: every instance would have a
//! database of its own, lost with it); logs are JSON lines (CloudWatch); the signing keys are
//! fetched during init, before the first event; nothing listens on a socket (the settings'
//! `LISTEN_ADDR` is replaced by an unused loopback port). Connection-level limits (header and
//! idle timeouts, `MAX_CONNECTIONS`) are API Gateway's business there; every request-level rule
//! of the router (body and response limits, timeouts, authentication) applies as everywhere.

use std::net::{Ipv4Addr, SocketAddr};

use crate::{
    config::{LogFormat, Settings},
    startup::Application,
    telemetry::SpanFlusher,
};

/// The variable the Lambda runtime sets: where its runtime API listens.
pub const RUNTIME_API_VARIABLE: &str = "AWS_LAMBDA_RUNTIME_API";

/// Whether this process runs in a Lambda sandbox.
pub fn is_lambda() -> bool {
    std::env::var_os(RUNTIME_API_VARIABLE).is_some()
}

/// Settings that cannot work on Lambda.
#[derive(Debug, thiserror::Error)]
pub enum LambdaSettingError {
    /// `DATABASE_URL` names a SQLite file.
    #[error(
        "DATABASE_URL is a SQLite file, which Lambda cannot keep (each instance would have its own, \
         lost when it stops): set DATABASE_SECRET to a Secrets Manager secret with the \
         PostgreSQL credentials, or DATABASE_URL to postgres://USER:PASSWORD@HOST/DB"
    )]
    Sqlite,
}

/// `settings` as Lambda needs them: checked (no SQLite), JSON logs, and a listener on an unused
/// loopback port instead of `LISTEN_ADDR`.
pub fn settings_for_lambda(settings: &Settings) -> Result<Settings, LambdaSettingError> {
    if settings.database_url.is_sqlite() {
        return Err(LambdaSettingError::Sqlite);
    }
    let mut settings = settings.clone();
    settings.log_format = LogFormat::Json;
    settings.listen_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    settings.metrics_addr = None;
    Ok(settings)
}

/// Serves `app`'s router to the Lambda runtime API until the sandbox ends, once the signing keys
/// are loaded (during init, which Lambda does not bill). With traces on, each event's spans are
/// exported before its response goes back: Lambda freezes the sandbox between events, so a
/// batch left for later would wait for the next event, or be lost with the instance.
pub async fn serve(app: Application, spans: SpanFlusher) -> Result<(), lambda_http::Error> {
    app.hydrate().await;
    let router = app.router();
    if !spans.is_on() {
        return lambda_http::run(router).await;
    }
    let router = router.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let spans = spans.clone();
            async move {
                let response = next.run(request).await;
                spans.flush().await;
                response
            }
        },
    ));
    lambda_http::run(router).await
}
