//! `DATABASE_SECRET`: the database URL from a Secrets Manager secret (moto's), as the CDK stack
//! configures the service and the post-confirmation trigger on Lambda.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_secretsmanager::config::Credentials;
use cognigraph_database_secret::{DatabaseSecretError, DatabaseSecrets};
use cognigraph_tests::{emulator_url, require_emulator};
use serde_json::json;

async fn emulator_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(emulator_url().trim_end_matches('/'))
        .credentials_provider(Credentials::new("test", "test", None, None, "emulator"))
        .load()
        .await
}

#[tokio::test]
async fn the_database_url_comes_from_an_rds_shaped_secret() {
    require_emulator().await;
    let admin_url = std::env::var("TEST_POSTGRES_URL")
        .expect("TEST_POSTGRES_URL (just test starts PostgreSQL for this test)");
    let database = cognigraph_domain::testing::create_postgres_database(&admin_url, "secret")
        .await
        .expect("a new database");
    let url = url::Url::parse(&database.url).expect("the test database's URL");
    let config = emulator_config().await;
    // What RDS writes for generated credentials (the throwaway cluster trusts loopback, so the
    // password is not checked; its characters must survive the URL all the same).
    let secret = aws_sdk_secretsmanager::Client::new(&config)
        .create_secret()
        .name(format!("cognigraph-db-{}", uuid::Uuid::new_v4()))
        .secret_string(
            json!({
                "engine": "postgres",
                "host": url.host_str().expect("a host"),
                "port": url.port().unwrap_or(5432),
                "username": url.username(),
                "password": "p@ss/w:rd%?#&",
                "dbname": database.name,
                "dbClusterIdentifier": "cognigraph",
            })
            .to_string(),
        )
        .send()
        .await
        .expect("CreateSecret");
    let arn = secret.arn().expect("an ARN");

    let secrets = DatabaseSecrets::new(&config);
    let database_url = secrets.database_url(arn).await.expect("the database URL");
    let db = cognigraph_domain::Db::connect(&database_url)
        .await
        .expect("the URL connects");
    db.migrate().await.expect("and migrates");

    let missing = secrets
        .database_url("cognigraph-no-such-secret")
        .await
        .unwrap_err();
    assert!(
        matches!(missing, DatabaseSecretError::Unreadable { .. }),
        "{missing:?}"
    );
    assert_eq!(
        missing.to_string(),
        "cannot read the database secret cognigraph-no-such-secret from AWS Secrets Manager"
    );
}
