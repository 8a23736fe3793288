//! The values cognigraph sends to and reads from Cognito, parsed at the boundary.

use std::fmt;

/// The attribute holding a user's tenant.
pub const TENANT_ATTRIBUTE: &str = "custom:tenant";
/// The attribute holding a user's email address.
pub const EMAIL_ATTRIBUTE: &str = "email";
/// The attribute holding a user's immutable id (the `sub` claim of their tokens).
pub const SUB_ATTRIBUTE: &str = "sub";

/// A user pool id, `<region>_<alphanumerics>` (e.g. `eu-west-1_AbC123`).
///
/// The length is not checked: real pool ids have up to 55 characters, the emulator's (moto with
/// the `HASH` id strategy) 63.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserPoolId(String);

/// A string that is not a user pool id.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0:?} is not a user pool id (<region>_<alphanumerics>)")]
pub struct InvalidUserPoolId(String);

impl UserPoolId {
    /// Parses `<region>_<alphanumerics>`, where the region is lower-case letters, digits and
    /// dashes.
    pub fn parse(raw: &str) -> Result<Self, InvalidUserPoolId> {
        let valid = raw.split_once('_').is_some_and(|(region, id)| {
            !region.is_empty()
                && region
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !id.is_empty()
                && id.chars().all(|c| c.is_ascii_alphanumeric())
        });
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidUserPoolId(raw.to_owned()))
        }
    }

    /// The region part, e.g. `eu-west-1`.
    pub fn region(&self) -> &str {
        self.0.split_once('_').map_or("", |(region, _)| region)
    }

    /// The id as Cognito writes it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserPoolId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user attribute, e.g. `custom:tenant` = `acme`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The name, e.g. `email` or `custom:tenant`.
    pub name: String,
    /// The value.
    pub value: String,
}

impl Attribute {
    /// `name` = `value`.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// Where a user stands in Cognito (`UserStatus` of the admin calls).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UserStatus {
    /// Signed up, not confirmed.
    Unconfirmed,
    /// Confirmed: can sign in.
    Confirmed,
    /// Must reset their password before signing in.
    ResetRequired,
    /// Created by an admin: must set a new password at first sign-in.
    ForceChangePassword,
    /// Signed in through a federated identity provider.
    ExternalProvider,
    /// Anything else Cognito reports (e.g. `ARCHIVED`, `COMPROMISED`, or a newer status).
    Other(String),
}

impl UserStatus {
    /// Parses Cognito's status name (e.g. `FORCE_CHANGE_PASSWORD`).
    pub fn from_name(name: &str) -> Self {
        match name {
            "UNCONFIRMED" => Self::Unconfirmed,
            "CONFIRMED" => Self::Confirmed,
            "RESET_REQUIRED" => Self::ResetRequired,
            "FORCE_CHANGE_PASSWORD" => Self::ForceChangePassword,
            "EXTERNAL_PROVIDER" => Self::ExternalProvider,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// A user as Cognito describes them (GetUser, AdminGetUser, AdminCreateUser).
///
/// `sub` is always there: an answer without it is [`crate::CognitoError::UnexpectedAnswer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    username: String,
    sub: String,
    attributes: Vec<Attribute>,
    enabled: Option<bool>,
    status: Option<UserStatus>,
}

impl User {
    /// A user from an answer's parts; `None` when no `sub` attribute is among `attributes`.
    pub(crate) fn from_parts(
        username: String,
        attributes: Vec<Attribute>,
        enabled: Option<bool>,
        status: Option<UserStatus>,
    ) -> Option<Self> {
        let sub = attributes
            .iter()
            .find(|a| a.name == SUB_ATTRIBUTE)?
            .value
            .clone();
        Some(Self {
            username,
            sub,
            attributes,
            enabled,
            status,
        })
    }

    /// The username (what the admin calls take).
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The user's immutable id (the `sub` claim of their tokens).
    pub fn sub(&self) -> &str {
        &self.sub
    }

    /// Every attribute, `sub` included.
    pub fn attributes(&self) -> &[Attribute] {
        &self.attributes
    }

    /// The value of the attribute `name`, when the user has it.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.value.as_str())
    }

    /// `custom:tenant`, unparsed (the caller decides what a valid tenant is).
    pub fn tenant(&self) -> Option<&str> {
        self.attribute(TENANT_ATTRIBUTE)
    }

    /// `email`.
    pub fn email(&self) -> Option<&str> {
        self.attribute(EMAIL_ATTRIBUTE)
    }

    /// Whether the user is enabled (admin answers only; GetUser does not say).
    pub fn enabled(&self) -> Option<bool> {
        self.enabled
    }

    /// The user's status (admin answers only; GetUser does not say).
    pub fn status(&self) -> Option<&UserStatus> {
        self.status.as_ref()
    }
}

/// How a new user learns of their account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Cognito emails the username and temporary password (`DesiredDeliveryMediums: EMAIL`).
    Email,
    /// No message (`MessageAction: SUPPRESS`): tooling that sets the password itself.
    Suppress,
}

