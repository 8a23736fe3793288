//! The database going away and coming back (PostgreSQL: the test's own database stops accepting
//! connections and its sessions are ended). Tenant fields answer SERVICE_UNAVAILABLE, a request
//! with nothing else to serve is a 503, and the service recovers without a restart.

use std::time::Duration;

use sea_orm::sqlx::{Connection as _, Executor as _, PgConnection};
use serde_json::{Value, json};

use crate::helpers::{
    AppOptions, FreshDatabase, error_codes, fresh_postgres_database, spawn_app_with,
};

async fn set_reachable(database: &FreshDatabase, reachable: bool) {
    let mut admin = PgConnection::connect(&database.admin_url).await.unwrap();
    admin
        .execute(
            format!(
                "ALTER DATABASE {} ALLOW_CONNECTIONS {reachable}",
                database.name
            )
            .as_str(),
        )
        .await
        .unwrap();
    if !reachable {
        admin
            .execute(
                format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'",
                    database.name
                )
                .as_str(),
            )
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_database_outage_fails_tenant_fields_with_503_and_the_service_recovers() {
    let database = fresh_postgres_database().await;
    let app = spawn_app_with(AppOptions {
        database_url: Some(database.url.clone()),
        hydrate: true,
        ..AppOptions::default()
    })
    .await;
    let token = app.token_with(&["editor"], json!({"custom:tenant": "acme"}));
    let both = "{ me { username } projects { totalCount } }";
    let (status, body) = app.query(Some(&token), both).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["projects"]["totalCount"], 0, "{body}");

    set_reachable(&database, false).await;
    let (status, body) = app.query(Some(&token), both).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["me"]["username"], "alice", "{body}");
    assert_eq!(body["data"]["projects"], Value::Null, "{body}");
    assert_eq!(error_codes(&body), ["SERVICE_UNAVAILABLE"], "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["reason"],
        "database_unavailable"
    );
    let response = app
        .post_query(Some(&token), "{ projects { totalCount } }")
        .await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(app.get("/readyz").await.status(), 503);

    set_reachable(&database, true).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = app.query(Some(&token), both).await;
        if status == 200 && body["data"]["projects"]["totalCount"] == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no recovery: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.get("/readyz").await.status(), 200);
}
