//! The brute-force throttle: after [`MAX_FAILURES`] consecutive failed sign-ins for one
//! email, sign-ins for it are refused for [`LOCKOUT`]; each further failure locks it again,
//! and a success resets the count.
//!
//! It applies to every email alike, with or without an account, so being throttled tells
//! nothing about which emails exist. Attempts in flight count against the budget, so
//! concurrent guesses cannot overshoot it.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use shopkit_core::ports::AccountError;

/// Consecutive failures that lock an email.
pub const MAX_FAILURES: u32 = 5;

/// How long a locked email stays locked.
pub const LOCKOUT: Duration = Duration::seconds(60);

/// Above this many tracked emails, counts idle for [`FORGET_AFTER`] are forgotten, so a
/// flood of made-up emails cannot grow memory without bound.
const MAX_TRACKED: usize = 10_000;
const FORGET_AFTER: Duration = Duration::minutes(15);

#[derive(Debug)]
struct Attempts {
    failures: u32,
    in_flight: u32,
    locked_until: Option<DateTime<Utc>>,
    last_seen: DateTime<Utc>,
}

/// Failed-attempt counts by email lookup key.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    by_email: HashMap<String, Attempts>,
}

impl Throttle {
    /// Admits an attempt for `email` at `now`, or refuses it. An admitted attempt MUST be
    /// settled with [`failed`](Self::failed), [`succeeded`](Self::succeeded) or
    /// [`abandoned`](Self::abandoned).
    pub(crate) fn admit(&mut self, email: &str, now: DateTime<Utc>) -> Result<(), AccountError> {
        if self.by_email.len() >= MAX_TRACKED && !self.by_email.contains_key(email) {
            self.forget_idle(now);
        }
        let attempts = self.by_email.entry(email.to_owned()).or_insert(Attempts {
            failures: 0,
            in_flight: 0,
            locked_until: None,
            last_seen: now,
        });
        if let Some(until) = attempts.locked_until.filter(|until| *until > now) {
            let millis = (until - now).num_milliseconds();
            let seconds = u64::try_from((millis + 999) / 1000).unwrap_or(1).max(1);
            return Err(AccountError::Throttled { retry_after_seconds: seconds });
        }
        // Once locked before, one attempt at a time; otherwise what is left of the budget.
        let budget = MAX_FAILURES.saturating_sub(attempts.failures).max(1);
        if attempts.in_flight >= budget {
            return Err(AccountError::Throttled { retry_after_seconds: 1 });
        }
        attempts.in_flight += 1;
        attempts.last_seen = now;
        Ok(())
    }

    /// Settles an attempt that failed; locks the email at the limit.
    pub(crate) fn failed(&mut self, email: &str, now: DateTime<Utc>) {
        if let Some(attempts) = self.by_email.get_mut(email) {
            attempts.in_flight = attempts.in_flight.saturating_sub(1);
            attempts.failures = attempts.failures.saturating_add(1);
            attempts.last_seen = now;
            if attempts.failures >= MAX_FAILURES {
                attempts.locked_until = Some(now + LOCKOUT);
            }
        }
    }

    /// Settles an attempt that succeeded: the count starts over.
    pub(crate) fn succeeded(&mut self, email: &str) {
        if let Some(attempts) = self.by_email.get_mut(email) {
            attempts.in_flight = attempts.in_flight.saturating_sub(1);
            attempts.failures = 0;
            attempts.locked_until = None;
            if attempts.in_flight == 0 {
                self.by_email.remove(email);
            }
        }
    }

    /// Settles an attempt that ended without an answer (cancelled, or the hasher failed).
    pub(crate) fn abandoned(&mut self, email: &str) {
        if let Some(attempts) = self.by_email.get_mut(email) {
            attempts.in_flight = attempts.in_flight.saturating_sub(1);
            if attempts.in_flight == 0 && attempts.failures == 0 {
                self.by_email.remove(email);
            }
        }
    }

    fn forget_idle(&mut self, now: DateTime<Utc>) {
        self.by_email.retain(|_, a| {
            a.in_flight > 0
                || a.locked_until.is_some_and(|until| until > now)
                || a.last_seen + FORGET_AFTER > now
        });
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.by_email.len()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap()
    }

    fn fail(throttle: &mut Throttle, email: &str, now: DateTime<Utc>) {
        throttle.admit(email, now).unwrap();
        throttle.failed(email, now);
    }

    fn retry_after(result: Result<(), AccountError>) -> Option<u64> {
        match result {
            Err(AccountError::Throttled { retry_after_seconds }) => Some(retry_after_seconds),
            _ => None,
        }
    }

    #[test]
    fn five_failures_lock_an_email_for_a_minute() {
        let mut throttle = Throttle::default();
        for _ in 0..MAX_FAILURES {
            fail(&mut throttle, "ann", t0());
        }

        let locked = throttle.admit("ann", t0() + Duration::seconds(20));
        let other = throttle.admit("bob", t0() + Duration::seconds(20));
        let later = throttle.admit("ann", t0() + LOCKOUT);

        assert_eq!(retry_after(locked), Some(40));
        assert!(other.is_ok(), "other emails are not affected");
        assert!(later.is_ok(), "the lock ends after a minute");
    }

    #[test]
    fn four_failures_do_not_lock() {
        let mut throttle = Throttle::default();
        for _ in 0..MAX_FAILURES - 1 {
            fail(&mut throttle, "ann", t0());
        }

        assert!(throttle.admit("ann", t0()).is_ok());
    }

    #[test]
    fn a_success_resets_the_count() {
        let mut throttle = Throttle::default();
        for _ in 0..MAX_FAILURES - 1 {
            fail(&mut throttle, "ann", t0());
        }
        throttle.admit("ann", t0()).unwrap();
        throttle.succeeded("ann");

        for _ in 0..MAX_FAILURES - 1 {
            fail(&mut throttle, "ann", t0());
        }

        assert!(throttle.admit("ann", t0()).is_ok(), "the count started over");
        assert_eq!(throttle.tracked(), 1);
    }

    #[test]
    fn a_failure_after_the_lock_ends_locks_again() {
        let mut throttle = Throttle::default();
        for _ in 0..MAX_FAILURES {
            fail(&mut throttle, "ann", t0());
        }
        let after = t0() + LOCKOUT;

        fail(&mut throttle, "ann", after);

        assert_eq!(retry_after(throttle.admit("ann", after)), Some(60));
    }

    #[test]
    fn concurrent_attempts_cannot_exceed_the_budget() {
        let mut throttle = Throttle::default();

        let admitted =
            (0..2 * MAX_FAILURES).filter(|_| throttle.admit("ann", t0()).is_ok()).count();

        assert_eq!(admitted, MAX_FAILURES as usize);
    }

    #[test]
    fn abandoned_attempts_give_their_slot_back() {
        let mut throttle = Throttle::default();
        for _ in 0..MAX_FAILURES {
            throttle.admit("ann", t0()).unwrap();
        }

        throttle.abandoned("ann");

        assert!(throttle.admit("ann", t0()).is_ok());
    }

    #[test]
    fn idle_counts_are_forgotten_only_when_too_many_emails_are_tracked() {
        let mut throttle = Throttle::default();
        for i in 0..MAX_TRACKED {
            fail(&mut throttle, &format!("user{i}"), t0());
        }
        let later = t0() + FORGET_AFTER + Duration::seconds(1);

        fail(&mut throttle, "newcomer", later);

        assert_eq!(throttle.tracked(), 1);
    }
}
