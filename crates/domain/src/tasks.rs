//! Tasks: units of work in a project, with a status and an assignee.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, Order, QueryFilter, QuerySelect};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Entity};
use crate::input;
use crate::page::{Page, PageRequest};
use crate::store::{
    self, MemberCol, Members, ProjectCol, Projects, TaskCol, TaskModel, TaskRow, Tasks,
};
use crate::{Action, Db, DomainError, Scope};

/// Longest task title, in characters (after trimming).
pub const MAX_TITLE: usize = 200;
/// Longest description, in characters.
pub const MAX_DESCRIPTION: usize = 5000;

/// Where a task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    /// Not started; every task starts here.
    Todo,
    /// Being worked on.
    InProgress,
    /// Finished.
    Done,
}

impl TaskStatus {
    /// Every status, in declaration order.
    pub const ALL: [TaskStatus; 3] = [TaskStatus::Todo, TaskStatus::InProgress, TaskStatus::Done];

    /// `"TODO"`, `"IN_PROGRESS"` or `"DONE"`, as stored and as the GraphQL enum spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Todo => "TODO",
            TaskStatus::InProgress => "IN_PROGRESS",
            TaskStatus::Done => "DONE",
        }
    }

    /// The inverse of [`TaskStatus::as_str`]; anything else is `InvalidInput { field: "status" }`.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == raw)
            .ok_or_else(|| DomainError::invalid("status", "must be TODO, IN_PROGRESS or DONE"))
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A task: a unit of work in a project of the tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// The task's id (UUID v7, so ids sort in creation order).
    pub id: Uuid,
    /// The project the task belongs to.
    pub project_id: Uuid,
    /// The task's title: 1 to 200 characters, trimmed.
    pub title: String,
    /// At most 5000 characters, kept as given; `None` when there is none.
    pub description: Option<String>,
    /// Where the task stands; [`TaskStatus::Todo`] when created.
    pub status: TaskStatus,
    /// The member the task is assigned to; `None` when unassigned.
    pub assignee_id: Option<Uuid>,
    /// The day the task is due, in the years 1 to 9999; `None` when it has none.
    pub due_date: Option<NaiveDate>,
    /// 1 when created, +1 on every write.
    pub version: i32,
    /// The member who created the task.
    pub created_by: Uuid,
    /// When the task was created.
    pub created_at: DateTime<Utc>,
    /// The member who made the latest write (the creator until the first one).
    pub updated_by: Uuid,
    /// When the latest write was made (`created_at` until the first one).
    pub updated_at: DateTime<Utc>,
}

/// Columns of a task that a read of many tasks may leave out: a page that shows titles need
/// not copy every task's description, dates and members out of the database. The id and the
/// project are always read. A set of columns is built with `|` from the constants below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TaskColumns(u16);

impl TaskColumns {
    /// No column beyond the id and the project.
    pub const NONE: Self = Self(0);
    /// [`Task::title`].
    pub const TITLE: Self = Self(1);
    /// [`Task::description`].
    pub const DESCRIPTION: Self = Self(1 << 1);
    /// [`Task::status`].
    pub const STATUS: Self = Self(1 << 2);
    /// [`Task::assignee_id`].
    pub const ASSIGNEE: Self = Self(1 << 3);
    /// [`Task::due_date`].
    pub const DUE_DATE: Self = Self(1 << 4);
    /// [`Task::version`].
    pub const VERSION: Self = Self(1 << 5);
    /// [`Task::created_by`].
    pub const CREATED_BY: Self = Self(1 << 6);
    /// [`Task::created_at`].
    pub const CREATED_AT: Self = Self(1 << 7);
    /// [`Task::updated_by`].
    pub const UPDATED_BY: Self = Self(1 << 8);
    /// [`Task::updated_at`].
    pub const UPDATED_AT: Self = Self(1 << 9);
    /// Every column.
    pub const ALL: Self = Self((1 << 10) - 1);

