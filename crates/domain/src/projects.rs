//! Projects: named budgets of work that hold tasks.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, LikeExpr, extension::postgres::PgExpr as _};
use sea_orm::{ColumnTrait, Order, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Entity};
use crate::input;
use crate::page::{Page, PageRequest};
use crate::store::{self, ProjectCol, ProjectModel, ProjectRow, Projects, TaskCol, Tasks};
use crate::{Action, Db, DomainError, Scope};

/// Longest project name, in characters (after trimming).
pub const MAX_NAME: usize = 200;
/// Longest description, in characters.
pub const MAX_DESCRIPTION: usize = 5000;
/// Longest search text, in characters.
pub const MAX_SEARCH: usize = 100;

/// A project: a named budget of work that holds tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The project's id (UUID v7, so ids sort in creation order).
    pub id: Uuid,
    /// The project's name: 1 to 200 characters, trimmed.
    pub name: String,
    /// At most 5000 characters, kept as given; `None` when there is none.
    pub description: Option<String>,
    /// An integer amount (the currency's smallest unit). Only admins may see it: the GraphQL layer
    /// applies [`Action::ReadBudget`].
    pub budget: Option<i64>,
    /// Whether the project is archived ([`archive`]): no new tasks can be created in it. `false`
    /// when created.
    pub archived: bool,
    /// 1 when created, +1 on every write.
    pub version: i32,
    /// How many tasks the project has: 0 when created, kept by the writes that create and delete
    /// tasks (in their transaction), so reading it costs nothing however large the project.
    pub task_count: u64,
    /// The member who created the project.
    pub created_by: Uuid,
    /// When the project was created.
    pub created_at: DateTime<Utc>,
    /// The member who made the latest write (the creator until the first one).
    pub updated_by: Uuid,
    /// When the latest write was made (`created_at` until the first one).
    pub updated_at: DateTime<Utc>,
}

/// A project to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProject {
    /// 1 to 200 characters once trimmed; stored trimmed.
    pub name: String,
    /// At most 5000 characters.
    pub description: Option<String>,
    /// At least 0.
    pub budget: Option<i64>,
}

/// Changes to a project: `None` leaves a field as it is; `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectPatch {
    /// A new name: 1 to 200 characters once trimmed; stored trimmed.
    pub name: Option<String>,
    /// A new description of at most 5000 characters, or `Some(None)` to clear it.
    pub description: Option<Option<String>>,
    /// A new budget of at least 0, or `Some(None)` to clear it.
    pub budget: Option<Option<i64>>,
}

/// Which projects to list; every given field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectFilter {
    /// Only archived (`Some(true)`) or only active (`Some(false)`) projects.
    pub archived: Option<bool>,
    /// Case-insensitive substring of the name (ASCII case folding on SQLite); at most 100
    /// characters; blank means no filter.
    pub search: Option<String>,
}

impl From<ProjectModel> for Project {
    fn from(row: ProjectModel) -> Self {
        Self {
            id: row.id,
            name: row.name,
            description: row.description,
            budget: row.budget,
            archived: row.archived,
            version: row.version,
            // Never negative: it starts at 0 and only a deleted task takes one off.
            task_count: u64::try_from(row.task_count).unwrap_or_default(),
            created_by: row.created_by,
            created_at: row.created_at,
            updated_by: row.updated_by,
            updated_at: row.updated_at,
        }
    }
}

fn budget(field_value: Option<i64>) -> Result<Option<i64>, DomainError> {
    match field_value {
        Some(amount) if amount < 0 => Err(DomainError::invalid("budget", "must not be negative")),
        other => Ok(other),
    }
}

/// One project. [`DomainError::NotFound`] also for another tenant's id. Needs
/// [`Action::ReadProjects`].
pub async fn get(scope: &Scope, db: &Db, id: Uuid) -> Result<Project, DomainError> {
    scope.authorize(Action::ReadProjects)?;
    let row = store::read_by_id::<Projects>(scope, db, id).await?;
    row.map(Project::from).ok_or(DomainError::NotFound)
}