/// A user for AdminCreateUser.
#[derive(Clone, PartialEq, Eq)]
pub struct NewUser {
    username: String,
    attributes: Vec<Attribute>,
    delivery: Delivery,
    temporary_password: Option<String>,
}

impl NewUser {
    /// A user named `username` with no attributes, invited by email, with a temporary password
    /// Cognito generates.
    pub fn new(username: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            attributes: Vec::new(),
            delivery: Delivery::Email,
            temporary_password: None,
        }
    }

    /// Sets the attribute `name` (replacing an earlier value).
    #[must_use]
    pub fn attribute(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let attribute = Attribute::new(name, value);
        self.attributes.retain(|a| a.name != attribute.name);
        self.attributes.push(attribute);
        self
    }

    /// Sets `custom:tenant`.
    #[must_use]
    pub fn tenant(self, tenant: impl Into<String>) -> Self {
        self.attribute(TENANT_ATTRIBUTE, tenant)
    }

    /// Sets `email` (and, when the delivery is [`Delivery::Email`], where the invitation goes).
    #[must_use]
    pub fn email(self, email: impl Into<String>) -> Self {
        self.attribute(EMAIL_ATTRIBUTE, email)
    }

    /// How the user learns of their account (default: [`Delivery::Email`]).
    #[must_use]
    pub fn delivery(mut self, delivery: Delivery) -> Self {
        self.delivery = delivery;
        self
    }

    /// The temporary password (default: one Cognito generates). The user must replace it at
    /// first sign-in (`NEW_PASSWORD_REQUIRED`).
    #[must_use]
    pub fn temporary_password(mut self, password: impl Into<String>) -> Self {
        self.temporary_password = Some(password.into());
        self
    }

    /// The username.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The attributes.
    pub fn attributes(&self) -> &[Attribute] {
        &self.attributes
    }

    /// The delivery.
    pub fn delivery_kind(&self) -> Delivery {
        self.delivery
    }

    /// The temporary password, when the caller chose one.
    pub fn chosen_temporary_password(&self) -> Option<&str> {
        self.temporary_password.as_deref()
    }
}

impl fmt::Debug for NewUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the temporary password.
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("attributes", &self.attributes)
            .field("delivery", &self.delivery)
            .field("temporary_password", &self.temporary_password.is_some())
            .finish()
    }
}

/// Tokens from a sign-in or a refresh. Debug shows none of them.
#[derive(Clone, PartialEq, Eq)]
pub struct Tokens {
    /// The access token (what cognigraph accepts).
    pub access_token: String,
    /// The ID token (refused by cognigraph).
    pub id_token: String,
    /// The refresh token (absent from refresh answers).
    pub refresh_token: Option<String>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("refresh_token", &self.refresh_token.is_some())
            .finish_non_exhaustive()
    }
}

/// What a password sign-in yields.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignIn {
    /// Signed in.
    Tokens(Tokens),
    /// The user has a temporary password and must choose a new one: answer with
    /// `respond_to_new_password_challenge` and this session.
    NewPasswordRequired {
        /// The challenge session (opaque, short-lived).
        session: String,
    },
    /// Another challenge (MFA and the like), which cognigraph's tooling does not answer.
    OtherChallenge {
        /// The challenge name, e.g. `SOFTWARE_TOKEN_MFA`.
        name: String,
    },
}

