//! Helpers for the suites that test the service over HTTP (`crates/server/tests`, `tests/`),
//! behind the `test-helpers` feature. Never in production builds.

use serde_json::Value;

use crate::{config::Settings, tenancy::TenantSource};

/// The user pool a test's app trusts.
#[derive(Debug, Clone)]
pub struct TestPool {
    /// Its id (`us-east-1_…`; the region is `us-east-1`).
    pub user_pool_id: String,
    /// The app client its tokens are issued to.
    pub client_id: String,
    /// Where its signing keys are.
    pub jwks_url: String,
}

/// The settings a test's own app starts from: every default the service declares (in
/// [`crate::config`], nowhere else), with `pool`, `database_url`, port 0 on 127.0.0.1,
/// migrations applied at start and tenants from `tenant_source`. A test changes typed fields
/// from there (`settings.limits.max_aliases = 3`), never command-line strings.
///
/// # Panics
/// When the pool's values are not valid settings (a test's mistake).
pub fn settings(pool: &TestPool, database_url: &str, tenant_source: TenantSource) -> Settings {
    let mut settings = Settings::try_parse_from_args([
        "--region",
        "us-east-1",
        "--user-pool-id",
        &pool.user_pool_id,
        "--client-id",
        &pool.client_id,
        "--jwks-url",
        &pool.jwks_url,
        "--database-url",
        database_url,
        "--migrate",
        "--listen-addr",
        "127.0.0.1:0",
    ])
    .unwrap_or_else(|error| panic!("test settings: {error}"));
    settings.tenant_source = tenant_source;
    settings
}

/// The `extensions.code` of each error of a GraphQL response body, in order (`(none)` for an
/// error without one).
pub fn error_codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|error| {
                    error["extensions"]["code"]
                        .as_str()
                        .unwrap_or("(none)")
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}
