//! The triggers' settings, read once at init from the environment.

use std::fmt;

/// An email domain, lower-cased (`example.com`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain(String);

/// A value that is not an email domain.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0:?} is not an email domain (letters, digits, dots and dashes, with a dot)")]
pub struct InvalidDomain(String);

impl Domain {
    /// Parses `example.com` (trimmed, lower-cased): letters, digits, dots and dashes, at least
    /// one dot, no empty label.
    pub fn parse(raw: &str) -> Result<Self, InvalidDomain> {
        let domain = raw.trim().to_ascii_lowercase();
        let valid = domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if valid {
            Ok(Self(domain))
        } else {
            Err(InvalidDomain(raw.to_owned()))
        }
    }

    /// The domain of `email` (after the last `@`), when it has one.
    pub fn of_email(email: &str) -> Option<Self> {
        email
            .rsplit_once('@')
            .and_then(|(_, domain)| Self::parse(domain).ok())
    }

    /// The domain.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who may sign up by themselves, by email domain. Domains match exactly (a subdomain is another
/// domain). Default: nobody auto-confirmed, no domain closed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignUpPolicy {
    /// Addresses of these domains are confirmed and verified at once (no code by email).
    pub auto_confirm: Vec<Domain>,
    /// Addresses of these domains may not sign up by themselves (an admin may still invite them).
    pub closed: Vec<Domain>,
}

impl SignUpPolicy {
    /// Parses two comma-separated domain lists (empty entries are ignored).
    pub fn parse(auto_confirm: &str, closed: &str) -> Result<Self, InvalidDomain> {
        Ok(Self {
            auto_confirm: domains(auto_confirm)?,
            closed: domains(closed)?,
        })
    }
}

/// A comma-separated list of domains; empty entries are ignored.
fn domains(raw: &str) -> Result<Vec<Domain>, InvalidDomain> {
    raw.split(',')
        .filter(|entry| !entry.trim().is_empty())
        .map(Domain::parse)
        .collect()
}

/// Everything the triggers read from their environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerSettings {
    /// `SIGNUP_AUTO_CONFIRM_DOMAINS` and `SIGNUP_CLOSED_DOMAINS` (comma-separated; default none).
    pub sign_up: SignUpPolicy,
    /// `ROLE_GROUP_ADMIN` (default `admin`, as the service's): the group a founder joins.
    pub admin_group: String,
    /// `DATABASE_URL`, where members are written (post confirmation only). Required by it;
    /// never logged.
    pub database_url: Option<String>,
}

/// A setting that cannot be used, named by its variable.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {variable}: {source}")]
pub struct SettingError {
    /// The environment variable.
    pub variable: &'static str,
    /// Why.
    #[source]
    pub source: InvalidDomain,
}

impl TriggerSettings {
    /// Reads the settings with `var` (the process environment in the binary).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, SettingError> {
        let list = |variable: &'static str| {
            domains(&var(variable).unwrap_or_default())
                .map_err(|source| SettingError { variable, source })
        };
        Ok(Self {
            sign_up: SignUpPolicy {
                auto_confirm: list("SIGNUP_AUTO_CONFIRM_DOMAINS")?,
                closed: list("SIGNUP_CLOSED_DOMAINS")?,
            },
            admin_group: var("ROLE_GROUP_ADMIN")
                .filter(|group| !group.is_empty())
                .unwrap_or_else(|| cognigraph_domain::Role::Admin.default_group().to_owned()),
            database_url: var("DATABASE_URL").filter(|url| !url.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_lower_cased_and_checked() {
        assert_eq!(
            Domain::parse(" Example.COM ").unwrap().as_str(),
            "example.com"
        );
        for bad in [
            "",
            "example",
            "exa mple.com",
            ".example.com",
            "example..com",
            "a@b.com",
        ] {
            assert!(Domain::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Domain::of_email("Ann@Sub.Example.com").map(|d| d.to_string()),
            Some("sub.example.com".to_owned())
        );
        assert_eq!(Domain::of_email("no-at-sign"), None);
    }

    #[test]
    fn settings_name_the_bad_variable() {
        let vars = |name: &str| match name {
            "SIGNUP_AUTO_CONFIRM_DOMAINS" => Some("acme.com, ,globex.io".to_owned()),
            "SIGNUP_CLOSED_DOMAINS" => Some("not a domain".to_owned()),
            _ => None,
        };
        let error = TriggerSettings::from_vars(vars).unwrap_err();
        assert_eq!(error.variable, "SIGNUP_CLOSED_DOMAINS");
        let settings = TriggerSettings::from_vars(|name| {
            (name == "SIGNUP_AUTO_CONFIRM_DOMAINS").then(|| "acme.com, ,globex.io".to_owned())
        })
        .unwrap();
        assert_eq!(settings.sign_up.auto_confirm.len(), 2);
        assert_eq!(settings.admin_group, "admin");
        assert_eq!(settings.database_url, None);
    }
}
