//! A test issuer (`test-helpers` feature): RSA keys, token minting, and a JWKS server on
//! 127.0.0.1 with switches for the failures a real endpoint can have.
//!
//! Never enable this feature in a production build.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use aws_lc_rs::{
    rand::SystemRandom,
    rsa::KeySize,
    signature::{KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair},
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

use crate::UserPoolConfig;

/// The region of every test issuer.
pub const TEST_REGION: &str = "us-east-1";

/// How the JWKS endpoint behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksMode {
    /// Answers 200 with the current keys.
    Serve,
    /// Closes every connection without answering (a network error).
    Down,
    /// Answers with this status and no keys.
    Status(u16),
    /// Waits this long, then serves the keys.
    Slow(Duration),
    /// Answers 200 with a body that is not JSON.
    Garbage,
    /// Answers 200 with a 1 MiB body.
    Oversized,
    /// Answers 200 with the current keys, but closes the connection halfway through the body
    /// (a network error while reading).
    CutShort,
}

#[derive(Debug)]
struct TestKey {
    kid: String,
    pair: Arc<RsaKeyPair>,
    published: bool,
}

#[derive(Debug)]
struct Shared {
    keys: Mutex<Vec<TestKey>>,
    mode: Mutex<JwksMode>,
    requests: AtomicUsize,
    jwks_path: String,
}

/// Holds RSA keys, mints Cognito-shaped tokens and serves its JWKS on 127.0.0.1, port 0.
///
/// Its tokens carry the real Cognito issuer form for [`TEST_REGION`] and a fresh pool id; the
/// JWKS URL points at the local server, as with an emulator.
#[derive(Debug)]
pub struct TestIssuer {
    pool_id: String,
    client_id: String,
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl Drop for TestIssuer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Seconds since the epoch, by the system clock.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[expect(clippy::expect_used, reason = "test helper: failing loudly is its job")]
fn generate_key(kid: String) -> TestKey {
    let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key generation");
    TestKey {
        kid,
        pair: Arc::new(pair),
        published: true,
    }
}

impl TestIssuer {
    /// Generates a key and starts the JWKS server.
    #[expect(clippy::expect_used, reason = "test helper: failing loudly is its job")]
    pub async fn start() -> Self {
        let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let pool_id = format!("{TEST_REGION}_Test{n}x{nanos}");
        let jwks_path = format!("/{pool_id}/.well-known/jwks.json");
        let shared = Arc::new(Shared {
            keys: Mutex::new(vec![generate_key(format!("key-{n}-1"))]),
            mode: Mutex::new(JwksMode::Serve),
            requests: AtomicUsize::new(0),
            jwks_path,
        });
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let server = tokio::spawn(serve(listener, Arc::clone(&shared)));
        Self {
            pool_id,
            client_id: format!("testclient{n}"),
            addr,
            shared,
            server,
        }
    }

    /// The pool id tokens are issued for.
    pub fn pool_id(&self) -> &str {
        &self.pool_id
    }

    /// The app client id put in `client_id` / `aud`.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// `https://cognito-idp.us-east-1.amazonaws.com/{pool_id}`.
    pub fn issuer(&self) -> String {
        format!(
            "https://cognito-idp.{TEST_REGION}.amazonaws.com/{}",
            self.pool_id
        )
    }

    /// The local JWKS URL.
    pub fn jwks_url(&self) -> String {
        format!("http://{}{}", self.addr, self.shared.jwks_path)
    }

    /// A pool configuration trusting this issuer and its client, with the JWKS URL overridden.
    #[expect(clippy::expect_used, reason = "test helper: failing loudly is its job")]
    pub fn pool_config(&self) -> UserPoolConfig {
        UserPoolConfig::new(TEST_REGION, &self.pool_id, [&self.client_id])
            .and_then(|p| p.with_jwks_url(&self.jwks_url()))
            .expect("test pool configuration")
    }

