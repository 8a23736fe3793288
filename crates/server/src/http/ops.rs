//! Operations endpoints: liveness, readiness, metrics.

use std::sync::Arc;

use axum::{
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
};

use super::AppState;
use crate::errors::chain;

/// `GET /healthz`: the process is up.
pub(super) async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 when the database answers, its schema is up to date and the signing keys
/// are loaded, else 503 saying which. Keys missing are fetched here (at most once per cooldown),
/// so a service that started while Cognito was unreachable becomes ready on its own. The schema
/// is asked about until it is once seen up to date, then no more (see `Db::is_up_to_date`).
pub(super) async fn readyz(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let db = state.membership.db();
    if let Err(error) = db.ping().await {
        tracing::warn!(?error, "not ready: database unavailable");
        return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable");
    }
    match db.is_up_to_date().await {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!("not ready: database migrations pending");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "database schema is behind: run `cognigraph migrate`",
            );
        }
        Err(error) => {
            tracing::warn!(?error, "not ready: cannot read the migration status");
            return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable");
        }
    }
    if !state.verifier.keys_loaded()
        && let Err(error) = state.verifier.hydrate().await
    {
        tracing::warn!(error = %chain(&error), "not ready: signing keys unavailable");
    }
    if state.verifier.keys_loaded() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "signing keys not loaded")
    }
}

/// `GET /metrics`: Prometheus text format.
pub(super) async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(
            state.verifier.jwks_fetch_stats(),
            state.verifier.token_cache_stats(),
            state.membership.db().pool_usage(),
        ),
    )
}
