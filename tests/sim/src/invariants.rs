//! The invariants, and the bookkeeping they need. The driver calls these after every
//! step; the first violation stops the run.
//!
//! 1. No request carries a JWT the model considers expired at receipt, unless the
//!    client's clock stepped (or the server's offset changed) since that JWT was obtained.
//! 2. At most one exchange/refresh in flight per client; a refresh token the client saw
//!    replaced (it received the rotation) is never sent again by that client.
//! 3. The `pg_` key only goes to the auth service's exchange or an edge, over https or
//!    loopback http; nothing goes to a host nobody serves; the autorouter gets no credential.
//! 4. Every call ends exactly once, with at most `max_attempts` + 1 replay edge requests,
//!    a stable `X-Request-ID`, and total retries ≤ budget capacity + refills.
//! 5. A session is not thrown away by a transport error, a 5xx or 429, or time passing,
//!    unless its JWT is (about to be) expired and its refresh token is dead — or the
//!    client's clock stepped (or the server's offset changed) since the JWT was
//!    obtained, so the client cannot tell.
//! 6. After the faults stop, calls succeed again within [`RECOVERY_BOUND`](crate::plan::RECOVERY_BOUND).
//! 7. Liveness: `poll_timeout` moves past `now` after `handle_timeout(now)`; no call stays
//!    open forever; the core accepts every answer to a request it emitted.
//! 8. Pacing: a `Retry-After` (429/503) is honoured by the call's next attempt and by
//!    the next exchange/refresh (capped as documented); no storms — in any 10 minutes a
//!    client sends at most 60 exchanges/refreshes and 200 discoveries, and ends at most
//!    10 sessions.
//! 9. No needless session requests: no exchange while the client holds a session whose
//!    refresh token is live (by the model) and not expiring; no refresh while the JWT
//!    has more than a fifth of its lifetime (plus a minute) left, unless an edge
//!    rejected it — excused only by a clock step (the client's, or the server's
//!    offset) since the client last saw a grant. With every host stamping `Date` by its
//!    own clock (some in the year 9999 or 1970), this is what catches a `Date` that
//!    moved the client's idea of the server's clock.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use polargrid_core::{read_claims, CallId, HttpRequest, RetryPolicy};
use polargrid_emulator::model::Role;

use crate::net::{is_https, is_loopback};
use crate::plan::{fmt_t, CallPlan};
use crate::trace::{fingerprint, secret_hash};

/// Which invariant broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Invariant {
    /// 1: an expired JWT was sent.
    ExpiredJwt,
    /// 2: two session requests in flight, or a replaced refresh token sent again.
    SingleFlight,
    /// 3: a credential went where it must not.
    CredentialLeak,
    /// 4: a call ended twice or never, or retried beyond its limit or the budget.
    CallAccounting,
    /// 5: a valid session was thrown away.
    SessionKept,
    /// 6: the client did not recover after the faults stopped.
    Recovery,
    /// 7: busy loop, a call open forever, or the core refused an answer.
    Liveness,
    /// 8: a `Retry-After` ignored, or a storm of requests or ended sessions.
    Pacing,
    /// 9: an exchange or refresh the session did not need.
    NeedlessSessionRequest,
}

impl Invariant {
    /// Its number in the list above.
    pub fn number(self) -> u8 {
        match self {
            Invariant::ExpiredJwt => 1,
            Invariant::SingleFlight => 2,
            Invariant::CredentialLeak => 3,
            Invariant::CallAccounting => 4,
            Invariant::SessionKept => 5,
            Invariant::Recovery => 6,
            Invariant::Liveness => 7,
            Invariant::Pacing => 8,
            Invariant::NeedlessSessionRequest => 9,
        }
    }
}

/// A broken invariant. The message never holds a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Which.
    pub invariant: Invariant,
    /// When (true time, ms from the start of the run).
    pub t: u64,
    /// Which client.
    pub client: usize,
    /// What happened.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invariant {} ({:?}) broken at {} by client {}: {}",
            self.invariant.number(),
            self.invariant,
            fmt_t(self.t),
            self.client,
            self.message
        )
    }
}

/// Builds a violation (the driver fills in time and client).
pub fn broken(invariant: Invariant, message: String) -> Violation {
    Violation {
        invariant,
        t: 0,
        client: 0,
        message,
    }
}

/// What one app identity (across restarts) has seen. A second client restored from
/// the same snapshot is another lineage.
#[derive(Debug, Default)]
pub struct Lineage {
    /// Bumped at every step of this client's clock.
    pub clock_steps: u64,
    /// JWT (hash) → total epoch when it was obtained.
    jwt_epochs: HashMap<u64, u64>,
    /// Refresh tokens (hash) this client saw rotated away.
    replaced: HashSet<u64>,
}

