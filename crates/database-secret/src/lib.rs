//! The database URL from an AWS Secrets Manager secret, in the format Amazon RDS and Aurora
//! write for their generated credentials:
//! `{"engine": "postgres", "host": …, "port": 5432, "username": …, "password": …, "dbname": …}`.
//!
//! On AWS the service and the post-confirmation trigger read their database this way
//! (`DATABASE_SECRET`), once at init, so that the password is never part of a function's
//! configuration (which anyone allowed `lambda:GetFunctionConfiguration` can read) and a
//! rotated password is picked up by new instances without a deploy.
//!
//! Only PostgreSQL secrets are accepted (the one server database cognigraph supports); the user
//! name, password and database name are percent-encoded into the URL, so any character the
//! generator picks is safe.

#![warn(missing_docs)]

use std::fmt;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_secretsmanager::{
    Client, error::SdkError, operation::get_secret_value::GetSecretValueError,
};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

/// Reads database secrets from AWS Secrets Manager. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DatabaseSecrets {
    client: Client,
}

impl DatabaseSecrets {
    /// A client from the standard AWS configuration: region from `AWS_REGION` (or the
    /// profile), credentials from the standard chain (on Lambda, the function's role), and the
    /// endpoint from `AWS_ENDPOINT_URL_SECRETS_MANAGER` or `AWS_ENDPOINT_URL` when set (an
    /// emulator, a VPC endpoint), else the region's public one.
    pub async fn from_env() -> Self {
        Self::new(&aws_config::defaults(BehaviorVersion::latest()).load().await)
    }

    /// A client from an AWS configuration built by the caller (tests point it at an emulator).
    pub fn new(config: &SdkConfig) -> Self {
        Self {
            client: Client::new(config),
        }
    }

    /// The `postgres://` URL of the secret `secret_id` (its name or ARN), password included:
    /// for connecting only, never for logs.
    pub async fn database_url(&self, secret_id: &str) -> Result<String, DatabaseSecretError> {
        let answer = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|source| DatabaseSecretError::Unreadable {
                secret_id: secret_id.to_owned(),
                source: Box::new(source),
            })?;
        let text = answer
            .secret_string()
            .ok_or_else(|| DatabaseSecretError::NotText {
                secret_id: secret_id.to_owned(),
            })?;
        database_url_of(text).map_err(|source| DatabaseSecretError::Invalid {
            secret_id: secret_id.to_owned(),
            source,
        })
    }
}

/// Why a database secret gave no URL. Messages name the secret, never its value.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseSecretError {
    /// Secrets Manager did not give the secret (missing, not allowed, unreachable).
    #[error("cannot read the database secret {secret_id} from AWS Secrets Manager")]
    Unreadable {
        /// The secret's name or ARN.
        secret_id: String,
        /// The SDK's error.
        #[source]
        source: Box<SdkError<GetSecretValueError>>,
    },
    /// The secret holds binary data, not the JSON text RDS writes.
    #[error("the database secret {secret_id} holds binary data, not RDS's JSON credentials")]
    NotText {
        /// The secret's name or ARN.
        secret_id: String,
    },
    /// The secret's text is not usable database credentials.
    #[error("the database secret {secret_id} is not usable")]
    Invalid {
        /// The secret's name or ARN.
        secret_id: String,
        /// What is wrong with it.
        #[source]
        source: InvalidSecret,
    },
}

/// What is wrong with a secret's text. Never carries the text itself.
#[derive(Debug, thiserror::Error)]
pub enum InvalidSecret {
    /// Not JSON with `host`, `username`, `password` and `dbname` (strings) and `port`.
    #[error("expected JSON with host, port, username, password and dbname (as RDS writes it)")]
    Shape(#[source] ShapeMismatch),
    /// `engine` names a database other than PostgreSQL.
    #[error("engine {0:?} is not PostgreSQL (postgres or aurora-postgresql)")]
    Engine(String),
    /// `host` or `port` do not make a URL.
    #[error("host or port cannot be used in a URL")]
    Address,
}

/// Where a secret's text misses the credentials' shape: serde_json's error, kept, but shown
/// only as a missing field's name or a position. serde_json's own message quotes a wrongly typed
/// value ("invalid type: integer `123`"), which may be the password, so neither this `Display`
/// nor `Debug` shows it, and the parser's error is not a `source()` (a log of the chain ends here).
pub struct ShapeMismatch(serde_json::Error);

impl ShapeMismatch {
    /// serde_json's message when it names a missing field (and the position): no value in it.
    fn missing_field(&self) -> Option<String> {
        Some(self.0.to_string()).filter(|message| message.starts_with("missing field"))
    }
}

impl fmt::Display for ShapeMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.missing_field() {
            Some(message) => f.write_str(&message),
            None => write!(
                f,
                "not JSON, or a field of the wrong type (line {}, column {})",
                self.0.line(),
                self.0.column()
            ),
        }
    }
}

impl fmt::Debug for ShapeMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShapeMismatch")
            .field("category", &self.0.classify())
            .field("missing_field", &self.missing_field())
            .field("line", &self.0.line())
            .field("column", &self.0.column())
            .finish()
    }
}

