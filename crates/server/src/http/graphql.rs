//! `POST /graphql` and `GET /graphql`, following the GraphQL over HTTP specification: JSON in,
//! `application/json` or (when asked) `application/graphql-response+json` out.
//!
//! The request is parsed once here (the parsed document is handed to the engine), for the rules
//! that decide at the HTTP level: the batch limit, mutations only over POST, and anonymous
//! introspection when the policy makes it public. The document's own limits (shape, aliases,
//! introspection off) are the schema's (`graphql::document_rules`).
//!
//! Why not `async-graphql-axum`'s `GraphQLRequest`/`GraphQLResponse`: its extractor takes any
//! `Content-Type` as JSON and accepts `multipart/form-data` uploads, which a browser sends
//! across origins without a CORS preflight; it refuses a bad body with a plain-text 400 instead
//! of a GraphQL error with a code; and its response is always 200. Here a POST must be
//! `application/json` (else 415), refusals carry `extensions.code`, and the status follows the
//! media type the client accepts, as GraphQL over HTTP asks. The crate fits subscriptions
//! (`GraphQLSubscription`, its own route) when the schema has any.

use std::{sync::Arc, time::Instant};

use super::{
    AppState,
    auth::{self, AuthRejection},
};
use crate::{
    authz::Principal,
    config::{IntrospectionPolicy, LimitSettings},
    errors::{ErrorCode, classify, http_error, request_error},
    graphql::{context::LazyTenantContext, selected_operation},
};
use async_graphql::{
    BatchRequest, BatchResponse, Request, Response as GqlResponse,
    parser::types::{OperationType, Selection, SelectionSet},
};
use axum::{
    body::Body,
    extract::State,
    http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

fn reject(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    http_error(status, code, message, None)
}

/// Serves one GraphQL request (or a batch of them), in the order a request goes: who asks,
/// what they ask, the rules that need each document, the run, the answer.
pub(super) async fn handle(
    State(state): State<Arc<AppState>>,
    request: axum::extract::Request,
) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let media_type = response_media_type(&parts.headers);

    let principal = match auth::authenticate(&state, &parts.headers).await {
        Ok(principal) => principal,
        Err(rejection) => return rejection.into_response(),
    };
    let (requests, is_batch) = match read_requests(&parts, body, &state.limits).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let operations = match requests
        .into_iter()
        .map(|request| prepare(&state, &parts, principal.as_ref(), request))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(operations) => operations,
        Err(response) => return *response,
    };
    let responses = execute(&state, operations, started).await;

    // A tenant lookup that found the token revoked (or its user deleted, ...) refuses the whole
    // request, as the revocation check would have.
    if let Some(principal) = &principal
        && let Some(refusal) = principal.tenant_lookup().found_refusal()
    {
        return auth::refused(&state, principal.sub(), refusal).into_response();
    }
    respond(
        responses,
        is_batch,
        media_type,
        state.limits.max_response_bytes,
    )
}

/// Runs each operation in turn, counting it in the metrics by its type.
async fn execute(
    state: &AppState,
    operations: Vec<Operation>,
    started: Instant,
) -> Vec<GqlResponse> {
    let mut responses = Vec::with_capacity(operations.len());
    for operation in operations {
        let response = match operation {
            Operation::Ready(request, operation_type) => {
                let mut response = state.schema.execute(*request).await;
                response.errors.iter_mut().for_each(classify);
                state
                    .metrics
                    .observe_request(operation_type, started.elapsed());
                response
            }
            Operation::Refused(response) => {
                state.metrics.observe_request("invalid", started.elapsed());
                response
            }
        };
        responses.push(response);
    }
    responses
}

