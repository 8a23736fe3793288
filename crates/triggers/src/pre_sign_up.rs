//! Pre sign-up: addresses of configured domains are confirmed and verified at once; addresses of
//! closed domains may not sign up by themselves.
//!
//! Applies to `PreSignUp_SignUp` (the closed-domain rule also to `PreSignUp_ExternalProvider`,
//! federated first sign-ins). `PreSignUp_AdminCreateUser` (an admin's invitation) passes as it
//! is: admins may invite anyone.

use aws_lambda_events::event::cognito::{
    CognitoEventUserPoolsPreSignup, CognitoEventUserPoolsPreSignupTriggerSource as Source,
};

use crate::{Domain, SignUpPolicy, TriggerError};

/// Applies `policy` to the sign-up in `event` and returns the event with its response set.
pub fn handle(
    mut event: CognitoEventUserPoolsPreSignup,
    policy: &SignUpPolicy,
) -> Result<CognitoEventUserPoolsPreSignup, TriggerError> {
    let source = event
        .cognito_event_user_pools_header
        .trigger_source
        .clone()
        .unwrap_or_default();
    if source == Source::AdminCreateUser {
        return Ok(event);
    }
    let domain = event
        .request
        .user_attributes
        .get("email")
        .and_then(|email| Domain::of_email(email));
    let Some(domain) = domain else {
        // No email (a phone-only pool, say): nothing to decide by domain.
        return Ok(event);
    };
    if policy.closed.contains(&domain) {
        return Err(TriggerError::Refused(format!(
            "Sign-ups with {domain} addresses are closed; ask your administrator for an invitation."
        )));
    }
    if source == Source::SignUp && policy.auto_confirm.contains(&domain) {
        event.response.auto_confirm_user = true;
        event.response.auto_verify_email = true;
    }
    Ok(event)
}
