//! `cognigraph-triggers`: the Lambda function behind cognigraph's Cognito triggers (pre sign-up,
//! post confirmation, pre token generation V2), one binary dispatching on `triggerSource`.
//!
//! Settings (environment, read at init): `SIGNUP_AUTO_CONFIRM_DOMAINS`, `SIGNUP_CLOSED_DOMAINS`,
//! `ROLE_GROUP_ADMIN`, and for post confirmation `DATABASE_URL` or, instead, `DATABASE_SECRET`
//! (a Secrets Manager secret with the credentials as RDS writes them, read once here, so that
//! the password is not in the function's configuration). Logs are JSON lines on stderr
//! (CloudWatch), filtered by `RUST_LOG` (default `info`).

use cognigraph_cognito::{ClientSettings, CognitoClient};
use cognigraph_database_secret::DatabaseSecrets;
use cognigraph_triggers::{PoolAccess, TriggerSettings, Triggers};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .without_time()
        .init();
    let mut settings = TriggerSettings::from_vars(|name| std::env::var(name).ok())?;
    if let Some(secret_id) = std::env::var("DATABASE_SECRET")
        .ok()
        .filter(|id| !id.is_empty())
    {
        if settings.database_url.is_some() {
            return Err("set DATABASE_SECRET or DATABASE_URL, not both".into());
        }
        let url = DatabaseSecrets::from_env()
            .await
            .database_url(&secret_id)
            .await?;
        settings.database_url = Some(url);
    }
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_owned());
    // Cognito gives a trigger 5 s: one attempt of at most 2 s per call, no retries here (Cognito
    // retries the whole trigger).
    let client = CognitoClient::new(
        &ClientSettings::new(region)
            .connect_timeout(std::time::Duration::from_millis(500))
            .attempt_timeout(std::time::Duration::from_secs(2))
            .operation_timeout(std::time::Duration::from_secs(2))
            .max_attempts(1),
    )
    .await;
    let triggers = Triggers::new(settings, PoolAccess::Sdk(client));
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let triggers = triggers.clone();
        async move { triggers.handle(event.payload).await }
    }))
    .await
}