/// The HTTP answer to `responses`: the body (refused whole when over `limit`, the
/// `MAX_RESPONSE_BYTES` setting) and the status the GraphQL over HTTP specification gives it
/// for `media_type`.
fn respond(
    mut responses: Vec<GqlResponse>,
    is_batch: bool,
    media_type: &'static str,
    limit: usize,
) -> Response {
    let request_failed = responses.iter().any(is_request_error);
    let unavailable = !is_batch && responses.iter().all(is_only_unavailable);
    let operations = responses.len();
    let body = if is_batch {
        capped_json(&BatchResponse::Batch(responses), limit)
    } else {
        let single = responses.pop().unwrap_or_default();
        capped_json(&single, limit)
    };
    let body = match body {
        Ok(body) => body,
        Err(Unserializable::TooLarge) => {
            tracing::warn!(limit, "response over MAX_RESPONSE_BYTES refused");
            let refusal = || {
                GqlResponse::from_errors(vec![request_error(
                    ErrorCode::ResponseTooLarge,
                    format!(
                        "the response is larger than {limit} bytes: ask for fewer items or fields"
                    ),
                )])
            };
            let refusal = if is_batch {
                serde_json::to_vec(&(0..operations).map(|_| refusal()).collect::<Vec<_>>())
            } else {
                serde_json::to_vec(&refusal())
            };
            refusal.unwrap_or_default()
        }
        Err(Unserializable::Failed(error)) => {
            tracing::error!(%error, "could not serialize a GraphQL response");
            return reject(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "internal error",
            );
        }
    };
    // application/json: 200 for every well-formed request (the legacy rule); the newer media
    // type says 400 when the request failed before execution.
    let status = if media_type == GRAPHQL_RESPONSE_JSON && request_failed && !is_batch {
        StatusCode::BAD_REQUEST
    } else if unavailable {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    if unavailable {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(auth::RETRY_AFTER_SECS),
        );
    }
    response
}

/// Whether nothing could be served, only because something the fields need (Cognito, the
/// database) is down: every root field is `null` and every error is `SERVICE_UNAVAILABLE`.
/// Such a response is a 503 with `Retry-After`, so clients and load balancers retry.
fn is_only_unavailable(response: &GqlResponse) -> bool {
    let nothing_served = match &response.data {
        async_graphql::Value::Null => true,
        async_graphql::Value::Object(fields) => fields
            .values()
            .all(|v| matches!(v, async_graphql::Value::Null)),
        _ => false,
    };
    nothing_served
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| {
            error
                .extensions
                .as_ref()
                .and_then(|ext| ext.get("code"))
                .is_some_and(|code| {
                    *code == async_graphql::Value::from(ErrorCode::ServiceUnavailable)
                })
        })
}

/// Why a response body could not be written.
enum Unserializable {
    /// It would be larger than `MAX_RESPONSE_BYTES`.
    TooLarge,
    /// Serialization failed (a bug).
    Failed(serde_json::Error),
}

/// `value` as JSON, or `TooLarge` as soon as it passes `limit` bytes: an oversized answer is
/// never held in memory twice, nor sent in part.
fn capped_json(value: &impl serde::Serialize, limit: usize) -> Result<Vec<u8>, Unserializable> {
    struct Capped {
        bytes: Vec<u8>,
        limit: usize,
        exceeded: bool,
    }
    impl std::io::Write for Capped {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.bytes.len() + buf.len() > self.limit {
                self.exceeded = true;
                return Err(std::io::Error::other("response too large"));
            }
            self.bytes.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut writer = Capped {
        bytes: Vec::new(),
        limit,
        exceeded: false,
    };
    match serde_json::to_writer(&mut writer, value) {
        Ok(()) => Ok(writer.bytes),
        Err(_) if writer.exceeded => Err(Unserializable::TooLarge),
        Err(error) => Err(Unserializable::Failed(error)),
    }
}

/// `application/graphql-response+json` when the client lists it, otherwise `application/json`.
fn response_media_type(headers: &HeaderMap) -> &'static str {
    let accepts_new = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            item.split(';')
                .next()
                .is_some_and(|media| media.trim().eq_ignore_ascii_case(GRAPHQL_RESPONSE_JSON))
        });
    if accepts_new {
        GRAPHQL_RESPONSE_JSON
    } else {
        JSON
    }
}

/// A request that failed before execution (no data, an error without a path).
fn is_request_error(response: &GqlResponse) -> bool {
    matches!(response.data, async_graphql::Value::Null)
        && response.errors.iter().any(|e| e.path.is_empty())
}