impl std::error::Error for ShapeMismatch {}

/// The credentials as RDS writes them; other fields (e.g. `dbClusterIdentifier`) are ignored.
#[derive(Deserialize)]
struct RdsCredentials {
    engine: Option<String>,
    host: String,
    port: Port,
    username: String,
    password: String,
    dbname: String,
}

/// RDS writes the port as a number; some tools as a string.
#[derive(Deserialize)]
#[serde(untagged)]
enum Port {
    Number(u16),
    Text(String),
}

/// The URL for the credentials in `text` (a secret's value).
fn database_url_of(text: &str) -> Result<String, InvalidSecret> {
    let credentials: RdsCredentials =
        serde_json::from_str(text).map_err(|error| InvalidSecret::Shape(ShapeMismatch(error)))?;
    if let Some(engine) = &credentials.engine
        && !matches!(
            engine.as_str(),
            "postgres" | "postgresql" | "aurora-postgresql"
        )
    {
        return Err(InvalidSecret::Engine(engine.clone()));
    }
    let port = match credentials.port {
        Port::Number(port) => port,
        Port::Text(text) => text.trim().parse().map_err(|_| InvalidSecret::Address)?,
    };
    let host = credentials.host.trim();
    let host_is_a_name_or_address = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !host_is_a_name_or_address {
        return Err(InvalidSecret::Address);
    }
    // Everything but letters and digits escaped: the `url` crate leaves `%` in a password as
    // it is, which the driver would then decode into something else.
    let escaped = |text: &str| utf8_percent_encode(text, NON_ALPHANUMERIC).to_string();
    Ok(format!(
        "postgres://{}:{}@{host}:{port}/{}",
        escaped(&credentials.username),
        escaped(&credentials.password),
        escaped(&credentials.dbname),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rds_credentials_become_a_url_with_every_character_escaped() {
        let url = database_url_of(
            r#"{"engine":"postgres","host":"db.cluster-abc.us-east-1.rds.amazonaws.com",
                "port":5432,"username":"cognigraph","password":"p@ss/w:rd%?#&",
                "dbname":"cognigraph","dbClusterIdentifier":"x"}"#,
        )
        .unwrap();
        assert_eq!(
            url,
            "postgres://cognigraph:p%40ss%2Fw%3Ard%25%3F%23%26@\
             db.cluster-abc.us-east-1.rds.amazonaws.com:5432/cognigraph"
        );
        let parsed = url::Url::parse(&url).unwrap();
        let password = parsed.password().unwrap();
        assert_eq!(
            percent_encoding::percent_decode_str(password)
                .decode_utf8()
                .unwrap(),
            "p@ss/w:rd%?#&",
            "the password survives the round trip"
        );
    }

    #[test]
    fn the_port_may_be_text_and_the_engine_absent() {
        assert_eq!(
            database_url_of(
                r#"{"host":"127.0.0.1","port":"55432","username":"u","password":"p","dbname":"d"}"#
            )
            .unwrap(),
            "postgres://u:p@127.0.0.1:55432/d"
        );
    }

    /// What a log of the `Shape` error for `text` shows: its `Display`, its cause's (where its
    /// `source()` chain ends), and its `Debug`.
    fn shape(text: &str) -> String {
        use std::error::Error as _;
        let error = database_url_of(text).unwrap_err();
        assert!(matches!(error, InvalidSecret::Shape(_)), "{error:?}");
        let cause = error.source().unwrap();
        assert!(
            cause.source().is_none(),
            "serde_json's error is not in the chain"
        );
        format!("{error}: {cause} / {error:?}")
    }

    #[test]
    fn unusable_secrets_are_refused_without_showing_them() {
        let refused = |text: &str| database_url_of(text).unwrap_err().to_string();
        assert_eq!(
            shape("hunter2"),
            "expected JSON with host, port, username, password and dbname (as RDS writes it): \
             not JSON, or a field of the wrong type (line 1, column 1) / Shape(ShapeMismatch { \
             category: Syntax, missing_field: None, line: 1, column: 1 })"
        );
        let missing = shape(r#"{"host":"h","port":5432,"username":"u","password":"hunter2"}"#);
        assert!(missing.contains("missing field `dbname`"), "{missing}");
        assert!(!missing.contains("hunter2"), "{missing}");
        let mistyped =
            shape(r#"{"host":"h","port":5432,"username":"u","password":918273645,"dbname":"d"}"#);
        assert!(mistyped.contains("a field of the wrong type"), "{mistyped}");
        assert!(!mistyped.contains("918273645"), "{mistyped}");
        assert!(
            refused(
                r#"{"engine":"mysql","host":"h","port":3306,"username":"u","password":"p","dbname":"d"}"#
            )
            .contains("\"mysql\" is not PostgreSQL")
        );
        for bad_address in [
            r#"{"host":"h","port":"not a port","username":"u","password":"p","dbname":"d"}"#,
            r#"{"host":"a host","port":5432,"username":"u","password":"p","dbname":"d"}"#,
        ] {
            assert_eq!(refused(bad_address), "host or port cannot be used in a URL");
        }
    }
}
