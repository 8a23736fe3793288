//! What the scenarios share: users signed in at the emulator, answers of `/graphql` with their
//! headers, the emulator's token claims decoded by hand, and fixtures of tenant data.

use cognigraph_cognito::Tokens;
use cognigraph_tests::{App, Pool, error_codes};
use serde_json::{Value, json};

/// Creates `username` in `pool` (with `groups` and, when given, `custom:tenant`) and signs them in.
pub(crate) async fn signed_in(
    pool: &Pool,
    username: &str,
    groups: &[&str],
    tenant: Option<&str>,
) -> Tokens {
    pool.user(username, groups, tenant).await;
    pool.sign_in(username).await
}

/// One answer of `/graphql`, with the challenge header of a refusal.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    /// `WWW-Authenticate`, when there is one.
    pub(crate) challenge: Option<String>,
    pub(crate) body: Value,
}

/// POSTs `query` with `token` as the Bearer token.
pub(crate) async fn post(app: &App, token: &str, query: &str, variables: Value) -> Answer {
    let response = app.post_graphql(token, query, variables).await;
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().expect("an ASCII challenge").to_owned());
    let body = response.json().await.expect("a JSON body");
    Answer {
        status,
        challenge,
        body,
    }
}

/// Runs `query`, which must succeed without any error; returns `data`.
pub(crate) async fn data(app: &App, token: &str, query: &str, variables: Value) -> Value {
    let Answer { status, body, .. } = post(app, token, query, variables).await;
    assert_eq!(status, 200, "{query}: {body}");
    assert!(body.get("errors").is_none(), "{query}: {body}");
    body["data"].clone()
}

/// Asserts that `token` is refused before any resolver runs: 401, the Bearer challenge naming
/// `code`, and `code` as the body's `reason`.
pub(crate) async fn assert_refused(app: &App, token: &str, code: &str) {
    let answer = post(app, token, "{ me { sub } }", json!({})).await;
    assert_eq!(answer.status, 401, "{code}: {}", answer.body);
    let expected =
        format!(r#"Bearer realm="cognigraph", error="invalid_token", error_description="{code}""#);
    assert_eq!(answer.challenge.as_deref(), Some(expected.as_str()));
    assert_eq!(
        answer.body,
        json!({ "errors": [{
            "message": "invalid token",
            "extensions": { "code": "UNAUTHENTICATED", "reason": code },
        }] })
    );
}

/// Asserts that `body` has exactly one error, `code` at the root field `field` (which is null),
/// with `reason` when given.
pub(crate) fn assert_denied(body: &Value, field: &str, code: &str, reason: Option<&str>) {
    assert_eq!(error_codes(body), [code], "{field}: {body}");
    assert_eq!(body["data"][field], Value::Null, "{field}: {body}");
    assert_eq!(body["errors"][0]["path"], json!([field]), "{body}");
    if let Some(reason) = reason {
        assert_eq!(body["errors"][0]["extensions"]["reason"], reason, "{body}");
    }
}

/// The header of a JWT, decoded without any check (the tests compare it with what the service
/// says, never trust it).
pub(crate) fn jwt_header(token: &str) -> Value {
    jwt_segment(token, 0)
}

/// The claims of a JWT, decoded without any check.
pub(crate) fn jwt_claims(token: &str) -> Value {
    jwt_segment(token, 1)
}

fn jwt_segment(token: &str, index: usize) -> Value {
    use base64::Engine as _;
    let segments: Vec<&str> = token.split('.').collect();
    assert_eq!(segments.len(), 3, "a JWT has three segments");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segments[index])
        .expect("unpadded base64url, as JWTs use it");
    serde_json::from_slice(&bytes).expect("a JSON segment")
}

/// `2026-03-04T05:06:07+00:00` (as cognigraph writes `DateTime`s) for seconds since the epoch.
pub(crate) fn rfc3339(unix_secs: i64) -> String {
    chrono::DateTime::from_timestamp(unix_secs, 0)
        .expect("a time chrono can represent")
        .to_rfc3339()
}

/// A project with one task, created by `owner`.
#[derive(Debug, Clone)]
pub(crate) struct Fixture {
    pub(crate) project: String,
    pub(crate) project_version: i64,
    pub(crate) task: String,
    pub(crate) task_version: i64,
}

impl Fixture {
    /// Creates the project `name` (budget 1000) and a task in it, as `owner` (an editor or admin).
    pub(crate) async fn create(app: &App, owner: &str, name: &str) -> Self {
        let created = data(
            app,
            owner,
            "mutation($name: String!) { createProject(input: {name: $name, budget: 1000}) { id version } }",
            json!({ "name": name }),
        )
        .await;
        let project = &created["createProject"];
        let project_id = project["id"].as_str().expect("a project id").to_owned();
        let created = data(
            app,
            owner,
            "mutation($p: ID!, $t: String!) { createTask(input: {projectId: $p, title: $t}) { id version } }",
            json!({ "p": project_id, "t": format!("{name} task") }),
        )
        .await;
        let task = &created["createTask"];
        Self {
            project_version: project["version"].as_i64().expect("a version"),
            project: project_id,
            task: task["id"].as_str().expect("a task id").to_owned(),
            task_version: task["version"].as_i64().expect("a version"),
        }
    }

    /// The project and task as `reader` (a viewer of their tenant or more) sees them now, with
    /// the tenant's totals: what a refused write must leave alone.
    pub(crate) async fn state(&self, app: &App, reader: &str) -> Value {
        data(
            app,
            reader,
            "query($p: ID!, $t: ID!) {
               project(id: $p) { id name description archived version updatedAt }
               task(id: $t) { id title description status dueDate version updatedAt assignee { id } }
               projects { totalCount }
               tasks { totalCount }
             }",
            json!({ "p": self.project, "t": self.task }),
        )
        .await
    }
}
