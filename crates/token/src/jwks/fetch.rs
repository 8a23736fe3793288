//! Getting a JWKS body over HTTP.

use std::fmt;

use bytes::{Bytes, BytesMut};

use super::{FetchFailure, JwksError, WithCauses};
use crate::{ConfigError, JwksSettings};

/// Fetches the raw body of a JWKS URL. The default is [`HttpJwksFetcher`]; tests and unusual
/// deployments may bring their own.
#[async_trait::async_trait]
pub trait JwksFetcher: Send + Sync + fmt::Debug {
    /// The body of `url`, or why it could not be had.
    async fn fetch(&self, url: &str) -> Result<Bytes, JwksError>;
}

/// Fetches with `reqwest` over rustls: connect timeout from [`JwksSettings`], one retry on a
/// network error (connecting, sending or reading failed: [`JwksError::Network`]) and none on
/// anything else (an HTTP error status, a body too large), no redirects, body capped. The whole
/// fetch, retry included, ends within [`JwksSettings::timeout`] ([`JwksError::TimedOut`]): a
/// retry only uses what the first attempt left of it.
#[derive(Debug, Clone)]
pub struct HttpJwksFetcher {
    client: reqwest::Client,
    max_body_bytes: usize,
    timeout: std::time::Duration,
}

impl HttpJwksFetcher {
    /// A fetcher with the given timeouts and body cap.
    pub fn new(settings: &JwksSettings) -> Result<Self, ConfigError> {
        let client = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("cognigraph-token/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConfigError::HttpClient(e.to_string()))?;
        Ok(Self {
            client,
            max_body_bytes: settings.max_body_bytes,
            timeout: settings.timeout,
        })
    }

    async fn fetch_once(&self, url: &str) -> Result<Bytes, JwksError> {
        let network = |e: reqwest::Error| JwksError::Network(FetchFailure::new(e));
        let mut response = self.client.get(url).send().await.map_err(network)?;
        let status = response.status();
        if !status.is_success() {
            return Err(JwksError::Status(status.as_u16()));
        }
        let too_large = JwksError::TooLarge {
            max: self.max_body_bytes,
        };
        if response
            .content_length()
            .is_some_and(|len| len > self.max_body_bytes as u64)
        {
            return Err(too_large);
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(network)? {
            if body.len() + chunk.len() > self.max_body_bytes {
                return Err(too_large);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }
}

#[async_trait::async_trait]
impl JwksFetcher for HttpJwksFetcher {
    async fn fetch(&self, url: &str) -> Result<Bytes, JwksError> {
        let attempts = async {
            match self.fetch_once(url).await {
                Err(JwksError::Network(first)) => {
                    tracing::debug!(
                        url,
                        error = %WithCauses(&first),
                        "JWKS fetch failed; retrying once"
                    );
                    self.fetch_once(url).await
                }
                other => other,
            }
        };
        tokio::time::timeout(self.timeout, attempts)
            .await
            .unwrap_or(Err(JwksError::TimedOut {
                after: self.timeout,
            }))
    }
}
