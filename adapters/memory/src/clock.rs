//! Clocks: the system clock for running shops, a manual one for tests.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Duration, TimeZone, Utc};
use shopkit_core::ports::Clock;

/// The real time, from the operating system.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl SystemClock {
    /// The system clock.
    pub fn new() -> Self {
        SystemClock
    }
}

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when a test moves it.
///
/// Clones share one time: hand a clone to the adapters and services under test, keep one
/// in the test, and [`advance`](ManualClock::advance) it to expire carts, reservations,
/// tokens or presigned URLs without sleeping.
#[derive(Clone, Debug)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock { now: Arc::new(Mutex::new(start)) }
    }

    /// A clock stopped at 2025-01-01T00:00:00Z, a fixed instant so tests are repeatable.
    pub fn at_fixed_start() -> Self {
        ManualClock::new(
            Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).single().unwrap_or(DateTime::UNIX_EPOCH),
        )
    }

    /// Sets the time (it may go backwards: a test can model a skewed clock).
    pub fn set(&self, t: DateTime<Utc>) {
        *self.lock() = t;
    }

    /// Moves the time by `by` (negative moves it back) and returns the new time. Saturates
    /// at the limits of `DateTime<Utc>` rather than overflowing.
    pub fn advance(&self, by: Duration) -> DateTime<Utc> {
        let mut now = self.lock();
        let saturated =
            if by < Duration::zero() { DateTime::<Utc>::MIN_UTC } else { DateTime::<Utc>::MAX_UTC };
        *now = now.checked_add_signed(by).unwrap_or(saturated);
        *now
    }

    fn lock(&self) -> MutexGuard<'_, DateTime<Utc>> {
        self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for ManualClock {
    /// Same as [`ManualClock::at_fixed_start`].
    fn default() -> Self {
        ManualClock::at_fixed_start()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_stands_still_until_moved() {
        let clock = ManualClock::default();
        let start = clock.now();

        assert_eq!(clock.now(), start);
        assert_eq!(start, Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap());
    }

    #[test]
    fn clones_of_a_manual_clock_share_one_time() {
        let clock = ManualClock::default();
        let handed_out = clock.clone();

        let moved = clock.advance(Duration::minutes(90));

        assert_eq!(handed_out.now(), moved);
        assert_eq!(
            moved - Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
            Duration::minutes(90)
        );
    }

    #[test]
    fn a_manual_clock_can_be_set_and_moved_backwards() {
        let clock = ManualClock::default();
        let t = Utc.with_ymd_and_hms(2030, 6, 1, 12, 0, 0).unwrap();

        clock.set(t);
        clock.advance(Duration::seconds(-30));

        assert_eq!(clock.now(), t - Duration::seconds(30));
    }

    #[test]
    fn advancing_past_the_end_of_time_saturates_instead_of_panicking() {
        let clock = ManualClock::default();

        clock.advance(Duration::MAX);

        assert_eq!(clock.now(), DateTime::<Utc>::MAX_UTC);
    }

    #[test]
    fn the_system_clock_reads_the_current_time() {
        let before = Utc::now();

        let now = SystemClock.now();

        assert!(now >= before && now <= Utc::now());
    }
}
