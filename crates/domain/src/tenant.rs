//! The tenant id, parsed once at the boundary.

use std::fmt;

/// A tenant's id: 1 to 64 characters of `[A-Za-z0-9_-]`.
///
/// Anything else is refused by [`TenantId::parse`], never truncated or normalised, so two distinct
/// raw values can never name the same tenant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TenantId(String);

/// Why a raw value is not a [`TenantId`]. The raw value itself is not echoed (it comes from a token
/// or a remote API and may be long or hostile).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidTenantId {
    /// The raw value is empty.
    #[error("the tenant id is empty")]
    Empty,
    /// The raw value has more than [`TenantId::MAX_LEN`] characters.
    #[error("the tenant id has {length} characters; at most 64 are allowed")]
    TooLong {
        /// The raw value's length, in characters.
        length: usize,
    },
    /// The raw value has a character other than `[A-Za-z0-9_-]`.
    #[error("the tenant id has a character other than [A-Za-z0-9_-] at position {position}")]
    InvalidCharacter {
        /// Where the first such character is, in characters from 0.
        position: usize,
    },
}

impl TenantId {
    /// The longest tenant id accepted, in characters.
    pub const MAX_LEN: usize = 64;

    /// Parses a raw tenant id (from the `custom:tenant` claim or Cognito's user attributes).
    pub fn parse(raw: &str) -> Result<Self, InvalidTenantId> {
        if raw.is_empty() {
            return Err(InvalidTenantId::Empty);
        }
        let length = raw.chars().count();
        if length > Self::MAX_LEN {
            return Err(InvalidTenantId::TooLong { length });
        }
        if let Some(position) = raw
            .chars()
            .position(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        {
            return Err(InvalidTenantId::InvalidCharacter { position });
        }
        Ok(Self(raw.to_owned()))
    }

    /// The id, exactly as parsed.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for TenantId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}
