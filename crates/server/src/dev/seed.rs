//! Seeding a user pool for development (the emulator, or a real sandbox pool): groups, users in
//! two tenants, their tokens, and projects and tasks. Re-running it is safe: the pool, app
//! client, groups and users are found or created.

use cognigraph_cognito::{
    ClientSettings, CognitoClient, CognitoError, Delivery, NewUser, Tokens, UserPool, UserPoolId,
};

use crate::config::{DEFAULT_ADMIN_GROUP, DEFAULT_EDITOR_GROUP, DEFAULT_VIEWER_GROUP};

/// Where `cognigraph dev seed` makes its pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeedTarget {
    /// The emulator (moto) at this URL: its own endpoint, keys URL and test credentials.
    Emulator(String),
    /// A real sandbox pool in this region, through the standard AWS configuration: credentials
    /// from the standard chain, the endpoint from `AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER`
    /// or `AWS_ENDPOINT_URL` when set (else the region's public one).
    Sandbox {
        /// The AWS region, e.g. `eu-west-1`.
        region: String,
    },
}

impl SeedTarget {
    /// How the seeding client reaches the target.
    pub fn client_settings(&self) -> ClientSettings {
        match self {
            Self::Emulator(url) => ClientSettings::emulator(url.trim_end_matches('/')),
            Self::Sandbox { region } => ClientSettings::new(region),
        }
    }

    /// Where the target is, for messages.
    pub fn describe(&self) -> String {
        match self {
            Self::Emulator(url) => {
                format!("the emulator at {url} (is it running? `just emulator`)")
            }
            Self::Sandbox { region } => format!(
                "Cognito in {region} (AWS credentials from the standard chain;                  AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER if set)"
            ),
        }
    }
}

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
        group: DEFAULT_ADMIN_GROUP,
        tenant: "acme",
    },
    DevUser {
        username: "bob",
        group: DEFAULT_EDITOR_GROUP,
        tenant: "acme",
    },
    DevUser {
        username: "carol",
        group: DEFAULT_VIEWER_GROUP,
        tenant: "acme",
    },
    DevUser {
        username: "dave",
        group: DEFAULT_ADMIN_GROUP,
        tenant: "globex",
    },
    DevUser {
        username: "erin",
        group: DEFAULT_VIEWER_GROUP,
        tenant: "globex",
    },
];

/// Every development user's password (the emulator accepts anything; real pools need policy).
pub const DEV_PASSWORD: &str = "Cognigraph-dev-1";

/// The groups that grant cognigraph's roles (the defaults of `ROLE_GROUP_*`).
pub const ROLE_GROUPS: [&str; 3] = [
    DEFAULT_ADMIN_GROUP,
    DEFAULT_EDITOR_GROUP,
    DEFAULT_VIEWER_GROUP,
];

/// A seeded pool.
#[derive(Debug, Clone)]
pub struct SeededPool {
    /// The pool id.
    pub pool_id: UserPoolId,
    /// The app client id.
    pub client_id: String,
    /// Each user with their fresh tokens.
    pub users: Vec<(DevUser, Tokens)>,
}

/// What `cognigraph dev seed` is asked for.
#[derive(Debug, Clone)]
pub struct SeedRequest {
    /// The emulator, or a sandbox pool.
    pub target: SeedTarget,
    /// The pool's name (found or created).
    pub pool_name: String,
    /// Where the service's settings are written; the SQLite database goes beside it.
    pub env_file: std::path::PathBuf,
    /// Where the users' tokens are written (JSON).
    pub tokens_file: std::path::PathBuf,
    /// The address the service will listen on, for the summary's examples.
    pub listen_addr: String,
}