impl SignIn {
    /// The tokens; a challenge instead is [`crate::CognitoError::UnexpectedAnswer`] (for tooling
    /// that signs in users with permanent passwords).
    pub fn into_tokens(self) -> Result<Tokens, crate::CognitoError> {
        match self {
            Self::Tokens(tokens) => Ok(tokens),
            Self::NewPasswordRequired { .. } | Self::OtherChallenge { .. } => {
                Err(crate::CognitoError::UnexpectedAnswer {
                    action: "InitiateAuth",
                    missing: "AuthenticationResult (a challenge was asked instead)",
                })
            }
        }
    }
}

impl fmt::Debug for SignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tokens(tokens) => f.debug_tuple("Tokens").field(tokens).finish(),
            Self::NewPasswordRequired { .. } => f.write_str("NewPasswordRequired"),
            Self::OtherChallenge { name } => f
                .debug_struct("OtherChallenge")
                .field("name", name)
                .finish(),
        }
    }
}

/// The Cognito actions of [`crate::UserPool`], for call counters and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Action {
    /// `GetUser`.
    GetUser,
    /// `AdminGetUser`.
    AdminGetUser,
    /// `AdminCreateUser`.
    AdminCreateUser,
    /// `AdminUpdateUserAttributes`.
    AdminUpdateUserAttributes,
    /// `AdminAddUserToGroup`.
    AdminAddUserToGroup,
    /// `AdminRemoveUserFromGroup`.
    AdminRemoveUserFromGroup,
    /// `AdminListGroupsForUser`.
    AdminListGroupsForUser,
    /// `AdminDisableUser`.
    AdminDisableUser,
    /// `AdminDeleteUser`.
    AdminDeleteUser,
    /// `AdminEnableUser`.
    AdminEnableUser,
    /// `AdminUserGlobalSignOut`.
    AdminUserGlobalSignOut,
}

impl Action {
    /// Cognito's name of the action.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GetUser => "GetUser",
            Self::AdminGetUser => "AdminGetUser",
            Self::AdminCreateUser => "AdminCreateUser",
            Self::AdminUpdateUserAttributes => "AdminUpdateUserAttributes",
            Self::AdminAddUserToGroup => "AdminAddUserToGroup",
            Self::AdminRemoveUserFromGroup => "AdminRemoveUserFromGroup",
            Self::AdminListGroupsForUser => "AdminListGroupsForUser",
            Self::AdminDisableUser => "AdminDisableUser",
            Self::AdminDeleteUser => "AdminDeleteUser",
            Self::AdminEnableUser => "AdminEnableUser",
            Self::AdminUserGlobalSignOut => "AdminUserGlobalSignOut",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_ids_are_checked_by_shape_not_length() {
        for good in [
            "eu-west-1_AbC123",
            "us-east-1_0123456789abcdef0123456789abcdef0123456789abcdef01234567",
        ] {
            let id = UserPoolId::parse(good).expect(good);
            assert_eq!(id.as_str(), good);
        }
        assert_eq!(
            UserPoolId::parse("eu-west-1_AbC")
                .map(|p| p.region().to_owned())
                .ok(),
            Some("eu-west-1".to_owned())
        );
        for bad in [
            "",
            "eu-west-1",
            "_abc",
            "eu-west-1_",
            "eu-west-1_ab-c",
            "EU_abc",
            "a_b c",
        ] {
            assert!(UserPoolId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let tokens = Tokens {
            access_token: "access-secret".to_owned(),
            id_token: "id-secret".to_owned(),
            refresh_token: Some("refresh-secret".to_owned()),
        };
        let shown = format!("{tokens:?} {:?}", SignIn::Tokens(tokens.clone()));
        assert!(!shown.contains("secret"), "{shown}");
        let invited = NewUser::new("ann").temporary_password("Temp-secret-1");
        assert!(!format!("{invited:?}").contains("secret"));
    }

    #[test]
    fn a_new_user_has_each_attribute_once() {
        let user = NewUser::new("ann")
            .tenant("acme")
            .email("a@example.com")
            .tenant("globex");
        assert_eq!(
            user.attributes(),
            [
                Attribute::new("email", "a@example.com"),
                Attribute::new("custom:tenant", "globex")
            ]
        );
        assert_eq!(user.delivery_kind(), Delivery::Email);
    }
}
