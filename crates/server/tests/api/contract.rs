//! The contract: `schema.graphql` is current, every root field declares a policy, and each
//! field's `@auth` directive says exactly what its guard does.

use std::collections::HashMap;

use async_graphql::{Request, Value as GqlValue};
use async_graphql_parser::{
    Positioned,
    types::{
        BaseType, ConstDirective, FieldDefinition, InputValueDefinition, Type, TypeDefinition,
        TypeKind, TypeSystemDefinition,
    },
};
use cognigraph_server::{
    authz::{Principal, Role},
    graphql,
};

use crate::helpers::{schema_without_limits, temporary_sqlite};

#[test]
fn schema_graphql_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schema.graphql");
    let committed = std::fs::read_to_string(path).expect("schema.graphql at the repository root");
    let current = graphql::sdl();
    if committed != current {
        let line = committed
            .lines()
            .zip(current.lines())
            .position(|(a, b)| a != b)
            .map_or_else(
                || committed.lines().count().min(current.lines().count()) + 1,
                |i| i + 1,
            );
        panic!("schema.graphql differs from the code from line {line} on: run `just schema`");
    }
}

/// One `@auth(...)` rule as the schema states it.
#[derive(Debug, PartialEq)]
struct StatedRule {
    requires: Option<Role>,
    scope: Option<String>,
    tenant: bool,
}

impl StatedRule {
    /// The `@auth` rules the schema states for `field` (repeated directives are alternatives).
    fn of_field(field: &FieldDefinition) -> Vec<Self> {
        field
            .directives
            .iter()
            .filter(|d| d.node.name.node == "auth")
            .map(|d| Self::from_directive(&d.node))
            .collect()
    }

    fn from_directive(directive: &ConstDirective) -> Self {
        let arg = |name: &str| directive.get_argument(name).map(|v| v.node.clone());
        let requires = arg("requires").map(|v| role_named(&v.to_string()));
        let scope = arg("scope").map(|v| match v {
            async_graphql::Value::String(s) => s,
            other => panic!("scope must be a string, not {other}"),
        });
        let tenant = matches!(arg("tenant"), Some(async_graphql::Value::Boolean(true)));
        Self {
            requires,
            scope,
            tenant,
        }
    }

    fn admits(&self, caller: &Caller) -> bool {
        self.requires
            .is_none_or(|r| caller.role.is_some_and(|c| c >= r))
            && self
                .scope
                .as_ref()
                .is_none_or(|s| caller.scopes.contains(&s.as_str()))
            && (!self.tenant || caller.tenant.is_some())
    }
}

fn role_named(name: &str) -> Role {
    match name {
        "VIEWER" => Role::Viewer,
        "EDITOR" => Role::Editor,
        "ADMIN" => Role::Admin,
        other => panic!("unknown role {other}"),
    }
}

/// Every scalar a client can send is checked when the document is validated: the built-in ones
/// and the schema's own `NaiveDate` (`graphql::date`). A scalar that is not (async-graphql's
/// `DateTime`, `JSON`, …) would be refused only when its argument is read for the resolver, as
/// `BAD_USER_INPUT` naming the argument (`input`) rather than its field (`dueDate`). (`Int`'s
/// range is such a late check; `Int` arguments are not input objects, so the name is right.)
#[test]
fn every_input_scalar_is_checked_in_validation() {
    const CHECKED_IN_VALIDATION: [&str; 6] =
        ["String", "Int", "Float", "Boolean", "ID", "NaiveDate"];
    let types = SchemaTypes::parse(&graphql::sdl());
    let mut inputs: Vec<(String, &Type)> = Vec::new();
    for (type_name, definition) in &types.0 {
        match &definition.kind {
            TypeKind::Object(object) => {
                for field in &object.fields {
                    for argument in &field.node.arguments {
                        let at = format!(
                            "{type_name}.{}({})",
                            field.node.name.node, argument.node.name.node
                        );
                        inputs.push((at, &argument.node.ty.node));
                    }
                }
            }
            TypeKind::InputObject(input) => {
                for field in &input.fields {
                    let at = format!("{type_name}.{}", field.node.name.node);
                    inputs.push((at, &field.node.ty.node));
                }
            }
            _ => {}
        }
    }
    let mut unchecked = Vec::new();
    for (at, mut ty) in inputs {
        while let BaseType::List(inner) = &ty.base {
            ty = inner;
        }
        let BaseType::Named(name) = &ty.base else {
            unreachable!("lists unwrapped above")
        };
        let is_scalar = matches!(
            types.0.get(name.as_str()).map(|t| &t.kind),
            Some(TypeKind::Scalar)
        ) || !types.0.contains_key(name.as_str());
        if is_scalar && !CHECKED_IN_VALIDATION.contains(&name.as_str()) {
            unchecked.push(format!("{at}: {name}"));
        }
    }
    assert!(
        unchecked.is_empty(),
        "input scalars not checked in validation: {unchecked:?}"
    );
}

