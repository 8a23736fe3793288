//! Roles and the Cognito groups that grant them.

use cognigraph_token::NameSet;

pub use cognigraph_domain::Role;

/// `Role` in the GraphQL schema: the domain's roles. Each includes the ones below it:
/// `ADMIN ⊇ EDITOR ⊇ VIEWER`.
// The GraphQL mirror of the domain's `Role` (async-graphql's `remote` enum: the domain crate
// knows nothing of GraphQL); `Graphql…` names every such mirror.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "Role", remote = "Role")]
pub enum GraphqlRole {
    /// Reads projects and tasks.
    Viewer,
    /// Also creates and updates projects and tasks, assigns, changes status.
    Editor,
    /// Everything, including archive, delete, budgets, members' emails and the audit log.
    Admin,
}

/// `role` and every role it includes, highest first.
pub fn with_included(role: Role) -> Vec<Role> {
    Role::ALL.into_iter().rev().filter(|r| *r <= role).collect()
}

/// The allow-list from Cognito group names to roles. Groups not in it grant nothing, including
/// Cognito's auto-created `<poolId>_<provider>` groups of federated users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleGroups {
    admin: String,
    editor: String,
    viewer: String,
}

impl RoleGroups {
    /// Maps these three group names to ADMIN, EDITOR and VIEWER.
    pub fn new(admin: &str, editor: &str, viewer: &str) -> Self {
        Self {
            admin: admin.to_owned(),
            editor: editor.to_owned(),
            viewer: viewer.to_owned(),
        }
    }

    /// The group that grants `role`.
    pub fn group_of(&self, role: Role) -> &str {
        match role {
            Role::Admin => &self.admin,
            Role::Editor => &self.editor,
            Role::Viewer => &self.viewer,
        }
    }

    /// The highest role any of `groups` grants.
    pub fn role_of(&self, groups: NameSet<'_>) -> Option<Role> {
        if groups.contains(&self.admin) {
            Some(Role::Admin)
        } else if groups.contains(&self.editor) {
            Some(Role::Editor)
        } else if groups.contains(&self.viewer) {
            Some(Role::Viewer)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use cognigraph_token::VerifiedToken;

    use super::*;

    fn token_in(groups: &[&str]) -> VerifiedToken {
        VerifiedToken::for_tests(serde_json::json!({ "sub": "s", "cognito:groups": groups }))
    }

    #[test]
    fn the_highest_listed_group_wins_and_others_grant_nothing() {
        let map = RoleGroups::new("admin", "editor", "viewer");
        assert_eq!(
            map.role_of(token_in(&["viewer", "editor"]).groups()),
            Some(Role::Editor)
        );
        assert_eq!(
            map.role_of(token_in(&["viewer", "admin"]).groups()),
            Some(Role::Admin)
        );
        assert_eq!(
            map.role_of(token_in(&["viewer"]).groups()),
            Some(Role::Viewer)
        );
        assert_eq!(map.role_of(token_in(&[]).groups()), None);
        assert_eq!(
            map.role_of(token_in(&["us-east-1_AbC_Google", "Admin", "admins"]).groups()),
            None
        );
        let custom = RoleGroups::new("ops", "writers", "readers");
        assert_eq!(
            custom.role_of(token_in(&["admin", "writers"]).groups()),
            Some(Role::Editor)
        );
    }

    #[test]
    fn roles_include_the_ones_below() {
        assert_eq!(
            with_included(Role::Admin),
            [Role::Admin, Role::Editor, Role::Viewer]
        );
        assert_eq!(with_included(Role::Viewer), [Role::Viewer]);
    }
}
