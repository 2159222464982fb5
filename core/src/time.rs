//! Time as the core sees it: instants handed in by the driver, never read from a clock.

#[allow(unused_imports)]
use crate::prelude::*;
use core::fmt;
use core::time::Duration;

/// An instant in Unix milliseconds, as supplied by the driver (`Date.now()`,
/// `System.currentTimeMillis()`, `time.time() * 1000`, …).
///
/// The core never reads a clock; every state-changing call takes the driver's `now`.
/// The clock may jump backwards or forwards (device sleep): the core copes with both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// Builds a timestamp from Unix milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        Timestamp(ms)
    }

    /// Builds a timestamp from Unix seconds (JWT `exp`/`iat`).
    pub const fn from_secs(s: u64) -> Self {
        Timestamp(s.saturating_mul(1000))
    }

    /// Unix milliseconds.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating.
    pub fn plus(self, d: Duration) -> Self {
        Timestamp(self.0.saturating_add(millis(d)))
    }

    /// `self - d`, saturating at the epoch.
    pub fn minus(self, d: Duration) -> Self {
        Timestamp(self.0.saturating_sub(millis(d)))
    }

    /// Shifts by a signed number of milliseconds, saturating.
    pub fn offset(self, ms: i64) -> Self {
        if ms >= 0 {
            Timestamp(self.0.saturating_add(ms.unsigned_abs()))
        } else {
            Timestamp(self.0.saturating_sub(ms.unsigned_abs()))
        }
    }

    /// The time from `earlier` to `self`, zero when `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    /// Signed difference `self - other` in milliseconds.
    pub fn diff_millis(self, other: Timestamp) -> i64 {
        let d = i128::from(self.0) - i128::from(other.0);
        d.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

/// A duration in whole milliseconds, saturating at `u64::MAX`.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