impl Lineage {
    /// Notes a JWT the client now holds (first sighting wins).
    pub fn obtained(&mut self, jwt: &str, epoch: u64) {
        self.jwt_epochs.entry(secret_hash(jwt)).or_insert(epoch);
    }

    /// The epoch at which the client obtained `jwt`, if it is known.
    pub fn obtained_epoch(&self, jwt: &str) -> Option<u64> {
        self.jwt_epochs.get(&secret_hash(jwt)).copied()
    }

    /// Notes that the client received the rotation of `old`.
    pub fn rotated(&mut self, old: &str) {
        self.replaced.insert(secret_hash(old));
    }

    /// Invariant 1 for a JWT sent to an edge at model time `server_ms`.
    pub fn check_jwt(&mut self, jwt: &str, server_ms: u64, epoch: u64) -> Result<(), Violation> {
        let Ok(claims) = read_claims(jwt) else {
            return Ok(()); // not a JWT the client could read: the edge judges it
        };
        let obtained = *self.jwt_epochs.entry(secret_hash(jwt)).or_insert(epoch);
        let exp = claims.exp.as_millis();
        if server_ms >= exp && obtained == epoch {
            return Err(broken(
                Invariant::ExpiredJwt,
                format!(
                    "sent JWT {} that expired {} ms earlier by the server's clock, with no clock change since it was obtained",
                    fingerprint(jwt),
                    server_ms - exp
                ),
            ));
        }
        Ok(())
    }

    /// Invariant 2 (rotation half) for a refresh request carrying `token`.
    pub fn check_refresh(&self, token: &str) -> Result<(), Violation> {
        if self.replaced.contains(&secret_hash(token)) {
            return Err(broken(
                Invariant::SingleFlight,
                format!(
                    "sent refresh token {} again after receiving its rotation",
                    fingerprint(token)
                ),
            ));
        }
        Ok(())
    }
}

/// Invariant 3 for one request: where the key (and other credentials) may go.
pub fn check_credentials(
    req: &HttpRequest,
    role: Option<&Role>,
    key: &str,
) -> Result<(), Violation> {
    let carries_key = req.url.contains(key)
        || req.headers.iter().any(|(_, v)| v.contains(key))
        || req
            .body
            .as_ref()
            .is_some_and(|b| String::from_utf8_lossy(b).contains(key));
    let path = crate::net::host_path(&req.url);
    let leak = |why: &str| {
        Err(broken(
            Invariant::CredentialLeak,
            format!("{why}: {} {path}", req.method),
        ))
    };
    if carries_key {
        match role {
            Some(Role::Auth) if path.ends_with("/v1/auth/session") => {}
            Some(Role::Edge(_)) => {}
            Some(Role::Autorouter) => return leak("the key was sent to the autorouter"),
            Some(_) => return leak("the key was sent to the auth service outside the exchange"),
            None => return leak("the key was sent to a host nobody serves"),
        }
        if !is_https(&req.url) && !is_loopback(&req.url) {
            return leak("the key was sent over plain http to a non-loopback host");
        }
    }
    if role == Some(&Role::Autorouter) && req.header("authorization").is_some() {
        return leak("a credential was sent to the autorouter");
    }
    if role.is_none() && req.header("authorization").is_some() {
        return leak("a credential was sent to a host nobody serves");
    }
    Ok(())
}

/// One call, as the checker follows it.
#[derive(Clone, Debug)]
pub struct CallBook {
    /// What the app asked.
    pub plan: CallPlan,
    /// Started (true time).
    pub started: u64,
    /// Awake time of its client when it started.
    pub started_awake: u64,
    /// Edge requests sent.
    pub sends: u32,
    /// 401s answered to a JWT-bearing attempt.
    pub jwt_401s: u32,
    /// Of its sends, how many were retries.
    pub retries: u32,
    /// A `Retry-After` said: not before this true time (and the clock epoch then).
    pub not_before: Option<(u64, u64)>,
    /// `X-Request-ID` of its first attempt.
    pub trace_id: Option<String>,
    /// A probe of the final window.
    pub probe: bool,
}

/// One client instance (a restart starts a new book).
#[derive(Debug)]
pub struct Book {
    /// Calls not ended yet.
    pub open: BTreeMap<CallId, CallBook>,
    /// Calls that succeeded.
    pub successes: u64,
    /// Edge requests that were retries (neither first attempts nor the replay).
    pub retries: u64,
    policy: RetryPolicy,
}