/// Why `cognigraph dev seed` stopped.
#[derive(Debug, thiserror::Error)]
pub enum SeedRunError {
    /// The pool, its groups or users could not be made.
    #[error("seeding {target}")]
    Pool {
        /// [`SeedTarget::describe`].
        target: String,
        /// Cognito's error.
        #[source]
        source: CognitoError,
    },
    /// A file could not be written.
    #[error("cannot write {path}")]
    Write {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The projects and tasks could not be seeded.
    #[error("seeding projects and tasks into {database_url}")]
    Data {
        /// The SQLite database's URL.
        database_url: String,
        /// Why.
        #[source]
        source: SeedDataError,
    },
}

/// `cognigraph dev seed`: the pool with [`DEV_USERS`], the settings file (with a SQLite
/// database beside it), the tokens file, and the data; returns the summary to print.
pub async fn run(request: &SeedRequest) -> Result<String, SeedRunError> {
    let api = CognitoClient::new(&request.target.client_settings()).await;
    let seeded = seed(&api, &request.pool_name, DEV_USERS)
        .await
        .map_err(|source| SeedRunError::Pool {
            target: request.target.describe(),
            source,
        })?;
    let folder = request
        .env_file
        .parent()
        .unwrap_or_else(|| std::path::Path::new("."));
    let write = |path: &std::path::Path, text: &str| {
        std::fs::create_dir_all(folder)
            .and_then(|()| std::fs::write(path, text))
            .map_err(|source| SeedRunError::Write {
                path: path.to_owned(),
                source,
            })
    };
    let database_url = format!(
        "sqlite://{}?mode=rwc",
        folder.join("cognigraph.db").display()
    );
    write(
        &request.env_file,
        &env_file(&seeded, &request.target, &database_url),
    )?;
    write(&request.tokens_file, &format!("{:#}", tokens_json(&seeded)))?;
    let pool = api.user_pool(seeded.pool_id.clone());
    let data = seed_data(&pool, &seeded, &database_url)
        .await
        .map_err(|source| SeedRunError::Data {
            database_url: database_url.clone(),
            source,
        })?;
    let mut out = summary(
        &seeded,
        &request.listen_addr,
        &request.tokens_file.display().to_string(),
    );
    out.push_str(&data_summary(&data));
    Ok(out)
}

/// Finds or creates the pool `pool_name` with an app client, the role groups and `users`, and
/// signs each user in.
pub async fn seed(
    api: &CognitoClient,
    pool_name: &str,
    users: &[DevUser],
) -> Result<SeededPool, CognitoError> {
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
    let pool = api.user_pool(pool_id.clone());
    let mut seeded = Vec::with_capacity(users.len());
    for user in users {
        let email = format!("{}@{}.example.com", user.username, user.tenant);
        let attributes = NewUser::new(user.username)
            .tenant(user.tenant)
            .email(email)
            .delivery(Delivery::Suppress);
        match pool.admin_create_user(&attributes).await {
            Ok(_) => {}
            // Seeded before: the same attributes again.
            Err(CognitoError::UsernameExists) => {
                pool.admin_update_user_attributes(user.username, attributes.attributes())
                    .await?;
            }
            Err(error) => return Err(error),
        }
        pool.admin_set_user_password(user.username, DEV_PASSWORD, true)
            .await?;
        pool.admin_add_user_to_group(user.username, user.group)
            .await?;
        let tokens = api
            .sign_in(&client_id, user.username, DEV_PASSWORD)
            .await?
            .into_tokens()?;
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
/// with the first user's Authorization header (development only). Tenant user management is on;
/// on the emulator its admin calls sign with the credentials moto accepts, on a sandbox pool with
/// the standard chain's (nothing is written for them).
pub fn env_file(seeded: &SeededPool, target: &SeedTarget, database_url: &str) -> String {
    let first_token = seeded
        .users
        .first()
        .map(|(_, tokens)| tokens.access_token.as_str())
        .unwrap_or_default();
    let headers = serde_json::json!({ "Authorization": format!("Bearer {first_token}") });
    let mut lines = vec![
        ("COGNITO_REGION", seeded.pool_id.region().to_owned()),
        ("COGNITO_USER_POOL_ID", seeded.pool_id.to_string()),
        ("COGNITO_CLIENT_ID", seeded.client_id.clone()),
    ];
    if let SeedTarget::Emulator(emulator) = target {
        lines.extend([
            (
                "COGNITO_JWKS_URL",
                emulated_jwks_url(emulator, seeded.pool_id.as_str()),
            ),
            (
                "COGNITO_ENDPOINT",
                format!("{}/", emulator.trim_end_matches('/')),
            ),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ]);
    }
    lines.extend([
        ("TENANT_SOURCE", "auto".to_owned()),
        ("USER_MANAGEMENT", "true".to_owned()),
        ("DATABASE_URL", database_url.to_owned()),
        ("MIGRATE_ON_START", "true".to_owned()),
        // A front end in development (`npm run dev` and the like) on its usual port.
        ("CORS_ORIGINS", "http://localhost:3000".to_owned()),
        ("GRAPHIQL_DEFAULT_HEADERS", headers.to_string()),
    ]);
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
    serde_json::json!({ "poolId": seeded.pool_id.as_str(), "clientId": seeded.client_id, "users": users })
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

/// A project `just dev` seeds, with its tasks' titles.
#[derive(Debug, Clone, Copy)]
pub struct DevProject {
    /// The name.
    pub name: &'static str,
    /// The description.
    pub description: &'static str,
    /// The budget (visible to admins).
    pub budget: Option<i64>,
    /// The titles of its tasks.
    pub tasks: &'static [&'static str],
}

/// The projects `just dev` seeds in each tenant of [`DEV_USERS`].
pub const DEV_PROJECTS: &[(&str, &[DevProject])] = &[
    (
        "acme",
        &[
            DevProject {
                name: "Website relaunch",
                description: "The new acme.example.com, live before the spring fair.",
                budget: Some(48_000),
                tasks: &[
                    "Draft the sitemap",
                    "Pick a colour palette",
                    "Set up analytics",
                ],
            },
            DevProject {
                name: "Customer onboarding",
                description: "The first week of a new customer, step by step.",
                budget: Some(12_500),
                tasks: &["Write the welcome email", "Record a product tour"],
            },
            DevProject {
                name: "Office move",
                description: "From the third floor to the fifth.",
                budget: None,
                tasks: &["Book the movers"],
            },
        ],
    ),
    (
        "globex",
        &[
            DevProject {
                name: "Annual report",
                description: "Figures, letter to shareholders, cover.",
                budget: Some(30_000),
                tasks: &["Collect the figures", "Design the cover"],
            },
            DevProject {
                name: "Hiring: backend engineer",
                description: "One more pair of hands for the API team.",
                budget: None,
                tasks: &["Write the job ad", "Schedule interviews"],
            },
        ],
    ),
];

/// Why the development data could not be seeded.
#[derive(Debug, thiserror::Error)]
pub enum SeedDataError {
    /// The emulator did not tell a user's `sub`.
    #[error(transparent)]
    Cognito(#[from] CognitoError),
    /// The database refused (or could not be opened or migrated).
    #[error("the database refused, or cannot be opened or migrated")]
    Database(#[from] cognigraph_domain::DomainError),
    /// A tenant of [`DEV_PROJECTS`] is not a valid tenant id.
    #[error("tenant {tenant:?}: {source}")]
    Tenant {
        /// The tenant.
        tenant: &'static str,
        /// Why it is invalid.
        source: cognigraph_domain::InvalidTenantId,
    },
    /// A tenant of [`DEV_PROJECTS`] has no seeded admin to create its projects.
    #[error("tenant {0} has no admin among the seeded users")]
    NoAdmin(&'static str),
    /// A user's group is none of [`ROLE_GROUPS`].
    #[error("group {0} grants no role")]
    UnknownGroup(&'static str),
}

/// What seeding did in one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantData {
    /// The tenant had no project: these were created.
    Created {
        /// Projects created.
        projects: usize,
        /// Tasks created.
        tasks: usize,
    },
    /// The tenant already had projects (an earlier run, or the user's own): nothing was added.
    Kept {
        /// Projects it has.
        projects: u64,
    },
}

/// Seeds [`DEV_PROJECTS`] into the database at `database_url` (migrated first): in each tenant
/// with no project yet, its seeded users become members (with the `sub` `pool` gives them
/// (AdminGetUser), so they are the same members when they call the service), its admin creates the
/// projects and its editor (or admin) the tasks, assigned in turn to the tenant's members.
/// Tenants that have a project are left alone, so re-running it adds nothing.
pub async fn seed_data(
    pool: &dyn UserPool,
    seeded: &SeededPool,
    database_url: &str,
) -> Result<Vec<(&'static str, TenantData)>, SeedDataError> {
    use cognigraph_domain::{
        Db, PageRequest, Role, TenantId,
        members::{self, MemberProfile},
        projects::{self, NewProject, ProjectFilter},
        tasks::{self, NewTask},
    };

    let db = Db::connect(database_url).await?;
    db.migrate().await?;
    let mut done = Vec::with_capacity(DEV_PROJECTS.len());
    for (tenant_name, dev_projects) in DEV_PROJECTS {
        let tenant = TenantId::parse(tenant_name).map_err(|source| SeedDataError::Tenant {
            tenant: tenant_name,
            source,
        })?;
        let mut scopes = Vec::new();
        for (user, _) in seeded
            .users
            .iter()
            .filter(|(u, _)| u.tenant == *tenant_name)
        {
            let role = match user.group {
                DEFAULT_ADMIN_GROUP => Role::Admin,
                DEFAULT_EDITOR_GROUP => Role::Editor,
                DEFAULT_VIEWER_GROUP => Role::Viewer,
                other => return Err(SeedDataError::UnknownGroup(other)),
            };
            let user_in_pool = pool.admin_get_user(user.username).await?;
            let sub = user_in_pool.sub();
            let profile = MemberProfile {
                username: user.username.to_owned(),
                email: Some(format!("{}@{}.example.com", user.username, user.tenant)),
                token_issued_at: None,
            };
            let scope = members::enter(&db, tenant.clone(), role, sub, profile).await?;
            scopes.push(scope);
        }
        let admin = scopes
            .iter()
            .find(|s| s.role() == Role::Admin)
            .ok_or(SeedDataError::NoAdmin(tenant_name))?;
        let editor = scopes
            .iter()
            .find(|s| s.role() == Role::Editor)
            .unwrap_or(admin);

        let existing =
            projects::list(admin, &db, ProjectFilter::default(), PageRequest::first(1)).await?;
        if existing.total_count > 0 {
            done.push((
                *tenant_name,
                TenantData::Kept {
                    projects: existing.total_count,
                },
            ));
            continue;
        }
        let mut task_count = 0;
        for dev_project in *dev_projects {
            let project = projects::create(
                admin,
                &db,
                NewProject {
                    name: dev_project.name.to_owned(),
                    description: Some(dev_project.description.to_owned()),
                    budget: dev_project.budget,
                },
            )
            .await?;
            for title in dev_project.tasks {
                let assignee = &scopes[task_count % scopes.len()];
                tasks::create(
                    editor,
                    &db,
                    NewTask {
                        project_id: project.id,
                        title: (*title).to_owned(),
                        description: None,
                        due_date: None,
                        assignee_id: Some(assignee.actor_id()),
                    },
                )
                .await?;
                task_count += 1;
            }
        }
        done.push((
            *tenant_name,
            TenantData::Created {
                projects: dev_projects.len(),
                tasks: task_count,
            },
        ));
    }
    db.close().await?;
    Ok(done)
}

/// The lines `just dev` prints about the seeded data.
pub fn data_summary(data: &[(&str, TenantData)]) -> String {
    let mut out = String::from("\nData (in the service's database):\n");
    for (tenant, outcome) in data {
        out.push_str(&match outcome {
            TenantData::Created { projects, tasks } => {
                format!("  {tenant:<8} seeded {projects} projects and {tasks} tasks\n")
            }
            TenantData::Kept { projects } => {
                format!("  {tenant:<8} has {projects} projects already; nothing added\n")
            }
        });
    }
    out
}