    /// Whether every column of `other` is in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for TaskColumns {
    type Output = Self;

    fn bitor(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

impl std::ops::BitOrAssign for TaskColumns {
    fn bitor_assign(&mut self, other: Self) {
        self.0 |= other.0;
    }
}

/// A task read with some of its columns ([`TaskColumns`]): its id and project, and the rest of
/// it only through [`PartialTask::read`], which gives it only when the columns asked for were
/// read (the others hold placeholders that must never be shown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartialTask {
    task: Task,
    columns: TaskColumns,
}

impl PartialTask {
    /// The task's id.
    pub fn id(&self) -> Uuid {
        self.task.id
    }

    /// The project the task belongs to.
    pub fn project_id(&self) -> Uuid {
        self.task.project_id
    }

    /// The columns that were read.
    pub fn columns(&self) -> TaskColumns {
        self.columns
    }

    /// The task, when every column of `needed` was read; `None` when one was not (the caller
    /// reads the whole task instead).
    pub fn read(&self, needed: TaskColumns) -> Option<&Task> {
        self.columns.contains(needed).then_some(&self.task)
    }
}

impl From<Task> for PartialTask {
    /// A task read whole.
    fn from(task: Task) -> Self {
        Self {
            task,
            columns: TaskColumns::ALL,
        }
    }
}

/// A task to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    /// A project of the caller's tenant that is not archived, else
    /// `InvalidInput { field: "projectId" }`.
    pub project_id: Uuid,
    /// 1 to 200 characters once trimmed; stored trimmed.
    pub title: String,
    /// At most 5000 characters.
    pub description: Option<String>,
    /// In the years 1 to 9999, else `InvalidInput { field: "dueDate" }`.
    pub due_date: Option<NaiveDate>,
    /// A member of the caller's tenant, else `InvalidInput { field: "assigneeId" }`.
    pub assignee_id: Option<Uuid>,
}

/// Changes to a task: `None` leaves a field as it is; `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskPatch {
    /// A new title: 1 to 200 characters once trimmed; stored trimmed.
    pub title: Option<String>,
    /// A new description of at most 5000 characters, or `Some(None)` to clear it.
    pub description: Option<Option<String>>,
    /// A new due date in the years 1 to 9999, or `Some(None)` to clear it.
    pub due_date: Option<Option<NaiveDate>>,
}

/// Which tasks to list; every given field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFilter {
    /// Only the tasks of this project.
    pub project_id: Option<Uuid>,
    /// Only the tasks with this status.
    pub status: Option<TaskStatus>,
    /// Only the tasks assigned to this member.
    pub assignee_id: Option<Uuid>,
}

impl TryFrom<TaskModel> for Task {
    type Error = DomainError;

    fn try_from(row: TaskModel) -> Result<Self, DomainError> {
        Task::of_row(row, TaskColumns::ALL)
    }
}

impl Task {
    /// The task of a row read with `columns`; the status of a row read without it is a
    /// placeholder ([`TaskStatus::Todo`]).
    fn of_row(row: TaskModel, columns: TaskColumns) -> Result<Self, DomainError> {
        let status = if columns.contains(TaskColumns::STATUS) {
            TaskStatus::parse(&row.status)
                .map_err(|_| DomainError::impossible_task_status(row.id, row.status.clone()))?
        } else {
            TaskStatus::Todo
        };
        Ok(Self {
            id: row.id,
            project_id: row.project_id,
            title: row.title,
            description: row.description,
            status,
            assignee_id: row.assignee_id,
            due_date: row.due_date,
            version: row.version,
            created_by: row.created_by,
            created_at: row.created_at,
            updated_by: row.updated_by,
            updated_at: row.updated_at,
        })
    }
}

/// One task. [`DomainError::NotFound`] also for another tenant's id. Needs [`Action::ReadTasks`].
pub async fn get(scope: &Scope, db: &Db, id: Uuid) -> Result<Task, DomainError> {
    scope.authorize(Action::ReadTasks)?;
    let row = store::read_by_id::<Tasks>(scope, db, id).await?;
    row.ok_or(DomainError::NotFound)?.try_into()
}

