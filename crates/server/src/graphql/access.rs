//! `Query.accessPolicy`: the authorization table, for front ends that hide what users cannot do.

use async_graphql::{Object, SimpleObject};

use super::policies;
use crate::authz::RoleValue;
use crate::authz::auth;

/// Who may use one root field: allowed when any of its rules holds.
#[derive(SimpleObject, Debug, Clone)]
pub struct FieldPolicy {
    /// `Query` or `Mutation`.
    pub operation_type: String,
    /// The root field.
    pub field: String,
    /// The alternatives.
    pub rules: Vec<AccessRule>,
}

/// One way to be allowed: every condition given must hold.
#[derive(SimpleObject, Debug, Clone)]
pub struct AccessRule {
    /// The minimum role, if any.
    pub requires: Option<RoleValue>,
    /// The OAuth scope required, if any.
    pub scope: Option<String>,
    /// Whether the caller must belong to a tenant.
    pub tenant: bool,
}

#[derive(Default, Debug)]
pub(super) struct AccessQuery;

#[Object]
impl AccessQuery {
    /// The policy of every root field. (Nullable, as every guarded root field: a denial nulls
    /// this field only, and the rest of the response is served.)
    #[graphql(
        guard = "policies::ACCESS_POLICY",
        directive = auth::apply(
            policies::ACCESS_POLICY.requires(0),
            policies::ACCESS_POLICY.scope(0),
            policies::ACCESS_POLICY.tenant(0),
            policies::ACCESS_POLICY.authenticated(0)
        )
    )]
    async fn access_policy(&self) -> Option<Vec<FieldPolicy>> {
        let policies = policies::ROOT_FIELDS
            .iter()
            .map(|(operation_type, field, policy)| FieldPolicy {
                operation_type: (*operation_type).to_owned(),
                field: (*field).to_owned(),
                rules: policy
                    .rules()
                    .iter()
                    .map(|rule| AccessRule {
                        requires: rule.required_role().map(RoleValue::from),
                        scope: rule.required_scope().map(str::to_owned),
                        tenant: rule.requires_tenant(),
                    })
                    .collect(),
            })
            .collect();
        Some(policies)
    }
}
