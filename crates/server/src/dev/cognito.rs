//! The handful of Cognito User Pool actions cognigraph's tooling uses, over Cognito's JSON
//! protocol (`X-Amz-Target: AWSCognitoIdentityProviderService.<Action>`).
//!
//! Requests are not signed: the emulator (moto) does not check signatures, and against real
//! Cognito only the unauthenticated actions (`InitiateAuth`, `GetUser`, `GlobalSignOut`) work.

use std::time::Duration;

use serde::{Deserialize, de::DeserializeOwned};
use serde_json::{Value, json};

/// An error answer from Cognito (or the emulator), or a transport failure.
#[derive(Debug, thiserror::Error)]
#[error("{action}: {kind}: {message}")]
pub struct CognitoApiError {
    /// The action called.
    pub action: &'static str,
    /// Cognito's `__type`, e.g. `NotAuthorizedException` (`Transport` for network errors).
    pub kind: String,
    /// Cognito's message.
    pub message: String,
}

impl CognitoApiError {
    /// Whether `__type` is `kind` (ignoring a namespace prefix).
    pub fn is(&self, kind: &str) -> bool {
        self.kind.rsplit('#').next() == Some(kind)
    }
}

/// Tokens from a sign-in or a refresh.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tokens {
    /// The access token (what cognigraph accepts).
    pub access_token: String,
    /// The ID token (refused by cognigraph).
    pub id_token: String,
    /// The refresh token (absent from refresh answers).
    #[serde(default)]
    pub refresh_token: Option<String>,
}

/// A Cognito User Pool API endpoint.
#[derive(Debug, Clone)]
pub struct CognitoApi {
    client: reqwest::Client,
    endpoint: String,
}

