//! The database handle: SQLite or PostgreSQL, migrations, tenant-scoped transactions and a
//! statement counter.

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use cognigraph_migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sea_orm::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, SqlxPostgresConnector,
    SqlxSqliteConnector, Statement, TransactionTrait,
};

use crate::sqlite_readers::SqliteReaders;
use crate::{DomainError, Scope};

/// How long a SQLite statement waits for another connection's lock before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Reader connections to a SQLite file (writes go through one connection of their own).
const SQLITE_READERS: u32 = 4;
/// Rows a SQLite connection's thread may hand over before the request reads them: at least the
/// most one statement returns (a nested page: 100 projects × 100 tasks). sqlx's default, 50,
/// made that thread stop at every 50th row and then wake for each row read, two thread switches
/// per row; every read here collects its whole result anyway, and the buffer grows only with the
/// rows actually sent.
const SQLITE_ROW_BUFFER: usize = 10_000;
/// Connections to PostgreSQL.
const POSTGRES_CONNECTIONS: u32 = 10;
/// How long a statement waits for a PostgreSQL connection before the database counts as
/// unavailable (sqlx's default is 30 s, the whole request timeout).
const POSTGRES_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// A handle on cognigraph's database. Cheap to clone; clones share the pools and the statement
/// counter.
///
/// It has no public way to run a query: the only way to read or write rows is through the domain
/// operations, which take a [`crate::Scope`]. Every statement they run is inside a transaction
/// from `Db::read` or `Db::write`, which on PostgreSQL first sets `app.tenant_id` to the
/// scope's tenant for that transaction only (`set_config(…, true)`, that is `SET LOCAL`): the
/// row-level security policies of the tenant tables then show and accept that tenant's rows and
/// no others, so a query that forgot its tenant filter still cannot leak, and a pooled
/// connection never carries a tenant over to its next transaction.
#[derive(Clone)]
pub struct Db {
    /// Read-only work (its transactions are not written in). On a SQLite file, a pool of readers.
    read: DatabaseConnection,
    /// Transactions (every write). On a SQLite file this is a pool of one connection, so writers
    /// queue in the process instead of failing with `SQLITE_BUSY`.
    write: DatabaseConnection,
    backend: Backend,
    statements: Arc<AtomicU64>,
    /// Set once [`Db::is_up_to_date`] has seen no migration pending.
    up_to_date: Arc<AtomicBool>,
    /// Whether `write` is a pool of its own (a SQLite file), not `read` again.
    separate_writer: bool,
    /// On a SQLite file, connections that read on the calling thread ([`Db::read_inline`]).
    inline: Option<Arc<SqliteReaders>>,
}

/// The advisory lock key that serializes migrations across instances ("cgraph" in ASCII).
const MIGRATION_LOCK: i64 = 0x0000_6367_7261_7068;

/// Sets the tenant of the current transaction for the row-level security policies (PostgreSQL).
/// `is_local = true`: the setting ends with the transaction, committed or not.
const SET_TENANT: &str = "SELECT set_config('app.tenant_id', $1, true)";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// How many database connections are open, and how many of them idle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolUsage {
    /// Open connections.
    pub open: u32,
    /// Open connections not in use.
    pub idle: u32,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .field("statements", &self.statement_count())
            .finish_non_exhaustive()
    }
}

