//! The only way to rows: tenant-scoped query builders.
//!
//! Every `SELECT`, `UPDATE` and `DELETE` this crate runs starts from [`select`], [`update`] or
//! [`delete`], which filter by `scope.tenant()`; every `INSERT` goes through [`insert`], which sets
//! `tenant_id` from the scope. The entities are private to this module (the rest of the crate
//! names them only through the aliases below), and a test scans the other modules for direct
//! sea-orm entry points (`::find(`, `update_many`, raw statements, …).

mod entity;
mod row;

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DeleteMany,
    EntityTrait, IdenStatic, IntoActiveModel, Iterable, Order, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Select, Statement, TryIntoModel, UpdateMany,
};
use uuid::Uuid;

use crate::page::{Cursor, Page, PageRequest};
use crate::sqlite_readers::SqliteReaders;
use crate::tasks::TaskColumns;
use crate::{Db, DomainError, Scope};
#[cfg(test)]
pub(crate) use row::testing::first_column_both_ways;
use row::{FromRow, RowAt};

pub(crate) use entity::audit_events::{
    ActiveModel as AuditEventRow, Column as AuditEventCol, Entity as AuditEvents,
    Model as AuditEventModel,
};
pub(crate) use entity::members::{
    ActiveModel as MemberRow, Column as MemberCol, Entity as Members, Model as MemberModel,
};
pub(crate) use entity::projects::{
    ActiveModel as ProjectRow, Column as ProjectCol, Entity as Projects, Model as ProjectModel,
};
pub(crate) use entity::tasks::{
    ActiveModel as TaskRow, Column as TaskCol, Entity as Tasks, Model as TaskModel,
};

/// A table whose primary key is `(tenant_id, id)`, whose rows decode by position ([`FromRow`]).
pub(crate) trait TenantTable: EntityTrait<Model: FromRow> {
    const TENANT: Self::Column;
    const ID: Self::Column;
    fn id_of(model: &Self::Model) -> Uuid;
}

/// A table whose rows carry a `version` for optimistic concurrency.
pub(crate) trait Versioned: TenantTable {
    const VERSION: Self::Column;
    const UPDATED_BY: Self::Column;
    const UPDATED_AT: Self::Column;
    fn version_of(model: &Self::Model) -> i32;
}

macro_rules! tenant_table {
    ($entity:ty, $col:ident) => {
        impl TenantTable for $entity {
            const TENANT: Self::Column = $col::TenantId;
            const ID: Self::Column = $col::Id;
            fn id_of(model: &Self::Model) -> Uuid {
                model.id
            }
        }
    };
    ($entity:ty, $col:ident, versioned) => {
        tenant_table!($entity, $col);
        impl Versioned for $entity {
            const VERSION: Self::Column = $col::Version;
            const UPDATED_BY: Self::Column = $col::UpdatedBy;
            const UPDATED_AT: Self::Column = $col::UpdatedAt;
            fn version_of(model: &Self::Model) -> i32 {
                model.version
            }
        }
    };
}

tenant_table!(Members, MemberCol);
// Members are versioned by admin changes alone: `changed_by` and `changed_at` are their
// `updated_by` and `updated_at` (a member's own requests move `last_seen_at`, not these).
impl Versioned for Members {
    const VERSION: Self::Column = MemberCol::Version;
    const UPDATED_BY: Self::Column = MemberCol::ChangedBy;
    const UPDATED_AT: Self::Column = MemberCol::ChangedAt;
    fn version_of(model: &Self::Model) -> i32 {
        model.version
    }
}
tenant_table!(Projects, ProjectCol, versioned);
tenant_table!(Tasks, TaskCol, versioned);
tenant_table!(AuditEvents, AuditEventCol);

/// `SELECT … FROM e WHERE tenant_id = scope.tenant()`.
pub(crate) fn select<E: TenantTable>(scope: &Scope) -> Select<E> {
    E::find().filter(E::TENANT.eq(scope.tenant().as_str()))
}

/// One row of the caller's tenant by id.
pub(crate) fn select_by_id<E: TenantTable>(scope: &Scope, id: Uuid) -> Select<E> {
    select::<E>(scope).filter(E::ID.eq(id))
}

/// The caller's tenant's rows among `ids`.
pub(crate) fn select_by_ids<E: TenantTable>(scope: &Scope, ids: &[Uuid]) -> Select<E> {
    select::<E>(scope).filter(E::ID.is_in(ids.iter().copied()))
}

