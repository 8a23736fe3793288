//! What tenant-data resolvers need from the request: the caller's domain scope, the database
//! and the per-request DataLoaders, made by the first field that asks ([`TenantContext::of`]), so
//! a request that needs no tenant data never looks up a tenant or touches the database.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{
    Context,
    dataloader::{DataLoader, Loader},
};
use cognigraph_domain::{
    Db, DomainError, Scope,
    members::{self, Member},
    projects::{self, Project},
    tasks::{self, PartialTask, TaskColumns},
};
use uuid::Uuid;

use crate::{authz::Principal, errors::ApiError, membership::Membership};

/// Request data: the [`TenantContext`], made at most once per request, on first use.
pub struct LazyTenantContext {
    source: Option<(Membership, Principal)>,
    context: tokio::sync::OnceCell<Result<TenantContext, ApiError>>,
}

impl std::fmt::Debug for LazyTenantContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyTenantContext")
            .field("context", &self.context.get())
            .finish_non_exhaustive()
    }
}

impl LazyTenantContext {
    /// The context of `principal`'s request, through `membership` when first needed.
    pub fn new(membership: Membership, principal: Principal) -> Self {
        Self {
            source: Some((membership, principal)),
            context: tokio::sync::OnceCell::new(),
        }
    }

    /// A context made already (tests that execute the schema directly).
    pub fn ready(context: TenantContext) -> Self {
        Self {
            source: None,
            context: tokio::sync::OnceCell::new_with(Some(Ok(context))),
        }
    }

    async fn get(&self) -> Result<&TenantContext, ApiError> {
        let context = match self.context.get() {
            Some(context) => context,
            // Boxed: making the context (tenant lookup, member sync) is a large future, and every
            // resolver that asks for the context would otherwise carry room for it, to be copied
            // each time the engine boxes that resolver's future.
            None => Box::pin(self.context.get_or_init(|| self.make())).await,
        };
        context.as_ref().map_err(Clone::clone)
    }

    async fn make(&self) -> Result<TenantContext, ApiError> {
        let Some((membership, principal)) = &self.source else {
            return Err(ApiError::Internal(
                "a ready tenant context without a context".to_owned(),
            ));
        };
        let scope = membership.scope_for(principal).await?;
        Ok(TenantContext::new(scope, membership.db().clone()))
    }
}

/// Request data for tenant-scoped fields: the caller's scope, the database and the loaders.
pub struct TenantContext {
    /// The caller's scope.
    pub scope: Scope,
    /// The database.
    pub db: Db,
    members: DataLoader<MemberLoader>,
    projects: DataLoader<ProjectLoader>,
    project_tasks: DataLoader<ProjectTasksLoader>,
}

impl std::fmt::Debug for TenantContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantContext")
            .field("tenant", &self.scope.tenant())
            .finish_non_exhaustive()
    }
}

impl TenantContext {
    /// The context of one request.
    pub fn new(scope: Scope, db: Db) -> Self {
        let members = DataLoader::new(
            MemberLoader {
                scope: scope.clone(),
                db: db.clone(),
            },
            tokio::spawn,
        );
        let projects = DataLoader::new(
            ProjectLoader {
                scope: scope.clone(),
                db: db.clone(),
            },
            tokio::spawn,
        );
        let project_tasks = DataLoader::new(
            ProjectTasksLoader {
                scope: scope.clone(),
                db: db.clone(),
            },
            tokio::spawn,
        );
        Self {
            scope,
            db,
            members,
            projects,
            project_tasks,
        }
    }

    /// The member `id` of the tenant, batched with the request's other member loads.
    pub async fn member(&self, id: Uuid) -> Result<Option<Arc<Member>>, DomainError> {
        // Boxed, as every load here: a DataLoader's load is a large future, and a resolver
        // awaiting one in place makes every field future of its type that large (the engine
        // boxes one per field it resolves, and past 1 KiB glibc's per-thread cache takes none).
        Box::pin(self.members.load_one(id)).await
    }

