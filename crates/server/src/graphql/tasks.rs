//! Tasks: queries, mutations and the `Task` type.

use std::{
    borrow::Cow,
    collections::{HashMap, HashSet},
    sync::Arc,
};

use async_graphql::{Context, Enum, ID, InputObject, Lookahead, MaybeUndefined, Object};
use chrono::{DateTime, Utc};
use cognigraph_authz_macros::authorized;
use cognigraph_domain::{
    members::Member as DomainMember,
    tasks::{
        self, NewTask, PartialTask, Task as DomainTask, TaskColumns, TaskFilter, TaskPatch,
        TaskStatus,
    },
};
use uuid::Uuid;

use super::{
    connection::{PageOf, connection, page_cost, page_request},
    context::TenantContext,
    date::Date,
    in_place::InPlace,
    inputs::{parse_id, parse_optional_id, patch},
    members::Member,
    policies,
    projects::Project,
};
use crate::errors::DomainResultExt as _;

/// Where a task stands.
// The GraphQL mirror of the domain's `TaskStatus` (async-graphql's `remote` enum: the domain crate
// knows nothing of GraphQL); `Graphql…` names every such mirror.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "TaskStatus", remote = "TaskStatus")]
pub(crate) enum GraphqlTaskStatus {
    /// Not started.
    Todo,
    /// Being worked on.
    InProgress,
    /// Finished.
    Done,
}

/// A task of a project.
#[derive(Debug, Clone)]
pub(crate) struct Task {
    /// The task as read: whole, or with the columns its page's selection needs
    /// ([`Task::columns_selected`]).
    task: PartialTask,
    /// The members its page read ahead ([`Task::page_members`]); a member field not found here
    /// asks the tenant's loader.
    members: Option<Arc<PageMembers>>,
}

/// Members of a page of tasks, by id, read in one load for the whole page.
pub(super) type PageMembers = HashMap<Uuid, Arc<DomainMember>>;

/// How a page of tasks reads its members ([`Task::page_members`]).
#[derive(Debug, Clone, Copy)]
pub(super) enum MembersRead {
    /// At once, in one statement: the page is the request's one batch of them (a list of
    /// tasks, a page of projects' first tasks read ahead). Through the loader it would wait
    /// for its batching delay (1 ms) for loads that never come.
    Now,
    /// Through the tenant's loader, batched with sibling pages' (the tasks of each project of
    /// a list, read field by field).
    WithSiblings,
}

/// The member a task's field names, if any.
type MemberOf = fn(&DomainTask) -> Option<Uuid>;

/// The member fields of `Task`, with the column and the id each names.
const MEMBER_FIELDS: [(&str, TaskColumns, MemberOf); 3] = [
    ("assignee", TaskColumns::ASSIGNEE, |task| task.assignee_id),
    ("createdBy", TaskColumns::CREATED_BY, |task| {
        Some(task.created_by)
    }),
    ("updatedBy", TaskColumns::UPDATED_BY, |task| {
        Some(task.updated_by)
    }),
];

/// The fields of `Task` that show a column beyond the id and the project, with that column
/// (`id` and `project` need none; a test checks that every other field is here).
const FIELD_COLUMNS: [(&str, TaskColumns); 10] = [
    ("title", TaskColumns::TITLE),
    ("description", TaskColumns::DESCRIPTION),
    ("status", TaskColumns::STATUS),
    ("assignee", TaskColumns::ASSIGNEE),
    ("dueDate", TaskColumns::DUE_DATE),
    ("version", TaskColumns::VERSION),
    ("createdBy", TaskColumns::CREATED_BY),
    ("createdAt", TaskColumns::CREATED_AT),
    ("updatedBy", TaskColumns::UPDATED_BY),
    ("updatedAt", TaskColumns::UPDATED_AT),
];

impl Task {
    /// `task` as the schema serves it: resolved in place ([`InPlace`]).
    pub(super) fn new(task: DomainTask) -> InPlace<Self> {
        Self::of_page(task.into(), None)
    }

    /// `task` as a node of a page whose members were read ahead, as the schema serves it.
    pub(super) fn of_page(task: PartialTask, members: Option<&Arc<PageMembers>>) -> InPlace<Self> {
        InPlace(Self {
            task,
            members: members.cloned(),
        })
    }

