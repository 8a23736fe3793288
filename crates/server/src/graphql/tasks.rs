//! Tasks: queries, mutations and the `Task` type.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use async_graphql::{Context, Enum, ID, InputObject, Lookahead, MaybeUndefined, Object};
use chrono::{DateTime, Utc};
use cognigraph_authz_macros::authorized;
use cognigraph_domain::{
    members::Member as DomainMember,
    tasks::{self, NewTask, Task as DomainTask, TaskFilter, TaskPatch, TaskStatus},
};
use uuid::Uuid;

use super::{
    connection::{PageOf, connection, page_cost, page_request},
    context::TenantContext,
    date::Date,
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
    task: DomainTask,
    /// The members its page read ahead ([`Task::page_members`]); a member field not found here
    /// asks the tenant's loader.
    members: Option<Arc<PageMembers>>,
}

/// Members of a page of tasks, by id, read in one load for the whole page.
type PageMembers = HashMap<Uuid, Arc<DomainMember>>;

/// The member a task's field names, if any.
type MemberOf = fn(&DomainTask) -> Option<Uuid>;

/// The member fields of `Task`, with the id each names.
const MEMBER_FIELDS: [(&str, MemberOf); 3] = [
    ("assignee", |task| task.assignee_id),
    ("createdBy", |task| Some(task.created_by)),
    ("updatedBy", |task| Some(task.updated_by)),
];

impl Task {
    pub(super) fn new(task: DomainTask) -> Self {
        Self {
            task,
            members: None,
        }
    }

    /// `task` as a node of a page whose members were read ahead.
    pub(super) fn of_page(task: DomainTask, members: Option<&Arc<PageMembers>>) -> Self {
        Self {
            task,
            members: members.cloned(),
        }
    }

    /// The members that the member fields selected on each task (`node`: the selection on
    /// one task, fragments and aliases included) name across `tasks`, read in one load; `None`
    /// when no member field is selected. A page of 200 tasks with `assignee` is one lookup
    /// of a few members instead of 200 waits on the loader (each a channel and a map of its
    /// own). A failed read gives `None`: each field then asks the loader and reports its own
    /// error, as it would without the read-ahead.
    pub(super) async fn page_members<'a>(
        ctx: &Context<'_>,
        node: &Lookahead<'_>,
        tasks: impl IntoIterator<Item = &'a DomainTask>,
    ) -> Option<Arc<PageMembers>> {
        let selected: Vec<_> = MEMBER_FIELDS
            .iter()
            .filter(|(field, _)| node.field(field).exists())
            .map(|(_, id)| id)
            .collect();
        if selected.is_empty() {
            return None;
        }
        let ids: HashSet<Uuid> = tasks
            .into_iter()
            .flat_map(|task| selected.iter().filter_map(|id| id(task)))
            .collect();
        let tenant = TenantContext::of(ctx).await.ok()?;
        tenant.members(ids).await.ok().map(Arc::new)
    }

    /// The member `id`: from the page's read-ahead when there, else from the loader.
    async fn member(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<Option<Member>> {
        match self.members.as_ref().and_then(|members| members.get(&id)) {
            Some(member) => Ok(Some(Member(Arc::clone(member)))),
            None => Member::load(ctx, id).await,
        }
    }
}

#[Object]
impl Task {
    /// The task id.
    async fn id(&self) -> ID {
        self.task.id.into()
    }

    /// The project it belongs to.
    async fn project(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Project>> {
        let tenant = TenantContext::of(ctx).await?;
        Ok(tenant
            .project(self.task.project_id)
            .await
            .api()?
            .map(Project))
    }

    /// The title (1–200 characters).
    async fn title(&self) -> &str {
        &self.task.title
    }

    /// A description.
    async fn description(&self) -> Option<&str> {
        self.task.description.as_deref()
    }

    /// Where it stands.
    async fn status(&self) -> GraphqlTaskStatus {
        self.task.status.into()
    }

    /// Who works on it.
    async fn assignee(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Member>> {
        match self.task.assignee_id {
            Some(id) => self.member(ctx, id).await,
            None => Ok(None),
        }
    }

    /// When it is due.
    async fn due_date(&self) -> Option<Date> {
        self.task.due_date.map(Date)
    }

    /// The version, for `expectedVersion` on the next write.
    async fn version(&self) -> i32 {
        self.task.version
    }

    /// Who created it.
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Member>> {
        self.member(ctx, self.task.created_by).await
    }

    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.task.created_at
    }

    /// Who changed it last.
    async fn updated_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Member>> {
        self.member(ctx, self.task.updated_by).await
    }

    /// When it changed last.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.task.updated_at
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
    ) -> async_graphql::Result<Option<PageOf<Task>>> {
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
        let node = ctx.look_ahead().field("edges").field("node");
        let members =
            Task::page_members(ctx, &node, tasks.items.iter().map(|(_, task)| task)).await;
        Ok(Some(connection(tasks, |task| {
            Task::of_page(task, members.as_ref())
        })))
    }

    /// One task; `null` and `NOT_FOUND` when there is none in the caller's tenant.
    #[auth(policies::READ_TASKS)]
    async fn task(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Task>> {
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
    ) -> async_graphql::Result<Option<Task>> {
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
    ) -> async_graphql::Result<Option<Task>> {
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
    ) -> async_graphql::Result<Option<Task>> {
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
    ) -> async_graphql::Result<Option<Task>> {
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