/// One row of the caller's tenant by id, as [`read_by_ids`] reads it.
pub(crate) async fn read_by_id<E: TenantTable>(
    scope: &Scope,
    db: &Db,
    id: Uuid,
) -> Result<Option<E::Model>, DomainError> {
    // Ids are keys: at most one row.
    Ok(read_by_ids::<E>(scope, db, &[id]).await?.pop())
}

/// The caller's tenant's rows among `ids`, in one statement ([`Db::read_one_statement`]; on
/// PostgreSQL in a transaction of its own); none, and no statement, for no ids.
pub(crate) async fn read_by_ids<E: TenantTable>(
    scope: &Scope,
    db: &Db,
    ids: &[Uuid],
) -> Result<Vec<E::Model>, DomainError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let select = select_by_ids::<E>(scope, ids);
    if let Some(conn) = db.read_one_statement() {
        return one_statement_rows(db, conn, select).await;
    }
    let txn = db.read(scope).await?;
    let rows = select.all(&txn).await?;
    txn.commit().await?;
    Ok(rows)
}

/// `UPDATE e SET … WHERE tenant_id = scope.tenant()`.
pub(crate) fn update<E: TenantTable>(scope: &Scope) -> UpdateMany<E> {
    E::update_many().filter(E::TENANT.eq(scope.tenant().as_str()))
}

/// `DELETE FROM e WHERE tenant_id = scope.tenant()`.
pub(crate) fn delete<E: TenantTable>(scope: &Scope) -> DeleteMany<E> {
    E::delete_many().filter(E::TENANT.eq(scope.tenant().as_str()))
}

/// A row to insert into a tenant table: an active model of a [`TenantTable`].
pub(crate) trait TenantRow:
    ActiveModelTrait<Entity: TenantTable<Model: IntoActiveModel<Self>>> + Send
{
}

impl<A> TenantRow for A where
    A: ActiveModelTrait<Entity: TenantTable<Model: IntoActiveModel<A>>> + Send
{
}

