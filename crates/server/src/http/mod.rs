//! The HTTP surface: `/graphql`, GraphiQL at `/`, `/healthz`, `/readyz`; `/metrics` on a
//! listener of its own ([`metrics_router`]), when METRICS_ADDR is set.

mod auth;
mod connections;
pub(crate) mod graphiql;
mod graphql;
mod ops;

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    http::{HeaderName, HeaderValue, Method, StatusCode, header},
    routing::get,
};
use cognigraph_token::CognitoVerifier;
use tower::ServiceBuilder;
use tower_http::{
    cors::{AllowOrigin, CorsLayer},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

pub(crate) use connections::ConnectionLimits;
pub(crate) use connections::serve;
pub(crate) use graphiql::GraphiqlOptions;

use crate::{
    authz::RoleGroups,
    config::{IntrospectionPolicy, LimitSettings},
    graphql::{ApiSchema, DocumentCache},
    membership::Membership,
    metrics::Metrics,
    tenancy::{RevocationCheck, TenantResolver},
};

/// The header carrying the request id, taken from the client or generated, and echoed.
pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What every handler shares: the router's state, as `Arc<AppState>`. (The bound listener
/// that serves it is [`crate::startup::Application`].)
pub(crate) struct AppState {
    /// The executable schema.
    pub schema: ApiSchema,
    /// Documents parsed before, by their text.
    pub documents: DocumentCache,
    /// The token verifier.
    pub verifier: Arc<CognitoVerifier>,
    /// Groups → roles.
    pub role_groups: RoleGroups,
    /// Callers → tenants.
    pub tenants: TenantResolver,
    /// Whether every request asks Cognito if its token was revoked.
    pub revocation_check: RevocationCheck,
    /// Callers → members and domain scopes (and the database).
    pub membership: Membership,
    /// Request limits.
    pub limits: LimitSettings,
    /// Who may introspect.
    pub introspection: IntrospectionPolicy,
    /// Counters for `/metrics`.
    pub metrics: Metrics,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("role_groups", &self.role_groups)
            .field("limits", &self.limits)
            .field("introspection", &self.introspection)
            .finish_non_exhaustive()
    }
}

/// The router, with request ids, tracing, timeout and (when origins are given) CORS.
///
/// Every answer that does not say otherwise (only GraphiQL's versioned assets do) carries
/// `Cache-Control: no-store`, since GraphQL answers are one caller's data, and every answer
/// carries `X-Content-Type-Options: nosniff`; refusals and timeouts included.
pub(crate) fn router(
    state: Arc<AppState>,
    graphiql: GraphiqlOptions,
    cors_origins: &[String],
) -> Router {
    let timeout = state.limits.request_timeout();
    let cors = (!cors_origins.is_empty()).then(|| {
        let origins: Vec<HeaderValue> = cors_origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o.trim()).ok())
            .collect();
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, REQUEST_ID])
            .expose_headers([REQUEST_ID])
    });
    let router = Router::new()
        .route("/graphql", get(graphql::handle).post(graphql::handle))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .merge(graphiql::routes(graphiql))
        .with_state(state);
    with_layers(router, timeout, cors)
}

/// The router of the metrics listener: `GET /metrics` only. Apart from the API so that
/// exposing the metrics is a choice (METRICS_ADDR), not a side effect of serving the API.
pub(crate) fn metrics_router(state: Arc<AppState>) -> Router {
    let timeout = state.limits.request_timeout();
    let router = Router::new()
        .route("/metrics", get(ops::metrics))
        .with_state(state);
    with_layers(router, timeout, None)
}

/// Request ids, tracing, no caching and no sniffing unless an answer says otherwise, CORS when
/// given, and the request timeout (outermost first). One stack, applied once: each
/// `Router::layer` call boxes every route again, and six of them cost a measurable part of a
/// small request (see the README's benchmarks).
fn with_layers(router: Router, timeout: Duration, cors: Option<CorsLayer>) -> Router {
    router.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(TraceLayer::new_for_http().make_span_with(crate::telemetry::request_span))
            .layer(SetResponseHeaderLayer::if_not_present(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ))
            .layer(SetResponseHeaderLayer::if_not_present(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-store"),
            ))
            .option_layer(cors)
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                timeout,
            )),
    )
}