    /// Claims shaped like a Cognito access token for user `alice`, valid for an hour from now.
    pub fn access_claims(&self) -> Value {
        let now = unix_now();
        json!({
            "sub": "8f3e5a1c-0d4b-4c1e-9a57-2b6d7e8f9a01",
            "cognito:groups": ["viewer"],
            "iss": self.issuer(),
            "client_id": self.client_id,
            "origin_jti": "0b7c1a52-5b2e-4f0e-8c1f-3d5e6f7a8b9c",
            "event_id": "f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b",
            "token_use": "access",
            "scope": "aws.cognito.signin.user.admin",
            "auth_time": now,
            "exp": now + 3600,
            "iat": now,
            "jti": "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a",
            "username": "alice",
        })
    }

    /// Claims shaped like a Cognito ID token for `alice`.
    pub fn id_claims(&self) -> Value {
        let now = unix_now();
        json!({
            "sub": "8f3e5a1c-0d4b-4c1e-9a57-2b6d7e8f9a01",
            "cognito:groups": ["viewer"],
            "iss": self.issuer(),
            "cognito:username": "alice",
            "custom:tenant": "acme",
            "aud": self.client_id,
            "token_use": "id",
            "auth_time": now,
            "exp": now + 3600,
            "iat": now,
            "jti": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
            "origin_jti": "0b7c1a52-5b2e-4f0e-8c1f-3d5e6f7a8b9c",
            "email": "alice@example.com",
        })
    }

    /// Signs `claims` with the newest key, header `{"kid":…,"alg":"RS256"}` as Cognito writes it.
    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({"kid": self.active_kid(), "alg": "RS256"});
        self.sign_raw(&header.to_string(), &claims.to_string())
    }

    /// Signs exactly these header and payload texts with the newest key (whatever they say).
    pub fn sign_raw(&self, header_json: &str, payload_json: &str) -> String {
        let pair = self.newest_key().pair;
        sign_with(&pair, header_json, payload_json)
    }

    /// The kid of the newest key.
    pub fn active_kid(&self) -> String {
        self.newest_key().kid
    }

    fn newest_key(&self) -> TestKey {
        let keys = lock(&self.shared.keys);
        let key = keys
            .last()
            .unwrap_or_else(|| panic!("the test issuer has no key left"));
        TestKey {
            kid: key.kid.clone(),
            pair: Arc::clone(&key.pair),
            published: key.published,
        }
    }

    /// Adds a new key, which signs from now on; the old ones stay published. Returns its kid.
    pub fn rotate(&self) -> String {
        let mut keys = lock(&self.shared.keys);
        let kid = format!("{}-r{}", self.pool_id, keys.len() + 1);
        keys.push(generate_key(kid.clone()));
        kid
    }

    /// Stops publishing the key `kid` (it can still sign while it is the newest).
    pub fn unpublish(&self, kid: &str) {
        let mut keys = lock(&self.shared.keys);
        if let Some(key) = keys.iter_mut().find(|k| k.kid == kid) {
            key.published = false;
        }
    }

    /// How the JWKS endpoint behaves from now on.
    pub fn set_mode(&self, mode: JwksMode) {
        *lock(&self.shared.mode) = mode;
    }

    /// How many HTTP requests the JWKS endpoint has received.
    pub fn jwks_requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// The JWKS document currently served.
    pub fn jwks(&self) -> Value {
        jwks_document(&self.shared)
    }
}

/// Signs header and payload texts with `pair` (RS256), giving a compact JWT.
#[expect(clippy::expect_used, reason = "test helper: failing loudly is its job")]
fn sign_with(pair: &RsaKeyPair, header_json: &str, payload_json: &str) -> String {
    let signing_input = format!("{}.{}", b64(header_json), b64(payload_json));
    let mut signature = vec![0; pair.public_modulus_len()];
    pair.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .expect("RS256 signing");
    format!("{signing_input}.{}", b64(signature))
}

