//! The caller's role within a tenant.

use std::fmt;

/// A role within a tenant, ordered so that `Admin > Editor > Viewer`: a higher role may do
/// everything a lower one may (see [`crate::Action::required_role`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Reads projects and tasks.
    Viewer,
    /// Also creates and updates projects and tasks, assigns tasks and sets their status.
    Editor,
    /// Also archives and deletes projects, deletes tasks, lists and manages members, and reads
    /// members' emails, budgets and the audit trail.
    Admin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Editor, Role::Admin];

    /// `"viewer"`, `"editor"` or `"admin"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }

    /// The Cognito group that grants this role unless configured otherwise (the service's
    /// `ROLE_GROUP_*` defaults, the triggers' and the CDK stack's groups): its name,
    /// [`Role::as_str`].
    pub const fn default_group(self) -> &'static str {
        self.as_str()
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