impl Book {
    /// A new book for a client with this retry policy.
    pub fn new(policy: RetryPolicy) -> Book {
        Book {
            open: BTreeMap::new(),
            successes: 0,
            retries: 0,
            policy,
        }
    }

    /// Invariant 4 for an edge request of `call` with this `X-Request-ID`.
    pub fn on_send(&mut self, call: CallId, trace_id: Option<&str>) -> Result<(), Violation> {
        let Some(c) = self.open.get_mut(&call) else {
            return Err(broken(
                Invariant::CallAccounting,
                format!("sent a request for {call}, which is not open"),
            ));
        };
        c.sends += 1;
        match (&c.trace_id, trace_id) {
            (None, Some(t)) => c.trace_id = Some(t.to_string()),
            (Some(a), Some(b)) if a == b => {}
            _ => {
                return Err(broken(
                    Invariant::CallAccounting,
                    format!("{call}: X-Request-ID missing or changed between attempts"),
                ))
            }
        }
        let limit = self.policy.max_attempts + 1;
        if c.sends > limit {
            return Err(broken(
                Invariant::CallAccounting,
                format!(
                    "{call}: {} edge requests, more than max_attempts {} + 1 replay",
                    c.sends, self.policy.max_attempts
                ),
            ));
        }
        // Sends beyond the first that are not the one replay after a 401 are retries.
        let retries = c.sends.saturating_sub(1 + c.jwt_401s.min(1));
        if retries > c.retries {
            self.retries += u64::from(retries - c.retries);
            c.retries = retries;
        }
        // Each retry takes a whole token; a bucket of `capacity` refilled by
        // `refill_tenths`/10 per success cannot give more than this.
        let bound = u64::from(self.policy.budget_capacity)
            + self.successes * u64::from(self.policy.budget_refill_tenths) / 10;
        if self.retries > bound {
            return Err(broken(
                Invariant::CallAccounting,
                format!(
                    "{} retries, more than the budget allows (capacity {} + {} successes x {}/10)",
                    self.retries,
                    self.policy.budget_capacity,
                    self.successes,
                    self.policy.budget_refill_tenths
                ),
            ));
        }
        Ok(())
    }

    /// Invariant 4: `call` ends now (ready, failed or cancelled).
    pub fn on_end(&mut self, call: CallId, how: &str) -> Result<CallBook, Violation> {
        self.open.remove(&call).ok_or_else(|| {
            broken(
                Invariant::CallAccounting,
                format!("{call} ended ({how}) but it was not open (ended twice, or never started)"),
            )
        })
    }
}

/// Window of the storm checks.
pub const STORM_WINDOW: u64 = 10 * 60 * 1000;

/// Sliding-window counters for the storm checks of one client.
#[derive(Debug, Default)]
pub struct Pacing {
    session: std::collections::VecDeque<u64>,
    discover: std::collections::VecDeque<u64>,
    ended: std::collections::VecDeque<u64>,
    /// A `Retry-After` on an exchange/refresh said: not before this (and the epoch then).
    pub session_not_before: Option<(u64, u64)>,
    /// An edge answered 401 to this client's JWT since its last grant.
    pub jwt_rejected: bool,
}

/// What is counted.
#[derive(Clone, Copy, Debug)]
pub enum Counted {
    /// An exchange or refresh request.
    Session,
    /// A discovery request.
    Discover,
    /// A `SessionEnded` event.
    Ended,
}

impl Pacing {
    /// Counts one at true time `t`; a storm is a violation.
    pub fn count(&mut self, what: Counted, t: u64) -> Result<(), Violation> {
        let (q, max, name) = match what {
            Counted::Session => (&mut self.session, 60, "exchanges/refreshes"),
            Counted::Discover => (&mut self.discover, 200, "discoveries"),
            Counted::Ended => (&mut self.ended, 10, "ended sessions"),
        };
        q.push_back(t);
        while q.front().is_some_and(|f| f + STORM_WINDOW <= t) {
            q.pop_front();
        }
        if q.len() > max {
            return Err(broken(
                Invariant::Pacing,
                format!("{} {name} in 10 minutes (at most {max})", q.len()),
            ));
        }
        Ok(())
    }
}

/// Invariant 8: an attempt at true time `t` honours a `not_before` from the same epoch.
pub fn check_not_before(
    not_before: Option<(u64, u64)>,
    t: u64,
    epoch: u64,
    what: &str,
) -> Result<(), Violation> {
    match not_before {
        Some((nb, e)) if e == epoch && t < nb => Err(broken(
            Invariant::Pacing,
            format!(
                "{what} sent {} ms before the server's Retry-After allowed",
                nb - t
            ),
        )),
        _ => Ok(()),
    }
}
