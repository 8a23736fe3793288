//! What more than one migration builds its statements from.
//!
//! The migrations are applied history, and so is this module: changing what a migration uses
//! here changes what that migration does on a new database. A new migration that needs something
//! else adds it; it does not change what is here.

use sea_orm_migration::prelude::*;

/// Implements `MigrationTrait` for the calling module's `Migration` with the module's functions
/// `async fn up(manager: &SchemaManager<'_>) -> Result<(), DbErr>` and `down` (the same shape).
macro_rules! impl_migration {
    () => {
        #[sea_orm_migration::async_trait::async_trait]
        #[expect(
            elided_lifetimes_in_paths,
            reason = "async_trait's expansion of `MigrationTrait` needs the elided lifetime; naming it is rejected"
        )]
        impl sea_orm_migration::MigrationTrait for Migration {
            async fn up(
                &self,
                manager: &sea_orm_migration::SchemaManager,
            ) -> Result<(), sea_orm_migration::DbErr> {
                up(manager).await
            }

            async fn down(
                &self,
                manager: &sea_orm_migration::SchemaManager,
            ) -> Result<(), sea_orm_migration::DbErr> {
                down(manager).await
            }
        }
    };
}
pub(crate) use impl_migration;

/// The index `name` on `table (columns…)`. (Every secondary index starts with `tenant_id`.)
pub(crate) fn index<C: IntoIndexColumn, const N: usize>(
    name: &str,
    table: impl IntoTableRef,
    columns: [C; N],
) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(column);
    }
    index
}