impl Db {
    /// Connects to `url`:
    ///
    /// - `sqlite:PATH`, `sqlite://PATH` (the file is created when missing): WAL journal,
    ///   `foreign_keys = ON`, `synchronous = NORMAL`, a 5 s busy timeout; one writer connection
    ///   and up to 4 readers. SQLite is for a single instance of the server.
    /// - `sqlite::memory:`: a private in-memory database on one connection (tests).
    /// - `postgres://…` or `postgresql://…`: a pool of up to 10 connections.
    ///
    /// Does not apply migrations: call [`Db::migrate`].
    pub async fn connect(url: &str) -> Result<Db, DomainError> {
        let statements = Arc::new(AtomicU64::new(0));
        let separate_writer = url.starts_with("sqlite:") && !is_in_memory(url);
        let mut inline = None;
        let (read, write, backend) = if url.starts_with("sqlite:") {
            let (read, write, file) = connect_sqlite(url).await?;
            inline = file.map(|path| {
                SqliteReaders::new(path, SQLITE_READERS as usize, Arc::clone(&statements))
            });
            (read, write, Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(POSTGRES_CONNECTIONS)
                // A database that gives no connection within this is down: the request gets
                // SERVICE_UNAVAILABLE, not a wait until its own timeout.
                .acquire_timeout(POSTGRES_ACQUIRE_TIMEOUT)
                .connect_with(options)
                .await?;
            let conn = SqlxPostgresConnector::from_sqlx_postgres_pool(pool);
            (conn.clone(), conn, Backend::Postgres)
        } else {
            return Err(DomainError::invalid(
                "databaseUrl",
                "expected a sqlite: or postgres:// URL",
            ));
        };
        let mut db = Db {
            read,
            write,
            backend,
            statements,
            up_to_date: Arc::new(AtomicBool::new(false)),
            separate_writer,
            inline,
        };
        let counter = Arc::clone(&db.statements);
        db.read.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        let counter = Arc::clone(&db.statements);
        db.write.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        Ok(db)
    }

    /// Applies every pending migration of `cognigraph-migration`.
    ///
    /// Several instances may run it at once (`serve --migrate` on PostgreSQL): there the
    /// migrations run inside a transaction that first takes an advisory lock, so one instance
    /// migrates and the others wait, then find nothing left to do. SQLite has a single writer.
    ///
    /// On PostgreSQL, migrating needs the tables' owner (see the README's "PostgreSQL roles");
    /// with nothing pending it changes nothing and needs no more than the application's role.
    pub async fn migrate(&self) -> Result<(), DomainError> {
        match self.backend {
            Backend::Postgres => {
                let txn = self.write.begin().await?;
                lock_migrations(&txn).await?;
                if !postgres_pending_migrations(&txn).await?.is_empty() {
                    Migrator::up(&txn, None).await?;
                }
                txn.commit().await?;
            }
            Backend::Sqlite => Migrator::up(&self.write, None).await?,
        }
        Ok(())
    }

    /// The migrations of `cognigraph-migration` not yet applied to this database, by name,
    /// oldest first (empty: the schema is up to date). Asks the database every time.
    ///
    /// On SQLite, creates sea-orm's bookkeeping table `seaql_migrations` when it is missing (an
    /// empty table; no domain table is touched). On PostgreSQL it creates nothing (the
    /// application's role may not create tables: a missing bookkeeping table means every
    /// migration is pending), and it first takes the migration advisory lock, so a migration
    /// running in another instance is waited for, not half seen.
    ///
    /// A database that records a migration this build does not know (a newer version of
    /// cognigraph migrated it) is an error, [`DomainError::Database`], whose cause names that
    /// migration.
    pub async fn pending_migrations(&self) -> Result<Vec<String>, DomainError> {
        match self.backend {
            Backend::Postgres => {
                let txn = self.write.begin().await?;
                lock_migrations(&txn).await?;
                let pending = postgres_pending_migrations(&txn).await?;
                txn.commit().await?;
                Ok(pending)
            }
            // The writer: creating the bookkeeping table is a write.
            Backend::Sqlite => Ok(Migrator::get_pending_migrations(&self.write)
                .await?
                .iter()
                .map(|migration| migration.name().to_owned())
                .collect()),
        }
    }

    /// Whether no migration is pending, as [`Db::pending_migrations`] says; for readiness
    /// probes. Once the answer is `true` it is remembered by this handle and its clones, and
    /// later calls answer without a query: migrations only move forward while the service runs
    /// (a migration rolled back by hand under a running service is not noticed).
    pub async fn is_up_to_date(&self) -> Result<bool, DomainError> {
        if self.up_to_date.load(Ordering::Acquire) {
            return Ok(true);
        }
        let current = self.pending_migrations().await?.is_empty();
        if current {
            self.up_to_date.store(true, Ordering::Release);
        }
        Ok(current)
    }

    /// Whether this is a SQLite database (else PostgreSQL). A SQLite file serves one instance,
    /// so the service may migrate it on its own at start.
    pub fn is_sqlite(&self) -> bool {
        self.backend == Backend::Sqlite
    }

    /// Checks that the database answers (both pools on SQLite).
    pub async fn ping(&self) -> Result<(), DomainError> {
        self.read.ping().await?;
        if self.backend == Backend::Sqlite {
            self.write.ping().await?;
        }
        Ok(())
    }

    /// Whether this connection's PostgreSQL role escapes row-level security (a superuser, or a
    /// role with `BYPASSRLS`): then tenant isolation rests on the query builders alone. Always
    /// `false` on SQLite, which has no row-level security.
    pub async fn bypasses_row_security(&self) -> Result<bool, DomainError> {
        if !self.is_postgres() {
            return Ok(false);
        }
        let row = self
            .read
            .query_one(Statement::from_string(
                DbBackend::Postgres,
                "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user",
            ))
            .await?;
        Ok(row
            .map(|row| row.try_get_by_index::<bool>(0))
            .transpose()?
            .unwrap_or(false))
    }

    /// Whether the database is PostgreSQL (else SQLite).
    pub(crate) fn is_postgres(&self) -> bool {
        self.backend == Backend::Postgres
    }

    /// How many SQL statements this handle (and its clones) has executed so far: every statement
    /// sea-orm runs, inside transactions or not (not `BEGIN`/`COMMIT`). For tests that prove
    /// batching, e.g. that a page of tasks loads its assignees with one statement.
    pub fn statement_count(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// The connections of the pools now (for metrics): the reading pool, and the writer's on a
    /// SQLite file (elsewhere both are one pool).
    pub fn pool_usage(&self) -> PoolUsage {
        let of = |connection: &DatabaseConnection| match self.backend {
            Backend::Sqlite => {
                let pool = connection.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
            Backend::Postgres => {
                let pool = connection.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
        };
        let (mut open, mut idle) = of(&self.read);
        if self.separate_writer {
            let (writer_open, writer_idle) = of(&self.write);
            open += writer_open;
            idle += writer_idle;
        }
        PoolUsage {
            open,
            idle: u32::try_from(idle).unwrap_or(u32::MAX),
        }
    }

    /// Closes the pools, waiting for connections in use to be returned, and the idle
    /// connections that read a SQLite file on the calling thread.
    pub async fn close(self) -> Result<(), DomainError> {
        if let Some(inline) = &self.inline {
            inline.close();
        }
        self.read.close_by_ref().await?;
        if self.backend == Backend::Sqlite {
            self.write.close_by_ref().await?;
        }
        Ok(())
    }

    /// Starts a transaction for reading `scope`'s tenant (on the readers of a SQLite file). On
    /// PostgreSQL its first statement sets `app.tenant_id` for this transaction only. Inside it,
    /// use only the transaction; end it with `commit` (dropping it rolls back, which is as good
    /// for a read).
    pub(crate) async fn read(&self, scope: &Scope) -> Result<DatabaseTransaction, DomainError> {
        self.scoped(&self.read, Some(scope)).await
    }

    /// The connection to read `scope`'s tenant with one statement and no transaction, where
    /// that is as safe as a transaction: on SQLite, where one statement is atomic by itself and
    /// there is no row-level security to set up (and `BEGIN` and `COMMIT` would be two more
    /// round trips to the connection's thread). `None` on PostgreSQL: there every statement
    /// runs in a transaction that sets `app.tenant_id` first ([`Db::read`]).
    pub(crate) fn read_one_statement(&self) -> Option<&DatabaseConnection> {
        (self.backend == Backend::Sqlite).then_some(&self.read)
    }

    /// The readers that run one statement of a SQLite file's on the calling thread, where one
    /// statement needs no transaction ([`Db::read_one_statement`]), without sqlx's connection
    /// thread (a read they give back, SQLite being busy, goes to that pool): `None` on
    /// PostgreSQL and on an in-memory SQLite database (whose one connection is sqlx's).
    pub(crate) fn read_inline(&self) -> Option<&SqliteReaders> {
        self.inline.as_deref()
    }

    /// Starts a transaction for writing in `scope`'s tenant: every write runs in one, with its
    /// audit event. On PostgreSQL its first statement sets `app.tenant_id` for this transaction
    /// only. Inside it, use only the transaction: on `sqlite::memory:` the reader and the writer
    /// are the same single connection, which the transaction holds.
    pub(crate) async fn write(&self, scope: &Scope) -> Result<DatabaseTransaction, DomainError> {
        self.scoped(&self.write, Some(scope)).await
    }

    async fn scoped(
        &self,
        conn: &DatabaseConnection,
        scope: Option<&Scope>,
    ) -> Result<DatabaseTransaction, DomainError> {
        let txn = conn.begin().await?;
        if let (Backend::Postgres, Some(scope)) = (self.backend, scope) {
            txn.execute(Statement::from_sql_and_values(
                DbBackend::Postgres,
                SET_TENANT,
                [scope.tenant().as_str().into()],
            ))
            .await?;
        }
        Ok(txn)
    }

    /// Runs `sql` past the domain's query builders, through the application's own pool and
    /// role: in a transaction for `scope`'s tenant (as every domain operation), or with no
    /// tenant set at all (`None`). Returns the first column of every row, as text (so write
    /// `SELECT tenant_id::text …` or `… RETURNING tenant_id`). For the tests that prove the
    /// database's row-level security holds even for a query that forgets its tenant filter.
    #[cfg(feature = "test-helpers")]
    pub async fn unscoped_sql_for_tests(
        &self,
        scope: Option<&Scope>,
        sql: &str,
    ) -> Result<Vec<String>, DomainError> {
        let txn = self.scoped(&self.write, scope).await?;
        let rows = txn
            .query_all(Statement::from_string(txn.get_database_backend(), sql))
            .await?;
        let values = rows
            .iter()
            .map(|row| row.try_get_by_index::<String>(0))
            .collect::<Result<Vec<_>, _>>()?;
        txn.commit().await?;
        Ok(values)
    }
}

/// Takes the migration advisory lock for the rest of `txn` (PostgreSQL).
async fn lock_migrations(txn: &DatabaseTransaction) -> Result<(), DomainError> {
    txn.execute(Statement::from_string(
        DbBackend::Postgres,
        format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"),
    ))
    .await?;
    Ok(())
}

/// The migrations not yet recorded in `seaql_migrations`, by name, oldest first, read without
/// creating anything (sea-orm's own check first runs `CREATE TABLE IF NOT EXISTS`, which
/// PostgreSQL refuses to a role without `CREATE` on the schema, even when the table exists).
async fn postgres_pending_migrations(
    txn: &DatabaseTransaction,
) -> Result<Vec<String>, DomainError> {
    let table = Statement::from_string(
        DbBackend::Postgres,
        "SELECT to_regclass('seaql_migrations') IS NOT NULL AS present",
    );
    let present = match txn.query_one(table).await? {
        Some(row) => row.try_get::<bool>("", "present")?,
        None => false,
    };
    let applied: HashSet<String> = if present {
        txn.query_all(Statement::from_string(
            DbBackend::Postgres,
            "SELECT version FROM seaql_migrations",
        ))
        .await?
        .iter()
        .map(|row| row.try_get::<String>("", "version"))
        .collect::<Result<_, _>>()?
    } else {
        HashSet::new()
    };
    let known: Vec<String> = Migrator::migrations()
        .iter()
        .map(|migration| migration.name().to_owned())
        .collect();
    if let Some(unknown) = applied.iter().find(|name| !known.contains(name)) {
        return Err(DomainError::unknown_migration(unknown.clone()));
    }
    Ok(known
        .into_iter()
        .filter(|name| !applied.contains(name))
        .collect())
}

/// A pool of connections to a SQLite file. Unlike sqlx's default, a connection is not pinged
/// when taken from the pool: it is a library call in this process, not a link that can go stale,
/// and the ping was a round trip to the connection's thread before every statement.
fn sqlite_pool() -> SqlitePoolOptions {
    SqlitePoolOptions::new().test_before_acquire(false)
}

/// Whether a SQLite URL names an in-memory database.
fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// The readers' and the writer's pools of the SQLite database `url`, and its file (`None` in
/// memory).
async fn connect_sqlite(
    url: &str,
) -> Result<(DatabaseConnection, DatabaseConnection, Option<PathBuf>), DomainError> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .foreign_keys(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
        .row_buffer_size(SQLITE_ROW_BUFFER);
    if is_in_memory(url) {
        // An in-memory database lives as long as its connection: keep exactly one, forever.
        let pool = sqlite_pool()
            .min_connections(1)
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        let conn = SqlxSqliteConnector::from_sqlx_sqlite_pool(pool);
        return Ok((conn.clone(), conn, None));
    }
    let file = options.get_filename().to_owned();
    // The writer first: it creates the file and switches it to WAL.
    let writer = sqlite_pool()
        .max_connections(1)
        .connect_with(options.clone())
        .await?;
    let readers = sqlite_pool()
        .max_connections(SQLITE_READERS)
        .connect_with(options)
        .await?;
    Ok((
        SqlxSqliteConnector::from_sqlx_sqlite_pool(readers),
        SqlxSqliteConnector::from_sqlx_sqlite_pool(writer),
        Some(file),
    ))
}
