//! Depth limits: data selections by `MAX_QUERY_DEPTH`, the subtree of `__schema` and `__type` by
//! `MAX_INTROSPECTION_DEPTH`, so that the standard introspection queries of GraphiQL and
//! graphql-js (fixtures/, each saying where it came from) pass with the default settings.

use reqwest::StatusCode;
use serde_json::{Value, json};

use cognigraph_server::graphql::limits::{self, Depths};

use cognigraph_server::config::IntrospectionPolicy;

use crate::helpers::{AppOptions, TestApp, configure, error_codes, spawn_app, spawn_app_with};

/// What GraphiQL 4.1.2 sends on load.
const GRAPHIQL: &str = include_str!("fixtures/graphiql-4.1.2-introspection.graphql");
/// graphql-js 16 `getIntrospectionQuery()`.
const GRAPHQL_JS: &str = include_str!("fixtures/graphql-js-16-introspection.graphql");
/// graphql-js 16 `getIntrospectionQuery(…)` with every stable option on.
const GRAPHQL_JS_ALL: &str =
    include_str!("fixtures/graphql-js-16-all-options-introspection.graphql");

const STANDARD_QUERIES: [(&str, &str); 3] = [
    ("GraphiQL 4.1.2", GRAPHIQL),
    ("graphql-js 16", GRAPHQL_JS),
    ("graphql-js 16, all options", GRAPHQL_JS_ALL),
];

/// The defaults of `MAX_QUERY_DEPTH` and `MAX_INTROSPECTION_DEPTH`.
const DATA_LIMIT: usize = 12;
const INTROSPECTION_LIMIT: usize = 20;

async fn introspect(app: &TestApp, token: Option<&str>, query: &str) -> (StatusCode, Value) {
    let body = json!({ "query": query, "operationName": "IntrospectionQuery" });
    let response = app.post(token, &body).await;
    let status = response.status();
    (status, response.json().await.expect("a JSON body"))
}

/// The introspection result is a whole schema: no errors, the roots, and `Project` with its
/// fields and their deepest type references (`[Task!]!` is three `ofType` levels).
fn assert_full_schema(name: &str, status: StatusCode, body: &Value) {
    assert_eq!(status, StatusCode::OK, "{name}: {body}");
    assert!(body.get("errors").is_none(), "{name}: {body}");
    let schema = &body["data"]["__schema"];
    assert_eq!(schema["queryType"]["name"], "Query", "{name}");
    assert_eq!(schema["mutationType"]["name"], "Mutation", "{name}");
    let types = schema["types"].as_array().expect("types");
    let project = types
        .iter()
        .find(|t| t["name"] == "Project")
        .unwrap_or_else(|| panic!("{name}: no Project type"));
    let tasks = project["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .find(|f| f["name"] == "tasks")
        .unwrap_or_else(|| panic!("{name}: no Project.tasks"));
    assert_eq!(
        tasks["type"],
        json!({ "kind": "NON_NULL", "name": null, "ofType": {
            "kind": "LIST", "name": null, "ofType": {
                "kind": "NON_NULL", "name": null, "ofType": {
                    "kind": "OBJECT", "name": "Task", "ofType": null } } } }),
        "{name}"
    );
}

#[tokio::test]
async fn the_standard_introspection_queries_pass_with_the_default_limits() {
    let app = spawn_app().await;
    let token = app.token(&["viewer"]);
    for (name, query) in STANDARD_QUERIES {
        let (status, body) = introspect(&app, Some(&token), query).await;
        assert_full_schema(name, status, &body);
    }
}

#[tokio::test]
async fn the_standard_introspection_queries_pass_anonymously_when_introspection_is_public() {
    let app = spawn_app_with(AppOptions {
        settings: configure(|settings| settings.introspection = IntrospectionPolicy::Public),
        hydrate: true,
        ..AppOptions::default()
    })
    .await;
    for (name, query) in STANDARD_QUERIES {
        let (status, body) = introspect(&app, None, query).await;
        assert_full_schema(name, status, &body);
    }
}

/// How a generated data query nests: written out, through named fragments (each level its own
/// fragment, spread in the level above) or through inline fragments. The three must measure
/// the same.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Plain,
    Fragments,
    Inline,
}

/// `{ task(id: …) { project { tasks(first: 1) { project { … id } } } } }`, `depth` fields on its
/// deepest path (`depth` ≥ 2), in `shape`.
fn data_query(depth: usize, shape: Shape) -> String {
    let mut fragments = Vec::new();
    let selection = below(1, depth, shape, &mut fragments);
    format!(
        "{{ task(id: \"0190c3a1-0000-7000-8000-000000000000\") {selection} }}\n{}",
        fragments.join("\n")
    )
}

/// The selection set of the field at `level` (1: the root `task`; odd levels are a `Task`, even
/// ones a `Project`), down to the scalar `id` at `depth`.
fn below(level: usize, depth: usize, shape: Shape, fragments: &mut Vec<String>) -> String {
    let (parent, child) = if level % 2 == 1 {
        ("Task", "project")
    } else {
        ("Project", "tasks(first: 1)")
    };
    let inner = if level + 1 == depth {
        "id".to_owned()
    } else {
        format!("{child} {}", below(level + 1, depth, shape, fragments))
    };
    match shape {
        Shape::Plain => format!("{{ {inner} }}"),
        Shape::Inline => format!("{{ ... on {parent} {{ {inner} }} }}"),
        Shape::Fragments => {
            let name = format!("L{level}");
            fragments.push(format!("fragment {name} on {parent} {{ {inner} }}"));
            format!("{{ ...{name} }}")
        }
    }
}