/// The tenant's tasks among `ids`, in one statement (for DataLoaders). Needs
/// [`Action::ReadTasks`].
pub async fn get_many(
    scope: &Scope,
    db: &Db,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Task>, DomainError> {
    scope.authorize(Action::ReadTasks)?;
    let rows = store::read_by_ids::<Tasks>(scope, db, ids).await?;
    rows.into_iter()
        .map(|row| Ok((row.id, row.try_into()?)))
        .collect()
}

/// A page of the tenant's tasks, oldest first. Needs [`Action::ReadTasks`].
pub async fn list(
    scope: &Scope,
    db: &Db,
    filter: TaskFilter,
    page: PageRequest,
) -> Result<Page<Task>, DomainError> {
    scope.authorize(Action::ReadTasks)?;
    page.validated_first()?;
    let mut query = store::select::<Tasks>(scope);
    if let Some(project_id) = filter.project_id {
        query = query.filter(TaskCol::ProjectId.eq(project_id));
    }
    if let Some(status) = filter.status {
        query = query.filter(TaskCol::Status.eq(status.as_str()));
    }
    if let Some(assignee_id) = filter.assignee_id {
        query = query.filter(TaskCol::AssigneeId.eq(assignee_id));
    }
    let page = store::read_page(scope, db, query, Order::Asc, &page).await?;
    let items = page
        .items
        .into_iter()
        .map(|(cursor, row)| Ok((cursor, Task::try_from(row)?)))
        .collect::<Result<_, DomainError>>()?;
    Ok(Page {
        items,
        has_next_page: page.has_next_page,
        has_previous_page: page.has_previous_page,
        total_count: page.total_count,
    })
}

/// The first `first` tasks (1–100, oldest first) of each of `projects`, in one statement,
/// with the columns `columns` (and the id and project). Needs [`Action::ReadTasks`]. Projects
/// without tasks, or of other tenants, map to nothing.
pub async fn first_by_project(
    scope: &Scope,
    db: &Db,
    projects: &[Uuid],
    first: u32,
    columns: TaskColumns,
) -> Result<HashMap<Uuid, Vec<PartialTask>>, DomainError> {
    scope.authorize(Action::ReadTasks)?;
    let first = PageRequest::first(first).validated_first()?;
    let mut by_project: HashMap<Uuid, Vec<PartialTask>> = HashMap::new();
    if projects.is_empty() {
        return Ok(by_project);
    }
    // A statement per 100 projects; when there are several, a transaction makes them read the
    // same state, else (on SQLite) the one statement needs none.
    let one_statement = projects.len() <= store::PROJECTS_PER_STATEMENT;
    let rows = match db.read_one_statement() {
        Some(conn) if one_statement => {
            let inline = match db.read_inline() {
                Some(readers) => {
                    store::first_tasks_per_project_inline(scope, readers, projects, first, columns)?
                }
                None => None,
            };
            match inline {
                Some(rows) => rows,
                None => {
                    store::first_tasks_per_project(scope, conn, projects, first, columns).await?
                }
            }
        }
        _ => {
            let txn = db.read(scope).await?;
            let rows =
                store::first_tasks_per_project(scope, &txn, projects, first, columns).await?;
            txn.commit().await?;
            rows
        }
    };
    for row in rows {
        let task = PartialTask {
            task: Task::of_row(row, columns)?,
            columns,
        };
        by_project.entry(task.project_id()).or_default().push(task);
    }
    Ok(by_project)
}

/// Creates a task at version 1, status TODO. Needs [`Action::CreateTask`] (editor). Audit event
/// `task.created`.
pub async fn create(scope: &Scope, db: &Db, new: NewTask) -> Result<Task, DomainError> {
    scope.authorize(Action::CreateTask)?;
    let title = input::required_text("title", &new.title, MAX_TITLE)?;
    let description = input::optional_text("description", new.description, MAX_DESCRIPTION)?;
    let due_date = input::due_date(new.due_date)?;
    let now = store::now();
    let row = TaskModel {
        tenant_id: scope.tenant().as_str().to_owned(),
        id: Uuid::now_v7(),
        project_id: new.project_id,
        title,
        description,
        status: TaskStatus::Todo.as_str().to_owned(),
        assignee_id: new.assignee_id,
        due_date,
        version: 1,
        created_by: scope.actor_id(),
        created_at: now,
        updated_by: scope.actor_id(),
        updated_at: now,
    };

    let txn = db.write(scope).await?;
    count_new_task(scope, &txn, new.project_id).await?;
    if let Some(assignee) = new.assignee_id {
        check_assignee(scope, &txn, assignee).await?;
    }
    store::insert(scope, &txn, TaskRow::from(row.clone())).await?;
    audit::record(
        scope,
        &txn,
        "task.created",
        Entity::Task,
        row.id,
        json!({ "projectId": row.project_id, "title": row.title }),
    )
    .await?;
    txn.commit().await?;
    row.try_into()
}

/// Counts a new task in its project (`task_count + 1`), which must be a project of the tenant that
/// is not archived, else `InvalidInput { field: "projectId" }`. The `UPDATE` locks the project's
/// row until the transaction ends: a concurrent archive waits for this task, or this task sees it
/// (PostgreSQL checks `archived` again after the wait), and concurrent creates in one project
/// count one after the other. Not a write of the project: its version does not change.
async fn count_new_task<C: ConnectionTrait>(
    scope: &Scope,
    conn: &C,
    project_id: Uuid,
) -> Result<(), DomainError> {
    let counted = store::update::<Projects>(scope)
        .col_expr(
            ProjectCol::TaskCount,
            Expr::col(ProjectCol::TaskCount).add(1),
        )
        .filter(ProjectCol::Id.eq(project_id))
        .filter(ProjectCol::Archived.eq(false))
        .exec(conn)
        .await?
        .rows_affected;
    if counted == 1 {
        return Ok(());
    }
    let archived: Option<bool> = store::select_by_id::<Projects>(scope, project_id)
        .select_only()
        .column(ProjectCol::Archived)
        .into_tuple()
        .one(conn)
        .await?;
    Err(match archived {
        None => DomainError::invalid("projectId", "no such project"),
        Some(true) => DomainError::invalid("projectId", "the project is archived"),
        // There is no way back from archived, and the row is locked by now.
        Some(false) => DomainError::task_count_not_updated(project_id),
    })
}

/// Takes a deleted task off its project's count (`task_count - 1`).
async fn uncount_task<C: ConnectionTrait>(
    scope: &Scope,
    conn: &C,
    project_id: Uuid,
) -> Result<(), DomainError> {
    store::update::<Projects>(scope)
        .col_expr(
            ProjectCol::TaskCount,
            Expr::col(ProjectCol::TaskCount).sub(1),
        )
        .filter(ProjectCol::Id.eq(project_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// The assignee must be a member of the caller's tenant.
async fn check_assignee<C: ConnectionTrait>(
    scope: &Scope,
    conn: &C,
    assignee: Uuid,
) -> Result<(), DomainError> {
    let member: Option<Uuid> = store::select_by_id::<Members>(scope, assignee)
        .select_only()
        .column(MemberCol::Id)
        .into_tuple()
        .one(conn)
        .await?;
    match member {
        Some(_) => Ok(()),
        None => Err(DomainError::invalid("assigneeId", "no such member")),
    }
}

/// Applies `patch` if the task is still at `expected_version`. Needs [`Action::UpdateTask`]
/// (editor). Audit event `task.updated` with the changed fields' names.
pub async fn update(
    scope: &Scope,
    db: &Db,
    id: Uuid,
    patch: TaskPatch,
    expected_version: i32,
) -> Result<Task, DomainError> {
    scope.authorize(Action::UpdateTask)?;
    let title = patch
        .title
        .map(|title| input::required_text("title", &title, MAX_TITLE))
        .transpose()?;
    let description = patch
        .description
        .map(|description| input::optional_text("description", description, MAX_DESCRIPTION))
        .transpose()?;

    let txn = db.write(scope).await?;
    let old = store::load_for_write::<Tasks, _>(scope, &txn, id, expected_version).await?;
    let mut new = old.clone();
    if let Some(title) = title {
        new.title = title;
    }
    if let Some(description) = description {
        new.description = description;
    }
    if let Some(due_date) = patch.due_date {
        new.due_date = input::due_date(due_date)?;
    }
    let (row, changed) = store::write::<Tasks, _>(scope, &txn, old, new).await?;
    audit::record(
        scope,
        &txn,
        "task.updated",
        Entity::Task,
        id,
        json!({ "changed": changed, "version": row.version }),
    )
    .await?;
    txn.commit().await?;
    row.try_into()
}

/// Assigns the task to `assignee_id` (a member of the tenant, else
/// `InvalidInput { field: "assigneeId" }`), or unassigns it with `None`. Needs
/// [`Action::AssignTask`] (editor). Audit event `task.assigned` with `from` and `to`.
pub async fn assign(
    scope: &Scope,
    db: &Db,
    id: Uuid,
    assignee_id: Option<Uuid>,
    expected_version: i32,
) -> Result<Task, DomainError> {
    scope.authorize(Action::AssignTask)?;
    let txn = db.write(scope).await?;
    let old = store::load_for_write::<Tasks, _>(scope, &txn, id, expected_version).await?;
    if let Some(assignee) = assignee_id {
        check_assignee(scope, &txn, assignee).await?;
    }
    let from = old.assignee_id;
    let new = TaskModel {
        assignee_id,
        ..old.clone()
    };
    let (row, _) = store::write::<Tasks, _>(scope, &txn, old, new).await?;
    audit::record(
        scope,
        &txn,
        "task.assigned",
        Entity::Task,
        id,
        json!({ "from": from, "to": assignee_id, "version": row.version }),
    )
    .await?;
    txn.commit().await?;
    row.try_into()
}

/// Moves the task to `status`. Needs [`Action::SetTaskStatus`] (editor). Audit event
/// `task.status_changed` with `from` and `to`.
pub async fn set_status(
    scope: &Scope,
    db: &Db,
    id: Uuid,
    status: TaskStatus,
    expected_version: i32,
) -> Result<Task, DomainError> {
    scope.authorize(Action::SetTaskStatus)?;
    let txn = db.write(scope).await?;
    let old = store::load_for_write::<Tasks, _>(scope, &txn, id, expected_version).await?;
    let from = old.status.clone();
    let new = TaskModel {
        status: status.as_str().to_owned(),
        ..old.clone()
    };
    let (row, _) = store::write::<Tasks, _>(scope, &txn, old, new).await?;
    audit::record(
        scope,
        &txn,
        "task.status_changed",
        Entity::Task,
        id,
        json!({ "from": from, "to": status.as_str(), "version": row.version }),
    )
    .await?;
    txn.commit().await?;
    row.try_into()
}

/// Deletes the task. Needs [`Action::DeleteTask`] (admin). Audit event `task.deleted`.
pub async fn delete(
    scope: &Scope,
    db: &Db,
    id: Uuid,
    expected_version: i32,
) -> Result<(), DomainError> {
    scope.authorize(Action::DeleteTask)?;
    let txn = db.write(scope).await?;
    let row = store::load_for_write::<Tasks, _>(scope, &txn, id, expected_version).await?;
    store::delete_at_version::<Tasks, _>(scope, &txn, id, expected_version).await?;
    uncount_task(scope, &txn, row.project_id).await?;
    audit::record(
        scope,
        &txn,
        "task.deleted",
        Entity::Task,
        id,
        json!({ "projectId": row.project_id, "title": row.title }),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
