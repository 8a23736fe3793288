//! Admin changes to members: invitations, roles, status, the last-admin rule, and how a
//! member's tokens agree with the row (`changed_at`).

use chrono::{DateTime, Duration, Utc};
use cognigraph_domain::members::{
    self, Email, Invitation, Member, MemberChange, MemberProfile, MemberStatus,
};
use cognigraph_domain::{Action, Db, DomainError, PageRequest, Role, Scope, audit};

use crate::support::{TestDb, assert_conflict, assert_forbidden, db_tests, enter, tenant};

db_tests![
    an_invited_member_joins_with_their_first_token,
    role_changes_are_versioned_and_audited,
    the_last_active_admin_stays,
    a_disabled_member_is_refused_until_a_newer_token,
    a_newer_token_heals_the_role_an_older_one_does_not,
    only_admins_manage_members,
    members_page_by_status
];

fn invitation(sub: &str, email: &str, role: Role) -> Invitation {
    Invitation {
        sub: sub.to_owned(),
        // As with pools whose username is the sub; what `enter_at` sends.
        username: sub.to_owned(),
        email: Email::parse(email).unwrap(),
        role,
    }
}

/// `sub` enters `acme` with `role` and a token issued at `issued_at`.
async fn enter_at(
    db: &Db,
    role: Role,
    sub: &str,
    issued_at: Option<DateTime<Utc>>,
) -> Result<Scope, DomainError> {
    members::enter(
        db,
        tenant("acme"),
        role,
        sub,
        MemberProfile {
            username: sub.to_owned(),
            email: None,
            token_issued_at: issued_at,
        },
    )
    .await
}

async fn actions(scope: &Scope, db: &Db) -> Vec<String> {
    audit::list(scope, db, PageRequest::first(100))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|(_, event)| event.action)
        .collect()
}

async fn an_invited_member_joins_with_their_first_token(t: TestDb) {
    let db = &t.db;
    let admin = enter(db, "acme", Role::Admin, "boss").await;
    let invited = members::invite(
        &admin,
        db,
        invitation("new-sub", "ann@example.com", Role::Editor),
    )
    .await
    .unwrap();
    assert_eq!(invited.status, MemberStatus::Invited);
    assert_eq!(invited.role, Some(Role::Editor));
    assert_eq!(invited.version, 1);
    assert_eq!(invited.email.as_deref(), Some("ann@example.com"));
    assert!(invited.changed_at.is_some());
    // The same sub again: the tenant has it already.
    let again = members::invite(
        &admin,
        db,
        invitation("new-sub", "ann@example.com", Role::Editor),
    )
    .await;
    assert!(matches!(again, Err(DomainError::MemberExists)), "{again:?}");

    let later = invited.changed_at.unwrap() + Duration::seconds(1);
    let scope = enter_at(db, Role::Editor, "new-sub", Some(later))
        .await
        .unwrap();
    assert_eq!(
        scope.actor_id(),
        invited.id,
        "the invited row, not a new one"
    );
    let joined = members::get(&admin, db, invited.id).await.unwrap();
    assert_eq!(joined.status, MemberStatus::Active);
    assert_eq!(joined.email.as_deref(), Some("ann@example.com"), "kept");
    assert_eq!(
        actions(&admin, db).await[..2],
        ["member.joined".to_owned(), "member.invited".to_owned()]
    );
}

