//! `Query.accessPolicy`: the authorization table, for front ends that hide what users cannot do.

use async_graphql::{
    Context, InputType as _, Object, SimpleObject, Value, parser::types::ConstDirective,
};
use cognigraph_authz_macros::authorized;

use super::policies;
use crate::authz::GraphqlRole;

/// Who may use one root field: allowed when any of its rules holds.
#[derive(SimpleObject, Debug, Clone)]
pub struct FieldPolicy {
    /// `Query` or `Mutation`.
    pub operation_type: String,
    /// The root field.
    pub field: String,
    /// The alternatives.
    pub rules: Vec<AccessRule>,
}

/// One way to be allowed: every condition given must hold.
#[derive(SimpleObject, Debug, Clone)]
pub struct AccessRule {
    /// The minimum role, if any.
    pub requires: Option<GraphqlRole>,
    /// The OAuth scope required, if any.
    pub scope: Option<String>,
    /// Whether the caller must belong to a tenant.
    pub tenant: bool,
}

/// Every root field's policy, read from the schema's `@auth` directives (which the fields'
/// `#[auth]` declarations produce): nothing here is typed twice.
#[derive(Debug, Clone, Default)]
pub(super) struct AccessTable(Vec<FieldPolicy>);

impl AccessTable {
    /// The table of the schema whose SDL is `sdl`.
    pub(super) fn from_sdl(sdl: &str) -> Self {
        let mut table = Vec::new();
        for (name, object) in super::sdl_object_types(sdl, "accessPolicy is empty") {
            if name != "Query" && name != "Mutation" {
                continue;
            }
            for field in &object.fields {
                table.push(FieldPolicy {
                    operation_type: name.clone(),
                    field: field.node.name.node.to_string(),
                    rules: field
                        .node
                        .directives
                        .iter()
                        .filter(|directive| directive.node.name.node == "auth")
                        .map(|directive| AccessRule::from_directive(&directive.node))
                        .collect(),
                });
            }
        }
        // Queries first, as GraphiQL lists them (the SDL orders types by name).
        table.sort_by_key(|policy| policy.operation_type != "Query");
        Self(table)
    }
}

impl AccessRule {
    fn from_directive(directive: &ConstDirective) -> Self {
        let argument = |name: &str| directive.get_argument(name).map(|v| v.node.clone());
        Self {
            requires: argument("requires").and_then(|v| GraphqlRole::parse(Some(v)).ok()),
            scope: argument("scope").and_then(|v| match v {
                Value::String(scope) => Some(scope),
                _ => None,
            }),
            tenant: argument("tenant") == Some(Value::Boolean(true)),
        }
    }
}

#[derive(Default, Debug)]
pub(super) struct AccessQuery;

#[authorized]
#[Object]
impl AccessQuery {
    /// The policy of every root field, as its `@auth` directives state it.
    #[auth(policies::ACCESS_POLICY)]
    async fn access_policy(&self, ctx: &Context<'_>) -> Option<Vec<FieldPolicy>> {
        // Nullable as every guarded root field: a denial nulls this field only.
        ctx.data_opt::<AccessTable>().map(|table| table.0.clone())
    }
}