    /// The members `ids` of the tenant that exist, read now in one statement (not through the
    /// loader, which would wait for more loads to batch with them).
    pub async fn members_now(
        &self,
        ids: impl IntoIterator<Item = Uuid>,
    ) -> Result<HashMap<Uuid, Arc<Member>>, DomainError> {
        let ids: Vec<Uuid> = ids.into_iter().collect();
        Box::pin(self.members.loader().load(&ids)).await
    }

    /// The members `ids` of the tenant that exist, in one load batched with the request's
    /// other member loads.
    pub async fn members(
        &self,
        ids: impl IntoIterator<Item = Uuid>,
    ) -> Result<HashMap<Uuid, Arc<Member>>, DomainError> {
        Box::pin(self.members.load_many(ids)).await
    }

    /// The project `id` of the tenant, batched with the request's other project loads.
    pub async fn project(&self, id: Uuid) -> Result<Option<Arc<Project>>, DomainError> {
        Box::pin(self.projects.load_one(id)).await
    }

    /// The first `first` tasks of `project`, with the columns `columns`, batched with the
    /// request's other projects'.
    pub async fn first_tasks(
        &self,
        project: Uuid,
        first: u32,
        columns: TaskColumns,
    ) -> Result<Vec<PartialTask>, DomainError> {
        Ok(
            Box::pin(self.project_tasks.load_one((project, first, columns)))
                .await?
                .unwrap_or_default(),
        )
    }

    /// The tenant context of the request, made now if no field has made it yet (the tenant
    /// lookup, then member sync). Its failure fails the asking field only.
    pub async fn of<'a>(ctx: &Context<'a>) -> Result<&'a TenantContext, ApiError> {
        ctx.data_opt::<LazyTenantContext>()
            .ok_or_else(|| ApiError::Internal("tenant field resolved without a caller".to_owned()))?
            .get()
            .await
    }
}

/// Loaded values made shareable: a loader clones its value for every field that asks for it.
fn shared<T>(loaded: HashMap<Uuid, T>) -> HashMap<Uuid, Arc<T>> {
    loaded
        .into_iter()
        .map(|(id, value)| (id, Arc::new(value)))
        .collect()
}

/// Loads members of the caller's tenant by id.
#[derive(Debug)]
pub struct MemberLoader {
    scope: Scope,
    db: Db,
}

impl Loader<Uuid> for MemberLoader {
    /// Shared: the loader clones a value for every field that asks for it.
    type Value = Arc<Member>;
    type Error = DomainError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Arc<Member>>, DomainError> {
        Ok(shared(
            members::get_many(&self.scope, &self.db, keys).await?,
        ))
    }
}

/// Loads projects of the caller's tenant by id.
#[derive(Debug)]
pub struct ProjectLoader {
    scope: Scope,
    db: Db,
}

impl Loader<Uuid> for ProjectLoader {
    /// Shared: the loader clones a value for every field that asks for it.
    type Value = Arc<Project>;
    type Error = DomainError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Arc<Project>>, DomainError> {
        Ok(shared(
            projects::get_many(&self.scope, &self.db, keys).await?,
        ))
    }
}

/// Loads the first tasks of projects: one statement per distinct `first` and set of columns in
/// the batch.
#[derive(Debug)]
pub struct ProjectTasksLoader {
    scope: Scope,
    db: Db,
}

/// A project, how many of its first tasks, and which of their columns.
type FirstTasksKey = (Uuid, u32, TaskColumns);

impl Loader<FirstTasksKey> for ProjectTasksLoader {
    type Value = Vec<PartialTask>;
    type Error = DomainError;

    async fn load(
        &self,
        keys: &[FirstTasksKey],
    ) -> Result<HashMap<FirstTasksKey, Vec<PartialTask>>, DomainError> {
        let mut by_read: HashMap<(u32, TaskColumns), Vec<Uuid>> = HashMap::new();
        for (project, first, columns) in keys {
            by_read
                .entry((*first, *columns))
                .or_default()
                .push(*project);
        }
        let mut loaded = HashMap::new();
        for ((first, columns), projects) in by_read {
            let mut tasks =
                tasks::first_by_project(&self.scope, &self.db, &projects, first, columns).await?;
            for project in projects {
                loaded.insert(
                    (project, first, columns),
                    tasks.remove(&project).unwrap_or_default(),
                );
            }
        }
        Ok(loaded)
    }
}
