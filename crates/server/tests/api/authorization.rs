//! Roles from groups, FORBIDDEN as a field error, `me`.

use serde_json::{Value, json};

use crate::helpers::{error_codes, spawn_app};

#[tokio::test]
async fn me_reflects_the_token_for_every_caller() {
    let app = spawn_app().await;
    let cases: [(&[&str], Value); 6] = [
        (&[], json!([])),
        (&["viewer"], json!(["VIEWER"])),
        (&["editor"], json!(["EDITOR", "VIEWER"])),
        (&["admin"], json!(["ADMIN", "EDITOR", "VIEWER"])),
        (&["viewer", "admin"], json!(["ADMIN", "EDITOR", "VIEWER"])),
        // Unknown groups (Cognito's federated-identity groups among them) grant nothing.
        (&["us-east-1_AbC_Google", "Admins"], json!([])),
    ];
    for (groups, roles) in cases {
        let (status, body) = app
            .query(
                Some(&app.token(groups)),
                "{ me { sub username groups roles scopes clientId expiresAt tenant } }",
            )
            .await;
        assert_eq!(status, 200, "{groups:?}");
        let me = &body["data"]["me"];
        assert_eq!(me["roles"], roles, "{groups:?}");
        let mut sorted: Vec<&str> = groups.to_vec();
        sorted.sort_unstable();
        assert_eq!(me["groups"], json!(sorted));
        let claims = app.issuer.access_claims();
        assert_eq!(me["sub"], claims["sub"]);
        assert_eq!(me["username"], "alice");
        assert_eq!(me["clientId"], app.issuer.client_id());
        assert_eq!(me["scopes"], json!(["aws.cognito.signin.user.admin"]));
        let expires_at = chrono::DateTime::parse_from_rfc3339(me["expiresAt"].as_str().unwrap())
            .expect("RFC 3339")
            .timestamp();
        let exp = claims["exp"].as_i64().unwrap();
        assert!((expires_at - exp).abs() <= 5, "{expires_at} vs {exp}");
        assert_eq!(me["tenant"], Value::Null);
    }
}

/// Expected outcome per role for each guarded sample field: true = allowed.
#[tokio::test]
async fn the_role_matrix_of_the_guarded_fields() {
    let app = spawn_app().await;
    let fields = [
        ("query", "accessPolicy { field }", [false, true, true, true]),
        (
            "mutation",
            "refreshSigningKeys { loaded }",
            [false, false, false, true],
        ),
    ];
    let callers: [&[&str]; 4] = [&[], &["viewer"], &["editor"], &["admin"]];
    for (operation, selection, expected) in fields {
        for (groups, allowed) in callers.iter().zip(expected) {
            let query = format!("{operation} {{ {selection} }}");
            let (status, body) = app.query(Some(&app.token(groups)), &query).await;
            assert_eq!(status, 200, "{query} as {groups:?}");
            let field = selection.split_whitespace().next().unwrap();
            if allowed {
                assert!(
                    body.get("errors").is_none(),
                    "{query} as {groups:?}: {body}"
                );
                assert!(!body["data"][field].is_null());
            } else {
                assert_eq!(error_codes(&body), ["FORBIDDEN"], "{query} as {groups:?}");
                assert_eq!(body["errors"][0]["path"], json!([field]));
                assert_eq!(
                    body["errors"][0]["extensions"]["reason"],
                    "insufficient_role"
                );
                assert_eq!(body["data"][field], Value::Null);
            }
        }
    }
}

#[tokio::test]
async fn a_denied_field_is_null_and_the_rest_of_the_response_is_served() {
    let app = spawn_app().await;
    let (status, body) = app
        .query(
            Some(&app.token(&[])),
            "{ me { username } accessPolicy { field } }",
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["me"]["username"], "alice");
    assert_eq!(body["data"]["accessPolicy"], Value::Null);
    assert_eq!(error_codes(&body), ["FORBIDDEN"]);
    assert_eq!(body["errors"][0]["path"], json!(["accessPolicy"]));
}

#[tokio::test]
async fn access_policy_lists_every_root_field() {
    let app = spawn_app().await;
    let (_, body) = app
        .query(
            Some(&app.token(&["viewer"])),
            "{ accessPolicy { operationType field rules { requires scope tenant } } }",
        )
        .await;
    let policies = body["data"]["accessPolicy"].as_array().unwrap();
    let me = policies.iter().find(|p| p["field"] == "me").unwrap();
    assert_eq!(
        me["rules"],
        json!([{"requires": null, "scope": null, "tenant": false}])
    );
    let refresh = policies
        .iter()
        .find(|p| p["field"] == "refreshSigningKeys")
        .unwrap();
    assert_eq!(refresh["operationType"], "Mutation");
    assert_eq!(refresh["rules"][0]["requires"], "ADMIN");
}
