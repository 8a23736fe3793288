//! The policy of every root field, in one table. A field's guard and its `@auth` directive both
//! name the constant here.

use crate::authz::{Policy, Role, Rule};

const ANY_CALLER: Rule = Rule::AUTHENTICATED;
const VIEWER: Rule = Rule::role(Role::Viewer);
const ADMIN: Rule = Rule::role(Role::Admin);

/// `Query.me`: any authenticated caller.
pub const ME: Policy = Policy::one(&ANY_CALLER);
/// `Query.accessPolicy`: viewers and up.
pub const ACCESS_POLICY: Policy = Policy::one(&VIEWER);
/// `Mutation.refreshSigningKeys`: admins.
pub const REFRESH_SIGNING_KEYS: Policy = Policy::one(&ADMIN);

/// Every root field and its policy (for `Query.accessPolicy` and the schema walk).
pub const ROOT_FIELDS: &[(&str, &str, Policy)] = &[
    ("Query", "me", ME),
    ("Query", "accessPolicy", ACCESS_POLICY),
    ("Mutation", "refreshSigningKeys", REFRESH_SIGNING_KEYS),
];
