//! The time source of every time-based check, injectable so tests never sleep.

use std::{
    fmt,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// Tells the current time as a duration since the Unix epoch.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now, since 1970-01-01T00:00:00Z.
    fn now(&self) -> Duration;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        // A clock before 1970 is broken; treating it as the epoch makes every token look issued
        // in the future, which fails closed.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
    }
}

/// A clock that moves only when told to (`test-helpers`).
#[cfg(any(test, feature = "test-helpers"))]
#[derive(Debug)]
pub struct ManualClock {
    millis: std::sync::atomic::AtomicU64,
}

#[cfg(any(test, feature = "test-helpers"))]
impl ManualClock {
    /// A clock showing the current system time.
    pub fn starting_now() -> Self {
        Self::at(SystemClock.now())
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
}
