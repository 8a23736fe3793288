//! Pre token generation (version 2): puts the user's `custom:tenant` into the **access** token, so
//! that the service runs with `TENANT_SOURCE=claim` and no GetUser on the request path.
//!
//! The V2 response always carries `groupOverrideDetails`, and an empty one can take the user's
//! groups out of the tokens: it is set to the request's group configuration, so
//! `cognito:groups` (cognigraph's roles) is left exactly as Cognito made it. Nothing else is
//! added, suppressed or overridden; a user without a tenant gets no claim.

use aws_lambda_events::event::cognito::{
    ClaimsAndScopeOverrideDetailsV2, CognitoAccessTokenGenerationV2,
    CognitoEventUserPoolsPreTokenGenV2,
};
use cognigraph_cognito::TENANT_ATTRIBUTE;

/// Returns `event` with its response set.
pub fn handle(mut event: CognitoEventUserPoolsPreTokenGenV2) -> CognitoEventUserPoolsPreTokenGenV2 {
    let mut details = ClaimsAndScopeOverrideDetailsV2::default();
    details.group_override_details = event.request.group_configuration.clone();
    if let Some(tenant) = event.request.user_attributes.get(TENANT_ATTRIBUTE) {
        let mut access = CognitoAccessTokenGenerationV2::default();
        access.claims_to_add_or_override.insert(
            TENANT_ATTRIBUTE.to_owned(),
            serde_json::Value::String(tenant.clone()),
        );
        details.access_token_generation = Some(access);
    }
    event.response.claims_and_scope_override_details = Some(details);
    event
}
