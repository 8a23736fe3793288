//! Field policies: deny by default, one declaration that is both the guard and the directive.
//!
//! Every root field carries `#[graphql(guard = "policies::X", directive = auth::apply(…))]`, the
//! directive's arguments read from the same constant `X`, so what runs and what `schema.graphql`
//! shows are one declaration; a test walks the schema and executes every root field as every
//! kind of caller to prove they agree.

use async_graphql::{Context, Guard};

use super::{Principal, Role, RoleValue};
use crate::{errors::ApiError, tenancy::TenantStatus};

/// `@auth` in the schema: who may resolve a field. Repeated, the rules are alternatives (OR);
/// within one, every given condition must hold (AND).
#[async_graphql::TypeDirective(location = "FieldDefinition", repeatable)]
pub fn auth(
    requires: Option<RoleValue>,
    scope: Option<String>,
    tenant: Option<bool>,
    authenticated: Option<bool>,
) {
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

    /// Why `principal` fails this rule (`no_tenant`, `invalid_tenant`, `insufficient_role`,
    /// `missing_scope`), or
    /// `None` when it passes.
    pub fn denial(&self, principal: &Principal) -> Option<&'static str> {
        if self.tenant {
            match principal.tenant_status() {
                TenantStatus::Member(_) => {}
                TenantStatus::Missing => return Some("no_tenant"),
                TenantStatus::Invalid => return Some("invalid_tenant"),
            }
        }
        if let Some(role) = self.role
            && !principal.has_role(role)
        {
            return Some("insufficient_role");
        }
        if let Some(scope) = self.scope
            && !principal.scopes().contains(scope)
        {
            return Some("missing_scope");
        }
        None
    }
}

/// A field's policy: allowed when any of its rules holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    rules: &'static [Rule],
}

impl Policy {
    /// Allowed when `rule` holds.
    pub const fn one(rule: &'static Rule) -> Policy {
        Policy {
            rules: std::slice::from_ref(rule),
        }
    }

    /// Allowed when any of `rules` holds (at least one rule).
    pub const fn any_of(rules: &'static [Rule]) -> Policy {
        assert!(!rules.is_empty(), "a policy needs at least one rule");
        Policy { rules }
    }

    /// The alternatives.
    pub fn rules(&self) -> &'static [Rule] {
        self.rules
    }

    /// `requires:` of rule `index`'s `@auth` directive. The four argument methods exist
    /// because async-graphql takes a directive only as `auth::apply(…)` written at the field;
    /// deriving each argument from the policy keeps guard and directive one declaration.
    pub fn requires(&self, index: usize) -> Option<RoleValue> {
        self.rules[index].role.map(RoleValue::from)
    }

    /// `scope:` of rule `index`'s `@auth` directive.
    pub fn scope(&self, index: usize) -> Option<String> {
        self.rules[index].scope.map(str::to_owned)
    }

    /// `tenant:` of rule `index`'s `@auth` directive (absent unless required).
    pub fn tenant(&self, index: usize) -> Option<bool> {
        self.rules[index].tenant.then_some(true)
    }

    /// `authenticated: true` when rule `index` asks for nothing but a valid token.
    pub fn authenticated(&self, index: usize) -> Option<bool> {
        (self.rules[index] == Rule::AUTHENTICATED).then_some(true)
    }

    /// `Ok` when `principal` satisfies a rule; otherwise the reason the first rule gives.
    pub fn check_principal(&self, principal: &Principal) -> Result<(), ApiError> {
        let mut first_denial = None;
        for rule in self.rules {
            match rule.denial(principal) {
                None => return Ok(()),
                Some(reason) => {
                    first_denial.get_or_insert(reason);
                }
            }
        }
        Err(ApiError::Forbidden {
            reason: first_denial.unwrap_or("denied"),
        })
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
        self.check_principal(principal).map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EDITOR_IN_TENANT: Rule = Rule::role(Role::Editor).and_tenant();
    const ADMIN_OR_SCOPE: &[Rule] = &[Rule::role(Role::Admin), Rule::scope("cognigraph/ops")];

    fn reason(policy: Policy, principal: &Principal) -> Option<&'static str> {
        match policy.check_principal(principal) {
            Ok(()) => None,
            Err(ApiError::Forbidden { reason }) => Some(reason),
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn and_needs_every_condition() {
        let policy = Policy::one(&EDITOR_IN_TENANT);
        let admin_in_tenant = Principal::for_tests(Some(Role::Admin), &[], Some("acme"));
        let editor_no_tenant = Principal::for_tests(Some(Role::Editor), &[], None);
        let viewer_in_tenant = Principal::for_tests(Some(Role::Viewer), &[], Some("acme"));
        assert_eq!(reason(policy, &admin_in_tenant), None);
        assert_eq!(reason(policy, &editor_no_tenant), Some("no_tenant"));
        assert_eq!(reason(policy, &viewer_in_tenant), Some("insufficient_role"));
    }

    #[test]
    fn or_needs_one_rule() {
        let policy = Policy::any_of(ADMIN_OR_SCOPE);
        let admin = Principal::for_tests(Some(Role::Admin), &[], None);
        let ops_client = Principal::for_tests(None, &["cognigraph/ops"], None);
        let viewer = Principal::for_tests(Some(Role::Viewer), &["openid"], None);
        assert_eq!(reason(policy, &admin), None);
        assert_eq!(reason(policy, &ops_client), None);
        assert_eq!(reason(policy, &viewer), Some("insufficient_role"));
    }

    #[test]
    fn authenticated_admits_a_caller_without_role() {
        let anyone = Principal::for_tests(None, &[], None);
        assert_eq!(reason(Policy::one(&Rule::AUTHENTICATED), &anyone), None);
    }
}