/// What generated arguments are filled with.
struct Fill {
    id: String,
    int: i64,
}

impl Default for Fill {
    fn default() -> Self {
        Self {
            id: "00000000-0000-0000-0000-000000000000".to_owned(),
            int: 1,
        }
    }
}

#[derive(Debug, Clone)]
struct Caller {
    role: Option<Role>,
    scopes: Vec<&'static str>,
    tenant: Option<&'static str>,
}

fn callers(scopes: &[&'static str]) -> Vec<Caller> {
    let mut callers = Vec::new();
    for role in [
        None,
        Some(Role::Viewer),
        Some(Role::Editor),
        Some(Role::Admin),
    ] {
        for tenant in [None, Some("acme")] {
            for scoped in [false, true] {
                callers.push(Caller {
                    role,
                    scopes: if scoped { scopes.to_vec() } else { Vec::new() },
                    tenant,
                });
            }
        }
    }
    callers
}

struct SchemaTypes(HashMap<String, TypeDefinition>);

impl SchemaTypes {
    fn parse(sdl: &str) -> Self {
        let document = async_graphql_parser::parse_schema(sdl).expect("the SDL parses");
        let types = document
            .definitions
            .into_iter()
            .filter_map(|definition| match definition {
                TypeSystemDefinition::Type(ty) => Some((ty.node.name.node.to_string(), ty.node)),
                _ => None,
            })
            .collect();
        Self(types)
    }

    fn fields(&self, type_name: &str) -> Vec<FieldDefinition> {
        match self.0.get(type_name).map(|t| &t.kind) {
            Some(TypeKind::Object(object)) => {
                object.fields.iter().map(|f| f.node.clone()).collect()
            }
            _ => Vec::new(),
        }
    }

    /// A literal that type-checks for `ty` (required input fields only), with `fill`'s id for
    /// every `ID` and its number for every `Int`.
    fn value_with(&self, ty: &Type, fill: &Fill) -> String {
        match &ty.base {
            BaseType::List(_) => "[]".to_owned(),
            BaseType::Named(name) => match name.as_str() {
                "ID" => format!("\"{}\"", fill.id),
                "String" => "\"00000000-0000-0000-0000-000000000000\"".to_owned(),
                "Int" => fill.int.to_string(),
                "Float" => "1.0".to_owned(),
                "Boolean" => "true".to_owned(),
                "DateTime" => "\"2030-01-01T00:00:00Z\"".to_owned(),
                other => match self.0.get(other).map(|t| &t.kind) {
                    Some(TypeKind::Enum(e)) => e.values[0].node.value.node.to_string(),
                    Some(TypeKind::InputObject(input)) => {
                        format!(
                            "{{ {} }}",
                            self.required_with(&input.fields, fill).join(", ")
                        )
                    }
                    _ => "\"x\"".to_owned(),
                },
            },
        }
    }

    /// `name: value` for each non-null argument or input field, and for every `ID` one too.
    fn required_with(
        &self,
        values: &[Positioned<InputValueDefinition>],
        fill: &Fill,
    ) -> Vec<String> {
        values
            .iter()
            .filter(|v| {
                !v.node.ty.node.nullable
                    || matches!(&v.node.ty.node.base, BaseType::Named(n) if n == "ID")
            })
            .map(|v| {
                format!(
                    "{}: {}",
                    v.node.name.node,
                    self.value_with(&v.node.ty.node, fill)
                )
            })
            .collect()
    }

    /// Every field of `type_name` that takes no required argument, objects `depth` levels down.
    fn everything(&self, type_name: &str, depth: usize) -> String {
        let mut selection = Vec::new();
        for field in self.fields(type_name) {
            if field.arguments.iter().any(|a| !a.node.ty.node.nullable) {
                continue;
            }
            let mut base = &field.ty.node.base;
            while let BaseType::List(inner) = base {
                base = &inner.base;
            }
            let BaseType::Named(name) = base else {
                continue;
            };
            match self.0.get(name.as_str()).map(|t| &t.kind) {
                Some(TypeKind::Object(_)) if depth > 0 => selection.push(format!(
                    "{} {{ {} }}",
                    field.name.node,
                    self.everything(name, depth - 1)
                )),
                Some(TypeKind::Object(_)) => {}
                _ => selection.push(field.name.node.to_string()),
            }
        }
        selection.push("__typename".to_owned());
        selection.join(" ")
    }

    /// `field(required args) { __typename }` (no selection for leaf types).
    fn call(&self, field: &FieldDefinition) -> String {
        self.call_with(field, &Fill::default(), 0)
    }

    /// `field(args filled with fill)` selecting everything `depth` levels down (`__typename`
    /// alone at 0; nothing for leaf types).
    fn call_with(&self, field: &FieldDefinition, fill: &Fill, depth: usize) -> String {
        let args = self.required_with(&field.arguments, fill);
        let args = if args.is_empty() {
            String::new()
        } else {
            format!("({})", args.join(", "))
        };
        let mut base = &field.ty.node.base;
        while let BaseType::List(inner) = base {
            base = &inner.base;
        }
        let BaseType::Named(name) = base else {
            unreachable!()
        };
        let selection = match self.0.get(name.as_str()).map(|t| &t.kind) {
            None | Some(TypeKind::Scalar | TypeKind::Enum(_)) => String::new(),
            _ if depth == 0 => " { __typename }".to_owned(),
            _ => format!(" {{ {} }}", self.everything(name, depth)),
        };
        format!("{}{args}{selection}", field.name.node)
    }
}

fn forbidden_or_unauthenticated(response: &async_graphql::Response, field: &str) -> Option<String> {
    response.errors.iter().find_map(|error| {
        let code = error.extensions.as_ref()?.get("code")?;
        let is_field = error.path.first().is_some_and(
            |segment| matches!(segment, async_graphql::PathSegment::Field(name) if name == field),
        );
        match code {
            GqlValue::String(code)
                if is_field && (code == "FORBIDDEN" || code == "UNAUTHENTICATED") =>
            {
                Some(code.clone())
            }
            _ => None,
        }
    })
}

#[tokio::test]
async fn every_root_field_declares_a_policy_and_its_guard_agrees() {
    let sdl = graphql::sdl();
    let types = SchemaTypes::parse(&sdl);
    let schema = schema_without_limits(false);
    let access_policy = access_policy(&schema).await;
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut listed_fields = 0;
    for (root, keyword) in [
        ("Query", "query"),
        ("Mutation", "mutation"),
        ("Subscription", "subscription"),
    ] {
        for field in types.fields(root) {
            let name = field.name.node.to_string();
            let rules = StatedRule::of_field(&field);
            if rules.is_empty() {
                failures.push(format!("{root}.{name} declares no @auth policy"));
                continue;
            }
            let operation = format!("{keyword} {{ {} }}", types.call(&field));

            // Deny by default: without a principal every field is refused.
            let anonymous = schema.execute(Request::new(operation.clone())).await;
            if forbidden_or_unauthenticated(&anonymous, &name).is_none() {
                failures.push(format!(
                    "{root}.{name} answers an anonymous caller: it has no guard ({:?})",
                    anonymous.errors
                ));
            }
            if let Some(problem) = denied_shape(&anonymous, &name, field.ty.node.nullable) {
                failures.push(format!("{root}.{name} denied: {problem}"));
            }
            match access_policy.get(&(root.to_owned(), name.clone())) {
                Some(listed) if *listed == rules => {}
                listed => failures.push(format!(
                    "{root}.{name}: accessPolicy lists {listed:?}, the schema states {rules:?}"
                )),
            }
            listed_fields += 1;

            let scopes: Vec<&'static str> = rules
                .iter()
                .filter_map(|r| r.scope.clone())
                .map(|s| &*Box::leak(s.into_boxed_str()))
                .collect();
            for caller in callers(&scopes) {
                let expected = rules.iter().any(|rule| rule.admits(&caller));
                let principal = Principal::for_tests(caller.role, &caller.scopes, caller.tenant);
                let response = schema
                    .execute(Request::new(operation.clone()).data(principal))
                    .await;
                let denied = forbidden_or_unauthenticated(&response, &name).is_some();
                if denied == expected {
                    failures.push(format!(
                        "{root}.{name}: @auth says {} for {caller:?}, the guard says {}",
                        if expected { "allowed" } else { "denied" },
                        if denied { "denied" } else { "allowed" },
                    ));
                }
                if denied
                    && let Some(problem) = denied_shape(&response, &name, field.ty.node.nullable)
                {
                    failures.push(format!("{root}.{name} denied for {caller:?}: {problem}"));
                }
                checked += 1;
            }
        }
    }
    if listed_fields != access_policy.len() {
        failures.push(format!(
            "accessPolicy lists {} fields, the schema has {listed_fields} root fields",
            access_policy.len()
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 3 * 16, "the walk checked only {checked} cases");
}

/// `Query.accessPolicy` as an admin reads it: (operation type, field) → its rules.
async fn access_policy(schema: &graphql::ApiSchema) -> HashMap<(String, String), Vec<StatedRule>> {
    let query = "{ accessPolicy { operationType field rules { requires scope tenant } } }";
    let principal = Principal::for_tests(Some(Role::Admin), &[], None);
    let response = schema.execute(Request::new(query).data(principal)).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let data = response.data.into_json().expect("JSON");
    data["accessPolicy"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|entry| {
            let rules = entry["rules"]
                .as_array()
                .expect("rules")
                .iter()
                .map(|rule| StatedRule {
                    requires: rule["requires"].as_str().map(role_named),
                    scope: rule["scope"].as_str().map(str::to_owned),
                    tenant: rule["tenant"] == serde_json::json!(true),
                })
                .collect();
            let key = (
                entry["operationType"].as_str().expect("type").to_owned(),
                entry["field"].as_str().expect("field").to_owned(),
            );
            (key, rules)
        })
        .collect()
}

/// What is wrong with the response of a denied field, if anything: a nullable field must be
/// present with `null` (GraphQL spec 6.4.4); a non-null one nulls its parent (here `data`).
fn denied_shape(response: &async_graphql::Response, field: &str, nullable: bool) -> Option<String> {
    let data = serde_json::to_value(&response.data).expect("JSON");
    if nullable {
        match data.get(field) {
            Some(serde_json::Value::Null) => None,
            Some(other) => Some(format!("`{field}` is {other}, not null")),
            None => Some(format!("`{field}` is missing from data {data}")),
        }
    } else {
        (!data.is_null()).then(|| format!("a non-null field failed but data is {data}"))
    }
}

/// How to reach each object type that has guarded fields, as a viewer can: one object, and the
/// items of a list. A type missing here fails the walk below: add its routes when you guard one
/// of its fields. The path leads to the objects holding `FIELD` (`*`: every list item).
const ROUTES: &[(&str, &str, &[&str])] = &[
    (
        "Project",
        "query($task: ID!) { task(id: $task) { project { FIELD } } }",
        &["task", "project"],
    ),
    (
        "Project",
        "{ projects { edges { node { FIELD } } } }",
        &["projects", "edges", "*", "node"],
    ),
    (
        "Member",
        "query($task: ID!) { task(id: $task) { assignee { FIELD } } }",
        &["task", "assignee"],
    ),
    (
        "Member",
        "{ tasks { edges { node { assignee { FIELD } } } } }",
        &["tasks", "edges", "*", "node", "assignee"],
    ),
];

/// The objects at `path` in `data` (`*` steps into every list item).
fn objects_at<'a>(data: &'a serde_json::Value, path: &[&str]) -> Vec<&'a serde_json::Value> {
    match path.split_first() {
        None => vec![data],
        Some((&"*", rest)) => data
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|item| objects_at(item, rest))
            .collect(),
        Some((key, rest)) => data.get(key).map_or_else(Vec::new, |v| objects_at(v, rest)),
    }
}