async fn role_changes_are_versioned_and_audited(t: TestDb) {
    let db = &t.db;
    let admin = enter(db, "acme", Role::Admin, "boss").await;
    let editor = enter(db, "acme", Role::Editor, "ed").await;
    let id = editor.actor_id();
    let change = MemberChange::Role(Role::Viewer);
    assert_conflict(members::check_change(&admin, db, id, 2, change).await, 2, 1);
    assert_conflict(members::change(&admin, db, id, 2, change).await, 2, 1);
    let checked = members::check_change(&admin, db, id, 1, change)
        .await
        .unwrap();
    assert_eq!(checked.role, Some(Role::Editor), "a check changes nothing");
    let changed = members::change(&admin, db, id, 1, change).await.unwrap();
    assert_eq!(changed.role, Some(Role::Viewer));
    assert_eq!(changed.version, 2);
    assert!(changed.changed_at.is_some());
    assert_conflict(members::change(&admin, db, id, 1, change).await, 1, 2);
    let events = audit::list(&admin, db, PageRequest::first(1))
        .await
        .unwrap();
    let (_, event) = &events.items[0];
    assert_eq!(event.action, "member.role_changed");
    assert_eq!(event.entity_id, id);
    assert_eq!(event.actor_id, admin.actor_id());
    assert_eq!(
        event.detail,
        serde_json::json!({"from": "editor", "to": "viewer"})
    );
    // Another tenant's admin cannot see the member at all.
    let other = enter(db, "globex", Role::Admin, "intruder").await;
    let foreign = members::change(&other, db, id, 2, MemberChange::Role(Role::Admin)).await;
    assert!(matches!(foreign, Err(DomainError::NotFound)), "{foreign:?}");
}

async fn the_last_active_admin_stays(t: TestDb) {
    let db = &t.db;
    let boss = enter(db, "acme", Role::Admin, "boss").await;
    let me = boss.actor_id();
    let demote = MemberChange::Role(Role::Editor);
    let disable = MemberChange::Status(MemberStatus::Disabled);
    for change in [demote, disable] {
        let checked = members::check_change(&boss, db, me, 1, change).await;
        assert!(
            matches!(checked, Err(DomainError::LastAdmin)),
            "{checked:?}"
        );
        let changed = members::change(&boss, db, me, 1, change).await;
        assert!(
            matches!(changed, Err(DomainError::LastAdmin)),
            "{changed:?}"
        );
    }
    // Keeping the role, or an invited admin, does not count as another active admin.
    members::change(&boss, db, me, 1, MemberChange::Role(Role::Admin))
        .await
        .unwrap();
    members::invite(
        &boss,
        db,
        invitation("pending", "p@example.com", Role::Admin),
    )
    .await
    .unwrap();
    let still = members::change(&boss, db, me, 2, demote).await;
    assert!(matches!(still, Err(DomainError::LastAdmin)), "{still:?}");
    // With a second active admin, either may step down, but not both.
    let second = enter(db, "acme", Role::Admin, "second").await;
    members::change(&boss, db, me, 2, demote).await.unwrap();
    let last = members::change(&second, db, second.actor_id(), 1, disable).await;
    assert!(matches!(last, Err(DomainError::LastAdmin)), "{last:?}");
}

/// The editor `ed` of `acme`, after the admin `boss` made them a change.
struct ChangedEditor {
    /// `boss`.
    admin: Scope,
    /// `ed`'s scope.
    editor: Scope,
    /// When `ed`'s token was issued: 5 s before the change.
    before: DateTime<Utc>,
    /// `ed` as the change left them.
    changed: Member,
}

/// `boss` (admin) and `ed` (editor, with a token issued 5 s ago) enter `acme`; `boss` makes
/// `change` to `ed`.
async fn change_an_editor(db: &Db, change: MemberChange) -> ChangedEditor {
    let admin = enter(db, "acme", Role::Admin, "boss").await;
    let before = Utc::now() - Duration::seconds(5);
    let editor = enter_at(db, Role::Editor, "ed", Some(before))
        .await
        .unwrap();
    ChangedEditor {
        changed: members::change(&admin, db, editor.actor_id(), 1, change)
            .await
            .unwrap(),
        admin,
        editor,
        before,
    }
}

async fn a_disabled_member_is_refused_until_a_newer_token(t: TestDb) {
    let db = &t.db;
    let ed = change_an_editor(db, MemberChange::Status(MemberStatus::Disabled)).await;
    assert_eq!(ed.changed.status, MemberStatus::Disabled);
    for issued in [Some(ed.before), None] {
        let refused = enter_at(db, Role::Editor, "ed", issued).await;
        assert!(
            matches!(refused, Err(DomainError::MemberDisabled)),
            "{refused:?}"
        );
    }
    // A token issued after the disable proves Cognito enabled the user again.
    let after = ed.changed.changed_at.unwrap() + Duration::seconds(1);
    enter_at(db, Role::Editor, "ed", Some(after)).await.unwrap();
    let healed = members::get(&ed.admin, db, ed.editor.actor_id())
        .await
        .unwrap();
    assert_eq!(healed.status, MemberStatus::Active);
    assert_eq!(actions(&ed.admin, db).await[0], "member.status_synced");
}