/// Inserts `row` into the caller's tenant (its `tenant_id` is set from the scope, whatever it was).
pub(crate) async fn insert<A: TenantRow, C: ConnectionTrait>(
    scope: &Scope,
    conn: &C,
    row: A,
) -> Result<(), DomainError> {
    <A::Entity as EntityTrait>::insert(with_tenant(scope, row))
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Inserts `row` into the caller's tenant unless it conflicts on `conflict`; returns whether it
/// was inserted.
pub(crate) async fn insert_unless_conflict<A: TenantRow, C: ConnectionTrait>(
    scope: &Scope,
    conn: &C,
    row: A,
    conflict: OnConflict,
) -> Result<bool, DomainError> {
    let inserted = <A::Entity as EntityTrait>::insert(with_tenant(scope, row))
        .on_conflict(conflict)
        .exec_without_returning(conn)
        .await?;
    Ok(inserted == 1)
}

fn with_tenant<A: TenantRow>(scope: &Scope, mut row: A) -> A {
    row.set(
        <A::Entity as TenantTable>::TENANT,
        scope.tenant().as_str().into(),
    );
    row
}

/// Loads a row for a write made against `expected_version`: [`DomainError::NotFound`] when the
/// caller's tenant has no such row, [`DomainError::Conflict`] when its version differs.
pub(crate) async fn load_for_write<E, C>(
    scope: &Scope,
    conn: &C,
    id: Uuid,
    expected_version: i32,
) -> Result<E::Model, DomainError>
where
    E: Versioned,
    C: ConnectionTrait,
{
    let row = select_by_id::<E>(scope, id)
        .one(conn)
        .await?
        .ok_or(DomainError::NotFound)?;
    let actual = E::version_of(&row);
    if actual != expected_version {
        return Err(DomainError::Conflict {
            expected: expected_version,
            actual,
        });
    }
    Ok(row)
}

/// `UPDATE e SET changes, version = expected + 1 WHERE tenant_id = ? AND id = ? AND version = ?`:
/// the compare-and-set every write makes. When no row matched, tells [`DomainError::NotFound`]
/// from [`DomainError::Conflict`].
pub(crate) async fn compare_and_set<A, C>(
    scope: &Scope,
    conn: &C,
    id: Uuid,
    expected_version: i32,
    mut changes: A,
) -> Result<(), DomainError>
where
    A: ActiveModelTrait + Send,
    A::Entity: Versioned,
    C: ConnectionTrait,
{
    let version_col = <A::Entity as Versioned>::VERSION;
    changes.try_set(version_col, (expected_version + 1).into())?;
    let result = update::<A::Entity>(scope)
        .set(changes)
        .filter(<A::Entity as TenantTable>::ID.eq(id))
        .filter(version_col.eq(expected_version))
        .exec(conn)
        .await?;
    if result.rows_affected == 1 {
        return Ok(());
    }
    Err(why_not_matched::<A::Entity, C>(scope, conn, id, expected_version).await)
}

/// Writes `new` over `old` (a row [`load_for_write`] returned): sets `version` to
/// `old.version + 1`, `updated_by` to the actor and `updated_at` to now, and updates the columns
/// that differ with [`compare_and_set`]. Returns the row as stored and the names of the columns
/// the caller changed (for the audit event).
pub(crate) async fn write<E, C>(
    scope: &Scope,
    conn: &C,
    old: E::Model,
    new: E::Model,
) -> Result<(E::Model, Vec<String>), DomainError>
where
    E: Versioned,
    E::Model: IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: TryIntoModel<E::Model> + Send,
    C: ConnectionTrait,
{
    let expected_version = E::version_of(&old);
    let id = E::id_of(&old);
    let old = old.into_active_model();
    let mut new = new.into_active_model();
    new.try_set(E::VERSION, (expected_version + 1).into())?;
    new.try_set(E::UPDATED_BY, scope.actor_id().into())?;
    new.try_set(E::UPDATED_AT, now().into())?;
    let mut changes = E::ActiveModel::default();
    let mut changed = Vec::new();
    for col in <E::Column as Iterable>::iter() {
        let value = new.get(col).into_value();
        if value == old.get(col).into_value() {
            continue;
        }
        let name = col.as_str();
        if ![E::VERSION, E::UPDATED_BY, E::UPDATED_AT]
            .iter()
            .any(|bookkeeping| bookkeeping.as_str() == name)
        {
            changed.push(name.to_owned());
        }
        if let Some(value) = value {
            changes.try_set(col, value)?;
        }
    }
    compare_and_set(scope, conn, id, expected_version, changes).await?;
    Ok((new.try_into_model()?, changed))
}

/// `DELETE FROM e WHERE tenant_id = ? AND id = ? AND version = ?`.
pub(crate) async fn delete_at_version<E, C>(
    scope: &Scope,
    conn: &C,
    id: Uuid,
    expected_version: i32,
) -> Result<(), DomainError>
where
    E: Versioned,
    C: ConnectionTrait,
{
    let result = delete::<E>(scope)
        .filter(E::ID.eq(id))
        .filter(E::VERSION.eq(expected_version))
        .exec(conn)
        .await?;
    if result.rows_affected == 1 {
        return Ok(());
    }
    Err(why_not_matched::<E, C>(scope, conn, id, expected_version).await)
}

async fn why_not_matched<E, C>(scope: &Scope, conn: &C, id: Uuid, expected: i32) -> DomainError
where
    E: Versioned,
    C: ConnectionTrait,
{
    let current: Result<Option<i32>, _> = select_by_id::<E>(scope, id)
        .select_only()
        .column(E::VERSION)
        .into_tuple()
        .one(conn)
        .await;
    match current {
        Ok(None) => DomainError::NotFound,
        Ok(Some(actual)) => DomainError::Conflict { expected, actual },
        Err(err) => err.into(),
    }
}

/// Fetches one page of `query` (already scoped and filtered), keyed and ordered by id: ascending
/// ids are creation order (UUID v7), so a cursor stays valid and stable when rows are inserted.
///
/// The page is one statement that reads at most `first + 1` rows through an index that ends in
/// `id` (keyset pagination: `id > after`, never an offset), so its cost does not grow with the
/// list. The total count is a second statement, run only when `request.count_total` asks for it
/// (it reads every matching index entry, so it grows with the list).
pub(crate) async fn page<E, C>(
    conn: &C,
    query: Select<E>,
    order: Order,
    request: &PageRequest,
) -> Result<Page<E::Model>, DomainError>
where
    E: TenantTable,
    E::Model: Send + Sync,
    C: ConnectionTrait,
{
    request.validated_first()?;
    let total_count = if request.count_total {
        Some(count(conn, query.clone()).await?)
    } else {
        None
    };
    let rows = page_query(query, order, request)?.all(conn).await?;
    page_of::<E>(rows, request, total_count)
}

/// `query`'s page as [`page`] reads it: after the cursor, by id, one row more than asked for.
fn page_query<E: TenantTable>(
    query: Select<E>,
    order: Order,
    request: &PageRequest,
) -> Result<Select<E>, DomainError> {
    let first = request.validated_first()?;
    let mut query = query;
    if let Some(after) = request.after {
        query = match order {
            Order::Desc => query.filter(E::ID.lt(after.key())),
            _ => query.filter(E::ID.gt(after.key())),
        };
    }
    Ok(query.order_by(E::ID, order).limit(u64::from(first) + 1))
}

/// The page of `rows` read by [`page_query`].
fn page_of<E: TenantTable>(
    mut rows: Vec<E::Model>,
    request: &PageRequest,
    total_count: Option<u64>,
) -> Result<Page<E::Model>, DomainError> {
    let first = request.validated_first()? as usize;
    let has_next_page = rows.len() > first;
    rows.truncate(first);
    Ok(Page {
        items: rows
            .into_iter()
            .map(|row| (Cursor::from_key(E::id_of(&row)), row))
            .collect(),
        has_next_page,
        has_previous_page: request.after.is_some(),
        total_count: total_count.unwrap_or_default(),
    })
}

/// The rows of `select` on SQLite, where one statement needs no transaction: read on the
/// calling thread when the database is a file, else (or when SQLite is busy) through sqlx's
/// `conn`.
async fn one_statement_rows<E: TenantTable>(
    db: &Db,
    conn: &DatabaseConnection,
    select: Select<E>,
) -> Result<Vec<E::Model>, DomainError> {
    if let Some(readers) = db.read_inline()
        && let Some(rows) = read_inline(readers, &select)?
    {
        return Ok(rows);
    }
    Ok(select.all(conn).await?)
}

/// The rows of `select` (whole models of `E`), read on the calling thread; `None` when the
/// readers give the read back ([`SqliteReaders::query`]).
fn read_inline<E: TenantTable>(
    readers: &SqliteReaders,
    select: &Select<E>,
) -> Result<Option<Vec<E::Model>>, DomainError> {
    let statement = select.build(DbBackend::Sqlite);
    readers.query(
        &statement,
        |names| {
            // The decoders read by position, in the entity's order: check that it is this.
            let columns: Vec<E::Column> = E::Column::iter().collect();
            if names.len() == columns.len()
                && names
                    .iter()
                    .zip(&columns)
                    .all(|(name, column)| *name == column.as_str())
            {
                Ok(())
            } else {
                Err(DomainError::unexpected_columns(names.join(", ")))
            }
        },
        |row| E::Model::from_row(row),
    )
}

/// A [`page`] of `query`: one statement when no total count is asked for
/// ([`Db::read_one_statement`]), else in a transaction of its own, so that the count and the
/// page see the same rows.
pub(crate) async fn read_page<E: TenantTable<Model: Send + Sync>>(
    scope: &Scope,
    db: &Db,
    query: Select<E>,
    order: Order,
    request: &PageRequest,
) -> Result<Page<E::Model>, DomainError> {
    if let (Some(conn), false) = (db.read_one_statement(), request.count_total) {
        let rows = one_statement_rows(db, conn, page_query(query, order, request)?).await?;
        return page_of::<E>(rows, request, None);
    }
    let txn = db.read(scope).await?;
    let rows = page(&txn, query, order, request).await?;
    txn.commit().await?;
    Ok(rows)
}

/// `SELECT COUNT(*)` of `query`'s rows, selecting only the id so that an index holding the
/// filtered columns and the id answers it without reading the rows (a covering index on SQLite,
/// an index-only scan on PostgreSQL).
async fn count<E, C>(conn: &C, query: Select<E>) -> Result<u64, DomainError>
where
    E: TenantTable,
    C: ConnectionTrait,
{
    let count: Option<i64> = query
        .select_only()
        .column_as(E::ID.count(), "rows")
        .into_tuple()
        .one(conn)
        .await?;
    Ok(count
        .and_then(|count| u64::try_from(count).ok())
        .unwrap_or_default())
}

/// Most projects in one statement of [`first_tasks_per_project`].
pub(crate) const PROJECTS_PER_STATEMENT: usize = 100;

/// The columns a partial read of tasks may select, in the order it selects them (after `id`
/// and `project_id`, which it always reads).
const TASK_COLUMNS: [(TaskColumns, TaskCol); 10] = [
    (TaskColumns::TITLE, TaskCol::Title),
    (TaskColumns::DESCRIPTION, TaskCol::Description),
    (TaskColumns::STATUS, TaskCol::Status),
    (TaskColumns::ASSIGNEE, TaskCol::AssigneeId),
    (TaskColumns::DUE_DATE, TaskCol::DueDate),
    (TaskColumns::VERSION, TaskCol::Version),
    (TaskColumns::CREATED_BY, TaskCol::CreatedBy),
    (TaskColumns::CREATED_AT, TaskCol::CreatedAt),
    (TaskColumns::UPDATED_BY, TaskCol::UpdatedBy),
    (TaskColumns::UPDATED_AT, TaskCol::UpdatedAt),
];

/// The first `first` tasks (by id, that is creation order) of each of `projects`, ordered by
/// project, then id, with only the columns `columns` (and the id and the project) read: the
/// others hold placeholders (empty text, nil ids, the epoch, `None`; `tenant_id` is not read
/// either), which the caller must not show ([`crate::tasks::PartialTask`] sees to that).
///
/// For each of the tenant's projects among `projects`, a search of the
/// `(tenant_id, project_id, id)` index that stops after `first` entries, so the cost is
/// `projects × first` rows whatever the size of the projects. (A window function,
/// `ROW_NUMBER() OVER (PARTITION BY project_id …)`, numbers every task of the projects first;
/// the correlated count it replaced grew with the square of a project's size.) On PostgreSQL a
/// `LATERAL` join; on SQLite, which has no `LATERAL`, a range up to each project's `first`-th
/// task. Both are one short statement whatever the number of projects (a `UNION ALL` arm per
/// project made a statement that SQLite took longer to compile than to run, and a correlated
/// `rowid IN (… LIMIT first)` built a temporary b-tree per project). Both start from the
/// tenant's projects and match tasks of the same tenant, like every query here. At most 100
/// projects per statement; a project asked twice is read once. Rows are decoded by position,
/// not by column name.
pub(crate) async fn first_tasks_per_project<C: ConnectionTrait>(
    scope: &Scope,
    conn: &C,
    projects: &[Uuid],
    first: u32,
    columns: TaskColumns,
) -> Result<Vec<TaskModel>, DomainError> {
    let backend = conn.get_database_backend();
    let positions = TaskPositions::of(columns);
    let mut tasks = Vec::new();
    for chunk in distinct(projects).chunks(PROJECTS_PER_STATEMENT) {
        let statement = first_tasks_statement(backend, scope, chunk, first, columns);
        for row in conn.query_all(statement).await? {
            tasks.push(positions.decode(&row)?);
        }
    }
    tasks.sort_unstable_by_key(|task| (task.project_id, task.id));
    Ok(tasks)
}

/// [`first_tasks_per_project`] of at most [`PROJECTS_PER_STATEMENT`] projects (more are
/// left to sqlx, in a transaction), in its one statement, read on the calling thread; `None`
/// when the readers give the read back ([`SqliteReaders::query`]).
pub(crate) fn first_tasks_per_project_inline(
    scope: &Scope,
    readers: &SqliteReaders,
    projects: &[Uuid],
    first: u32,
    columns: TaskColumns,
) -> Result<Option<Vec<TaskModel>>, DomainError> {
    let projects = distinct(projects);
    if projects.len() > PROJECTS_PER_STATEMENT {
        return Ok(None);
    }
    let statement = first_tasks_statement(DbBackend::Sqlite, scope, &projects, first, columns);
    let positions = TaskPositions::of(columns);
    let tasks = readers.query(&statement, |_| Ok(()), |row| positions.decode(row))?;
    Ok(tasks.map(|mut tasks| {
        tasks.sort_unstable_by_key(|task| (task.project_id, task.id));
        tasks
    }))
}

/// `ids` sorted, each once.
fn distinct(ids: &[Uuid]) -> Vec<Uuid> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Where each of [`TASK_COLUMNS`] is in a partial read's rows, if it is read.
struct TaskPositions([Option<usize>; TASK_COLUMNS.len()]);

impl TaskPositions {
    fn of(columns: TaskColumns) -> Self {
        let mut positions = [None; TASK_COLUMNS.len()];
        // `id` and `project_id` are 0 and 1.
        let mut next = 2;
        for (position, (column, _)) in positions.iter_mut().zip(TASK_COLUMNS) {
            if columns.contains(column) {
                *position = Some(next);
                next += 1;
            }
        }
        Self(positions)
    }

    /// The value of the `index`-th of [`TASK_COLUMNS`], or `placeholder` when it is not read.
    fn get<T: row::ColumnValue>(
        &self,
        row: &impl RowAt,
        index: usize,
        placeholder: T,
    ) -> Result<T, DomainError> {
        match self.0[index] {
            Some(position) => row.at(position),
            None => Ok(placeholder),
        }
    }

    fn decode(&self, row: &impl RowAt) -> Result<TaskModel, DomainError> {
        let epoch = DateTime::<Utc>::UNIX_EPOCH;
        Ok(TaskModel {
            tenant_id: String::new(),
            id: row.at(0)?,
            project_id: row.at(1)?,
            title: self.get(row, 0, String::new())?,
            description: self.get(row, 1, None)?,
            status: self.get(row, 2, String::new())?,
            assignee_id: self.get(row, 3, None)?,
            due_date: self.get(row, 4, None)?,
            version: self.get(row, 5, 0)?,
            created_by: self.get(row, 6, Uuid::nil())?,
            created_at: self.get(row, 7, epoch)?,
            updated_by: self.get(row, 8, Uuid::nil())?,
            updated_at: self.get(row, 9, epoch)?,
        })
    }
}

/// The statement of [`first_tasks_per_project`] for the tenant's projects among `projects` (not
/// empty).
fn first_tasks_statement(
    backend: DbBackend,
    scope: &Scope,
    projects: &[Uuid],
    first: u32,
    columns: TaskColumns,
) -> Statement {
    // `first` is a number (validated 1–100 by the caller), and the column names come from the
    // entity, written into the SQL as such; the tenant and the ids are parameters.
    let postgres = backend == DbBackend::Postgres;
    let parameter = |n: usize| {
        if postgres {
            format!("${n}")
        } else {
            "?".to_owned()
        }
    };
    let tenant = parameter(1);
    let ids = (2..projects.len() + 2)
        .map(parameter)
        .collect::<Vec<_>>()
        .join(", ");
    let selected = ["t.id", "t.project_id"]
        .into_iter()
        .map(str::to_owned)
        .chain(
            TASK_COLUMNS
                .iter()
                .filter(|(column, _)| columns.contains(*column))
                .map(|(_, name)| format!("t.{}", name.as_str())),
        )
        .collect::<Vec<_>>()
        .join(", ");
    let sql = if postgres {
        format!(
            "SELECT {selected} FROM projects AS p CROSS JOIN LATERAL (\
                 SELECT * FROM tasks \
                 WHERE tasks.tenant_id = p.tenant_id AND tasks.project_id = p.id \
                 ORDER BY tasks.id LIMIT {first}) AS t \
             WHERE p.tenant_id = {tenant} AND p.id IN ({ids})"
        )
    } else {
        // Per project row `p` (CROSS JOIN keeps that order), the tasks up to the id of its
        // `first`-th task, found by a correlated scalar subquery that reads `first` entries of
        // the index; a project with fewer tasks has no such task, and the bound is then the
        // greatest 16-byte value, above every id (ids are 16-byte blobs on SQLite). The
        // subquery and the range are both searches of the (tenant_id, project_id, id) index.
        let last = first.saturating_sub(1);
        format!(
            "SELECT {selected} FROM projects AS p CROSS JOIN tasks AS t \
                 ON t.tenant_id = p.tenant_id AND t.project_id = p.id AND t.id <= COALESCE((\
                     SELECT tasks.id FROM tasks \
                     WHERE tasks.tenant_id = p.tenant_id AND tasks.project_id = p.id \
                     ORDER BY tasks.id LIMIT 1 OFFSET {last}), \
                     X'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF') \
             WHERE p.tenant_id = {tenant} AND p.id IN ({ids})"
        )
    };
    let values = std::iter::once(sea_orm::Value::from(scope.tenant().as_str()))
        .chain(projects.iter().map(|id| sea_orm::Value::from(*id)))
        .collect::<Vec<_>>();
    Statement::from_sql_and_values(backend, sql, values)
}

/// The current time at the database's precision (microseconds), so a value returned from a write
/// equals the one read back later.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
