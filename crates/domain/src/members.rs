//! Members: the people of a tenant, synced just in time from their tokens.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, QueryFilter, QueryOrder};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Entity};
use crate::input;
use crate::store::{self, MemberCol, MemberModel, MemberRow, Members};
use crate::{Action, Db, DomainError, Role, Scope, TenantId};

/// Longest `sub` and username accepted, in characters.
const MAX_NAME: usize = 255;
/// Longest email accepted (RFC 5321 path limit, rounded up).
/// The longest email kept (longer ones are refused by `enter`).
pub const MAX_EMAIL: usize = 320;

/// A member of a tenant: someone who has used cognigraph with a token of that tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: Uuid,
    /// The Cognito user's `sub`, unique within the tenant.
    pub sub: String,
    pub username: String,
    /// Only admins may see it: the GraphQL layer applies [`Action::ReadMemberEmail`].
    pub email: Option<String>,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// What the server knows about the caller from its token (and Cognito's user info).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberProfile {
    pub username: String,
    /// `None` means "not known": a stored email is kept, not erased.
    pub email: Option<String>,
}

impl From<MemberModel> for Member {
    fn from(row: MemberModel) -> Self {
        Self {
            id: row.id,
            sub: row.sub,
            username: row.username,
            email: row.email,
            first_seen_at: row.first_seen_at,
            last_seen_at: row.last_seen_at,
        }
    }
}

/// The caller enters its tenant: upserts the member `(tenant, sub)` and returns the caller's
/// [`Scope`]. The server calls it after verifying the token (and may cache the scope per tenant,
/// sub and role, so that it is not a write per request).
///
/// The first call creates the member (`first_seen_at = last_seen_at = now`, audit event
/// `member.joined`); later calls move `last_seen_at` and update the username and a known email
/// (audit event `member.profile_updated` when either changed). Any role may enter.
pub async fn enter(
    db: &Db,
    tenant: TenantId,
    role: Role,
    sub: &str,
    profile: MemberProfile,
) -> Result<Scope, DomainError> {
    // The sub identifies the member: taken exactly as given, never trimmed into someone else's.
    let sub = input::exact_text("sub", sub, MAX_NAME)?;
    let username = input::required_text("username", &profile.username, MAX_NAME)?;
    let email = input::optional_text("email", profile.email, MAX_EMAIL)?;
    let now = store::now();
    // Until the member is known, a scope whose actor is the id a new member would get.
    let scope = Scope::new(tenant, role, Uuid::now_v7());

    let txn = db.write(&scope).await?;
    let existing = store::select::<Members>(&scope)
        .filter(MemberCol::Sub.eq(sub.as_str()))
        .one(&txn)
        .await?;
    let existing = match existing {
        Some(existing) => existing,
        None => {
            let row = MemberModel {
                tenant_id: scope.tenant().as_str().to_owned(),
                id: scope.actor_id(),
                sub: sub.clone(),
                username: username.clone(),
                email: email.clone(),
                first_seen_at: now,
                last_seen_at: now,
            };
            let conflict = OnConflict::columns([MemberCol::TenantId, MemberCol::Sub])
                .do_nothing()
                .to_owned();
            if store::insert_unless_conflict(&scope, &txn, MemberRow::from(row), conflict).await? {
                audit::record(
                    &scope,
                    &txn,
                    "member.joined",
                    Entity::Member,
                    scope.actor_id(),
                    json!({ "username": username }),
                )
                .await?;
                txn.commit().await?;
                return Ok(scope);
            }
            // Another request created the member since our read (PostgreSQL): update it.
            store::select::<Members>(&scope)
                .filter(MemberCol::Sub.eq(sub.as_str()))
                .one(&txn)
                .await?
                .ok_or(DomainError::NotFound)?
        }
    };

    let scope = Scope::new(scope.tenant().clone(), role, existing.id);
    let email = email.or(existing.email.clone());
    let mut changed = Vec::new();
    if existing.username != username {
        changed.push("username");
    }
    if existing.email != email {
        changed.push("email");
    }
    store::update::<Members>(&scope)
        .set(MemberRow {
            username: Set(username),
            email: Set(email),
            last_seen_at: Set(now),
            ..Default::default()
        })
        .filter(MemberCol::Id.eq(existing.id))
        .exec(&txn)
        .await?;
    if !changed.is_empty() {
        audit::record(
            &scope,
            &txn,
            "member.profile_updated",
            Entity::Member,
            existing.id,
            json!({ "changed": changed }),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(scope)
}

/// Every member of the tenant, by username. Needs [`Action::ReadMembers`] (admin).
pub async fn list(scope: &Scope, db: &Db) -> Result<Vec<Member>, DomainError> {
    scope.authorize(Action::ReadMembers)?;
    let txn = db.read(scope).await?;
    let rows = store::select::<Members>(scope)
        .order_by_asc(MemberCol::Username)
        .order_by_asc(MemberCol::Id)
        .all(&txn)
        .await?;
    txn.commit().await?;
    Ok(rows.into_iter().map(Member::from).collect())
}

/// One member by id. Members appear as creators and assignees, so this needs only
/// [`Action::ReadProjects`] (viewer); emails are the GraphQL layer's field policy.
pub async fn get(scope: &Scope, db: &Db, id: Uuid) -> Result<Member, DomainError> {
    scope.authorize(Action::ReadProjects)?;
    let txn = db.read(scope).await?;
    let row = store::select_by_id::<Members>(scope, id).one(&txn).await?;
    txn.commit().await?;
    row.map(Member::from).ok_or(DomainError::NotFound)
}

/// The tenant's members among `ids`, in one statement (for DataLoaders); ids of no member of the
/// tenant are left out. Needs [`Action::ReadProjects`] (viewer), like [`get`].
pub async fn get_many(
    scope: &Scope,
    db: &Db,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Member>, DomainError> {
    scope.authorize(Action::ReadProjects)?;
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let txn = db.read(scope).await?;
    let rows = store::select_by_ids::<Members>(scope, ids)
        .all(&txn)
        .await?;
    txn.commit().await?;
    Ok(rows.into_iter().map(|row| (row.id, row.into())).collect())
}
