//! `Mutation.refreshSigningKeys`: fetch the user pool's keys now (after a key rotation).

use std::sync::Arc;

use async_graphql::{Context, Object, SimpleObject};
use cognigraph_authz_macros::authorized;
use cognigraph_token::CognitoVerifier;

use super::policies;
use crate::errors::{ApiError, chain};

/// The signing keys after a refresh.
#[derive(SimpleObject, Debug, Clone)]
pub(super) struct SigningKeysStatus {
    /// Whether every configured pool's keys are loaded.
    pub loaded: bool,
    /// JWKS fetches that succeeded since start.
    pub fetches_succeeded: u64,
    /// JWKS fetches that failed since start.
    pub fetches_failed: u64,
}

#[derive(Default, Debug)]
pub(super) struct SigningKeysMutation;

#[authorized]
#[Object]
impl SigningKeysMutation {
    /// Refetches every user pool's signing keys now, unless fetched in the last cooldown
    /// (10 s). Old keys keep serving if the fetch fails.
    // Nullable, so that a denial nulls this field alone (GraphQL 6.4.4), not the whole `data`.
    #[auth(policies::REFRESH_SIGNING_KEYS)]
    async fn refresh_signing_keys(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<SigningKeysStatus>> {
        let verifier = ctx
            .data_opt::<Arc<CognitoVerifier>>()
            .ok_or_else(|| ApiError::Internal("no verifier in the schema data".to_owned()))?;
        if let Err(error) = verifier.refresh().await {
            tracing::warn!(error = %chain(&error), "refreshing signing keys failed");
        }
        let stats = verifier.jwks_fetch_stats();
        Ok(Some(SigningKeysStatus {
            loaded: verifier.keys_loaded(),
            fetches_succeeded: stats.succeeded,
            fetches_failed: stats.failed,
        }))
    }
}
