//! Projects: queries, mutations and the `Project` type.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{Context, ID, InputObject, Lookahead, MaybeUndefined, Object, Value};
use chrono::{DateTime, Utc};
use cognigraph_authz_macros::authorized;
use cognigraph_domain::{
    projects::{self, NewProject, Project as DomainProject, ProjectFilter, ProjectPatch},
    tasks::{self, PartialTask, TaskColumns},
};
use uuid::Uuid;

use super::tasks::{MembersRead, PageMembers, Task};
use super::{
    connection::{PageOf, connection, page_cost, page_request},
    context::TenantContext,
    in_place::InPlace,
    inputs::{parse_id, patch},
    members::Member,
    policies,
};
use crate::errors::{ApiError, DomainResultExt as _};

/// A project of the caller's tenant. Shared, not copied: the tenant's loader hands the same
/// project to every task that names it, and a field resolving to a project holds a pointer
/// rather than the whole project in its future. A project of a page may come with the first
/// tasks of the page's projects, read with the page ([`FirstTasks`]).
#[derive(Debug, Clone)]
pub(crate) struct Project(pub(super) Arc<DomainProject>, Option<Arc<FirstTasks>>);

/// `first` of `Project.tasks` when the query gives none.
const FIRST_TASKS_DEFAULT: i32 = 20;

impl Project {
    /// `project` as the schema serves it: resolved in place ([`InPlace`]).
    pub(super) fn new(project: DomainProject) -> InPlace<Self> {
        Self::shared(Arc::new(project))
    }

    /// A project the tenant's loader shares, as the schema serves it.
    pub(super) fn shared(project: Arc<DomainProject>) -> InPlace<Self> {
        InPlace(Self(project, None))
    }

    /// `project` of a page whose projects' first tasks were read ahead, as the schema serves it.
    fn of_page(project: DomainProject, first_tasks: Option<&Arc<FirstTasks>>) -> InPlace<Self> {
        InPlace(Self(Arc::new(project), first_tasks.cloned()))
    }
}

/// The first tasks of a page's projects, read in one statement with the page, and the members
/// their selected member fields name, in one more: what each project's `tasks` field would
/// otherwise ask the tenant's loaders for, one wait per project (20 loads to batch, then 20
/// loads of members), read once instead.
#[derive(Debug)]
pub(super) struct FirstTasks {
    /// `first` of every `tasks` field of the selection.
    first: u32,
    /// The columns every `tasks` field of the selection shows.
    columns: TaskColumns,
    by_project: HashMap<Uuid, Vec<PartialTask>>,
    members: Option<Arc<PageMembers>>,
}

impl FirstTasks {
    /// The first tasks of `projects` for the `tasks` fields selected on them (`field`: those
    /// fields, aliases and fragments included), when they all ask for the same `first` (1–100);
    /// else, or when the read fails, `None`, and each field reads for itself (and reports its
    /// own error). A `tasks` under `@skip` or `@include` counts as selected, as for the columns
    /// ([`Task::columns_selected`]): at worst the read is what the same query without the
    /// directive would read, within the same limits.
    async fn read_ahead(
        ctx: &Context<'_>,
        tenant: &TenantContext,
        field: &Lookahead<'_>,
        projects: &[Uuid],
    ) -> Option<Arc<Self>> {
        let mut firsts = field.selection_fields().into_iter().map(|selected| {
            let arguments = selected.arguments().ok()?;
            match arguments.iter().find(|(name, _)| name.as_str() == "first") {
                None => Some(FIRST_TASKS_DEFAULT.into()),
                Some((_, Value::Number(first))) => first.as_i64(),
                Some(_) => None,
            }
        });
        let first = firsts.next()??;
        if projects.is_empty() || !firsts.all(|other| other == Some(first)) {
            return None;
        }
        let first = u32::try_from(first).ok()?;
        let columns = Task::columns_selected(field);
        let by_project =
            tasks::first_by_project(&tenant.scope, &tenant.db, projects, first, columns)
                .await
                .ok()?;
        let members =
            Task::page_members(ctx, field, by_project.values().flatten(), MembersRead::Now).await;
        Some(Arc::new(Self {
            first,
            columns,
            by_project,
            members,
        }))
    }
}

#[authorized]
#[Object]
impl Project {
    /// The project id.
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    /// The name (1–200 characters).
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// A description.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// The budget, an integer amount. Admins only.
    #[auth(policies::READ_BUDGET)]
    async fn budget(&self) -> Option<i64> {
        self.0.budget
    }

    /// Whether the project is archived (no new tasks).
    async fn archived(&self) -> bool {
        self.0.archived
    }

    /// The version, for `expectedVersion` on the next write.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// How many tasks the project has.
    async fn task_count(&self) -> u64 {
        self.0.task_count
    }

