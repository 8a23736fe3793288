//! Members: the people of a tenant, synced just in time from their tokens, and managed by the
//! tenant's admins (invited, given a role, disabled, enabled).
//!
//! A member's `role` and `status` are what cognigraph last set or saw. The rule that keeps them
//! true to Cognito: a token issued after the member's last admin change (`changed_at`) reflects
//! that change, so its role is taken (a role change whose database write failed heals on the
//! member's next token), and it proves the user enabled; a token issued before it does not.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, Order, PaginatorTrait as _,
    QueryFilter, QuerySelect as _,
};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Entity};
use crate::input;
use crate::store::{self, MemberCol, MemberModel, MemberRow, Members};
use crate::{Action, Db, DomainError, Page, PageRequest, Role, Scope, TenantId};

/// Longest `sub` and username accepted, in characters.
const MAX_NAME: usize = 255;
/// The longest email kept (RFC 5321 path limit, rounded up; longer ones are refused by `enter`
/// and `invite`).
pub const MAX_EMAIL: usize = 320;

/// Where a member stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberStatus {
    /// Created by an admin; has not used the API yet.
    Invited,
    /// Has used the API.
    Active,
    /// Disabled by an admin: cannot sign in, and tokens issued before are refused.
    Disabled,
}

impl MemberStatus {
    /// `"invited"`, `"active"` or `"disabled"`, as stored.
    pub const fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Invited => "invited",
            MemberStatus::Active => "active",
            MemberStatus::Disabled => "disabled",
        }
    }

    /// The stored name; anything else is read as `Active` (the column's default).
    fn from_stored(stored: &str) -> Self {
        match stored {
            "invited" => MemberStatus::Invited,
            "disabled" => MemberStatus::Disabled,
            _ => MemberStatus::Active,
        }
    }
}

fn role_from_stored(stored: Option<&str>) -> Option<Role> {
    Role::ALL
        .into_iter()
        .find(|role| Some(role.as_str()) == stored)
}

/// A member of a tenant: someone who has used cognigraph with a token of that tenant, or whom
/// an admin invited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member's id: the [`Scope::actor_id`] of their requests.
    pub id: Uuid,
    /// The Cognito user's `sub`, unique within the tenant.
    pub sub: String,
    /// The user's username: 1 to 255 characters, trimmed; [`enter`] updates it from the token.
    pub username: String,
    /// Only admins may see it: the GraphQL layer applies [`Action::ReadMemberEmail`].
    pub email: Option<String>,
    /// When the member was invited or, if they were not, first used the API.
    pub first_seen_at: DateTime<Utc>,
    /// The member's latest request (for an invited member not seen yet: the invitation).
    pub last_seen_at: DateTime<Utc>,
    /// The role cognigraph last set or saw; `None` for members not seen since roles were kept.
    pub role: Option<Role>,
    /// Where the member stands: invited, active or disabled.
    pub status: MemberStatus,
    /// Starts at 1; every admin change increments it.
    pub version: i32,
    /// When an admin last changed the role or status.
    pub changed_at: Option<DateTime<Utc>>,
}

