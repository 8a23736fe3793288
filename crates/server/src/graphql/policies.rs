//! The policy of every root field (and of the guarded object fields), in one table. A field's
//! guard and its `@auth` directive both name the constant here. Tenant data policies are derived
//! from the domain's policy table ([`Action::required_role`]), never written twice.

use cognigraph_domain::Action;

use crate::authz::{Policy, Role, Rule};

const ANY_CALLER: Rule = Rule::AUTHENTICATED;
const VIEWER: Rule = Rule::role(Role::Viewer);
const ADMIN: Rule = Rule::role(Role::Admin);

/// `Query.me`: any authenticated caller.
pub const ME: Policy = Policy::one(&ANY_CALLER);
/// `Query.accessPolicy`: viewers and up.
pub const ACCESS_POLICY: Policy = Policy::one(&VIEWER);
/// `Mutation.refreshSigningKeys`: admins.
pub const REFRESH_SIGNING_KEYS: Policy = Policy::one(&ADMIN);

/// One policy per domain action: the action's role, and a tenant.
macro_rules! action_policies {
    ($($name:ident => $action:ident),* $(,)?) => {
        mod action_rules {
            use cognigraph_domain::Action;
            use crate::authz::Rule;
            $(pub(super) const $name: Rule =
                Rule::role(Action::$action.required_role()).and_tenant();)*
        }
        $(
            #[doc = concat!("The role of [`Action::", stringify!($action), "`], and a tenant.")]
            pub const $name: Policy = Policy::one(&action_rules::$name);
        )*
        /// Every domain-derived policy with its action (for the consistency test).
        pub const ACTION_POLICIES: &[(Action, Policy)] = &[$((Action::$action, $name)),*];
    };
}

action_policies! {
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
    READ_MEMBER_EMAIL => ReadMemberEmail,
    READ_BUDGET => ReadBudget,
    READ_AUDIT_LOG => ReadAuditLog,
}

/// Every root field and its policy (for `Query.accessPolicy` and the schema walk).
pub const ROOT_FIELDS: &[(&str, &str, Policy)] = &[
    ("Query", "me", ME),
    ("Query", "accessPolicy", ACCESS_POLICY),
    ("Query", "projects", READ_PROJECTS),
    ("Query", "project", READ_PROJECTS),
    ("Query", "tasks", READ_TASKS),
    ("Query", "task", READ_TASKS),
    ("Query", "members", READ_MEMBERS),
    ("Query", "auditEvents", READ_AUDIT_LOG),
    ("Mutation", "refreshSigningKeys", REFRESH_SIGNING_KEYS),
    ("Mutation", "createProject", CREATE_PROJECT),
    ("Mutation", "updateProject", UPDATE_PROJECT),
    ("Mutation", "archiveProject", ARCHIVE_PROJECT),
    ("Mutation", "deleteProject", DELETE_PROJECT),
    ("Mutation", "createTask", CREATE_TASK),
    ("Mutation", "updateTask", UPDATE_TASK),
    ("Mutation", "assignTask", ASSIGN_TASK),
    ("Mutation", "setTaskStatus", SET_TASK_STATUS),
    ("Mutation", "deleteTask", DELETE_TASK),
];

/// The domain's action for a policy, if it is derived from one.
pub fn action_of(policy: Policy) -> Option<Action> {
    ACTION_POLICIES
        .iter()
        .find(|(_, p)| *p == policy)
        .map(|(action, _)| *action)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_domain_action_has_a_policy_with_its_role() {
        for action in Action::ALL {
            let (_, policy) = ACTION_POLICIES
                .iter()
                .find(|(a, _)| *a == action)
                .unwrap_or_else(|| panic!("{action:?} has no policy"));
            let [rule] = policy.rules() else {
                panic!("{action:?}: one rule")
            };
            assert_eq!(rule.required_role(), Some(action.required_role()));
            assert!(rule.requires_tenant());
        }
    }
}