async fn a_newer_token_heals_the_role_an_older_one_does_not(t: TestDb) {
    let db = &t.db;
    let ed = change_an_editor(db, MemberChange::Role(Role::Viewer)).await;
    // A token from before the change still shows the old role: the row keeps the new one.
    enter_at(db, Role::Editor, "ed", Some(ed.before))
        .await
        .unwrap();
    let kept = members::get(&ed.admin, db, ed.editor.actor_id())
        .await
        .unwrap();
    assert_eq!(kept.role, Some(Role::Viewer));
    // A token from after it is what Cognito says now (here: the groups changed again, and the
    // database write of that change was lost).
    let after = ed.changed.changed_at.unwrap() + Duration::seconds(1);
    enter_at(db, Role::Admin, "ed", Some(after)).await.unwrap();
    let healed = members::get(&ed.admin, db, ed.editor.actor_id())
        .await
        .unwrap();
    assert_eq!(healed.role, Some(Role::Admin));
    assert_eq!(healed.version, 2, "a heal is not an admin change");
    assert_eq!(actions(&ed.admin, db).await[0], "member.role_synced");
}

async fn only_admins_manage_members(t: TestDb) {
    let db = &t.db;
    let admin = enter(db, "acme", Role::Admin, "boss").await;
    let id = admin.actor_id();
    for role in [Role::Viewer, Role::Editor] {
        let scope = enter(db, "acme", role, &format!("{role}-user")).await;
        let change = MemberChange::Role(Role::Viewer);
        assert_forbidden(
            members::invite(&scope, db, invitation("x", "x@example.com", role)).await,
            Action::ManageMembers,
        );
        assert_forbidden(
            members::check_change(&scope, db, id, 1, change).await,
            Action::ManageMembers,
        );
        assert_forbidden(
            members::change(&scope, db, id, 1, change).await,
            Action::ManageMembers,
        );
        assert_forbidden(
            members::record_sign_out(&scope, db, id).await,
            Action::ManageMembers,
        );
        assert_forbidden(
            members::page(&scope, db, None, PageRequest::first(10)).await,
            Action::ReadMembers,
        );
    }
    for bad in [
        "",
        "ann",
        "ann@",
        "@example.com",
        "ann@example",
        "a nn@example.com",
        "a@b@c.de",
    ] {
        assert!(Email::parse(bad).is_err(), "{bad:?}");
    }
    assert_eq!(
        Email::parse(" ann@example.com ").unwrap().as_str(),
        "ann@example.com"
    );
}

async fn members_page_by_status(t: TestDb) {
    let db = &t.db;
    let admin = enter(db, "acme", Role::Admin, "boss").await;
    for n in 0..3 {
        members::invite(
            &admin,
            db,
            invitation(
                &format!("sub-{n}"),
                &format!("m{n}@example.com"),
                Role::Viewer,
            ),
        )
        .await
        .unwrap();
    }
    enter(db, "globex", Role::Admin, "other").await;
    let page = |status, first| members::page(&admin, db, status, PageRequest::first(first));
    let invited = page(Some(MemberStatus::Invited), 2).await.unwrap();
    assert_eq!(invited.total_count, 3);
    assert_eq!(invited.items.len(), 2);
    assert!(invited.has_next_page);
    let active = page(Some(MemberStatus::Active), 10).await.unwrap();
    let names: Vec<_> = active
        .items
        .iter()
        .map(|(_, m)| m.username.as_str())
        .collect();
    assert_eq!(names, ["boss"]);
    assert_eq!(
        page(Some(MemberStatus::Disabled), 10)
            .await
            .unwrap()
            .total_count,
        0
    );
    assert_eq!(page(None, 10).await.unwrap().total_count, 4);
}