/// What the server knows about the caller from its token (and Cognito's user info).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberProfile {
    /// The user's username: 1 to 255 characters once trimmed; stored trimmed.
    pub username: String,
    /// `None` means "not known": a stored email is kept, not erased.
    pub email: Option<String>,
    /// The token's `iat`. `None` is taken as older than any admin change.
    pub token_issued_at: Option<DateTime<Utc>>,
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
            role: role_from_stored(row.role.as_deref()),
            status: MemberStatus::from_stored(&row.status),
            version: row.version,
            changed_at: row.changed_at,
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
    let existing = match member_with_sub(&scope, &txn, &sub).await? {
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
                role: Some(role.as_str().to_owned()),
                status: MemberStatus::Active.as_str().to_owned(),
                version: 1,
                changed_by: None,
                changed_at: None,
            };
            if insert_unless_sub_taken(&scope, &txn, row).await? {
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
            member_with_sub(&scope, &txn, &sub)
                .await?
                .ok_or(DomainError::NotFound)?
        }
    };

    let scope = Scope::new(scope.tenant().clone(), role, existing.id);
    // A token issued after the last admin change tells the truth about Cognito: its groups,
    // and that the user is enabled (a disabled user gets no tokens).
    let token_is_newer = match (existing.changed_at, profile.token_issued_at) {
        (None, _) => true,
        (Some(changed), Some(issued)) => issued > changed,
        (Some(_), None) => false,
    };
    let stored_role = role_from_stored(existing.role.as_deref());
    let status = MemberStatus::from_stored(&existing.status);
    if status == MemberStatus::Disabled && !token_is_newer {
        return Err(DomainError::MemberDisabled);
    }
    let email = email.or(existing.email.clone());
    let mut changed = Vec::new();
    if existing.username != username {
        changed.push("username");
    }
    if existing.email != email {
        changed.push("email");
    }
    let mut row = MemberRow {
        username: Set(username.clone()),
        email: Set(email),
        last_seen_at: Set(now),
        ..Default::default()
    };
    if stored_role != Some(role) && token_is_newer {
        row.role = Set(Some(role.as_str().to_owned()));
        if let Some(from) = stored_role {
            audit::record(
                &scope,
                &txn,
                "member.role_synced",
                Entity::Member,
                existing.id,
                json!({ "from": from.as_str(), "to": role.as_str() }),
            )
            .await?;
        }
    }
    if status != MemberStatus::Active {
        row.status = Set(MemberStatus::Active.as_str().to_owned());
        let action = if status == MemberStatus::Invited {
            "member.joined"
        } else {
            "member.status_synced"
        };
        audit::record(
            &scope,
            &txn,
            action,
            Entity::Member,
            existing.id,
            json!({ "username": username, "from": status.as_str() }),
        )
        .await?;
    }
    store::update::<Members>(&scope)
        .set(row)
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

/// The tenant's member with `sub`, if there is one.
async fn member_with_sub<C: ConnectionTrait>(
    scope: &Scope,
    conn: &C,
    sub: &str,
) -> Result<Option<MemberModel>, DomainError> {
    let member = store::select::<Members>(scope)
        .filter(MemberCol::Sub.eq(sub))
        .one(conn)
        .await?;
    Ok(member)
}

/// Inserts the member `row` unless the tenant has a member with its `sub` already; returns
/// whether it was inserted.
async fn insert_unless_sub_taken<C: ConnectionTrait>(
    scope: &Scope,
    conn: &C,
    row: MemberModel,
) -> Result<bool, DomainError> {
    let conflict = OnConflict::columns([MemberCol::TenantId, MemberCol::Sub])
        .do_nothing()
        .to_owned();
    store::insert_unless_conflict(scope, conn, MemberRow::from(row), conflict).await
}

/// The tenant's members, oldest first (by id: creation order), optionally only those of one
/// `status`. Needs [`Action::ReadMembers`] (admin). Pages through the `(tenant_id, id)` key or,
/// with a status, the `(tenant_id, status, id)` index.
pub async fn page(
    scope: &Scope,
    db: &Db,
    status: Option<MemberStatus>,
    request: PageRequest,
) -> Result<Page<Member>, DomainError> {
    scope.authorize(Action::ReadMembers)?;
    let mut query = store::select::<Members>(scope);
    if let Some(status) = status {
        query = query.filter(MemberCol::Status.eq(status.as_str()));
    }
    let rows = store::read_page(scope, db, query, Order::Asc, &request).await?;
    Ok(rows.map(Member::from))
}

