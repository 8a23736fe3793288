//! Field policies: deny by default, one declaration that is both the guard and the directive.
//!
//! Every root field (and every guarded object field) carries `#[auth(RULE, …)]` inside an
//! `#[authorized]` impl block (see `cognigraph-authz-macros`): its guard is
//! `Policy::any_of(&[RULE, …])` and each rule is one `@auth` directive, so what runs and what
//! `schema.graphql` shows are one declaration; `Query.accessPolicy` is read from those
//! directives. A test walks the schema and executes every root field as every kind of caller to
//! prove guard, directive and `accessPolicy` agree.

use async_graphql::{Context, Guard};

use super::{GraphqlRole, Principal, Role};
use crate::errors::ApiError;

pub use directive::auth;

// `TypeDirective` turns the function into a struct and an `apply` function without docs.
#[allow(missing_docs)]
mod directive {
    use super::GraphqlRole;

    /// `@auth` in the schema: who may resolve a field. Repeated, the rules are alternatives (OR);
    /// within one, every given condition must hold (AND).
    #[async_graphql::TypeDirective(location = "FieldDefinition", repeatable)]
    pub fn auth(
        requires: Option<GraphqlRole>,
        scope: Option<String>,
        tenant: Option<bool>,
        authenticated: Option<bool>,
    ) {
    }
}

/// One way to be allowed: every condition it names must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    role: Option<Role>,
    scope: Option<&'static str>,
    tenant: bool,
}

impl Rule {
    /// Any authenticated caller.
    pub const AUTHENTICATED: Rule = Rule {
        role: None,
        scope: None,
        tenant: false,
    };

    /// Callers with `role` or a higher one.
    pub const fn role(role: Role) -> Rule {
        Rule {
            role: Some(role),
            scope: None,
            tenant: false,
        }
    }

    /// Callers whose token grants `scope`.
    pub const fn scope(scope: &'static str) -> Rule {
        Rule {
            role: None,
            scope: Some(scope),
            tenant: false,
        }
    }

    /// This rule, and the caller must belong to a tenant.
    pub const fn and_tenant(self) -> Rule {
        Rule {
            tenant: true,
            ..self
        }
    }

    /// This rule, and the token must grant `scope`.
    pub const fn and_scope(self, scope: &'static str) -> Rule {
        Rule {
            scope: Some(scope),
            ..self
        }
    }

    /// The minimum role, if any.
    pub fn required_role(&self) -> Option<Role> {
        self.role
    }

    /// The required scope, if any.
    pub fn required_scope(&self) -> Option<&'static str> {
        self.scope
    }

    /// Whether a tenant is required.
    pub fn requires_tenant(&self) -> bool {
        self.tenant
    }

    /// `requires:` of this rule's `@auth` directive.
    pub fn requires_arg(&self) -> Option<GraphqlRole> {
        self.role.map(GraphqlRole::from)
    }

    /// `scope:` of this rule's `@auth` directive.
    pub fn scope_arg(&self) -> Option<String> {
        self.scope.map(str::to_owned)
    }

    /// `tenant:` of this rule's `@auth` directive (absent unless required).
    pub fn tenant_arg(&self) -> Option<bool> {
        self.tenant.then_some(true)
    }

    /// `authenticated: true` when this rule asks for nothing but a valid token.
    pub fn authenticated_arg(&self) -> Option<bool> {
        (*self == Rule::AUTHENTICATED).then_some(true)
    }

    /// `Ok` when `principal` satisfies this rule; otherwise why not: FORBIDDEN with
    /// `insufficient_role`, `missing_scope`, `no_tenant` or `invalid_tenant`, or the failure of
    /// the tenant lookup. Role and scope are checked first, so a caller who fails them never
    /// causes a tenant lookup.
    pub async fn check(&self, principal: &Principal) -> Result<(), ApiError> {
        if let Some(role) = self.role
            && !principal.has_role(role)
        {
            return Err(ApiError::Forbidden {
                reason: "insufficient_role",
            });
        }
        if let Some(scope) = self.scope
            && !principal.scopes().contains(scope)
        {
            return Err(ApiError::Forbidden {
                reason: "missing_scope",
            });
        }
        if self.tenant {
            principal.tenant().await?.tenant.member()?;
        }
        Ok(())
    }
}

/// A field's policy: allowed when any of its rules holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    rules: &'static [Rule],
}

impl Policy {
    /// Allowed when any of `rules` holds (at least one rule).
    pub const fn any_of(rules: &'static [Rule]) -> Policy {
        assert!(!rules.is_empty(), "a policy needs at least one rule");
        Policy { rules }
    }

    /// The alternatives.
    pub fn rules(&self) -> &'static [Rule] {
        self.rules
    }

    /// `Ok` when `principal` satisfies a rule; otherwise the first rule's refusal.
    pub async fn check_principal(&self, principal: &Principal) -> Result<(), ApiError> {
        let mut first_refusal = None;
        for rule in self.rules {
            match rule.check(principal).await {
                Ok(()) => return Ok(()),
                Err(refusal) => {
                    first_refusal.get_or_insert(refusal);
                }
            }
        }
        Err(first_refusal.unwrap_or(ApiError::Forbidden { reason: "denied" }))
    }
}

impl Guard for Policy {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let Some(principal) = ctx.data_opt::<Principal>() else {
            return Err(ApiError::Unauthenticated {
                reason: "missing_token",
            }
            .into());
        };
        self.check_principal(principal).await.map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EDITOR_IN_TENANT: Rule = Rule::role(Role::Editor).and_tenant();
    const ADMIN_OR_SCOPE: &[Rule] = &[Rule::role(Role::Admin), Rule::scope("cognigraph/ops")];

    async fn reason(policy: Policy, principal: &Principal) -> Option<&'static str> {
        match policy.check_principal(principal).await {
            Ok(()) => None,
            Err(ApiError::Forbidden { reason }) => Some(reason),
            Err(other) => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn and_needs_every_condition() {
        let policy = Policy::any_of(&[EDITOR_IN_TENANT]);
        let admin_in_tenant = Principal::for_tests(Some(Role::Admin), &[], Some("acme"));
        let editor_no_tenant = Principal::for_tests(Some(Role::Editor), &[], None);
        let viewer_in_tenant = Principal::for_tests(Some(Role::Viewer), &[], Some("acme"));
        assert_eq!(reason(policy, &admin_in_tenant).await, None);
        assert_eq!(reason(policy, &editor_no_tenant).await, Some("no_tenant"));
        assert_eq!(
            reason(policy, &viewer_in_tenant).await,
            Some("insufficient_role")
        );
    }

    #[tokio::test]
    async fn or_needs_one_rule() {
        let policy = Policy::any_of(ADMIN_OR_SCOPE);
        let admin = Principal::for_tests(Some(Role::Admin), &[], None);
        let ops_client = Principal::for_tests(None, &["cognigraph/ops"], None);
        let viewer = Principal::for_tests(Some(Role::Viewer), &["openid"], None);
        assert_eq!(reason(policy, &admin).await, None);
        assert_eq!(reason(policy, &ops_client).await, None);
        assert_eq!(reason(policy, &viewer).await, Some("insufficient_role"));
    }

    #[tokio::test]
    async fn authenticated_admits_a_caller_without_role() {
        let anyone = Principal::for_tests(None, &[], None);
        assert_eq!(
            reason(Policy::any_of(&[Rule::AUTHENTICATED]), &anyone).await,
            None
        );
    }
}