    /// The columns that the fields selected on each task need (`node`: the selection on one
    /// task, fragments and aliases included; a field under `@skip` or `@include` counts as
    /// selected).
    pub(super) fn columns_selected(node: &Lookahead<'_>) -> TaskColumns {
        let mut columns = TaskColumns::NONE;
        for task in node.selection_fields() {
            for field in task.selection_set() {
                if let Some((_, column)) =
                    FIELD_COLUMNS.iter().find(|(name, _)| *name == field.name())
                {
                    columns |= *column;
                }
            }
        }
        columns
    }

    /// The task, for a field that shows `column`: as read, or read again whole when that
    /// column was not (a selection the read-ahead did not foresee: correct, and a statement per
    /// field; a test checks that the usual shapes of a selection never come here).
    async fn read(
        &self,
        ctx: &Context<'_>,
        column: TaskColumns,
    ) -> async_graphql::Result<Cow<'_, DomainTask>> {
        if let Some(task) = self.task.read(column) {
            return Ok(Cow::Borrowed(task));
        }
        let tenant = TenantContext::of(ctx).await?;
        let task = tasks::get(&tenant.scope, &tenant.db, self.task.id())
            .await
            .api()?;
        Ok(Cow::Owned(task))
    }

    /// The members that the member fields selected on each task (`node`: the selection on
    /// one task, fragments and aliases included) name across `tasks`, read in one load; `None`
    /// when no member field is selected. A page of 200 tasks with `assignee` is one lookup
    /// of a few members instead of 200 waits on the loader (each a channel and a map of its
    /// own). A failed read gives `None`: each field then asks the loader and reports its own
    /// error, as it would without the read-ahead. `read` says whether other pages' members
    /// are being read beside these ([`MembersRead`]).
    pub(super) async fn page_members<'a>(
        ctx: &Context<'_>,
        node: &Lookahead<'_>,
        tasks: impl IntoIterator<Item = &'a PartialTask>,
        read: MembersRead,
    ) -> Option<Arc<PageMembers>> {
        let selected: Vec<_> = MEMBER_FIELDS
            .iter()
            .filter(|(field, _, _)| node.field(field).exists())
            .map(|(_, column, id)| (column, id))
            .collect();
        if selected.is_empty() {
            return None;
        }
        let ids: HashSet<Uuid> = tasks
            .into_iter()
            .flat_map(|task| {
                selected
                    .iter()
                    .filter_map(|(column, id)| task.read(**column).and_then(id))
            })
            .collect();
        let tenant = TenantContext::of(ctx).await.ok()?;
        let members = match read {
            MembersRead::Now => tenant.members_now(ids).await,
            MembersRead::WithSiblings => tenant.members(ids).await,
        };
        members.ok().map(Arc::new)
    }

    /// The member `id`: from the page's read-ahead when there, else from the loader.
    async fn member(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<Option<InPlace<Member>>> {
        match self.members.as_ref().and_then(|members| members.get(&id)) {
            Some(member) => Ok(Some(Member::shared(Arc::clone(member)))),
            None => Member::load(ctx, id).await,
        }
    }
}

#[Object]
impl Task {
    /// The task id.
    async fn id(&self) -> ID {
        self.task.id().into()
    }

