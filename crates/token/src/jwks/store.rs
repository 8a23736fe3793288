//! The key cache: one key set per JWKS URL, refetched on an unknown `kid` (single flight, then a
//! cooldown) and when older than its maximum age (old keys keep serving if that fails).

use std::{
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use super::{JwksError, JwksFetcher, KeySet, SigningKey};
use crate::{Clock, JwksSettings};

/// Keys by JWKS URL, with the refetch rules of aws-jwt-verify and a maximum age.
///
/// Invariants:
/// - only the URLs given at construction (from configuration, never from a token) are fetched;
/// - concurrent callers that miss share one fetch;
/// - after any fetch attempt of a URL, no other is made for `cooldown`, except to refresh a key
///   set older than `max_age`, which is itself attempted at most once per cooldown;
/// - a key set, once fetched, is replaced only by a newer successful fetch.
#[derive(Debug)]
pub struct KeyStore {
    fetcher: Arc<dyn JwksFetcher>,
    clock: Arc<dyn Clock>,
    settings: JwksSettings,
    /// Key sets by slot index: one slot per configured URL, resolved when the verifier is built
    /// so that a lookup hashes no URL.
    cache: moka::future::Cache<usize, Arc<KeySet>>,
    slots: Vec<Slot>,
    stats: Counters,
}

/// Per-URL fetch bookkeeping.
#[derive(Debug, Default)]
struct Slot {
    url: String,
    /// Held while fetching: the single flight.
    fetch_lock: tokio::sync::Mutex<()>,
    /// Fetch attempts so far; a waiter that sees it moved knows another caller fetched for it.
    attempts: AtomicU64,
    /// When the last attempt started, in ms of the monotonic clock (0: never).
    last_attempt_ms: AtomicU64,
    /// Why the last attempt failed, if it did.
    last_error: Mutex<Option<JwksError>>,
}

#[derive(Debug, Default)]
struct Counters {
    ok: AtomicU64,
    failed: AtomicU64,
}

/// How many JWKS fetches were made and how they ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchStats {
    /// Fetches that produced a usable key set.
    pub succeeded: u64,
    /// Fetches that failed (network, status, size or content).
    pub failed: u64,
}

/// A configured JWKS URL's place in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SlotId(usize);

/// Why no key could be returned.
#[derive(Debug)]
pub(crate) enum KeyLookupError {
    /// A key set is at hand and has no such kid.
    UnknownKid,
    /// No key set could be had.
    Unavailable(JwksError),
}

impl KeyStore {
    /// A store for exactly these JWKS URLs (repeats are merged).
    pub fn new(
        urls: impl IntoIterator<Item = String>,
        fetcher: Arc<dyn JwksFetcher>,
        clock: Arc<dyn Clock>,
        settings: JwksSettings,
    ) -> Self {
        let mut slots: Vec<Slot> = Vec::new();
        for url in urls {
            if !slots.iter().any(|slot| slot.url == url) {
                slots.push(Slot {
                    url,
                    ..Slot::default()
                });
            }
        }
        Self {
            fetcher,
            clock,
            settings,
            cache: moka::future::Cache::builder()
                .name("cognigraph-jwks")
                .build(),
            slots,
            stats: Counters::default(),
        }
    }

    /// The slot of `url`, if it is one of the store's.
    pub(crate) fn slot_of(&self, url: &str) -> Option<SlotId> {
        self.slots.iter().position(|s| s.url == url).map(SlotId)
    }

    /// The key `kid` of the slot's set, fetching or refreshing the set when the rules allow.
    pub(crate) async fn key(
        &self,
        SlotId(index): SlotId,
        kid: &str,
    ) -> Result<Arc<SigningKey>, KeyLookupError> {
        let seen = self.slots[index].attempts.load(Ordering::Acquire);
        let set = match self.cache.get(&index).await {
            Some(set) if set.get(kid).is_some() => {
                if self.is_stale(&set) {
                    self.refresh_stale(index, set).await
                } else {
                    set
                }
            }
            // Unknown kid, or nothing cached yet: one shared fetch, unless cooling down.
            _ => self
                .fetch_shared(index, seen)
                .await
                .map_err(KeyLookupError::Unavailable)?,
        };
        set.get(kid).cloned().ok_or(KeyLookupError::UnknownKid)
    }

    /// Fetches every URL that has no key set yet; the first failure is returned (all are tried).
    pub async fn hydrate(&self) -> Result<(), (String, JwksError)> {
        self.fetch_each(true).await
    }

    /// Refetches every URL not fetched within the cooldown (after a key rotation, say). A failed
    /// fetch keeps the old keys and is only logged; an error is returned only for a URL that
    /// still has no keys at all (all URLs are tried).
    pub async fn refresh(&self) -> Result<(), (String, JwksError)> {
        self.fetch_each(false).await
    }