/// An RSA key pair with its public JWK, for minting tokens outside a [`TestIssuer`].
#[derive(Debug)]
pub struct TestSigningKey {
    kid: String,
    pair: RsaKeyPair,
}

impl TestSigningKey {
    /// A fresh RSA-2048 key.
    pub fn generate(kid: &str) -> Self {
        let key = generate_key(kid.to_owned());
        let pair = Arc::try_unwrap(key.pair).unwrap_or_else(|_| unreachable!("sole owner"));
        Self {
            kid: kid.to_owned(),
            pair,
        }
    }

    /// The public JWK.
    pub fn jwk(&self) -> Value {
        jwk_of(&self.kid, &self.pair)
    }

    /// Signs header and payload texts (RS256).
    pub fn sign_raw(&self, header_json: &str, payload_json: &str) -> String {
        sign_with(&self.pair, header_json, payload_json)
    }

    /// The modulus and exponent, big-endian.
    pub fn public_components(&self) -> (Vec<u8>, Vec<u8>) {
        let public = self.pair.public_key();
        (
            public.modulus().big_endian_without_leading_zero().to_vec(),
            public.exponent().big_endian_without_leading_zero().to_vec(),
        )
    }
}

fn jwk_of(kid: &str, pair: &RsaKeyPair) -> Value {
    let public = pair.public_key();
    json!({
        "alg": "RS256",
        "e": b64(public.exponent().big_endian_without_leading_zero()),
        "kid": kid,
        "kty": "RSA",
        "n": b64(public.modulus().big_endian_without_leading_zero()),
        "use": "sig",
    })
}

fn jwks_document(shared: &Shared) -> Value {
    let keys = lock(&shared.keys);
    let published: Vec<Value> = keys
        .iter()
        .filter(|k| k.published)
        .map(|k| jwk_of(&k.kid, &k.pair))
        .collect();
    json!({ "keys": published })
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(answer(stream, Arc::clone(&shared)));
    }
}

async fn answer(mut stream: TcpStream, shared: Arc<Shared>) {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let path = String::from_utf8_lossy(&request)
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    let mode = lock(&shared.mode).clone();
    let cut_short = mode == JwksMode::CutShort;
    let (status, body) = match mode {
        JwksMode::Down => return, // dropping the stream closes it without an answer
        JwksMode::Status(code) => (code, "{}".to_owned()),
        JwksMode::Garbage => (200, "<html>not a key set".to_owned()),
        JwksMode::Oversized => (
            200,
            format!("{{\"keys\":[],\"pad\":\"{}\"}}", "x".repeat(1 << 20)),
        ),
        JwksMode::Slow(delay) => {
            tokio::time::sleep(delay).await;
            (200, jwks_document(&shared).to_string())
        }
        JwksMode::CutShort => (200, jwks_document(&shared).to_string()),
        JwksMode::Serve if path == shared.jwks_path => (200, jwks_document(&shared).to_string()),
        JwksMode::Serve => (404, "{}".to_owned()),
    };
    let sent = if cut_short {
        &body[..body.len() / 2]
    } else {
        &body
    };
    let response = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{sent}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// A [`JwksFetcher`](crate::JwksFetcher) that answers one key set from memory whatever the URL:
/// for fuzz targets and benchmarks that must not touch the network.
#[derive(Debug, Clone)]
pub struct FixedJwks(bytes::Bytes);

impl FixedJwks {
    /// Serves `{"keys": [each key's JWK]}`.
    pub fn of(keys: &[&TestSigningKey]) -> Self {
        let jwks = json!({ "keys": keys.iter().map(|key| key.jwk()).collect::<Vec<_>>() });
        Self(bytes::Bytes::from(jwks.to_string()))
    }
}

#[async_trait::async_trait]
impl crate::JwksFetcher for FixedJwks {
    async fn fetch(&self, _url: &str) -> Result<bytes::Bytes, crate::JwksError> {
        Ok(self.0.clone())
    }
}
