//! Seeding an emulator user pool for development: groups, users in two tenants, their tokens.
//! Re-running it is safe: the pool, app client, groups and users are found or created.

use super::cognito::{CognitoApi, CognitoApiError, Tokens};

/// A development user.
#[derive(Debug, Clone, Copy)]
pub struct DevUser {
    /// Username (also the password's prefix).
    pub username: &'static str,
    /// The group (and so the role) of the user.
    pub group: &'static str,
    /// `custom:tenant`.
    pub tenant: &'static str,
}

/// The users `just dev` seeds: three in `acme`, two in `globex`.
pub const DEV_USERS: &[DevUser] = &[
    DevUser {
        username: "alice",
        group: "admin",
        tenant: "acme",
    },
    DevUser {
        username: "bob",
        group: "editor",
        tenant: "acme",
    },
    DevUser {
        username: "carol",
        group: "viewer",
        tenant: "acme",
    },
    DevUser {
        username: "dave",
        group: "admin",
        tenant: "globex",
    },
    DevUser {
        username: "erin",
        group: "viewer",
        tenant: "globex",
    },
];

/// Every development user's password (the emulator accepts anything; real pools need policy).
pub const DEV_PASSWORD: &str = "Cognigraph-dev-1";

/// The groups that grant cognigraph's roles (the defaults of `ROLE_GROUP_*`).
pub const ROLE_GROUPS: [&str; 3] = ["admin", "editor", "viewer"];

/// A seeded pool.
#[derive(Debug, Clone)]
pub struct SeededPool {
    /// The pool id.
    pub pool_id: String,
    /// The app client id.
    pub client_id: String,
    /// Each user with their fresh tokens.
    pub users: Vec<(DevUser, Tokens)>,
}

/// Finds or creates the pool `pool_name` with an app client, the role groups and `users`, and
/// signs each user in.
pub async fn seed(
    api: &CognitoApi,
    pool_name: &str,
    users: &[DevUser],
) -> Result<SeededPool, CognitoApiError> {
    let pool_id = match api.find_user_pool(pool_name).await? {
        Some(id) => id,
        None => api.create_user_pool(pool_name).await?,
    };
    let client_name = format!("{pool_name}-app");
    let client_id = match api.find_user_pool_client(&pool_id, &client_name).await? {
        Some(id) => id,
        None => api.create_user_pool_client(&pool_id, &client_name).await?,
    };
    for group in ROLE_GROUPS {
        api.create_group(&pool_id, group).await?;
    }
    let mut seeded = Vec::with_capacity(users.len());
    for user in users {
        let email = format!("{}@{}.example.com", user.username, user.tenant);
        api.create_user(
            &pool_id,
            user.username,
            DEV_PASSWORD,
            &[("custom:tenant", user.tenant), ("email", &email)],
        )
        .await?;
        api.add_user_to_group(&pool_id, user.username, user.group)
            .await?;
        let tokens = api.sign_in(&client_id, user.username, DEV_PASSWORD).await?;
        seeded.push((*user, tokens));
    }
    Ok(SeededPool {
        pool_id,
        client_id,
        users: seeded,
    })
}

/// The issuer of an emulated pool's tokens (moto issues the real Cognito form).
pub fn emulated_issuer(pool_id: &str) -> String {
    let region = pool_id.split('_').next().unwrap_or("us-east-1");
    format!("https://cognito-idp.{region}.amazonaws.com/{pool_id}")
}

/// The JWKS URL of an emulated pool.
pub fn emulated_jwks_url(emulator: &str, pool_id: &str) -> String {
    format!(
        "{}/{pool_id}/.well-known/jwks.json",
        emulator.trim_end_matches('/')
    )
}

/// The service's settings for the seeded pool, as sourceable `KEY='value'` lines. GraphiQL opens
/// with the first user's Authorization header (development only).
pub fn env_file(seeded: &SeededPool, emulator: &str, database_url: &str) -> String {
    let first_token = seeded
        .users
        .first()
        .map(|(_, tokens)| tokens.access_token.as_str())
        .unwrap_or_default();
    let headers = serde_json::json!({ "Authorization": format!("Bearer {first_token}") });
    let lines = [
        ("COGNITO_REGION", "us-east-1".to_owned()),
        ("COGNITO_USER_POOL_ID", seeded.pool_id.clone()),
        ("COGNITO_CLIENT_ID", seeded.client_id.clone()),
        (
            "COGNITO_JWKS_URL",
            emulated_jwks_url(emulator, &seeded.pool_id),
        ),
        (
            "COGNITO_ENDPOINT",
            format!("{}/", emulator.trim_end_matches('/')),
        ),
        ("TENANT_SOURCE", "auto".to_owned()),
        ("DATABASE_URL", database_url.to_owned()),
        ("MIGRATE_ON_START", "true".to_owned()),
        // A front end in development (`npm run dev` and the like) on its usual port.
        ("CORS_ORIGINS", "http://localhost:3000".to_owned()),
        ("GRAPHIQL_DEFAULT_HEADERS", headers.to_string()),
    ];
    let mut out =
        String::from("# Written by `cognigraph dev seed` (just dev). Development only.\n");
    for (key, value) in lines {
        // Single-quoted for the shell; none of these values contains a single quote.
        out.push_str(&format!("{key}='{}'\n", value.replace('\'', "")));
    }
    out
}

/// The users and their access tokens, as JSON.
pub fn tokens_json(seeded: &SeededPool) -> serde_json::Value {
    let users: Vec<serde_json::Value> = seeded
        .users
        .iter()
        .map(|(user, tokens)| {
            serde_json::json!({
                "username": user.username,
                "group": user.group,
                "tenant": user.tenant,
                "accessToken": tokens.access_token,
            })
        })
        .collect();
    serde_json::json!({ "poolId": seeded.pool_id, "clientId": seeded.client_id, "users": users })
}

/// What `just dev` prints: the users, their roles and tenants, and commands to paste.
pub fn summary(seeded: &SeededPool, listen_addr: &str, tokens_file: &str) -> String {
    let mut out = format!(
        "Seeded user pool {} (app client {}); password of every user: {DEV_PASSWORD}\n\n",
        seeded.pool_id, seeded.client_id
    );
    out.push_str(&format!("{:<8} {:<8} {:<8}\n", "user", "role", "tenant"));
    for (user, _) in &seeded.users {
        out.push_str(&format!(
            "{:<8} {:<8} {:<8}\n",
            user.username,
            user.group.to_uppercase(),
            user.tenant
        ));
    }
    out.push_str(&format!(
        "\nAccess tokens (valid one hour; re-run `just dev` for new ones): {tokens_file}\n\nTry:\n"
    ));
    for (user, _) in seeded.users.iter().take(2) {
        out.push_str(&format!(
            "  TOKEN=$(python3 -c \"import json; print(next(u['accessToken'] for u in json.load(open('{tokens_file}'))['users'] if u['username'] == '{name}'))\")\n  \
             curl -s http://{listen_addr}/graphql -H \"Authorization: Bearer $TOKEN\" \
             -H 'Content-Type: application/json' \
             -d '{{\"query\":\"{{ me {{ username roles tenant }} projects {{ totalCount }} }}\"}}'\n",
            name = user.username
        ));
    }
    out.push_str(&format!(
        "\nGraphiQL: http://{listen_addr}/ (opens with {}'s Authorization header)\n",
        seeded.users.first().map_or("", |(u, _)| u.username)
    ));
    out
}