/// `{ __schema { types { fields { type { ofType { … name } } } } } }`, `depth` fields deep
/// (`depth` ≥ 5).
fn introspection_query(depth: usize) -> String {
    let of_types = depth - 5;
    format!(
        "{{ __schema {{ types {{ fields {{ type {{ {}name{} }} }} }} }} }}",
        "ofType { ".repeat(of_types),
        " }".repeat(of_types)
    )
}

fn reason(body: &Value) -> &Value {
    &body["errors"][0]["extensions"]["reason"]
}

#[tokio::test]
async fn data_queries_keep_their_depth_limit_through_fragments() {
    let app = spawn_app().await;
    let token = app.token_with(&["viewer"], json!({ "custom:tenant": "acme" }));
    for shape in [Shape::Plain, Shape::Fragments, Shape::Inline] {
        let query = data_query(DATA_LIMIT, shape);
        let (_, body) = app.query(Some(&token), &query).await;
        assert!(
            body.get("errors").is_none() && body["data"]["task"].is_null() || {
                error_codes(&body) == ["NOT_FOUND"]
            },
            "{shape:?}, {DATA_LIMIT} deep is allowed: {query}\n{body}"
        );

        let query = data_query(DATA_LIMIT + 1, shape);
        let (status, body) = app.query(Some(&token), &query).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            error_codes(&body),
            ["QUERY_TOO_DEEP"],
            "{shape:?}: {query}\n{body}"
        );
        assert_eq!(reason(&body), "query_depth", "{body}");
        assert!(body.get("data").is_none_or(Value::is_null), "{body}");
    }
}

#[tokio::test]
async fn a_deep_data_selection_beside_introspection_is_still_too_deep() {
    let app = spawn_app().await;
    let token = app.token_with(&["viewer"], json!({ "custom:tenant": "acme" }));
    let data = data_query(DATA_LIMIT + 1, Shape::Plain);
    let query = format!(
        "{{ __schema {{ queryType {{ name }} }} {}",
        data.trim_start_matches('{')
    );
    let (_, body) = app.query(Some(&token), &query).await;
    assert_eq!(error_codes(&body), ["QUERY_TOO_DEEP"], "{query}\n{body}");
    assert_eq!(reason(&body), "query_depth", "{body}");
}

#[tokio::test]
async fn introspection_has_its_own_bound() {
    let app = spawn_app().await;
    let token = app.token(&["viewer"]);
    let (_, body) = app
        .query(Some(&token), &introspection_query(INTROSPECTION_LIMIT))
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    assert!(body["data"]["__schema"]["types"].is_array(), "{body}");

    let query = introspection_query(INTROSPECTION_LIMIT + 1);
    let (_, body) = app.query(Some(&token), &query).await;
    assert_eq!(error_codes(&body), ["QUERY_TOO_DEEP"], "{query}\n{body}");
    assert_eq!(reason(&body), "introspection_depth", "{body}");

    // `__type` is bounded the same way, also when spread from a fragment on the root.
    let query = format!(
        "{{ ...Root }} fragment Root on Query {{ __type(name: \"Project\") {{ fields {{ type {{ {}name{} }} }} }} }}",
        "ofType { ".repeat(INTROSPECTION_LIMIT - 3),
        " }".repeat(INTROSPECTION_LIMIT - 3)
    );
    let (_, body) = app.query(Some(&token), &query).await;
    assert_eq!(error_codes(&body), ["QUERY_TOO_DEEP"], "{query}\n{body}");
    assert_eq!(reason(&body), "introspection_depth", "{body}");
}

#[tokio::test]
async fn a_fragment_cycle_is_refused_and_the_server_carries_on() {
    let app = spawn_app().await;
    let token = app.token(&["viewer"]);
    for query in [
        "{ ...A } fragment A on Query { ...A }",
        "{ me { ...A } } fragment A on Me { ...B } fragment B on Me { sub ...A }",
        "{ __schema { types { ...T } } } fragment T on __Type { ofType { ...T } }",
    ] {
        let (status, body) = app.query(Some(&token), query).await;
        assert_eq!(status, StatusCode::OK, "{query}");
        assert_eq!(
            error_codes(&body),
            ["GRAPHQL_VALIDATION_FAILED"],
            "{query}\n{body}"
        );
        assert_eq!(reason(&body), "fragment_cycle", "{query}\n{body}");
    }
    let (_, body) = app.query(Some(&token), "{ me { sub } }").await;
    assert!(body.get("errors").is_none(), "{body}");
}

#[test]
fn the_standard_introspection_queries_nest_15_fields_deep() {
    // 5 below the default bound of 20: `__schema types fields args type` and nine `ofType`
    // levels down to a `name`. (Their complexity is 220 and 230, under the default 500.)
    for (name, query) in STANDARD_QUERIES {
        let document = async_graphql_parser::parse_query(query).unwrap();
        assert_eq!(
            limits::measure(&document),
            Ok(Depths {
                data: 0,
                introspection: 15
            }),
            "{name}"
        );
    }
}