#[tokio::test]
async fn every_guarded_object_field_behaves_as_its_directive_says() {
    use cognigraph_domain::{
        TenantId,
        members::{self, MemberProfile},
        projects::{self, NewProject},
        tasks::{self, NewTask},
    };
    use cognigraph_server::graphql::context::{LazyTenantContext, TenantContext};

    let (_folder, db) = temporary_sqlite("walk.db").await;
    let tenant = TenantId::parse("acme").unwrap();
    let enter = |role: Role, sub: &'static str| {
        let (db, tenant) = (db.clone(), tenant.clone());
        async move {
            let profile = MemberProfile {
                username: sub.to_owned(),
                email: Some(format!("{sub}@example.com")),
                token_issued_at: None,
            };
            members::enter(&db, tenant, role, sub, profile)
                .await
                .unwrap()
        }
    };
    let owner = enter(Role::Admin, "owner").await;
    let project = projects::create(
        &owner,
        &db,
        NewProject {
            name: "Walk".to_owned(),
            description: None,
            budget: Some(10),
        },
    )
    .await
    .unwrap();
    let task = tasks::create(
        &owner,
        &db,
        NewTask {
            project_id: project.id,
            title: "t".to_owned(),
            description: None,
            due_date: None,
            assignee_id: Some(owner.actor_id()),
        },
    )
    .await
    .unwrap();
    let variables = async_graphql::Variables::from_json(serde_json::json!({
        "task": task.id.to_string(),
    }));

    let sdl = graphql::sdl();
    let types = SchemaTypes::parse(&sdl);
    let schema = schema_without_limits(false);
    let mut failures = Vec::new();
    let mut checked = 0;
    for type_name in types.0.keys() {
        if ["Query", "Mutation", "Subscription"].contains(&type_name.as_str()) {
            continue;
        }
        for field in types.fields(type_name) {
            let rules = StatedRule::of_field(&field);
            if rules.is_empty() {
                continue;
            }
            let name = field.name.node.to_string();
            let routes: Vec<_> = ROUTES.iter().filter(|(t, _, _)| t == type_name).collect();
            if routes.len() < 2 {
                failures.push(format!(
                    "{type_name}.{name} is guarded but ROUTES has no object and list route to {type_name}"
                ));
                continue;
            }
            for (_, route, path) in routes {
                let query = route.replace("FIELD", &name);
                for (role, sub) in [
                    (Role::Viewer, "viewer"),
                    (Role::Editor, "editor"),
                    (Role::Admin, "admin"),
                ] {
                    let caller = Caller {
                        role: Some(role),
                        scopes: Vec::new(),
                        tenant: Some("acme"),
                    };
                    let expected = rules.iter().any(|rule| rule.admits(&caller));
                    let scope = enter(role, sub).await;
                    let request = Request::new(query.clone())
                        .variables(variables.clone())
                        .data(Principal::for_tests(Some(role), &[], Some("acme")))
                        .data(LazyTenantContext::ready(TenantContext::new(
                            scope,
                            db.clone(),
                        )));
                    let response = schema.execute(request).await;
                    let denied = response.errors.iter().any(|e| {
                        e.path.last().is_some_and(|segment| {
                        matches!(segment, async_graphql::PathSegment::Field(f) if *f == name)
                    }) && e
                        .extensions
                        .as_ref()
                        .and_then(|x| x.get("code"))
                        .is_some_and(|c| *c == GqlValue::from("FORBIDDEN"))
                    });
                    let other_errors = response.errors.len() - usize::from(denied);
                    if other_errors > 0 {
                        failures.push(format!(
                            "{type_name}.{name} as {role:?}: {:?}",
                            response.errors
                        ));
                    }
                    if denied == expected {
                        failures.push(format!(
                            "{type_name}.{name}: @auth says {} for {role:?}, the guard says {}",
                            if expected { "allowed" } else { "denied" },
                            if denied { "denied" } else { "allowed" },
                        ));
                    }
                    // Every object on the route has the key; a denied (nullable) field is null.
                    let data = serde_json::to_value(&response.data).expect("JSON");
                    let holders = objects_at(&data, path);
                    if holders.is_empty() {
                        failures.push(format!(
                            "{query} as {role:?} reached no {type_name}: {data}"
                        ));
                    }
                    for holder in holders {
                        match holder.get(&name) {
                            None => failures.push(format!(
                                "{type_name}.{name} as {role:?}: key missing in {holder} ({query})"
                            )),
                            Some(value) if denied && !value.is_null() => failures.push(format!(
                                "{type_name}.{name} as {role:?}: denied but {value}"
                            )),
                            Some(_) => {}
                        }
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        checked >= 12,
        "only {checked} guarded object fields were exercised"
    );
}

/// Tenant isolation, generated from the schema: every root field, called by another tenant's
/// admin with each of the victim's real ids (and versions) in every `ID` argument and input
/// field, selecting everything its type offers, shows nothing of the victim's and changes
/// nothing. A new field is covered without anyone listing it.
#[tokio::test]
async fn no_root_field_reaches_another_tenants_rows() {
    use cognigraph_domain::{
        TenantId,
        members::{self, MemberProfile},
        projects::{self, NewProject},
        tasks::{self, NewTask},
    };
    use cognigraph_server::graphql::context::{LazyTenantContext, TenantContext};

    const MARK: &str = "VICTIM-ROW";
    let (_folder, db) = temporary_sqlite("sweep.db").await;
    let enter = |tenant: &str, sub: &str, mark: &str| {
        let (db, tenant, sub) = (db.clone(), TenantId::parse(tenant).unwrap(), sub.to_owned());
        let mark = mark.to_owned();
        async move {
            let profile = MemberProfile {
                username: format!("{sub}{mark}"),
                email: Some(format!("{sub}@example{mark}.com")),
                token_issued_at: None,
            };
            members::enter(&db, tenant, Role::Admin, &sub, profile)
                .await
                .unwrap()
        }
    };
    let victim = enter("acme", "victim", MARK).await;
    let intruder = enter("globex", "intruder", "").await;
    let project = projects::create(
        &victim,
        &db,
        NewProject {
            name: format!("{MARK} project"),
            description: Some(MARK.to_owned()),
            budget: Some(7),
        },
    )
    .await
    .unwrap();
    let task = tasks::create(
        &victim,
        &db,
        NewTask {
            project_id: project.id,
            title: format!("{MARK} task"),
            description: Some(MARK.to_owned()),
            due_date: None,
            assignee_id: Some(victim.actor_id()),
        },
    )
    .await
    .unwrap();
    let ids = [
        project.id.to_string(),
        task.id.to_string(),
        victim.actor_id().to_string(),
    ];

    let sdl = graphql::sdl();
    let types = SchemaTypes::parse(&sdl);
    let schema = schema_without_limits(false);
    let run = |scope: cognigraph_domain::Scope, tenant: &'static str, operation: String| {
        let (schema, db) = (schema.clone(), db.clone());
        async move {
            let request = Request::new(operation)
                .data(Principal::for_tests(Some(Role::Admin), &[], Some(tenant)))
                .data(LazyTenantContext::ready(TenantContext::new(scope, db)));
            serde_json::to_string(&schema.execute(request).await).unwrap()
        }
    };
    let victims_view = || {
        run(
            victim.clone(),
            "acme",
            format!(
                "{{ projects {{ {} }} tasks {{ {} }} members {{ {} }} auditEvents {{ totalCount }} }}",
                types.everything("ProjectConnection", 3),
                types.everything("TaskConnection", 3),
                types.everything("MemberConnection", 3),
            ),
        )
    };
    let before = victims_view().await;
    assert!(
        before.contains(MARK),
        "the victim sees their rows: {before}"
    );

    let mut failures = Vec::new();
    let mut calls = 0;
    for (root, keyword) in [("Query", "query"), ("Mutation", "mutation")] {
        for field in types.fields(root) {
            for id in &ids {
                for version in [1, 2] {
                    let fill = Fill {
                        id: id.clone(),
                        int: version,
                    };
                    let operation =
                        format!("{keyword} {{ {} }}", types.call_with(&field, &fill, 3));
                    let answer = run(intruder.clone(), "globex", operation.clone()).await;
                    calls += 1;
                    if answer.contains(MARK) || ids.iter().any(|id| answer.contains(id.as_str())) {
                        failures.push(format!("{operation}\n  leaks: {answer}"));
                    }
                }
            }
        }
    }
    let after = victims_view().await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Compared as JSON values: fields resolve concurrently, so key order varies.
    let as_json = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap();
    assert_eq!(
        as_json(&before),
        as_json(&after),
        "another tenant changed the victim's rows"
    );
    assert!(calls >= 18 * 6, "only {calls} calls");
}
