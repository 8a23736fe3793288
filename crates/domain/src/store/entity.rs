//! sea-orm entities for the four tables. Private to [`crate::store`]: the rest of the crate reaches
//! rows only through the tenant-scoped helpers there.

/// `pub(crate) mod $module`: the entity of the table `$table`, whose `Model` has the fields
/// `tenant_id` and `id` (the primary key every table has) and then the given ones; no relations
/// (the store joins by hand), the default behaviour.
macro_rules! tenant_entity {
    ($module:ident, $table:literal, derive($($derive:ident),*), { $($fields:tt)* }) => {
        pub(crate) mod $module {
            use sea_orm::entity::prelude::*;

            #[derive(Clone, Debug, $($derive,)* DeriveEntityModel)]
            #[sea_orm(table_name = $table)]
            pub struct Model {
                #[sea_orm(primary_key, auto_increment = false)]
                pub tenant_id: String,
                #[sea_orm(primary_key, auto_increment = false)]
                pub id: Uuid,
                $($fields)*
            }

            #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
            pub enum Relation {}

            impl ActiveModelBehavior for ActiveModel {}
        }
    };
}

tenant_entity!(members, "members", derive(PartialEq, Eq), {
    pub sub: String,
    pub username: String,
    pub email: Option<String>,
    pub first_seen_at: DateTimeUtc,
    pub last_seen_at: DateTimeUtc,
    pub role: Option<String>,
    pub status: String,
    pub version: i32,
    pub changed_by: Option<Uuid>,
    pub changed_at: Option<DateTimeUtc>,
});

tenant_entity!(projects, "projects", derive(PartialEq, Eq), {
    pub name: String,
    pub description: Option<String>,
    pub budget: Option<i64>,
    pub archived: bool,
    pub version: i32,
    pub task_count: i64,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_by: Uuid,
    pub updated_at: DateTimeUtc,
});

tenant_entity!(tasks, "tasks", derive(PartialEq, Eq), {
    pub project_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub status: String,
    pub assignee_id: Option<Uuid>,
    pub due_date: Option<Date>,
    pub version: i32,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_by: Uuid,
    pub updated_at: DateTimeUtc,
});

tenant_entity!(audit_events, "audit_events", derive(PartialEq), {
    pub actor_id: Uuid,
    pub action: String,
    pub entity: String,
    pub entity_id: Uuid,
    pub at: DateTimeUtc,
    #[sea_orm(column_type = "JsonBinary")]
    pub detail: Json,
});
