//! The time source of every time-based check, injectable so tests never sleep.

use std::{
    fmt,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

/// Tells the time: the wall clock for token dates, a monotonic one for cache timing.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now, since 1970-01-01T00:00:00Z (for `exp`, `nbf`, `iat`).
    fn now(&self) -> Duration;

    /// Time since an arbitrary fixed origin, never going back (for cooldowns and key-set age,
    /// which a wall clock stepped back by NTP would freeze).
    fn monotonic(&self) -> Duration;
}

/// The system's wall clock and its monotonic clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl Default for SystemClock {
    fn default() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Clock for SystemClock {
    fn monotonic(&self) -> Duration {
        self.origin.elapsed()
    }

    fn now(&self) -> Duration {
        // A clock before 1970 is broken; treating it as the epoch makes every token look issued
        // in the future, which fails closed.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
    }
}

/// A clock that moves only when told to (`test-helpers`); its monotonic reading moves with it.
#[cfg(any(test, feature = "test-helpers"))]
#[derive(Debug)]
pub struct ManualClock {
    millis: std::sync::atomic::AtomicU64,
}

#[cfg(any(test, feature = "test-helpers"))]
impl ManualClock {
    /// A clock showing the current system time.
    pub fn starting_now() -> Self {
        Self::at(SystemClock::default().now())
    }

    /// A clock showing `since_epoch`.
    pub fn at(since_epoch: Duration) -> Self {
        Self {
            millis: std::sync::atomic::AtomicU64::new(
                u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX),
            ),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.millis
            .fetch_add(by, std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(any(test, feature = "test-helpers"))]
impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_millis(self.millis.load(std::sync::atomic::Ordering::SeqCst))
    }

    fn monotonic(&self) -> Duration {
        self.now()
    }
}