/// The tenant's projects among `ids`, in one statement (for DataLoaders). Needs
/// [`Action::ReadProjects`].
pub async fn get_many(
    scope: &Scope,
    db: &Db,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Project>, DomainError> {
    scope.authorize(Action::ReadProjects)?;
    let rows = store::read_by_ids::<Projects>(scope, db, ids).await?;
    Ok(rows.into_iter().map(|row| (row.id, row.into())).collect())
}

/// A page of the tenant's projects, oldest first. Needs [`Action::ReadProjects`].
pub async fn list(
    scope: &Scope,
    db: &Db,
    filter: ProjectFilter,
    page: PageRequest,
) -> Result<Page<Project>, DomainError> {
    scope.authorize(Action::ReadProjects)?;
    page.validated_first()?;
    let mut query = store::select::<Projects>(scope);
    if let Some(archived) = filter.archived {
        query = query.filter(ProjectCol::Archived.eq(archived));
    }
    if let Some(search) = filter.search {
        input::at_most("search", &search, MAX_SEARCH)?;
        let search = search.trim();
        if !search.is_empty() {
            // Case-insensitive by the database's own rules, the same on both sides of the
            // comparison: ILIKE on PostgreSQL (locale-aware; backslash is its default escape,
            // and sea-query renders no ESCAPE clause after ILIKE), LIKE on SQLite (ASCII letters).
            let pattern = format!("%{}%", escape_like(search));
            let name = Expr::col(ProjectCol::Name);
            query = query.filter(if db.is_postgres() {
                name.ilike(LikeExpr::new(pattern))
            } else {
                name.like(LikeExpr::new(pattern).escape('\\'))
            });
        }
    }
    let rows = store::read_page(scope, db, query, Order::Asc, &page).await?;
    Ok(rows.map(Project::from))
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Creates a project at version 1. Needs [`Action::CreateProject`] (editor). Audit event
/// `project.created`.
pub async fn create(scope: &Scope, db: &Db, new: NewProject) -> Result<Project, DomainError> {
    scope.authorize(Action::CreateProject)?;
    let name = input::required_text("name", &new.name, MAX_NAME)?;
    let description = input::optional_text("description", new.description, MAX_DESCRIPTION)?;
    let budget = budget(new.budget)?;
    let now = store::now();
    let row = ProjectModel {
        tenant_id: scope.tenant().as_str().to_owned(),
        id: Uuid::now_v7(),
        name,
        description,
        budget,
        archived: false,
        version: 1,
        task_count: 0,
        created_by: scope.actor_id(),
        created_at: now,
        updated_by: scope.actor_id(),
        updated_at: now,
    };
    let txn = db.write(scope).await?;
    store::insert(scope, &txn, ProjectRow::from(row.clone())).await?;
    audit::record(
        scope,
        &txn,
        "project.created",
        Entity::Project,
        row.id,
        json!({ "name": row.name }),
    )
    .await?;
    txn.commit().await?;
    Ok(row.into())
}

/// Applies `patch` if the project is still at `expected_version` (else
/// [`DomainError::Conflict`], and nothing changes). Needs [`Action::UpdateProject`] (editor).
/// Audit event `project.updated` with the changed fields' names.
pub async fn update(
    scope: &Scope,
    db: &Db,
    id: Uuid,
    patch: ProjectPatch,
    expected_version: i32,
) -> Result<Project, DomainError> {
    scope.authorize(Action::UpdateProject)?;
    let name = patch
        .name
        .map(|name| input::required_text("name", &name, MAX_NAME))
        .transpose()?;
    let description = patch
        .description
        .map(|description| input::optional_text("description", description, MAX_DESCRIPTION))
        .transpose()?;
    let budget = patch.budget.map(budget).transpose()?;

    let txn = db.write(scope).await?;
    let old = store::load_for_write::<Projects, _>(scope, &txn, id, expected_version).await?;
    let mut new = old.clone();
    if let Some(name) = name {
        new.name = name;
    }
    if let Some(description) = description {
        new.description = description;
    }
    if let Some(budget) = budget {
        new.budget = budget;
    }
    let (row, changed) = store::write::<Projects, _>(scope, &txn, old, new).await?;
    audit::record(
        scope,
        &txn,
        "project.updated",
        Entity::Project,
        id,
        json!({ "changed": changed, "version": row.version }),
    )
    .await?;
    txn.commit().await?;
    Ok(row.into())
}

/// Archives the project (no new tasks can be created in it). Needs [`Action::ArchiveProject`]
/// (admin). An archived project gives `InvalidInput { field: "id" }`. Audit event
/// `project.archived`.
pub async fn archive(
    scope: &Scope,
    db: &Db,
    id: Uuid,
    expected_version: i32,
) -> Result<Project, DomainError> {
    scope.authorize(Action::ArchiveProject)?;
    let txn = db.write(scope).await?;
    let old = store::load_for_write::<Projects, _>(scope, &txn, id, expected_version).await?;
    if old.archived {
        return Err(DomainError::invalid(
            "id",
            "the project is already archived",
        ));
    }
    let new = ProjectModel {
        archived: true,
        ..old.clone()
    };
    let (row, _) = store::write::<Projects, _>(scope, &txn, old, new).await?;
    audit::record(
        scope,
        &txn,
        "project.archived",
        Entity::Project,
        id,
        json!({ "version": row.version }),
    )
    .await?;
    txn.commit().await?;
    Ok(row.into())
}

/// Deletes the project and its tasks. Needs [`Action::DeleteProject`] (admin). Audit event
/// `project.deleted` (with the project's name and how many tasks went with it).
pub async fn delete(
    scope: &Scope,
    db: &Db,
    id: Uuid,
    expected_version: i32,
) -> Result<(), DomainError> {
    scope.authorize(Action::DeleteProject)?;
    let txn = db.write(scope).await?;
    let row = store::load_for_write::<Projects, _>(scope, &txn, id, expected_version).await?;
    let tasks = store::delete::<Tasks>(scope)
        .filter(TaskCol::ProjectId.eq(id))
        .exec(&txn)
        .await?
        .rows_affected;
    store::delete_at_version::<Projects, _>(scope, &txn, id, expected_version).await?;
    audit::record(
        scope,
        &txn,
        "project.deleted",
        Entity::Project,
        id,
        json!({ "name": row.name, "deletedTasks": tasks }),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