    /// The project it belongs to.
    async fn project(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<InPlace<Project>>> {
        let tenant = TenantContext::of(ctx).await?;
        Ok(tenant
            .project(self.task.project_id())
            .await
            .api()?
            .map(Project::shared))
    }

    /// The title (1–200 characters).
    async fn title(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        Ok(self.read(ctx, TaskColumns::TITLE).await?.title.clone())
    }

    /// A description.
    async fn description(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(self
            .read(ctx, TaskColumns::DESCRIPTION)
            .await?
            .description
            .clone())
    }

    /// Where it stands.
    async fn status(&self, ctx: &Context<'_>) -> async_graphql::Result<GraphqlTaskStatus> {
        Ok(self.read(ctx, TaskColumns::STATUS).await?.status.into())
    }

    /// Who works on it.
    async fn assignee(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<InPlace<Member>>> {
        match self.read(ctx, TaskColumns::ASSIGNEE).await?.assignee_id {
            Some(id) => self.member(ctx, id).await,
            None => Ok(None),
        }
    }

    /// When it is due.
    async fn due_date(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Date>> {
        Ok(self
            .read(ctx, TaskColumns::DUE_DATE)
            .await?
            .due_date
            .map(Date))
    }

    /// The version, for `expectedVersion` on the next write.
    async fn version(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        Ok(self.read(ctx, TaskColumns::VERSION).await?.version)
    }

    /// Who created it.
    async fn created_by(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<InPlace<Member>>> {
        let id = self.read(ctx, TaskColumns::CREATED_BY).await?.created_by;
        self.member(ctx, id).await
    }

    /// When it was created.
    async fn created_at(&self, ctx: &Context<'_>) -> async_graphql::Result<DateTime<Utc>> {
        Ok(self.read(ctx, TaskColumns::CREATED_AT).await?.created_at)
    }

    /// Who changed it last.
    async fn updated_by(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<InPlace<Member>>> {
        let id = self.read(ctx, TaskColumns::UPDATED_BY).await?.updated_by;
        self.member(ctx, id).await
    }

    /// When it changed last.
    async fn updated_at(&self, ctx: &Context<'_>) -> async_graphql::Result<DateTime<Utc>> {
        Ok(self.read(ctx, TaskColumns::UPDATED_AT).await?.updated_at)
    }
}

/// A new task.
#[derive(InputObject, Debug)]
pub(crate) struct CreateTaskInput {
    /// The project (active, in the caller's tenant).
    pub project_id: ID,
    /// 1–200 characters.
    pub title: String,
    /// At most 5000 characters.
    pub description: Option<String>,
    /// When it is due.
    pub due_date: Option<Date>,
    /// A member of the tenant.
    pub assignee_id: Option<ID>,
}

/// Changes to a task: absent fields stay, `null` clears.
#[derive(InputObject, Debug)]
pub(crate) struct UpdateTaskInput {
    /// 1–200 characters.
    pub title: Option<String>,
    /// At most 5000 characters; `null` clears it.
    pub description: MaybeUndefined<String>,
    /// `null` clears it.
    pub due_date: MaybeUndefined<Date>,
}

#[derive(Default, Debug)]
pub(super) struct TasksQuery;

#[authorized]
#[Object]
impl TasksQuery {
    /// The tenant's tasks, oldest first, optionally of one project, status or assignee.
    #[auth(policies::READ_TASKS)]
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        project_id: Option<ID>,
        status: Option<GraphqlTaskStatus>,
        assignee_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Option<PageOf<InPlace<Task>>>> {
        let tenant = TenantContext::of(ctx).await?;
        let page = page_request(ctx, first, after.as_deref())?;
        let filter = TaskFilter {
            project_id: parse_optional_id("projectId", project_id.as_ref())?,
            status: status.map(Into::into),
            assignee_id: parse_optional_id("assigneeId", assignee_id.as_ref())?,
        };
        let tasks = tasks::list(&tenant.scope, &tenant.db, filter, page)
            .await
            .api()?;
        let tasks = tasks.map(PartialTask::from);
        let node = ctx.look_ahead().field("edges").field("node");
        let members = Task::page_members(
            ctx,
            &node,
            tasks.items.iter().map(|(_, task)| task),
            MembersRead::Now,
        )
        .await;
        Ok(Some(connection(tasks, |task| {
            Task::of_page(task, members.as_ref())
        })))
    }

    /// One task; `null` and `NOT_FOUND` when there is none in the caller's tenant.
    #[auth(policies::READ_TASKS)]
    async fn task(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<InPlace<Task>>> {
        let tenant = TenantContext::of(ctx).await?;
        let id = parse_id("id", &id)?;
        Ok(Some(Task::new(
            tasks::get(&tenant.scope, &tenant.db, id).await.api()?,
        )))
    }
}

#[derive(Default, Debug)]
pub(super) struct TasksMutation;

#[authorized]
#[Object]
impl TasksMutation {
    /// Creates a task in an active project.
    #[auth(policies::CREATE_TASK)]
    async fn create_task(
        &self,
        ctx: &Context<'_>,
        input: CreateTaskInput,
    ) -> async_graphql::Result<Option<InPlace<Task>>> {
        let tenant = TenantContext::of(ctx).await?;
        let new = NewTask {
            project_id: parse_id("projectId", &input.project_id)?,
            title: input.title,
            description: input.description,
            due_date: input.due_date.map(|date| date.0),
            assignee_id: parse_optional_id("assigneeId", input.assignee_id.as_ref())?,
        };
        Ok(Some(Task::new(
            tasks::create(&tenant.scope, &tenant.db, new).await.api()?,
        )))
    }

    /// Changes a task, if it is still at `expectedVersion` (else `CONFLICT`).
    #[auth(policies::UPDATE_TASK)]
    async fn update_task(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        input: UpdateTaskInput,
    ) -> async_graphql::Result<Option<InPlace<Task>>> {
        let tenant = TenantContext::of(ctx).await?;
        let id = parse_id("id", &id)?;
        let changes = TaskPatch {
            title: input.title,
            description: patch(input.description),
            due_date: patch(input.due_date.map_value(|date| date.0)),
        };
        let task = tasks::update(&tenant.scope, &tenant.db, id, changes, expected_version)
            .await
            .api()?;
        Ok(Some(Task::new(task)))
    }

    /// Assigns a task to a member (or nobody, with `null`).
    #[auth(policies::ASSIGN_TASK)]
    async fn assign_task(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        assignee_id: Option<ID>,
    ) -> async_graphql::Result<Option<InPlace<Task>>> {
        let tenant = TenantContext::of(ctx).await?;
        let id = parse_id("id", &id)?;
        let assignee = parse_optional_id("assigneeId", assignee_id.as_ref())?;
        let task = tasks::assign(&tenant.scope, &tenant.db, id, assignee, expected_version)
            .await
            .api()?;
        Ok(Some(Task::new(task)))
    }

    /// Moves a task to `status`.
    #[auth(policies::SET_TASK_STATUS)]
    async fn set_task_status(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        status: GraphqlTaskStatus,
    ) -> async_graphql::Result<Option<InPlace<Task>>> {
        let tenant = TenantContext::of(ctx).await?;
        let id = parse_id("id", &id)?;
        let task = tasks::set_status(
            &tenant.scope,
            &tenant.db,
            id,
            status.into(),
            expected_version,
        )
        .await
        .api()?;
        Ok(Some(Task::new(task)))
    }

    /// Deletes a task, if it is still at `expectedVersion`. Admins only. Returns its id.
    #[auth(policies::DELETE_TASK)]
    async fn delete_task(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
    ) -> async_graphql::Result<Option<ID>> {
        let tenant = TenantContext::of(ctx).await?;
        let uuid = parse_id("id", &id)?;
        tasks::delete(&tenant.scope, &tenant.db, uuid, expected_version)
            .await
            .api()?;
        Ok(Some(id))
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::{
        parse_schema,
        types::{TypeKind, TypeSystemDefinition},
    };

    use super::{FIELD_COLUMNS, MEMBER_FIELDS};
    use cognigraph_domain::tasks::TaskColumns;

    /// The fields of `Task` in the schema.
    fn task_fields() -> Vec<String> {
        let document = parse_schema(super::super::sdl()).expect("the schema's SDL parses");
        document
            .definitions
            .into_iter()
            .find_map(|definition| match definition {
                TypeSystemDefinition::Type(task) if task.node.name.node == "Task" => {
                    match task.node.kind {
                        TypeKind::Object(object) => Some(
                            object
                                .fields
                                .iter()
                                .map(|field| field.node.name.node.to_string())
                                .collect(),
                        ),
                        _ => None,
                    }
                }
                _ => None,
            })
            .expect("the schema has a Task object")
    }

    /// A field added to `Task` without its column in `FIELD_COLUMNS` would read every task of a
    /// page whole, one statement each; a column named twice, or by no field, is a mistake too.
    #[test]
    fn every_task_field_but_id_and_project_names_its_column() {
        let fields = task_fields();
        for field in &fields {
            assert!(
                ["id", "project"].contains(&field.as_str())
                    || FIELD_COLUMNS.iter().any(|(name, _)| name == field),
                "Task.{field} is not in FIELD_COLUMNS"
            );
        }
        let mut columns = TaskColumns::NONE;
        for (name, column) in FIELD_COLUMNS {
            assert!(fields.iter().any(|field| field == name), "no field {name}");
            assert!(!columns.contains(column), "{name}'s column named twice");
            columns |= column;
        }
        assert_eq!(columns, TaskColumns::ALL, "every column has its field");
        for (name, column, _) in MEMBER_FIELDS {
            assert!(
                FIELD_COLUMNS.contains(&(name, column)),
                "member field {name} and FIELD_COLUMNS agree"
            );
        }
    }
}
