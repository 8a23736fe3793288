//! Post confirmation: a user who signed up by themselves founds a tenant of their own.
//!
//! On `PostConfirmation_ConfirmSignUp`: the tenant id is derived from the user's `sub` (a UUID v5,
//! so a repeated invocation finds the same tenant), set as the user's `custom:tenant`
//! (`AdminUpdateUserAttributes`: the attribute is writable by admins, never by the app client),
//! the user joins the admin group, and the member row is written through the domain (role admin,
//! audit event `member.joined`). Each step is idempotent: Cognito retries a trigger that fails or
//! takes longer than 5 s, and a retry changes nothing that the first run did.
//!
//! A user who already has another tenant (an invited user, who never comes here, or a tenant set
//! by other means) is left alone: they do not become an admin of anything.
//! `PostConfirmation_ConfirmForgotPassword` does nothing.

use aws_lambda_events::event::cognito::{
    CognitoEventUserPoolsPostConfirmation,
    CognitoEventUserPoolsPostConfirmationTriggerSource as Source,
};
use cognigraph_cognito::{Attribute, SUB_ATTRIBUTE, TENANT_ATTRIBUTE, UserPool};
use cognigraph_domain::{
    Db, Role, TenantId,
    members::{self, MemberProfile},
};
use uuid::Uuid;

use crate::TriggerError;

/// The namespace of tenant ids derived from a founder's `sub`.
const TENANT_NAMESPACE: Uuid = Uuid::from_u128(0x6c0f_5d1e_2a8b_4c3d_9e7f_1a2b_3c4d_5e6f);

/// The tenant a self-signed-up user founds: 32 hex digits, the same for the same `sub`.
pub fn founded_tenant(sub: &str) -> TenantId {
    let id = Uuid::new_v5(&TENANT_NAMESPACE, sub.as_bytes())
        .simple()
        .to_string();
    // 32 hex digits are always a valid tenant id.
    TenantId::parse(&id).unwrap_or_else(|_| unreachable!("a UUID's hex digits are a tenant id"))
}

/// What the handler did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The user founded (or, on a retry, still has) this tenant and is its admin.
    Founded(TenantId),
    /// Nothing to do (a password reset, or a user with a tenant of their own already).
    Skipped,
}

/// Handles `event` with the pool's admin API and the service's database; returns the event (as
/// Cognito expects it back) and what was done.
pub async fn handle(
    event: CognitoEventUserPoolsPostConfirmation,
    user_pool: &dyn UserPool,
    db: &Db,
    admin_group: &str,
) -> Result<(CognitoEventUserPoolsPostConfirmation, Outcome), TriggerError> {
    let header = &event.cognito_event_user_pools_header;
    if header.trigger_source.clone().unwrap_or_default() != Source::ConfirmSignUp {
        return Ok((event, Outcome::Skipped));
    }
    let username = header
        .user_name
        .clone()
        .ok_or_else(|| TriggerError::UnexpectedEvent("no userName".to_owned()))?;
    let attributes = &event.request.user_attributes;
    let sub = attributes
        .get(SUB_ATTRIBUTE)
        .ok_or_else(|| TriggerError::UnexpectedEvent("no sub attribute".to_owned()))?
        .clone();
    let tenant = founded_tenant(&sub);
    match attributes.get(TENANT_ATTRIBUTE) {
        Some(existing) if existing == tenant.as_str() => {} // a retry
        Some(_) => {
            tracing::warn!(%username, "a confirmed user has a tenant already; not founding one");
            return Ok((event, Outcome::Skipped));
        }
        None => {
            user_pool
                .admin_update_user_attributes(
                    &username,
                    &[Attribute::new(TENANT_ATTRIBUTE, tenant.as_str())],
                )
                .await
                .map_err(TriggerError::Cognito)?;
        }
    }
    user_pool
        .admin_add_user_to_group(&username, admin_group)
        .await
        .map_err(TriggerError::Cognito)?;
    let profile = MemberProfile {
        username: username.clone(),
        email: attributes.get("email").cloned(),
        token_issued_at: None,
    };
    members::enter(db, tenant.clone(), Role::Admin, &sub, profile)
        .await
        .map_err(TriggerError::Database)?;
    tracing::info!(%username, tenant = %tenant, "founded a tenant");
    Ok((event, Outcome::Founded(tenant)))
}
