//! Helpers for the suites that test the service over HTTP (`crates/server/tests`, `tests/`),
//! behind the `test-helpers` feature. Never in production builds.

use serde_json::Value;

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