    async fn fetch_each(&self, only_missing: bool) -> Result<(), (String, JwksError)> {
        let mut first_error = None;
        for (index, slot) in self.slots.iter().enumerate() {
            if only_missing && self.cache.contains_key(&index) {
                continue;
            }
            let seen = slot.attempts.load(Ordering::Acquire);
            if let Err(e) = self.fetch_shared(index, seen).await {
                first_error.get_or_insert((slot.url.clone(), e));
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Whether every configured URL has a key set. Cheap: no I/O, no await.
    pub fn keys_loaded(&self) -> bool {
        (0..self.slots.len()).all(|index| self.cache.contains_key(&index))
    }

    /// Fetch outcomes so far.
    pub fn fetch_stats(&self) -> FetchStats {
        FetchStats {
            succeeded: self.stats.ok.load(Ordering::Relaxed),
            failed: self.stats.failed.load(Ordering::Relaxed),
        }
    }

    fn is_stale(&self, set: &KeySet) -> bool {
        self.clock.monotonic().saturating_sub(set.fetched_at()) > self.settings.max_age
    }

    fn cooling_down(&self, slot: &Slot) -> bool {
        let last = slot.last_attempt_ms.load(Ordering::Acquire);
        last != 0 && self.now_ms().saturating_sub(last) < duration_ms(self.settings.cooldown)
    }

    fn now_ms(&self) -> u64 {
        duration_ms(self.clock.monotonic())
    }

    /// Refreshes a set past its maximum age if nobody else is and the cooldown allows; callers
    /// that find a refresh under way keep using the old set rather than wait.
    async fn refresh_stale(&self, index: usize, old: Arc<KeySet>) -> Arc<KeySet> {
        let slot = &self.slots[index];
        let Ok(_guard) = slot.fetch_lock.try_lock() else {
            return old;
        };
        if self.cooling_down(slot) {
            return old;
        }
        match self.fetch_now(index).await {
            Ok(set) => set,
            Err(error) => {
                tracing::warn!(url = slot.url, %error, "JWKS refresh failed; cached keys keep serving");
                old
            }
        }
    }

    /// The current set after at most one fetch shared with every concurrent caller.
    async fn fetch_shared(
        &self,
        index: usize,
        seen_attempts: u64,
    ) -> Result<Arc<KeySet>, JwksError> {
        let slot = &self.slots[index];
        let _guard = slot.fetch_lock.lock().await;
        let someone_fetched = slot.attempts.load(Ordering::Acquire) != seen_attempts;
        if someone_fetched || self.cooling_down(slot) {
            return match self.cache.get(&index).await {
                Some(set) => Ok(set),
                None => Err(self.last_error(slot)),
            };
        }
        match self.fetch_now(index).await {
            Ok(set) => Ok(set),
            // A failed refetch never drops keys that were fetched before.
            Err(error) => match self.cache.get(&index).await {
                Some(set) => {
                    tracing::warn!(url = slot.url, %error, "JWKS refetch failed; cached keys keep serving");
                    Ok(set)
                }
                None => Err(error),
            },
        }
    }

    /// One fetch attempt; the caller holds the slot's lock.
    async fn fetch_now(&self, index: usize) -> Result<Arc<KeySet>, JwksError> {
        let slot = &self.slots[index];
        let url = slot.url.as_str();
        // If the caller gives up mid-fetch (its request was cancelled), the attempt never
        // happened: restore the previous start time so the cooldown does not lock out the next
        // caller with no recorded outcome.
        let attempt = AttemptInProgress {
            slot,
            previous_start: slot
                .last_attempt_ms
                .swap(self.now_ms().max(1), Ordering::AcqRel),
        };
        let result = match self.fetcher.fetch(url).await {
            Ok(body) => KeySet::parse(&body, self.clock.monotonic()),
            Err(e) => Err(e),
        };
        attempt.finish();
        let outcome = match result {
            Ok(set) => {
                self.stats.ok.fetch_add(1, Ordering::Relaxed);
                tracing::info!(url, keys = set.len(), "fetched JWKS");
                let set = Arc::new(set);
                self.cache.insert(index, Arc::clone(&set)).await;
                *lock(&slot.last_error) = None;
                Ok(set)
            }
            Err(error) => {
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(url, %error, "JWKS fetch failed");
                *lock(&slot.last_error) = Some(error.clone());
                Err(error)
            }
        };
        // Counted only once the outcome is recorded, so a waiter that sees the count move also
        // sees the new set or the error.
        slot.attempts.fetch_add(1, Ordering::AcqRel);
        outcome
    }

    fn last_error(&self, slot: &Slot) -> JwksError {
        lock(&slot.last_error)
            .clone()
            .unwrap_or_else(|| JwksError::Network("no key set fetched yet".to_owned()))
    }
}

/// Marks a fetch attempt as started; dropped unfinished, it takes the start back.
struct AttemptInProgress<'a> {
    slot: &'a Slot,
    previous_start: u64,
}

impl AttemptInProgress<'_> {
    fn finish(self) {
        std::mem::forget(self);
    }
}

impl Drop for AttemptInProgress<'_> {
    fn drop(&mut self) {
        self.slot
            .last_attempt_ms
            .store(self.previous_start, Ordering::Release);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
