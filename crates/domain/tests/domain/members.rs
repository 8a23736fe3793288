//! Members: the just-in-time upsert behind every scope.

use std::time::Duration;

use cognigraph_domain::members::{self, MemberProfile};
use cognigraph_domain::{Action, Db, DomainError, PageRequest, Role, Scope, audit};

use crate::support::{TestDb, assert_forbidden, assert_invalid, db_tests, enter, tenant};

db_tests![
    enter_upserts_the_member,
    enter_validates_the_profile,
    listing_members
];

fn profile(username: &str, email: Option<&str>) -> MemberProfile {
    MemberProfile {
        username: username.to_owned(),
        email: email.map(str::to_owned),
        token_issued_at: None,
    }
}

async fn enter_upserts_the_member(t: TestDb) {
    let db = &t.db;
    let first = members::enter(
        db,
        tenant("acme"),
        Role::Admin,
        "sub-1",
        profile("ada", Some("ada@example.com")),
    )
    .await
    .unwrap();
    assert_eq!(first.tenant().as_str(), "acme");
    assert_eq!(first.role(), Role::Admin);
    let joined = members::get(&first, db, first.actor_id()).await.unwrap();
    assert_eq!(joined.sub, "sub-1");
    assert_eq!(joined.username, "ada");
    assert_eq!(joined.email.as_deref(), Some("ada@example.com"));
    assert_eq!(joined.first_seen_at, joined.last_seen_at);

    tokio::time::sleep(Duration::from_millis(5)).await;
    // Same person, lower role this time, no email known: same member, email kept.
    let second = members::enter(
        db,
        tenant("acme"),
        Role::Viewer,
        "sub-1",
        profile("ada", None),
    )
    .await
    .unwrap();
    assert_eq!(second.actor_id(), first.actor_id());
    assert_eq!(second.role(), Role::Viewer);
    let seen = members::get(&first, db, first.actor_id()).await.unwrap();
    assert_eq!(
        seen.first_seen_at, joined.first_seen_at,
        "first_seen_at is kept"
    );
    assert!(
        seen.last_seen_at > joined.last_seen_at,
        "last_seen_at moves"
    );
    assert_eq!(seen.email.as_deref(), Some("ada@example.com"));

    // A renamed user: the profile follows, with an audit event.
    members::enter(
        db,
        tenant("acme"),
        Role::Admin,
        "sub-1",
        profile("ada.l", Some("ada@new.example")),
    )
    .await
    .unwrap();
    let renamed = members::get(&first, db, first.actor_id()).await.unwrap();
    assert_eq!(renamed.username, "ada.l");
    assert_eq!(renamed.email.as_deref(), Some("ada@new.example"));
    assert_eq!(
        crate::support::all_members(&first, db).await.unwrap().len(),
        1
    );

    let events = audit::list(&first, db, PageRequest::default())
        .await
        .unwrap();
    let actions: Vec<_> = events
        .items
        .iter()
        .map(|(_, e)| e.action.as_str())
        .collect();
    // The role each token showed is kept, and a change of it is an event.
    assert_eq!(
        actions,
        [
            "member.profile_updated",
            "member.role_synced",
            "member.role_synced",
            "member.joined"
        ]
    );
    assert_eq!(renamed.role, Some(Role::Admin));
    assert_eq!(renamed.status, members::MemberStatus::Active);
    let (_, updated) = &events.items[0];
    assert_eq!(updated.entity, "member");
    assert_eq!(updated.entity_id, first.actor_id());
    assert_eq!(updated.actor_id, first.actor_id());
    assert_eq!(
        updated.detail["changed"],
        serde_json::json!(["username", "email"])
    );
}

async fn enter_with(
    db: &Db,
    sub: &str,
    username: &str,
    email: Option<String>,
) -> Result<Scope, DomainError> {
    let profile = MemberProfile {
        username: username.to_owned(),
        email,
        token_issued_at: None,
    };
    members::enter(db, tenant("acme"), Role::Viewer, sub, profile).await
}

async fn enter_validates_the_profile(t: TestDb) {
    let db = &t.db;
    assert_invalid(enter_with(db, "", "name", None).await, "sub");
    assert_invalid(enter_with(db, &"s".repeat(256), "name", None).await, "sub");
    assert_invalid(enter_with(db, "sub", " ", None).await, "username");
    assert_invalid(
        enter_with(db, "sub", &"u".repeat(256), None).await,
        "username",
    );
    assert_invalid(
        enter_with(db, "sub", "name", Some("e".repeat(321))).await,
        "email",
    );
    enter_with(
        db,
        &"s".repeat(255),
        &"u".repeat(255),
        Some("e".repeat(320)),
    )
    .await
    .unwrap();
}

async fn listing_members(t: TestDb) {
    let db = &t.db;
    let admin = enter(db, "acme", Role::Admin, "zed").await;
    let editor = enter(db, "acme", Role::Editor, "amy").await;
    let viewer = enter(db, "acme", Role::Viewer, "bo").await;
    enter(db, "other", Role::Admin, "xavier").await;
    let listed = crate::support::all_members(&admin, db).await.unwrap();
    let names: Vec<_> = listed.iter().map(|m| m.username.as_str()).collect();
    assert_eq!(
        names,
        ["zed", "amy", "bo"],
        "oldest first, this tenant only"
    );
    assert_forbidden(
        crate::support::all_members(&editor, db).await,
        Action::ReadMembers,
    );
    assert_forbidden(
        crate::support::all_members(&viewer, db).await,
        Action::ReadMembers,
    );
    // Members are visible to viewers one by one (assignees, authors); the email field policy is
    // the GraphQL layer's.
    let got = members::get_many(&viewer, db, &[admin.actor_id(), editor.actor_id()])
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[&admin.actor_id()].username, "zed");
    assert!(!viewer.can(Action::ReadMemberEmail));
    assert!(admin.can(Action::ReadMemberEmail));
}
