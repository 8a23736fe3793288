//! For tests of cognigraph's crates (the `test-helpers` feature): throwaway PostgreSQL databases.

use sea_orm::sqlx::{self, Connection as _};
use uuid::Uuid;

use crate::DomainError;

/// A new, empty database on a PostgreSQL server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresDatabase {
    /// Its URL: the admin URL's, with the database replaced.
    pub url: String,
    /// Its name, `{prefix}_{unique}`.
    pub name: String,
}

/// Creates a database named `{prefix}_{unique}` on the server of `admin_url` (a role that may
/// `CREATE DATABASE`). Dropping it is the caller's choice: `.ci/postgres` throws the whole
/// cluster away.
///
/// # Errors
/// The server cannot be reached, or refuses to create it.
pub async fn create_postgres_database(
    admin_url: &str,
    prefix: &str,
) -> Result<PostgresDatabase, DomainError> {
    let name = format!("{prefix}_{}", Uuid::now_v7().simple());
    let mut admin = sqlx::PgConnection::connect(admin_url).await?;
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    Ok(PostgresDatabase {
        url: with_database(admin_url, &name),
        name,
    })
}

/// `url` with its database replaced by `name` (user, host, port and query string kept).
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    format!("{}/{name}{query}", &base[..authority_end])
}

/// `url` connecting as `user`, without a password (the throwaway cluster trusts loopback).
pub fn with_user(url: &str, user: &str) -> String {
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    let host_start = url[authority_start..]
        .find('@')
        .map_or(authority_start, |i| authority_start + i + 1);
    format!("{}{user}@{}", &url[..authority_start], &url[host_start..])
}

#[cfg(test)]
mod tests {
    use super::{with_database, with_user};

    #[test]
    fn the_user_is_replaced_and_the_rest_kept() {
        assert_eq!(
            with_user("postgres://postgres@127.0.0.1:5432/t_1", "app"),
            "postgres://app@127.0.0.1:5432/t_1"
        );
        assert_eq!(
            with_user("postgres://u:p@db/app?sslmode=disable", "app"),
            "postgres://app@db/app?sslmode=disable"
        );
        assert_eq!(with_user("postgres://db/x", "app"), "postgres://app@db/x");
    }

    #[test]
    fn the_database_is_replaced_and_the_rest_kept() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t_1"),
            "postgres://postgres@127.0.0.1:5432/t_1"
        );
        assert_eq!(
            with_database("postgres://u:p@db/app?sslmode=disable", "t_2"),
            "postgres://u:p@db/t_2?sslmode=disable"
        );
        assert_eq!(with_database("postgres://db", "t_3"), "postgres://db/t_3");
    }
}
