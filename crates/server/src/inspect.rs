//! `cognigraph token inspect`: why a token would be accepted or refused.

use std::fmt::Write as _;

use cognigraph_token::{CognitoVerifier, Inspection};

use crate::config::{CognitoSettings, SettingError};
use crate::errors::chain;

/// Why no report could be made (a refused token is a report, not an error).
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// A Cognito setting is unusable.
    #[error(transparent)]
    Setting(#[from] SettingError),
    /// The verifier could not be built (its HTTP client).
    #[error("cannot build the token verifier")]
    Verifier(#[from] cognigraph_token::ConfigError),
}

/// Runs every check against the configured pool (fetching its keys) and renders the report.
/// Returns the text and whether the token is accepted.
pub async fn inspect_token(
    cognito: &CognitoSettings,
    token: &str,
) -> Result<(String, bool), InspectError> {
    let verifier = CognitoVerifier::new(cognito.verifier_config()?)?;
    let token = token.trim();
    let token = token
        .strip_prefix("Bearer ")
        .or_else(|| token.strip_prefix("bearer "))
        .unwrap_or(token);
    let inspection = verifier.inspect(token).await;
    Ok((render(&inspection), inspection.accepted()))
}

/// The report: the untrusted header and claims, then one line per check.
pub fn render(inspection: &Inspection) -> String {
    let mut out = String::new();
    let pretty = |value: &Option<serde_json::Value>| match value {
        Some(v) => serde_json::to_string_pretty(v).unwrap_or_default(),
        None => "(does not decode)".to_owned(),
    };
    let _ = writeln!(out, "header (untrusted):\n{}", pretty(&inspection.header));
    let _ = writeln!(out, "claims (untrusted):\n{}", pretty(&inspection.claims));
    out.push_str("checks:\n");
    for check in &inspection.checks {
        match &check.outcome {
            Ok(detail) if detail.is_empty() => {
                let _ = writeln!(out, "  ok    {}", check.name);
            }
            Ok(detail) => {
                let _ = writeln!(out, "  ok    {:<11} {detail}", check.name);
            }
            Err(error) => {
                // With its causes: "network error" says less than what lies under it.
                let _ = writeln!(
                    out,
                    "  FAIL  {:<11} {} ({})",
                    check.name,
                    error.code(),
                    chain(error)
                );
            }
        }
    }
    out.push_str(if inspection.accepted() {
        "verdict: accepted\n"
    } else {
        "verdict: refused\n"
    });
    out
}
