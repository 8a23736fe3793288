//! The rules fields are guarded by, each named once. A field's `#[auth(RULE, …)]` makes both
//! its guard and its `@auth` directives from these constants. Tenant data rules are derived from
//! the domain's policy table ([`Action::required_role`]), never written twice.

use cognigraph_domain::Action;

use crate::authz::{Role, Rule};

/// `Query.me`: any authenticated caller.
pub const ME: Rule = Rule::AUTHENTICATED;
/// `Query.accessPolicy`: viewers and up.
pub const ACCESS_POLICY: Rule = Rule::role(Role::Viewer);
/// `Mutation.refreshSigningKeys`: admins.
pub const REFRESH_SIGNING_KEYS: Rule = Rule::role(Role::Admin);

/// One rule per domain action: the action's role, and a tenant.
macro_rules! action_rules {
    ($($name:ident => $action:ident),* $(,)?) => {
        $(
            #[doc = concat!("The role of [`Action::", stringify!($action), "`], and a tenant.")]
            pub const $name: Rule = Rule::role(Action::$action.required_role()).and_tenant();
        )*
        /// Every domain-derived rule with its action (for the consistency test).
        pub const ACTION_RULES: &[(Action, Rule)] = &[$((Action::$action, $name)),*];
    };
}

action_rules! {
    READ_PROJECTS => ReadProjects,
    CREATE_PROJECT => CreateProject,
    UPDATE_PROJECT => UpdateProject,
    ARCHIVE_PROJECT => ArchiveProject,
    DELETE_PROJECT => DeleteProject,
    READ_TASKS => ReadTasks,
    CREATE_TASK => CreateTask,
    UPDATE_TASK => UpdateTask,
    ASSIGN_TASK => AssignTask,
    SET_TASK_STATUS => SetTaskStatus,
    DELETE_TASK => DeleteTask,
    READ_MEMBERS => ReadMembers,
    MANAGE_MEMBERS => ManageMembers,
    READ_MEMBER_EMAIL => ReadMemberEmail,
    READ_BUDGET => ReadBudget,
    READ_AUDIT_LOG => ReadAuditLog,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_domain_action_has_a_rule_with_its_role() {
        for action in Action::ALL {
            let (_, rule) = ACTION_RULES
                .iter()
                .find(|(a, _)| *a == action)
                .unwrap_or_else(|| panic!("{action:?} has no rule"));
            assert_eq!(rule.required_role(), Some(action.required_role()));
            assert!(rule.requires_tenant());
        }
    }
}

/// `#[auth]` with alternatives: one declaration, a guard that admits either rule, and one
/// `@auth` directive per rule.
#[cfg(test)]
mod alternatives {
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Request, Schema};
    use cognigraph_authz_macros::authorized;

    use crate::authz::{Principal, Role, Rule};

    const ADMIN: Rule = Rule::role(Role::Admin);
    const OPS: Rule = Rule::scope("cognigraph/ops");

    struct Query;

    #[authorized]
    #[Object]
    impl Query {
        #[auth(ADMIN, OPS)]
        async fn operations(&self) -> Option<bool> {
            Some(true)
        }
    }

    #[tokio::test]
    async fn either_rule_admits_and_each_is_a_directive() {
        let schema = Schema::new(Query, EmptyMutation, EmptySubscription);
        let sdl = schema.sdl();
        assert!(
            sdl.contains(
                r#"operations: Boolean @auth(requires: ADMIN) @auth(scope: "cognigraph/ops")"#
            ),
            "{sdl}"
        );
        let answer = |principal: Principal| {
            let schema = schema.clone();
            async move {
                let response = schema
                    .execute(Request::new("{ operations }").data(principal))
                    .await;
                response.data.into_json().expect("JSON")["operations"].clone()
            }
        };
        let admin = Principal::for_tests(Some(Role::Admin), &[], None);
        let ops = Principal::for_tests(None, &["cognigraph/ops"], None);
        let viewer = Principal::for_tests(Some(Role::Viewer), &[], None);
        assert_eq!(answer(admin).await, serde_json::json!(true));
        assert_eq!(answer(ops).await, serde_json::json!(true));
        assert_eq!(answer(viewer).await, serde_json::Value::Null);
    }
}
