//! Responses of bounded size: a list field costs its selection times its page size, so
//! `MAX_QUERY_COMPLEXITY` bounds what a query can produce; `MAX_RESPONSE_BYTES` is the last line.

use serde_json::{Value, json};

use crate::helpers::{AppOptions, TestApp, configure, error_codes, spawn_app, spawn_app_with};

/// The query of the security review: 563 bytes, depth 5, a 145 MB answer with enough data.
fn wide_query() -> String {
    let aliases: Vec<String> = (0..29).map(|i| format!("d{i}: description")).collect();
    format!(
        "{{ projects(first: 100) {{ edges {{ node {{ tasks(first: 100) {{ {} }} }} }} }} }}",
        aliases.join(" ")
    )
}

/// What a GraphiQL user writes: a page of 20 projects with their first 10 tasks and assignees.
const EVERYDAY: &str = "{ projects(first: 20) { totalCount edges { node { id name taskCount \
    createdBy { username } tasks(first: 10) { id title status dueDate assignee { username } } } } \
    pageInfo { hasNextPage endCursor } } }";

fn editor(app: &TestApp) -> String {
    app.token_with(&["editor"], json!({"custom:tenant": "acme"}))
}

async fn seed(app: &TestApp, token: &str, projects: usize, tasks: usize) {
    for p in 0..projects {
        let body = app
            .post(
                Some(token),
                &json!({
                    "query": "mutation($n: String!) { createProject(input: {name: $n}) { id } }",
                    "variables": { "n": format!("P{p}") },
                }),
            )
            .await
            .json::<Value>()
            .await
            .unwrap();
        let project = body["data"]["createProject"]["id"].clone();
        for t in 0..tasks {
            let body = app
                .post(
                    Some(token),
                    &json!({
                        "query": "mutation($p: ID!, $t: String!) { createTask(input: {projectId: $p, title: $t, description: \"some words\"}) { id } }",
                        "variables": { "p": project, "t": format!("T{t}") },
                    }),
                )
                .await
                .json::<Value>()
                .await
                .unwrap();
            assert!(body.get("errors").is_none(), "{body}");
        }
    }
}

#[tokio::test]
async fn page_sizes_count_toward_complexity() {
    let app = spawn_app().await;
    let token = editor(&app);
    seed(&app, &token, 2, 2).await;

    let (status, body) = app.query(Some(&token), EVERYDAY).await;
    assert_eq!(status, 200);
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["projects"]["totalCount"], 2);

    let (_, body) = app.query(Some(&token), &wide_query()).await;
    assert_eq!(error_codes(&body), ["QUERY_TOO_COMPLEX"], "{body}");
    assert_eq!(body["data"], Value::Null);

    // The default page size counts too: the same query without `first` is 20 × 20 × 29.
    let unpaged = wide_query().replace("(first: 100)", "");
    let (_, body) = app.query(Some(&token), &unpaged).await;
    assert_eq!(error_codes(&body), ["QUERY_TOO_COMPLEX"], "{body}");

    // A batch of three is refused operation by operation.
    let batch: Vec<Value> = (0..3).map(|_| json!({ "query": wide_query() })).collect();
    let answers: Value = app
        .post(Some(&token), &json!(batch))
        .await
        .json()
        .await
        .unwrap();
    for answer in answers.as_array().unwrap() {
        assert_eq!(error_codes(answer), ["QUERY_TOO_COMPLEX"], "{answer}");
    }
}

#[tokio::test]
async fn an_answer_past_max_response_bytes_is_refused_whole() {
    let app = spawn_app_with(AppOptions {
        settings: configure(|settings| settings.limits.max_response_bytes = 1000),
        hydrate: true,
        ..AppOptions::default()
    })
    .await;
    let token = editor(&app);
    seed(&app, &token, 3, 4).await;

    let (status, body) = app.query(Some(&token), "{ projects { totalCount } }").await;
    assert_eq!(
        (status.as_u16(), &body["data"]["projects"]["totalCount"]),
        (200, &json!(3))
    );

    let response = app.post(Some(&token), &json!({ "query": EVERYDAY })).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(text.len() < 1000, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["data"], Value::Null, "{body}");
    assert_eq!(error_codes(&body), ["RESPONSE_TOO_LARGE"], "{body}");

    // In a batch, each answer says so (the array keeps its length).
    let batch = json!([{ "query": EVERYDAY }, { "query": "{ me { username } }" }]);
    let answers: Value = app.post(Some(&token), &batch).await.json().await.unwrap();
    let answers = answers.as_array().unwrap();
    assert_eq!(answers.len(), 2);
    assert!(
        answers
            .iter()
            .all(|answer| error_codes(answer) == ["RESPONSE_TOO_LARGE"])
    );
}

// Several threads, so that the timeout below fires even while a regression keeps one busy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fragments_spread_exponentially_are_refused_before_the_engine_walks_them() {
    let app = spawn_app().await;
    let token = editor(&app);
    // 30 levels of fragments spreading the next one twice: 2^30 fields in 1.3 kB (under the
    // engine's own nesting limit of 32). Its validation walk follows every spread: hours.
    let mut query = String::from("query { ...F0 }");
    for i in 0..30 {
        query.push_str(&format!(
            " fragment F{i} on Query {{ ...F{} ...F{} }}",
            i + 1,
            i + 1
        ));
    }
    query.push_str(" fragment F30 on Query { __typename }");
    let response = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        app.post(Some(&token), &json!({ "query": query })),
    )
    .await
    .expect("answered, not walked for hours");
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_codes(&body), ["QUERY_TOO_COMPLEX"], "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["reason"], "fields",
        "{body}"
    );
}