impl CognitoApi {
    /// A client for `endpoint`, e.g. `http://127.0.0.1:5000/` or
    /// `https://cognito-idp.eu-west-1.amazonaws.com/`.
    pub fn new(endpoint: &str) -> Result<Self, CognitoApiError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| transport("Client", &e))?;
        Ok(Self {
            client,
            endpoint: endpoint.to_owned(),
        })
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    async fn call<T: DeserializeOwned>(
        &self,
        action: &'static str,
        body: Value,
    ) -> Result<T, CognitoApiError> {
        let response = self
            .client
            .post(&self.endpoint)
            .header("content-type", "application/x-amz-json-1.1")
            .header(
                "x-amz-target",
                format!("AWSCognitoIdentityProviderService.{action}"),
            )
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| transport(action, &e))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| transport(action, &e))?;
        if !status.is_success() {
            let error: Value = serde_json::from_slice(&bytes).unwrap_or_default();
            return Err(CognitoApiError {
                action,
                kind: error["__type"]
                    .as_str()
                    .map_or_else(|| format!("HTTP {status}"), str::to_owned),
                message: error["message"].as_str().unwrap_or_default().to_owned(),
            });
        }
        let bytes = if bytes.is_empty() {
            &b"{}"[..]
        } else {
            &bytes[..]
        };
        serde_json::from_slice(bytes).map_err(|e| CognitoApiError {
            action,
            kind: "UnexpectedAnswer".to_owned(),
            message: e.to_string(),
        })
    }

    /// Creates a user pool with the mutable custom attribute `tenant` (`custom:tenant`).
    pub async fn create_user_pool(&self, name: &str) -> Result<String, CognitoApiError> {
        let answer: Value = self
            .call(
                "CreateUserPool",
                json!({
                    "PoolName": name,
                    "Schema": [{"Name": "tenant", "AttributeDataType": "String", "Mutable": true}],
                }),
            )
            .await?;
        string_at(&answer, &["UserPool", "Id"], "CreateUserPool")
    }

    /// The id of the user pool named `name`, if there is one.
    pub async fn find_user_pool(&self, name: &str) -> Result<Option<String>, CognitoApiError> {
        let answer: Value = self
            .call("ListUserPools", json!({ "MaxResults": 60 }))
            .await?;
        Ok(answer["UserPools"].as_array().and_then(|pools| {
            pools
                .iter()
                .find(|p| p["Name"] == name)
                .and_then(|p| p["Id"].as_str().map(str::to_owned))
        }))
    }

    /// Creates an app client without secret that allows password sign-in; returns its id.
    pub async fn create_user_pool_client(
        &self,
        pool_id: &str,
        name: &str,
    ) -> Result<String, CognitoApiError> {
        let answer: Value = self
            .call(
                "CreateUserPoolClient",
                json!({
                    "UserPoolId": pool_id,
                    "ClientName": name,
                    "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                }),
            )
            .await?;
        string_at(
            &answer,
            &["UserPoolClient", "ClientId"],
            "CreateUserPoolClient",
        )
    }

    /// The id of the app client named `name` in the pool, if there is one.
    pub async fn find_user_pool_client(
        &self,
        pool_id: &str,
        name: &str,
    ) -> Result<Option<String>, CognitoApiError> {
        let answer: Value = self
            .call(
                "ListUserPoolClients",
                json!({ "UserPoolId": pool_id, "MaxResults": 60 }),
            )
            .await?;
        Ok(answer["UserPoolClients"].as_array().and_then(|clients| {
            clients
                .iter()
                .find(|c| c["ClientName"] == name)
                .and_then(|c| c["ClientId"].as_str().map(str::to_owned))
        }))
    }

    /// Creates a group; an existing one is fine.
    pub async fn create_group(&self, pool_id: &str, group: &str) -> Result<(), CognitoApiError> {
        let result: Result<Value, _> = self
            .call(
                "CreateGroup",
                json!({ "UserPoolId": pool_id, "GroupName": group }),
            )
            .await;
        match result {
            Err(e) if e.is("GroupExistsException") => Ok(()),
            other => other.map(drop),
        }
    }

    /// Creates a confirmed user with a permanent password and these attributes (e.g.
    /// `("custom:tenant", "acme")`); an existing user gets the password and attributes again.
    pub async fn create_user(
        &self,
        pool_id: &str,
        username: &str,
        password: &str,
        attributes: &[(&str, &str)],
    ) -> Result<(), CognitoApiError> {
        let attributes: Vec<Value> = attributes
            .iter()
            .map(|(name, value)| json!({ "Name": name, "Value": value }))
            .collect();
        let created: Result<Value, _> = self
            .call(
                "AdminCreateUser",
                json!({
                    "UserPoolId": pool_id,
                    "Username": username,
                    "UserAttributes": attributes,
                    "MessageAction": "SUPPRESS",
                }),
            )
            .await;
        match created {
            Err(e) if e.is("UsernameExistsException") => {
                let _: Value = self
                    .call(
                        "AdminUpdateUserAttributes",
                        json!({
                            "UserPoolId": pool_id,
                            "Username": username,
                            "UserAttributes": attributes,
                        }),
                    )
                    .await?;
            }
            other => {
                other?;
            }
        }
        let _: Value = self
            .call(
                "AdminSetUserPassword",
                json!({
                    "UserPoolId": pool_id,
                    "Username": username,
                    "Password": password,
                    "Permanent": true,
                }),
            )
            .await?;
        Ok(())
    }

    /// Adds a user to a group.
    pub async fn add_user_to_group(
        &self,
        pool_id: &str,
        username: &str,
        group: &str,
    ) -> Result<(), CognitoApiError> {
        self.group_membership("AdminAddUserToGroup", pool_id, username, group)
            .await
    }

    /// Removes a user from a group.
    pub async fn remove_user_from_group(
        &self,
        pool_id: &str,
        username: &str,
        group: &str,
    ) -> Result<(), CognitoApiError> {
        self.group_membership("AdminRemoveUserFromGroup", pool_id, username, group)
            .await
    }

    async fn group_membership(
        &self,
        action: &'static str,
        pool_id: &str,
        username: &str,
        group: &str,
    ) -> Result<(), CognitoApiError> {
        let _: Value = self
            .call(
                action,
                json!({ "UserPoolId": pool_id, "Username": username, "GroupName": group }),
            )
            .await?;
        Ok(())
    }

    /// The user's `sub` (AdminGetUser), the id Cognito puts in the user's tokens.
    pub async fn user_sub(&self, pool_id: &str, username: &str) -> Result<String, CognitoApiError> {
        let answer: Value = self
            .call(
                "AdminGetUser",
                json!({ "UserPoolId": pool_id, "Username": username }),
            )
            .await?;
        answer["UserAttributes"]
            .as_array()
            .and_then(|attributes| {
                attributes
                    .iter()
                    .find(|a| a["Name"] == "sub")
                    .and_then(|a| a["Value"].as_str().map(str::to_owned))
            })
            .ok_or_else(|| CognitoApiError {
                action: "AdminGetUser",
                kind: "UnexpectedAnswer".to_owned(),
                message: "no sub attribute".to_owned(),
            })
    }

    /// Signs in with a password (`USER_PASSWORD_AUTH`).
    pub async fn sign_in(
        &self,
        client_id: &str,
        username: &str,
        password: &str,
    ) -> Result<Tokens, CognitoApiError> {
        let answer: AuthAnswer = self
            .call(
                "InitiateAuth",
                json!({
                    "ClientId": client_id,
                    "AuthFlow": "USER_PASSWORD_AUTH",
                    "AuthParameters": { "USERNAME": username, "PASSWORD": password },
                }),
            )
            .await?;
        Ok(answer.authentication_result)
    }

    /// New tokens from a refresh token (`REFRESH_TOKEN_AUTH`).
    pub async fn refresh(
        &self,
        client_id: &str,
        refresh_token: &str,
    ) -> Result<Tokens, CognitoApiError> {
        let answer: AuthAnswer = self
            .call(
                "InitiateAuth",
                json!({
                    "ClientId": client_id,
                    "AuthFlow": "REFRESH_TOKEN_AUTH",
                    "AuthParameters": { "REFRESH_TOKEN": refresh_token },
                }),
            )
            .await?;
        Ok(answer.authentication_result)
    }

    /// Signs the user of `access_token` out everywhere: every token of theirs is revoked.
    pub async fn global_sign_out(&self, access_token: &str) -> Result<(), CognitoApiError> {
        let _: Value = self
            .call("GlobalSignOut", json!({ "AccessToken": access_token }))
            .await?;
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AuthAnswer {
    authentication_result: Tokens,
}

fn transport(action: &'static str, error: &reqwest::Error) -> CognitoApiError {
    CognitoApiError {
        action,
        kind: "Transport".to_owned(),
        message: error.to_string(),
    }
}

fn string_at(
    value: &Value,
    path: &[&str],
    action: &'static str,
) -> Result<String, CognitoApiError> {
    let mut at = value;
    for key in path {
        at = &at[*key];
    }
    at.as_str()
        .map(str::to_owned)
        .ok_or_else(|| CognitoApiError {
            action,
            kind: "UnexpectedAnswer".to_owned(),
            message: format!("no {}", path.join(".")),
        })
}
