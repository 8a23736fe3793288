//! Parsing a JWKS into keys prepared for verification.

use std::{collections::HashMap, fmt, sync::Arc, time::Duration};

use aws_lc_rs::{
    encoding::AsDer,
    signature::{self, ParsedPublicKey, RsaPublicKeyComponents},
};
use base64::{
    Engine as _,
    alphabet::URL_SAFE,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
};
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse};
use serde_json::Value;

use super::{FetchFailure, JwksError};

/// base64url as found in the wild: padding tolerated (the key set comes from configuration, the
/// strictness that matters is on tokens).
const JWK_BASE64: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// An RSA public key parsed once, when its key set was fetched, and used for every RS256 check.
pub struct SigningKey {
    kid: String,
    key: ParsedPublicKey,
}

impl SigningKey {
    /// Builds a key from the JWK's base64url-decoded modulus and exponent. Moduli under 2048 bits
    /// are refused.
    pub fn from_components(kid: &str, n: &[u8], e: &[u8]) -> Option<Self> {
        let n = strip_leading_zeros(n);
        let e = strip_leading_zeros(e);
        let modulus_bits = n
            .first()
            .map_or(0, |&top| n.len() * 8 - top.leading_zeros() as usize);
        if !(2048..=8192).contains(&modulus_bits) || e.is_empty() {
            return None;
        }
        let der = RsaPublicKeyComponents { n, e }.as_der().ok()?;
        let key =
            ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, der.as_ref()).ok()?;
        Some(Self {
            kid: kid.to_owned(),
            key,
        })
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Checks an RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.key.verify_sig(message, signature).is_ok()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish()
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// The usable keys of one fetch of a JWKS URL, by `kid`.
#[derive(Debug)]
pub struct KeySet {
    keys: HashMap<String, Arc<SigningKey>>,
    fetched_at: Duration,
}

impl KeySet {
    /// Parses a JWKS body. Keys that are not RSA, are marked for another use or algorithm, have
    /// no `kid`, or repeat a `kid` are skipped; a set with no usable key is an error.
    pub fn parse(body: &[u8], fetched_at: Duration) -> Result<Self, JwksError> {
        #[derive(serde::Deserialize)]
        struct RawSet {
            keys: Vec<Value>,
        }
        let raw: RawSet = serde_json::from_slice(body)
            .map_err(|e| JwksError::InvalidJson(FetchFailure::new(e)))?;
        let mut keys = HashMap::new();
        let mut repeated = Vec::new();
        for value in raw.keys {
            let Some(key) = usable_key(value) else {
                continue;
            };
            if keys.contains_key(key.kid()) {
                repeated.push(key.kid().to_owned());
            } else {
                keys.insert(key.kid().to_owned(), Arc::new(key));
            }
        }
        // Two different keys under one kid: trust neither.
        for kid in repeated {
            tracing::warn!(kid, "JWKS repeats a kid; ignoring every key with it");
            keys.remove(&kid);
        }
        if keys.is_empty() {
            return Err(JwksError::NoUsableKeys);
        }
        Ok(Self { keys, fetched_at })
    }

    /// The key with this `kid`.
    pub fn get(&self, kid: &str) -> Option<&Arc<SigningKey>> {
        self.keys.get(kid)
    }

    /// When the set was fetched, by the store's monotonic clock.
    pub fn fetched_at(&self) -> Duration {
        self.fetched_at
    }

    /// How many usable keys the set has.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set has no key (never true of a parsed set).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

fn usable_key(value: Value) -> Option<SigningKey> {
    let jwk: Jwk = serde_json::from_value(value).ok()?;
    let kid = jwk.common.key_id.as_deref().filter(|k| !k.is_empty())?;
    if !matches!(
        jwk.common.public_key_use,
        None | Some(PublicKeyUse::Signature)
    ) {
        return None;
    }
    if !matches!(jwk.common.key_algorithm, None | Some(KeyAlgorithm::RS256)) {
        return None;
    }
    let AlgorithmParameters::RSA(rsa) = &jwk.algorithm else {
        return None;
    };
    let n = JWK_BASE64.decode(&rsa.n).ok()?;
    let e = JWK_BASE64.decode(&rsa.e).ok()?;
    SigningKey::from_components(kid, &n, &e)
}
