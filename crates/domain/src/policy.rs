//! The one policy table: which role each action needs.

use std::fmt;

use crate::Role;

/// Everything a caller can ask of the domain. [`Action::required_role`] is the only place that
/// says who may do what; the domain checks it on every operation and the GraphQL guards and field
/// policies are derived from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Read the tenant's projects (`projects::get`, `projects::get_many`, `projects::list`), and
    /// its members by id (`members::get`, `members::get_many`).
    ReadProjects,
    /// Create projects (`projects::create`).
    CreateProject,
    /// Change a project's name, description or budget (`projects::update`).
    UpdateProject,
    /// Archive projects (`projects::archive`).
    ArchiveProject,
    /// Delete projects, with their tasks (`projects::delete`).
    DeleteProject,
    /// Read the tenant's tasks (`tasks::get`, `tasks::get_many`, `tasks::list`,
    /// `tasks::first_by_project`).
    ReadTasks,
    /// Create tasks (`tasks::create`).
    CreateTask,
    /// Change a task's title, description or due date (`tasks::update`).
    UpdateTask,
    /// Assign or unassign tasks (`tasks::assign`).
    AssignTask,
    /// Move tasks to another status (`tasks::set_status`).
    SetTaskStatus,
    /// Delete tasks (`tasks::delete`).
    DeleteTask,
    /// List the tenant's members (`members::page`).
    ReadMembers,
    /// Field policy for `Member.email`, enforced by the GraphQL layer.
    ReadMemberEmail,
    /// Invite members, change their role, disable, enable and sign them out
    /// (`members::invite`, `members::change`, `members::record_sign_out`).
    ManageMembers,
    /// Field policy for `Project.budget`, enforced by the GraphQL layer.
    ReadBudget,
    /// Read the tenant's audit trail (`audit::list`).
    ReadAuditLog,
}

impl Action {
    /// Every action, in declaration order.
    pub const ALL: [Action; 16] = [
        Action::ReadProjects,
        Action::CreateProject,
        Action::UpdateProject,
        Action::ArchiveProject,
        Action::DeleteProject,
        Action::ReadTasks,
        Action::CreateTask,
        Action::UpdateTask,
        Action::AssignTask,
        Action::SetTaskStatus,
        Action::DeleteTask,
        Action::ReadMembers,
        Action::ReadMemberEmail,
        Action::ManageMembers,
        Action::ReadBudget,
        Action::ReadAuditLog,
    ];

    /// The lowest role allowed to perform this action.
    pub const fn required_role(self) -> Role {
        match self {
            Action::ReadProjects | Action::ReadTasks => Role::Viewer,
            Action::CreateProject
            | Action::UpdateProject
            | Action::CreateTask
            | Action::UpdateTask
            | Action::AssignTask
            | Action::SetTaskStatus => Role::Editor,
            Action::ArchiveProject
            | Action::DeleteProject
            | Action::DeleteTask
            | Action::ReadMembers
            | Action::ReadMemberEmail
            | Action::ManageMembers
            | Action::ReadBudget
            | Action::ReadAuditLog => Role::Admin,
        }
    }

    /// Whether `role` may perform this action.
    pub fn allows(self, role: Role) -> bool {
        role >= self.required_role()
    }

    /// A stable snake_case name, e.g. `"read_budget"`, for error extensions and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::ReadProjects => "read_projects",
            Action::CreateProject => "create_project",
            Action::UpdateProject => "update_project",
            Action::ArchiveProject => "archive_project",
            Action::DeleteProject => "delete_project",
            Action::ReadTasks => "read_tasks",
            Action::CreateTask => "create_task",
            Action::UpdateTask => "update_task",
            Action::AssignTask => "assign_task",
            Action::SetTaskStatus => "set_task_status",
            Action::DeleteTask => "delete_task",
            Action::ReadMembers => "read_members",
            Action::ReadMemberEmail => "read_member_email",
            Action::ManageMembers => "manage_members",
            Action::ReadBudget => "read_budget",
            Action::ReadAuditLog => "read_audit_log",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
