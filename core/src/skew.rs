//! The estimate of the server's clock (server − driver, in ms), and which answers may
//! move it.
//!
//! The estimate only schedules the session: the JWT's `exp`, the refresh token's
//! expiry and the proactive refresh are instants on the *issuer's* clock. So only the
//! issuer's own word moves it:
//!
//! - A grant (a 2xx exchange/refresh answer with a readable JWT) carries the issue time,
//!   signed by the issuer on the clock its `exp` is on: the JWT's `iat`, or
//!   `exp − expires_in` when there is no `iat`. That is the estimate's source. The
//!   answer's `Date` is only a cross-check: a `Date` minutes or hours away from `iat`
//!   is a broken proxy or a host with a wrong clock, not the issuer's clock — with one
//!   exception: when by that `Date` the JWT had already expired, the `Date` agrees with
//!   what the client already knew of the server's clock and the issue time does not
//!   (beyond [`DATE_TOLERANCE`]), the JWT is stale (issued long ago, or replayed): the
//!   grant is judged by the `Date` — dead on arrival, not a reason to move the clock.
//!   (Fooling this takes a device clock that stepped unseen by the same hours as a
//!   broken `Date`, further than a JWT's lifetime.)
//!   A grant with no issue time at all lets its `Date` count only when that `Date`
//!   makes the JWT neither expired nor issued more than [`MAX_GRANT_AGE`] before its
//!   `exp`.
//! - Nothing else moves it: not the autorouter (it never sees a credential), not an edge
//!   (its clock only matters for its own judgement of the JWT, and a `401` from it
//!   already leads to one refresh and one replay), not an auth error answer (nothing to
//!   check its `Date` against).
//!
//! So a wrong `Date` anywhere costs nothing, and a device clock that jumps costs at most
//! the one refresh (or exchange) whose grant corrects the estimate. An HTTP-date
//! `Retry-After` is read against the `Date` of the same answer (see
//! [`crate::classify::classify_response`]), never against this estimate, when it has one.

#[allow(unused_imports)]
use crate::prelude::*;
use core::time::Duration;

use crate::time::Timestamp;

/// How far a grant's `Date` may be from its issue time and still be believed.
pub(crate) const DATE_TOLERANCE: Duration = Duration::from_secs(5 * 60);
/// A grant whose `Date` says the JWT was issued longer before its `exp` than this has a
/// wrong `Date` (lifetimes are a day; refresh tokens 30 days).
const MAX_GRANT_AGE: Duration = Duration::from_secs(31 * 24 * 3600);

/// What a grant says about the issuer's clock.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct GrantTimes {
    /// The answer's `Date`, if readable.
    pub(crate) date: Option<Timestamp>,
    /// Issue time on the issuer's clock (`iat`, or `exp − expires_in`).
    pub(crate) issued: Option<Timestamp>,
    /// The JWT's own `exp` claim, when it has one.
    pub(crate) exp: Option<Timestamp>,
}

/// The server-clock estimate.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Clock {
    skew_ms: i64,
}

impl Clock {
    pub(crate) fn skew_ms(&self) -> i64 {
        self.skew_ms
    }

    /// The driver's `now` on the server's clock.
    pub(crate) fn server_now(&self, now: Timestamp) -> Timestamp {
        now.offset(self.skew_ms)
    }

    /// A server-clock instant on the driver's clock (the skew may be `i64::MIN`).
    pub(crate) fn driver_time(&self, at: Timestamp) -> Timestamp {
        at.offset(self.skew_ms.saturating_neg())
    }

    /// Starts from a skew learnt earlier (a restored snapshot's), until a grant says.
    pub(crate) fn restore(&mut self, skew_ms: i64) {
        self.skew_ms = skew_ms;
    }

    /// The driver's clock stepped back by `back_ms`: the server's did not.
    pub(crate) fn rebase(&mut self, back_ms: i64) {
        self.skew_ms = self.skew_ms.saturating_add(back_ms);
    }

    /// Learns from a grant requested at `sent` and answered at `now` (driver clock).
    pub(crate) fn observe_grant(&mut self, sent: Timestamp, now: Timestamp, g: GrantTimes) {
        let tolerance = millis(DATE_TOLERANCE);
        // What the estimate already says the server's clock read during the request.
        let known = |t: Timestamp| {
            let slack = tolerance.saturating_add(now.diff_millis(sent).unsigned_abs());
            t.diff_millis(self.server_now(now)).unsigned_abs() <= slack
        };
        // By this Date the JWT had expired (or nearly) before it arrived, and the Date
        // is hours away from its issue time.
        let stale = |d: Timestamp, i: Timestamp| {
            d.diff_millis(i).unsigned_abs() > tolerance
                && g.exp.is_some_and(|e| e <= d.plus(Duration::from_secs(30)))
        };
        let stamp = match (g.date, g.issued) {
            (Some(d), Some(i)) if stale(d, i) && known(d) && !known(i) => Some(d),
            (_, Some(i)) => Some(i),
            (Some(d), None) => g
                .exp
                .is_none_or(|e| d < e && e.since(d) <= MAX_GRANT_AGE)
                .then_some(d),
            (None, None) => None,
        };
        if let Some(stamp) = stamp {
            self.observe(sent, now, stamp);
        }
    }

    /// The server stamped `stamp` (truncated to the second) after the request was `sent`
    /// and before the answer arrived `now`, so the skew lies in
    /// `[stamp - now, stamp + 1 s - sent]`. An estimate outside that is moved to the upper
    /// end: a slow answer must not make the server's clock look earlier than it is — the
    /// client would take an expired JWT for a valid one.
    fn observe(&mut self, sent: Timestamp, now: Timestamp, stamp: Timestamp) {
        let lower = stamp.diff_millis(now);
        let upper = stamp.offset(1000).diff_millis(sent);
        if lower > upper {
            // The driver's clock stepped back while the request was out: judge by
            // the answer alone (1 s resolution: only differences over 1.5 s count).
            let skew = stamp.offset(500).diff_millis(now);
            if skew.abs_diff(self.skew_ms) > 1500 {
                self.skew_ms = skew;
            }
        } else if self.skew_ms < lower || self.skew_ms > upper {
            self.skew_ms = upper;
        }
    }

    /// A session handed over just now was not issued in the future and has not expired
    /// yet: if the estimate says otherwise, the device's clock stepped (no grant has
    /// shown it yet) — take the JWT's `iat` as the server's time. Without this, a device
    /// whose clock jumped ahead threw away every session handed over to it.
    pub(crate) fn check_handed_over(
        &mut self,
        now: Timestamp,
        iat: Option<Timestamp>,
        exp: Timestamp,
    ) {
        let Some(iat) = iat else {
            return;
        };
        let server_now = self.server_now(now);
        if server_now >= exp || server_now.plus(Duration::from_secs(2)) < iat {
            self.skew_ms = iat.diff_millis(now);
        }
    }
}

fn millis(d: Duration) -> u64 {
    crate::time::millis(d)
}
