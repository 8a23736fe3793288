//! One function for the three triggers: the event's `triggerSource` picks the handler.

use std::sync::Arc;

use aws_lambda_events::event::cognito::{
    CognitoEventUserPoolsPostConfirmation, CognitoEventUserPoolsPreSignup,
    CognitoEventUserPoolsPreTokenGenV2,
};
use cognigraph_cognito::{CognitoClient, UserPool, UserPoolId};
use cognigraph_domain::Db;
use serde_json::Value;

use crate::{TriggerError, TriggerSettings, post_confirmation, pre_sign_up, pre_token_generation};

/// Which trigger an event is for, from its `triggerSource`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// `PreSignUp_*`.
    PreSignUp,
    /// `PostConfirmation_*`.
    PostConfirmation,
    /// `TokenGeneration_*` (version 2 events).
    PreTokenGeneration,
}

impl Trigger {
    /// The trigger of `event`; [`TriggerError::UnexpectedEvent`] for any other source.
    pub fn of(event: &Value) -> Result<Self, TriggerError> {
        let source = event
            .get("triggerSource")
            .and_then(Value::as_str)
            .ok_or_else(|| TriggerError::UnexpectedEvent("no triggerSource".to_owned()))?;
        let prefix = source.split_once('_').map_or(source, |(prefix, _)| prefix);
        match prefix {
            "PreSignUp" => Ok(Self::PreSignUp),
            "PostConfirmation" => Ok(Self::PostConfirmation),
            "TokenGeneration" => Ok(Self::PreTokenGeneration),
            _ => Err(TriggerError::UnexpectedEvent(format!(
                "triggerSource {source:?} is not handled here"
            ))),
        }
    }
}

/// Where the user pool of an event is reached.
#[derive(Debug, Clone)]
pub enum PoolAccess {
    /// The SDK client: each event's pool (`userPoolId`) through it.
    Sdk(CognitoClient),
    /// One pool for every event (tests).
    Fixed(Arc<dyn UserPool>),
}

/// The three triggers with what they need, made once per Lambda instance.
#[derive(Debug, Clone)]
pub struct Triggers {
    settings: TriggerSettings,
    pools: PoolAccess,
    /// Opened at the first post confirmation (the other triggers need no database).
    db: Arc<tokio::sync::OnceCell<Db>>,
}

impl Triggers {
    /// The triggers per `settings`, reaching user pools through `pools`.
    pub fn new(settings: TriggerSettings, pools: PoolAccess) -> Self {
        Self {
            settings,
            pools,
            db: Arc::new(tokio::sync::OnceCell::new()),
        }
    }

    /// Handles one event, whichever trigger it is for, and returns it with the handler's
    /// `response` (the rest goes back exactly as it came). A malformed event is
    /// [`TriggerError::UnexpectedEvent`].
    pub async fn handle(&self, mut event: Value) -> Result<Value, TriggerError> {
        let malformed = |error: serde_json::Error| TriggerError::UnexpectedEvent(error.to_string());
        let response = match Trigger::of(&event)? {
            Trigger::PreSignUp => {
                let typed: CognitoEventUserPoolsPreSignup =
                    serde_json::from_value(event.clone()).map_err(malformed)?;
                serde_json::to_value(pre_sign_up::handle(typed, &self.settings.sign_up)?.response)
            }
            Trigger::PreTokenGeneration => {
                let typed: CognitoEventUserPoolsPreTokenGenV2 =
                    serde_json::from_value(event.clone()).map_err(malformed)?;
                serde_json::to_value(pre_token_generation::handle(typed).response)
            }
            Trigger::PostConfirmation => {
                let typed: CognitoEventUserPoolsPostConfirmation =
                    serde_json::from_value(event.clone()).map_err(malformed)?;
                let pool = self.pool_of(
                    typed
                        .cognito_event_user_pools_header
                        .user_pool_id
                        .as_deref(),
                )?;
                let db = self.db().await?;
                let (typed, _) =
                    post_confirmation::handle(typed, pool.as_ref(), db, &self.settings.admin_group)
                        .await?;
                serde_json::to_value(typed.response)
            }
        }
        .map_err(malformed)?;
        if let Some(object) = event.as_object_mut() {
            object.insert("response".to_owned(), response);
        }
        Ok(event)
    }

    fn pool_of(&self, pool_id: Option<&str>) -> Result<Arc<dyn UserPool>, TriggerError> {
        match &self.pools {
            PoolAccess::Fixed(pool) => Ok(Arc::clone(pool)),
            PoolAccess::Sdk(client) => {
                let pool_id = pool_id
                    .and_then(|id| UserPoolId::parse(id).ok())
                    .ok_or_else(|| {
                        TriggerError::UnexpectedEvent("no valid userPoolId".to_owned())
                    })?;
                Ok(Arc::new(client.user_pool(pool_id)))
            }
        }
    }

    async fn db(&self) -> Result<&Db, TriggerError> {
        let url = self
            .settings
            .database_url
            .as_deref()
            .ok_or(TriggerError::Misconfigured("DATABASE_URL"))?;
        self.db
            .get_or_try_init(|| async { Db::connect(url).await })
            .await
            .map_err(TriggerError::Database)
    }
}
