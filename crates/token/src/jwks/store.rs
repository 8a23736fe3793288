//! The key cache: one key set per JWKS URL, refetched on an unknown `kid` (single flight in a task
//! of its own, then a cooldown) and, in the background, when older than its maximum age (old keys
//! keep serving until a refresh lands, and if it fails).

use std::{
    pin::Pin,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use arc_swap::ArcSwapOption;
use tokio::sync::watch;

use super::{JwksError, JwksFetcher, KeySet, SigningKey, WithCauses};
use crate::{Clock, JwksSettings};

/// Keys by JWKS URL, with the refetch rules of aws-jwt-verify and a maximum age.
///
/// Invariants:
/// - only the URLs given at construction (from configuration, never from a token) are fetched;
/// - concurrent callers that miss share one fetch;
/// - after any fetch attempt of a URL, no other is made for `cooldown`, except to refresh a key
///   set older than `max_age`, which is itself attempted at most once per cooldown;
/// - a fetch, once started, runs to its end in a task of its own (`tokio::spawn`), whatever its
///   callers do: a caller that hangs up neither cancels it nor takes its cooldown back;
/// - a key set, once fetched, is replaced only by a newer successful fetch.
///
/// Fetches are spawned on the current Tokio runtime; called outside one, a fetch runs in its
/// caller instead (and is cancelled with it, the cooldown still counting from its start). A fetch
/// under way when the store is dropped finishes first (it is bounded by the fetcher's timeouts).
#[derive(Debug)]
pub struct KeyStore {
    inner: Arc<Inner>,
}

/// What a store and its fetch tasks share.
#[derive(Debug)]
struct Inner {
    fetcher: Arc<dyn JwksFetcher>,
    clock: Arc<dyn Clock>,
    settings: JwksSettings,
    /// One slot per configured URL, resolved when the verifier is built so that a lookup hashes
    /// no URL.
    slots: Vec<Slot>,
    stats: Counters,
}

/// The outcome of one fetch, as every caller that shared it sees it.
type Outcome = Result<Arc<KeySet>, JwksError>;

/// Per-URL fetch bookkeeping.
#[derive(Debug)]
struct Slot {
    url: String,
    /// The key set of the last successful fetch (`None` until one succeeds). Read on every
    /// verification without a lock or a reference count; replaced whole by a fetch.
    keys: ArcSwapOption<KeySet>,
    /// Fetch attempts ended so far; a caller that sees it moved since it looked knows another
    /// fetch ended for it. Read without the lock on every lookup.
    attempts: AtomicU64,
    state: Mutex<SlotState>,
}

/// The part of a slot that decides whether to fetch; never locked across an `await`.
#[derive(Debug, Default)]
struct SlotState {
    /// When the last attempt started, by the monotonic clock (`None`: never). Set when a fetch
    /// starts and never taken back.
    last_attempt: Option<Duration>,
    /// The fetch under way, if any: its outcome arrives here. The single flight.
    in_flight: Option<watch::Receiver<Option<Outcome>>>,
    /// Why the last attempt failed, if it did.
    last_error: Option<JwksError>,
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
                    keys: ArcSwapOption::empty(),
                    attempts: AtomicU64::new(0),
                    state: Mutex::new(SlotState::default()),
                });
            }
        }
        let inner = Inner {
            fetcher,
            clock,
            settings,
            slots,
            stats: Counters::default(),
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The slot of `url`, if it is one of the store's.
    pub(crate) fn slot_of(&self, url: &str) -> Option<SlotId> {
        self.inner
            .slots
            .iter()
            .position(|s| s.url == url)
            .map(SlotId)
    }

    /// The key `kid` of the slot's set, fetching or refreshing the set when the rules allow.
    pub(crate) async fn key(
        &self,
        SlotId(index): SlotId,
        kid: &str,
    ) -> Result<Arc<SigningKey>, KeyLookupError> {
        let slot = &self.inner.slots[index];
        let seen = slot.attempts.load(Ordering::Acquire);
        // The guard is short-lived: dropped before any wait.
        let stale = match &*slot.keys.load() {
            Some(set) => match set.get(kid) {
                // The common case: the key is at hand and its set is fresh.
                Some(key) if !self.is_stale(set) => return Ok(Arc::clone(key)),
                Some(_) => Some(Arc::clone(set)),
                // Unknown kid.
                None => None,
            },
            // Nothing fetched yet.
            None => None,
        };
        let set = match stale {
            Some(set) => self.refresh_stale(index, set).await,
            // One shared fetch, unless cooling down.
            None => self
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
        for (index, slot) in self.inner.slots.iter().enumerate() {
            if only_missing && slot.keys.load().is_some() {
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
        self.inner
            .slots
            .iter()
            .all(|slot| slot.keys.load().is_some())
    }

    /// Fetch outcomes so far (counted when a fetch ends, whether or not anyone still waits).
    pub fn fetch_stats(&self) -> FetchStats {
        FetchStats {
            succeeded: self.inner.stats.ok.load(Ordering::Relaxed),
            failed: self.inner.stats.failed.load(Ordering::Relaxed),
        }
    }

    fn is_stale(&self, set: &KeySet) -> bool {
        self.inner
            .clock
            .monotonic()
            .saturating_sub(set.fetched_at())
            > self.inner.settings.max_age
    }

    /// Starts a refresh of a set past its maximum age if nobody else is and the cooldown allows,
    /// and answers from the old set without waiting for it: a slow or dead key endpoint never
    /// slows a request whose key is cached. The refreshed set serves once it lands; a failed
    /// refresh (logged by the fetch) leaves the old keys serving. Outside a Tokio runtime the
    /// caller drives the fetch itself and so waits for it.
    async fn refresh_stale(&self, index: usize, old: Arc<KeySet>) -> Arc<KeySet> {
        let flight = {
            let mut state = lock(&self.inner.slots[index].state);
            if state.in_flight.is_some() || self.inner.cooling_down(&state) {
                return old;
            }
            self.inner.start_flight(index, &mut state)
        };
        match flight {
            Flight::Shared(_) => old,
            inline @ Flight::Inline(..) => inline.outcome().await.unwrap_or(old),
        }
    }

    /// The current set after at most one fetch shared with every concurrent caller.
    async fn fetch_shared(
        &self,
        index: usize,
        seen_attempts: u64,
    ) -> Result<Arc<KeySet>, JwksError> {
        let slot = &self.inner.slots[index];
        let flight = {
            let mut state = lock(&slot.state);
            let someone_fetched = slot.attempts.load(Ordering::Acquire) != seen_attempts;
            match &state.in_flight {
                Some(outcome) => Some(Flight::Shared(outcome.clone())),
                None if someone_fetched || self.inner.cooling_down(&state) => None,
                None => Some(self.inner.start_flight(index, &mut state)),
            }
        };
        let Some(flight) = flight else {
            return match slot.keys.load_full() {
                Some(set) => Ok(set),
                None => Err(self.inner.last_error(slot)),
            };
        };
        match flight.outcome().await {
            Ok(set) => Ok(set),
            // A failed refetch never drops keys that were fetched before (the fetch logged it).
            Err(error) => slot.keys.load_full().ok_or(error),
        }
    }
}

/// A fetch a caller waits for: one on a task of its own (started or joined), or (outside a
/// Tokio runtime) one it must drive itself.
enum Flight {
    Shared(watch::Receiver<Option<Outcome>>),
    Inline(
        watch::Receiver<Option<Outcome>>,
        Pin<Box<dyn Future<Output = ()> + Send>>,
    ),
}

impl Flight {
    /// Waits for the fetch's outcome. Dropping this future abandons the wait, not the fetch
    /// (except an inline one).
    async fn outcome(self) -> Outcome {
        let mut outcome = match self {
            Self::Shared(outcome) => outcome,
            Self::Inline(outcome, fetch) => {
                fetch.await;
                outcome
            }
        };
        // No outcome ever comes when the fetch task stopped first (its runtime shut down).
        match outcome.wait_for(Option::is_some).await {
            Ok(ended) => ended.clone().unwrap_or(Err(JwksError::Interrupted)),
            Err(_) => Err(JwksError::Interrupted),
        }
    }
}

impl Inner {
    fn cooling_down(&self, state: &SlotState) -> bool {
        state.last_attempt.is_some_and(|started| {
            self.clock.monotonic().saturating_sub(started) < self.settings.cooldown
        })
    }

    /// Starts a fetch of the slot's URL in a task of its own; the caller holds the slot's state,
    /// has checked that no fetch is under way, and waits for the returned flight (or not).
    fn start_flight(self: &Arc<Self>, index: usize, state: &mut SlotState) -> Flight {
        state.last_attempt = Some(self.clock.monotonic());
        let (sender, outcome) = watch::channel(None);
        state.in_flight = Some(outcome.clone());
        let fetch = Arc::clone(self).fetch(index, sender);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                drop(runtime.spawn(fetch));
                Flight::Shared(outcome)
            }
            Err(_) => Flight::Inline(outcome, Box::pin(fetch)),
        }
    }

    /// One fetch attempt, from start to recorded outcome; then every waiter is told.
    async fn fetch(self: Arc<Self>, index: usize, waiters: watch::Sender<Option<Outcome>>) {
        let slot = &self.slots[index];
        let url = slot.url.as_str();
        // Ends the flight whatever happens, even if this task is dropped before the outcome.
        let landing = Landing { slot };
        let result = match self.fetcher.fetch(url).await {
            Ok(body) => KeySet::parse(&body, self.clock.monotonic()),
            Err(e) => Err(e),
        };
        let outcome = match result {
            Ok(set) => {
                self.stats.ok.fetch_add(1, Ordering::Relaxed);
                tracing::info!(url, keys = set.len(), "fetched JWKS");
                let set = Arc::new(set);
                slot.keys.store(Some(Arc::clone(&set)));
                lock(&slot.state).last_error = None;
                Ok(set)
            }
            Err(error) => {
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
                if slot.keys.load().is_some() {
                    tracing::warn!(
                        url,
                        error = %WithCauses(&error),
                        "JWKS fetch failed; cached keys keep serving"
                    );
                } else {
                    tracing::warn!(url, error = %WithCauses(&error), "JWKS fetch failed");
                }
                lock(&slot.state).last_error = Some(error.clone());
                Err(error)
            }
        };
        // The outcome is recorded (key set, last error) before the flight ends, so a caller that
        // finds no flight and the attempt count moved also finds the new set or the error.
        drop(landing);
        waiters.send_replace(Some(outcome));
    }

    fn last_error(&self, slot: &Slot) -> JwksError {
        lock(&slot.state)
            .last_error
            .clone()
            .unwrap_or(JwksError::NotFetchedYet)
    }
}

/// Ends a slot's flight when dropped: no fetch under way any more, one more attempt counted.
/// The attempt's start time stays: the cooldown counts from it.
struct Landing<'a> {
    slot: &'a Slot,
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        let mut state = lock(&self.slot.state);
        state.in_flight = None;
        self.slot.attempts.fetch_add(1, Ordering::AcqRel);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::{
        sync::atomic::AtomicUsize,
        task::{Context, Poll, Waker},
    };

    use bytes::Bytes;

    use super::*;
    use crate::{ManualClock, testing::TestSigningKey};

    /// Serves a fixed key set at once, counting requests; needs no runtime.
    #[derive(Debug)]
    struct ReadyFetcher {
        body: Bytes,
        requests: AtomicUsize,
    }

    #[async_trait::async_trait]
    impl JwksFetcher for ReadyFetcher {
        async fn fetch(&self, _url: &str) -> Result<Bytes, JwksError> {
            self.requests.fetch_add(1, Ordering::SeqCst);
            Ok(self.body.clone())
        }
    }

    /// Drives `future` on this thread, outside any Tokio runtime.
    fn run<F: Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut context = Context::from_waker(Waker::noop());
        for _ in 0..10_000 {
            if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
                return output;
            }
            std::thread::yield_now();
        }
        panic!("the future did not finish without a runtime");
    }

    /// Never answers.
    #[derive(Debug)]
    struct SilentFetcher;

    #[async_trait::async_trait]
    impl JwksFetcher for SilentFetcher {
        async fn fetch(&self, _url: &str) -> Result<Bytes, JwksError> {
            std::future::pending().await
        }
    }

    fn silent_store() -> KeyStore {
        KeyStore::new(
            ["https://example.test/jwks.json".to_owned()],
            Arc::new(SilentFetcher),
            Arc::new(ManualClock::starting_now()),
            JwksSettings::standard(),
        )
    }

    fn poll_once<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
        future.poll(&mut Context::from_waker(Waker::noop()))
    }

    fn unavailable(outcome: Result<Arc<SigningKey>, KeyLookupError>) -> JwksError {
        match outcome {
            Err(KeyLookupError::Unavailable(error)) => error,
            other => panic!("expected no key set, got {other:?}"),
        }
    }

    #[test]
    fn a_fetch_cancelled_with_its_caller_leaves_nothing_fetched_until_the_cooldown_ends() {
        let store = silent_store();
        let mut first = Box::pin(store.key(SlotId(0), "k1"));
        assert!(poll_once(first.as_mut()).is_pending());
        drop(first);
        let error = unavailable(run(store.key(SlotId(0), "k1")));
        assert_eq!(error, JwksError::NotFetchedYet);
        assert_eq!(error.to_string(), "no key set fetched yet");
    }

    #[test]
    fn a_fetch_whose_runtime_shut_down_is_interrupted() {
        let store = silent_store();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut waiting = Box::pin(store.key(SlotId(0), "k1"));
        runtime.block_on(async {
            assert!(poll_once(waiting.as_mut()).is_pending());
            tokio::task::yield_now().await; // the fetch task starts, and never answers
        });
        drop(runtime);
        let error = unavailable(run(waiting));
        assert_eq!(error, JwksError::Interrupted);
        assert_eq!(
            error.to_string(),
            "the key set fetch stopped before it ended"
        );
    }

    #[test]
    fn outside_a_runtime_fetches_run_in_the_caller_under_the_same_rules() {
        assert!(tokio::runtime::Handle::try_current().is_err());
        let key = TestSigningKey::generate("k1");
        let body = serde_json::json!({ "keys": [key.jwk()] }).to_string();
        let fetcher = Arc::new(ReadyFetcher {
            body: Bytes::from(body),
            requests: AtomicUsize::new(0),
        });
        let clock = Arc::new(ManualClock::starting_now());
        let store = KeyStore::new(
            ["https://example.test/jwks.json".to_owned()],
            Arc::clone(&fetcher) as _,
            Arc::clone(&clock) as _,
            JwksSettings::standard(),
        );
        let slot = SlotId(0);
        assert!(run(store.key(slot, "k1")).is_ok());
        assert!(matches!(
            run(store.key(slot, "other")),
            Err(KeyLookupError::UnknownKid)
        ));
        assert_eq!(fetcher.requests.load(Ordering::SeqCst), 1, "cooling down");
        clock.advance(Duration::from_secs(11));
        assert!(matches!(
            run(store.key(slot, "other")),
            Err(KeyLookupError::UnknownKid)
        ));
        assert_eq!(fetcher.requests.load(Ordering::SeqCst), 2);
    }
}
