//! Forward pagination: `first` / `after`, with opaque cursors.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::DomainError;

/// Page size when the caller gives none.
pub const DEFAULT_FIRST: u32 = 20;
/// Largest page size.
pub const MAX_FIRST: u32 = 100;

/// First byte of an encoded cursor: lets the format change without misreading old cursors.
const CURSOR_FORMAT: u8 = 1;
/// An encoded cursor is 23 characters; anything much longer is not worth decoding.
const MAX_ENCODED_LEN: usize = 64;

/// Which page to fetch: `first` items (1..=100; checked by every list operation, which answers
/// `InvalidInput { field: "first" }` otherwise) after the cursor `after`, and whether to count
/// the whole list too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// How many items to fetch: 1 to 100 ([`MAX_FIRST`]).
    pub first: u32,
    /// Fetch the items after this cursor; `None` starts at the beginning of the list.
    pub after: Option<Cursor>,
    /// Whether to count the whole list ([`Page::total_count`]): a second statement, whose cost
    /// grows with the list while the page's does not. True unless turned off
    /// ([`PageRequest::without_total_count`]).
    pub count_total: bool,
}

impl Default for PageRequest {
    /// The first 20 items, counting the whole list.
    fn default() -> Self {
        Self::first(DEFAULT_FIRST)
    }
}

impl PageRequest {
    /// The first `first` items, counting the whole list.
    pub fn first(first: u32) -> Self {
        Self {
            first,
            after: None,
            count_total: true,
        }
    }

    /// This request, without counting the whole list ([`Page::total_count`] is then 0).
    pub fn without_total_count(self) -> Self {
        Self {
            count_total: false,
            ..self
        }
    }

    /// This request, continuing after `cursor`.
    pub fn after(self, cursor: Cursor) -> Self {
        Self {
            after: Some(cursor),
            ..self
        }
    }

    /// From GraphQL arguments: `first` defaults to 20 and must be 1..=100; `after` must be a
    /// cursor this crate encoded.
    pub fn from_args(first: Option<i32>, after: Option<&str>) -> Result<Self, DomainError> {
        let first = match first {
            None => DEFAULT_FIRST,
            Some(first) => u32::try_from(first).map_err(|_| first_out_of_range())?,
        };
        let request = Self {
            first,
            after: after.map(Cursor::decode).transpose()?,
            count_total: true,
        };
        request.validated_first()?;
        Ok(request)
    }

    pub(crate) fn validated_first(&self) -> Result<u32, DomainError> {
        if (1..=MAX_FIRST).contains(&self.first) {
            Ok(self.first)
        } else {
            Err(first_out_of_range())
        }
    }
}

fn first_out_of_range() -> DomainError {
    DomainError::invalid("first", format!("must be between 1 and {MAX_FIRST}"))
}

/// An opaque position in a list. Lists are ordered by id (UUID v7: creation order), and a cursor
/// is the id of the item it stands for, so it stays valid, and its page stable, when items are
/// inserted anywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cursor(Uuid);

impl Cursor {
    pub(crate) fn from_key(id: Uuid) -> Self {
        Self(id)
    }

    pub(crate) fn key(self) -> Uuid {
        self.0
    }

    /// The cursor as an opaque string (URL-safe base64).
    pub fn encode(&self) -> String {
        let mut bytes = [0u8; 17];
        bytes[0] = CURSOR_FORMAT;
        bytes[1..].copy_from_slice(self.0.as_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Reads a cursor made by [`Cursor::encode`]; anything else is
    /// `InvalidInput { field: "after" }`.
    pub fn decode(encoded: &str) -> Result<Cursor, DomainError> {
        let invalid = || DomainError::invalid("after", "not a cursor from this API");
        if encoded.len() > MAX_ENCODED_LEN {
            return Err(invalid());
        }
        let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| invalid())?;
        match bytes.split_first() {
            Some((&CURSOR_FORMAT, key)) => Uuid::from_slice(key).map(Cursor).map_err(|_| invalid()),
            _ => Err(invalid()),
        }
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

/// One page of a list: items with their cursors, and what lies around them.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The page's items, in list order, each with its cursor.
    pub items: Vec<(Cursor, T)>,
    /// Whether more items follow the last one.
    pub has_next_page: bool,
    /// Whether this page was asked for `after` a cursor (Relay allows this cheap answer for
    /// forward pagination).
    pub has_previous_page: bool,
    /// How many items the whole list has (with the same filters), at the time of the query; 0
    /// when the request did not ask ([`PageRequest::count_total`] false).
    pub total_count: u64,
}

impl<T> Page<T> {
    /// The same page with each item mapped.
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self
                .items
                .into_iter()
                .map(|(cursor, item)| (cursor, f(item)))
                .collect(),
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
            total_count: self.total_count,
        }
    }

    /// The cursor of the first item; `None` when the page is empty.
    pub fn start_cursor(&self) -> Option<Cursor> {
        self.items.first().map(|(cursor, _)| *cursor)
    }

    /// The cursor of the last item; `None` when the page is empty.
    pub fn end_cursor(&self) -> Option<Cursor> {
        self.items.last().map(|(cursor, _)| *cursor)
    }
}