/// An email address for an invitation: trimmed, at most [`MAX_EMAIL`] characters, one `@` with
/// text on both sides, a dot in the domain, and no whitespace or control characters. (Cognito
/// checks it again; this refuses what is surely not an address before anything is created.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Parses `raw`; [`DomainError::InvalidInput`] on field `email` otherwise.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let email = input::required_text("email", raw, MAX_EMAIL)?;
        let shaped = email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        });
        if !shaped {
            return Err(DomainError::invalid(
                "email",
                "must be an address such as ann@example.com",
            ));
        }
        if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(DomainError::invalid("email", "must not contain spaces"));
        }
        Ok(Self(email))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user an admin created in Cognito, to be recorded as an invited member of the admin's
/// tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// The new user's `sub`.
    pub sub: String,
    /// Their username.
    pub username: String,
    /// Their email.
    pub email: Email,
    /// The role their groups grant.
    pub role: Role,
}

/// Records an invited member (status `invited`, version 1, `changed_by` the admin) with the
/// audit event `member.invited`. Needs [`Action::ManageMembers`] (admin). A member with the same
/// `sub` in the tenant already is [`DomainError::MemberExists`].
pub async fn invite(scope: &Scope, db: &Db, invitation: Invitation) -> Result<Member, DomainError> {
    scope.authorize(Action::ManageMembers)?;
    let sub = input::exact_text("sub", &invitation.sub, MAX_NAME)?;
    let username = input::required_text("username", &invitation.username, MAX_NAME)?;
    let email = invitation.email.0;
    let now = store::now();
    let row = MemberModel {
        tenant_id: scope.tenant().as_str().to_owned(),
        id: Uuid::now_v7(),
        sub,
        username,
        email: Some(email.clone()),
        first_seen_at: now,
        last_seen_at: now,
        role: Some(invitation.role.as_str().to_owned()),
        status: MemberStatus::Invited.as_str().to_owned(),
        version: 1,
        changed_by: Some(scope.actor_id()),
        changed_at: Some(now),
    };
    let txn = db.write(scope).await?;
    if !insert_unless_sub_taken(scope, &txn, row.clone()).await? {
        return Err(DomainError::MemberExists);
    }
    audit::record(
        scope,
        &txn,
        "member.invited",
        Entity::Member,
        row.id,
        json!({ "email": email, "role": invitation.role.as_str() }),
    )
    .await?;
    txn.commit().await?;
    Ok(row.into())
}

/// An admin's change to a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    /// A new role.
    Role(Role),
    /// A new status (`Disabled`, or back to `Active` or `Invited` when enabled).
    Status(MemberStatus),
}

/// The member `id` of the caller's tenant, for an admin change made against
/// `expected_version`, with the change checked: [`DomainError::NotFound`],
/// [`DomainError::Conflict`] (another version), [`DomainError::LastAdmin`]. Changes nothing:
/// the server checks before it asks Cognito, and [`change`] checks again as it writes. Needs
/// [`Action::ManageMembers`] (admin).
pub async fn check_change(
    scope: &Scope,
    db: &Db,
    id: Uuid,
    expected_version: i32,
    change: MemberChange,
) -> Result<Member, DomainError> {
    scope.authorize(Action::ManageMembers)?;
    let txn = db.read(scope).await?;
    let member = load_for_change(scope, &txn, id, expected_version, change).await?;
    txn.commit().await?;
    Ok(member.into())
}