    /// The project's first tasks, oldest first (`first` 1–100, default 20). Loaded for a whole
    /// page of projects at once; to page through one project's tasks, use
    /// `tasks(projectId: …)`.
    #[graphql(complexity = "page_cost(Some(first), child_complexity)")]
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "FIRST_TASKS_DEFAULT")] first: i32,
    ) -> async_graphql::Result<Vec<InPlace<Task>>> {
        let first = u32::try_from(first).map_err(|_| ApiError::BadUserInput {
            field: "first".to_owned(),
            message: "first: must be between 1 and 100".to_owned(),
        })?;
        let node = ctx.look_ahead();
        let columns = Task::columns_selected(&node);
        if let Some(ahead) = self
            .1
            .as_ref()
            .filter(|ahead| ahead.first == first && ahead.columns.contains(columns))
        {
            return Ok(ahead
                .by_project
                .get(&self.0.id)
                .into_iter()
                .flatten()
                .map(|task| Task::of_page(task.clone(), ahead.members.as_ref()))
                .collect());
        }
        let tenant = TenantContext::of(ctx).await?;
        let tasks = tenant.first_tasks(self.0.id, first, columns).await.api()?;
        let members = Task::page_members(ctx, &node, &tasks, MembersRead::WithSiblings).await;
        Ok(tasks
            .into_iter()
            .map(|task| Task::of_page(task, members.as_ref()))
            .collect())
    }

    /// Who created it.
    async fn created_by(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<InPlace<Member>>> {
        Member::load(ctx, self.0.created_by).await
    }

    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Who changed it last.
    async fn updated_by(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<InPlace<Member>>> {
        Member::load(ctx, self.0.updated_by).await
    }

    /// When it changed last.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// Which projects to list.
#[derive(InputObject, Debug, Default)]
pub(crate) struct ProjectFilterInput {
    /// Only archived (true) or only active (false) projects; both when absent.
    pub archived: Option<bool>,
    /// Projects whose name contains this text (case-insensitive, at most 100 characters).
    pub search: Option<String>,
}

/// A new project.
#[derive(InputObject, Debug)]
pub(crate) struct CreateProjectInput {
    /// 1–200 characters.
    pub name: String,
    /// At most 5000 characters.
    pub description: Option<String>,
    /// A non-negative integer amount.
    pub budget: Option<i64>,
}

/// Changes to a project: absent fields stay, `null` clears.
#[derive(InputObject, Debug)]
pub(crate) struct UpdateProjectInput {
    /// 1–200 characters.
    pub name: Option<String>,
    /// At most 5000 characters; `null` clears it.
    pub description: MaybeUndefined<String>,
    /// A non-negative integer amount; `null` clears it.
    pub budget: MaybeUndefined<i64>,
}

#[derive(Default, Debug)]
pub(super) struct ProjectsQuery;

#[authorized]
#[Object]
impl ProjectsQuery {
    /// The tenant's projects, oldest first.
    #[auth(policies::READ_PROJECTS)]
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<ProjectFilterInput>,
    ) -> async_graphql::Result<Option<PageOf<InPlace<Project>>>> {
        let tenant = TenantContext::of(ctx).await?;
        let page = page_request(ctx, first, after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let filter = ProjectFilter {
            archived: filter.archived,
            search: filter.search,
        };
        let projects = projects::list(&tenant.scope, &tenant.db, filter, page)
            .await
            .api()?;
        let ids: Vec<Uuid> = projects
            .items
            .iter()
            .map(|(_, project)| project.id)
            .collect();
        let tasks = ctx.look_ahead().field("edges").field("node").field("tasks");
        let first_tasks = FirstTasks::read_ahead(ctx, tenant, &tasks, &ids).await;
        Ok(Some(connection(projects, |project| {
            Project::of_page(project, first_tasks.as_ref())
        })))
    }

    /// One project; `null` and `NOT_FOUND` when there is none in the caller's tenant.
    #[auth(policies::READ_PROJECTS)]
    async fn project(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<InPlace<Project>>> {
        let tenant = TenantContext::of(ctx).await?;
        let id = parse_id("id", &id)?;
        let project = projects::get(&tenant.scope, &tenant.db, id).await.api()?;
        Ok(Some(Project::new(project)))
    }
}

#[derive(Default, Debug)]
pub(super) struct ProjectsMutation;

#[authorized]
#[Object]
impl ProjectsMutation {
    /// Creates a project.
    #[auth(policies::CREATE_PROJECT)]
    async fn create_project(
        &self,
        ctx: &Context<'_>,
        input: CreateProjectInput,
    ) -> async_graphql::Result<Option<InPlace<Project>>> {
        let tenant = TenantContext::of(ctx).await?;
        let new = NewProject {
            name: input.name,
            description: input.description,
            budget: input.budget,
        };
        let project = projects::create(&tenant.scope, &tenant.db, new)
            .await
            .api()?;
        Ok(Some(Project::new(project)))
    }

    /// Changes a project, if it is still at `expectedVersion` (else `CONFLICT`).
    #[auth(policies::UPDATE_PROJECT)]
    async fn update_project(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        input: UpdateProjectInput,
    ) -> async_graphql::Result<Option<InPlace<Project>>> {
        let tenant = TenantContext::of(ctx).await?;
        let id = parse_id("id", &id)?;
        let changes = ProjectPatch {
            name: input.name,
            description: patch(input.description),
            budget: patch(input.budget),
        };
        let project = projects::update(&tenant.scope, &tenant.db, id, changes, expected_version)
            .await
            .api()?;
        Ok(Some(Project::new(project)))
    }

    /// Archives a project, if it is still at `expectedVersion`. Admins only.
    #[auth(policies::ARCHIVE_PROJECT)]
    async fn archive_project(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
    ) -> async_graphql::Result<Option<InPlace<Project>>> {
        let tenant = TenantContext::of(ctx).await?;
        let id = parse_id("id", &id)?;
        let project = projects::archive(&tenant.scope, &tenant.db, id, expected_version)
            .await
            .api()?;
        Ok(Some(Project::new(project)))
    }

    /// Deletes a project and its tasks, if it is still at `expectedVersion`. Admins only.
    /// Returns the deleted id.
    #[auth(policies::DELETE_PROJECT)]
    async fn delete_project(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
    ) -> async_graphql::Result<Option<ID>> {
        let tenant = TenantContext::of(ctx).await?;
        let uuid = parse_id("id", &id)?;
        projects::delete(&tenant.scope, &tenant.db, uuid, expected_version)
            .await
            .api()?;
        Ok(Some(id))
    }
}
