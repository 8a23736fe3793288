//! `cognigraph dev seed` (`just dev`): the users of a fresh pool find projects and tasks of
//! their own tenant, and seeding again adds nothing.

use cognigraph_server::dev::seed::{self, DEV_PROJECTS, DEV_USERS, TenantData};
use cognigraph_tests::{App, Pool, TestDatabase, emulator_client, emulator_url, require_emulator};
use serde_json::json;

const LISTING: &str = "{ projects(first: 20) { totalCount nodes { name createdBy { username } tasks { title createdBy { username } assignee { username } } } } }";

#[tokio::test]
async fn seeded_users_find_their_tenants_projects_and_a_second_run_adds_nothing() {
    require_emulator().await;
    let api = emulator_client(&emulator_url()).await;
    let pool_name = format!("it-seed-{}", uuid::Uuid::new_v4().simple());
    let seeded = seed::seed(&api, &pool_name, DEV_USERS)
        .await
        .expect("seed users");
    let database = TestDatabase::create().await;
    let pool = Pool::existing(
        &emulator_url(),
        api.clone(),
        seeded.pool_id.clone(),
        seeded.client_id.clone(),
    );

    let first = seed::seed_data(&pool.admin, &seeded, &database.url)
        .await
        .expect("seed data");
    let expected: Vec<(&str, TenantData)> = DEV_PROJECTS
        .iter()
        .map(|(tenant, projects)| {
            let tasks = projects.iter().map(|p| p.tasks.len()).sum();
            (
                *tenant,
                TenantData::Created {
                    projects: projects.len(),
                    tasks,
                },
            )
        })
        .collect();
    assert_eq!(first, expected);
    let again = seed::seed_data(&pool.admin, &seeded, &database.url)
        .await
        .expect("seed data again");
    assert!(
        again
            .iter()
            .zip(DEV_PROJECTS)
            .all(
                |((tenant, outcome), (expected, projects))| tenant == expected
                    && *outcome
                        == TenantData::Kept {
                            projects: projects.len() as u64
                        }
            ),
        "{again:?}"
    );
    assert!(seed::data_summary(&first).contains("acme     seeded 3 projects and 6 tasks"));

    let app = App::start_on(&pool, database, 60, |_| {}).await;
    for (user, tokens) in &seeded.users {
        let (status, body) = app.graphql(&tokens.access_token, LISTING, json!({})).await;
        assert_eq!(status, 200, "{}: {body}", user.username);
        assert!(body.get("errors").is_none(), "{}: {body}", user.username);
        let (_, projects) = DEV_PROJECTS
            .iter()
            .find(|(tenant, _)| *tenant == user.tenant)
            .expect("the user's tenant is seeded");
        let listing = &body["data"]["projects"];
        assert_eq!(
            listing["totalCount"],
            projects.len(),
            "{}: {body}",
            user.username
        );
        let names: Vec<&str> = listing["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        let expected: Vec<&str> = projects.iter().map(|p| p.name).collect();
        assert_eq!(names, expected, "{}", user.username);
        // Created by the tenant's seeded users, who are the callers' own member rows.
        let admin = if user.tenant == "acme" {
            "alice"
        } else {
            "dave"
        };
        assert_eq!(
            listing["nodes"][0]["createdBy"]["username"], admin,
            "{body}"
        );
        let task = &listing["nodes"][0]["tasks"][0];
        assert!(task["assignee"]["username"].is_string(), "{body}");
    }
    // Entering through the service did not add members: the seeded ones were the callers.
    let alice = &seeded.users[0].1.access_token;
    let (_, body) = app
        .graphql(alice, "{ members { nodes { username } } }", json!({}))
        .await;
    assert_eq!(
        body["data"]["members"]["nodes"].as_array().map(Vec::len),
        Some(3),
        "{body}"
    );
    app.stop().await;
}