/// Applies an admin's `change` to member `id` if it is still at `expected_version`: the row
/// (version + 1, `changed_by`, `changed_at`) and the audit event (`member.role_changed`,
/// `member.disabled`, `member.enabled`) in one transaction. Refuses what [`check_change`]
/// refuses, checked again inside the transaction (on PostgreSQL the tenant's active admins are
/// locked first, so two admins demoting each other at once cannot both succeed). Needs
/// [`Action::ManageMembers`] (admin).
pub async fn change(
    scope: &Scope,
    db: &Db,
    id: Uuid,
    expected_version: i32,
    change: MemberChange,
) -> Result<Member, DomainError> {
    scope.authorize(Action::ManageMembers)?;
    let txn = db.write(scope).await?;
    let old = load_for_change(scope, &txn, id, expected_version, change).await?;
    let mut new = old.clone();
    let (action, detail) = match change {
        MemberChange::Role(role) => {
            new.role = Some(role.as_str().to_owned());
            (
                "member.role_changed",
                json!({ "from": old.role, "to": role.as_str() }),
            )
        }
        MemberChange::Status(status) => {
            new.status = status.as_str().to_owned();
            let action = if status == MemberStatus::Disabled {
                "member.disabled"
            } else {
                "member.enabled"
            };
            (action, json!({ "from": old.status, "to": status.as_str() }))
        }
    };
    let (new, _) = store::write::<Members, _>(scope, &txn, old, new).await?;
    audit::record(scope, &txn, action, Entity::Member, id, detail).await?;
    txn.commit().await?;
    Ok(new.into())
}

/// Records that an admin signed member `id` out everywhere (audit event `member.signed_out`);
/// the member row is unchanged. Needs [`Action::ManageMembers`] (admin).
pub async fn record_sign_out(scope: &Scope, db: &Db, id: Uuid) -> Result<Member, DomainError> {
    scope.authorize(Action::ManageMembers)?;
    let txn = db.write(scope).await?;
    let member = store::select_by_id::<Members>(scope, id)
        .one(&txn)
        .await?
        .ok_or(DomainError::NotFound)?;
    audit::record(
        scope,
        &txn,
        "member.signed_out",
        Entity::Member,
        id,
        json!({}),
    )
    .await?;
    txn.commit().await?;
    Ok(member.into())
}

/// The member `id` for `change` made against `expected_version`, with the change checked:
/// what [`check_change`] answers and [`change`] checks again inside its transaction.
async fn load_for_change<C: ConnectionTrait>(
    scope: &Scope,
    conn: &C,
    id: Uuid,
    expected_version: i32,
    change: MemberChange,
) -> Result<MemberModel, DomainError> {
    let member = store::load_for_write::<Members, _>(scope, conn, id, expected_version).await?;
    keeps_an_admin(scope, conn, &member, change).await?;
    Ok(member)
}

/// [`DomainError::LastAdmin`] when `change` takes an active admin's role or status away and no
/// other active admin is left in the tenant.
async fn keeps_an_admin<C: ConnectionTrait>(
    scope: &Scope,
    conn: &C,
    member: &MemberModel,
    change: MemberChange,
) -> Result<(), DomainError> {
    let is_active_admin = member.status == MemberStatus::Active.as_str()
        && member.role.as_deref() == Some(Role::Admin.as_str());
    let takes_it_away = match change {
        MemberChange::Role(role) => role != Role::Admin,
        MemberChange::Status(status) => status == MemberStatus::Disabled,
    };
    if !is_active_admin || !takes_it_away {
        return Ok(());
    }
    let mut others = store::select::<Members>(scope)
        .filter(MemberCol::Role.eq(Role::Admin.as_str()))
        .filter(MemberCol::Status.eq(MemberStatus::Active.as_str()))
        .filter(MemberCol::Id.ne(member.id))
        .select_only()
        .column(MemberCol::Id);
    if conn.get_database_backend() == DbBackend::Postgres {
        // SQLite serializes write transactions already.
        others = others.lock_exclusive();
    }
    if others.count(conn).await? == 0 {
        return Err(DomainError::LastAdmin);
    }
    Ok(())
}

/// One member by id. Members appear as creators and assignees, so this needs only
/// [`Action::ReadProjects`] (viewer); emails are the GraphQL layer's field policy.
pub async fn get(scope: &Scope, db: &Db, id: Uuid) -> Result<Member, DomainError> {
    scope.authorize(Action::ReadProjects)?;
    let row = store::read_by_id::<Members>(scope, db, id).await?;
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
    let rows = store::read_by_ids::<Members>(scope, db, ids).await?;
    Ok(rows.into_iter().map(|row| (row.id, row.into())).collect())
}
