//! Tasks: queries, mutations and the `Task` type.

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object};
use chrono::{DateTime, Utc};
use cognigraph_authz_macros::authorized;
use cognigraph_domain::tasks::{
    self, NewTask, Task as DomainTask, TaskFilter, TaskPatch, TaskStatus,
};

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
pub(crate) struct Task(pub(super) DomainTask);

#[Object]
impl Task {
    /// The task id.
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    /// The project it belongs to.
    async fn project(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Project>> {
        let tenant = TenantContext::of(ctx).await?;
        Ok(tenant
            .projects
            .load_one(self.0.project_id)
            .await
            .api()?
            .map(Project))
    }

    /// The title (1–200 characters).
    async fn title(&self) -> &str {
        &self.0.title
    }

    /// A description.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// Where it stands.
    async fn status(&self) -> GraphqlTaskStatus {
        self.0.status.into()
    }

    /// Who works on it.
    async fn assignee(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Member>> {
        match self.0.assignee_id {
            Some(id) => Member::load(ctx, id).await,
            None => Ok(None),
        }
    }

    /// When it is due.
    async fn due_date(&self) -> Option<Date> {
        self.0.due_date.map(Date)
    }

    /// The version, for `expectedVersion` on the next write.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// Who created it.
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Member>> {
        Member::load(ctx, self.0.created_by).await
    }

    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Who changed it last.
    async fn updated_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Member>> {
        Member::load(ctx, self.0.updated_by).await
    }

    /// When it changed last.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
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
        Ok(Some(connection(tasks, Task)))
    }

    /// One task; `null` and `NOT_FOUND` when there is none in the caller's tenant.
    #[auth(policies::READ_TASKS)]
    async fn task(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Task>> {
        let tenant = TenantContext::of(ctx).await?;
        let id = parse_id("id", &id)?;
        Ok(Some(Task(
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
        Ok(Some(Task(
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
        Ok(Some(Task(task)))
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
        Ok(Some(Task(task)))
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
        Ok(Some(Task(task)))
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