/// The operations of the request, and whether it was a batch (an array, answered with one),
/// within the batch limit.
async fn read_requests(
    parts: &Parts,
    body: Body,
    limits: &LimitSettings,
) -> Result<(Vec<Request>, bool), Response> {
    match read_body(parts, body, limits.max_body_bytes).await? {
        BatchRequest::Single(request) => Ok((vec![request], false)),
        BatchRequest::Batch(requests) if requests.len() > limits.max_batch => Err(reject(
            StatusCode::BAD_REQUEST,
            ErrorCode::BatchTooLarge,
            &format!("at most {} operations per batch", limits.max_batch),
        )),
        BatchRequest::Batch(requests) if requests.is_empty() => Err(reject(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            "empty batch",
        )),
        BatchRequest::Batch(requests) => Ok((requests, true)),
    }
}

/// Reads the GraphQL request: query parameters for GET, a JSON body (one object or an array)
/// for POST.
async fn read_body(
    parts: &Parts,
    body: Body,
    max_body_bytes: usize,
) -> Result<BatchRequest, Response> {
    if parts.method == Method::GET {
        return async_graphql::http::parse_query_string(parts.uri.query().unwrap_or_default())
            .map(BatchRequest::Single)
            .map_err(|e| {
                reject(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BadRequest,
                    &format!("invalid GraphQL query parameters: {e}"),
                )
            });
    }
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or_default().trim();
    if !media.eq_ignore_ascii_case(JSON) {
        return Err(reject(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BadRequest,
            "POST /graphql takes Content-Type: application/json",
        ));
    }
    let bytes = axum::body::to_bytes(body, max_body_bytes)
        .await
        .map_err(|_| {
            reject(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                &format!("request bodies are limited to {max_body_bytes} bytes"),
            )
        })?;
    serde_json::from_slice::<BatchRequest>(&bytes).map_err(|e| {
        reject(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            &format!("the body is not a GraphQL request: {e}"),
        )
    })
}

/// One operation of a request, after the rules that need its document.
enum Operation {
    /// To execute; its type (`query`, `mutation`…) labels the metrics.
    Ready(Box<Request>, &'static str),
    /// Refused before execution (a syntax error): its answer.
    Refused(GqlResponse),
}

/// Parses one request and applies the rules the HTTP edge owns: a mutation only over POST, and
/// who may run it (a caller with a token; anyone, for introspection alone, when the policy makes
/// it public). The document's own limits (shape, aliases, introspection off) are the schema's
/// extensions'. An `Err` is an HTTP-level refusal of the whole request.
fn prepare(
    state: &AppState,
    parts: &Parts,
    principal: Option<&Principal>,
    mut request: Request,
) -> Result<Operation, Box<Response>> {
    if request.query.trim().is_empty() {
        return Err(Box::new(reject(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            "the request has no `query`",
        )));
    }
    let operation_name = request.operation_name.clone();
    let document = match state.documents.parse(&mut request) {
        Ok(document) => document,
        Err(error) => {
            if principal.is_none() {
                return Err(Box::new(AuthRejection::missing_token().into_response()));
            }
            return Ok(Operation::Refused(GqlResponse::from_errors(vec![
                request_error(ErrorCode::ParseFailed, error.message),
            ])));
        }
    };
    let selected = selected_operation(document, operation_name.as_deref());
    let operation_type = match selected.map(|operation| operation.ty) {
        Some(OperationType::Mutation) => "mutation",
        Some(OperationType::Subscription) => "subscription",
        _ => "query",
    };
    if let Some(name) = operation_name.as_deref() {
        tracing::Span::current().record("operation", name);
    }
    if parts.method == Method::GET && operation_type != "query" {
        let mut response = reject(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::MethodNotAllowed,
            "mutations are sent with POST",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return Err(Box::new(response));
    }
    let introspection_only =
        selected.is_some_and(|operation| is_introspection_only(&operation.selection_set.node));
    match principal {
        Some(principal) => {
            request = request.data(principal.clone()).data(LazyTenantContext::new(
                state.membership.clone(),
                principal.clone(),
            ));
        }
        None if state.introspection == IntrospectionPolicy::Public && introspection_only => {
            request = request.only_introspection();
        }
        None => return Err(Box::new(AuthRejection::missing_token().into_response())),
    }
    Ok(Operation::Ready(Box::new(request), operation_type))
}

/// Whether every root selection is `__schema`, `__type` or `__typename`.
fn is_introspection_only(set: &SelectionSet) -> bool {
    set.items.iter().all(|item| match &item.node {
        Selection::Field(field) => {
            matches!(
                field.node.name.node.as_str(),
                "__schema" | "__type" | "__typename"
            )
        }
        _ => false,
    })
}
