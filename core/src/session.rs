//! The session machine: API key → session JWT → refresh, single-flight.
//!
//! ```text
//!            demand (key held)              200 (new JWT, rotated refresh token)
//!   Empty ─────────────────────▶ Exchanging ───────────────────────────────▶ Active
//!     ▲  ◀── 401/402/403: fatal ──┘   │ 5xx/429/network: back off, retry       │  ▲
//!     │                               ▼                                         │  │ 200
//!   logout                     (Empty, retry_at)          refresh due / JWT stale│  │
//!     │                                                                         ▼  │
//!   Ended ◀── 401/400, no key (handoff) ───────────────────────────────────── Refreshing
//!     │          401/400, key held → Exchanging         5xx/429/network: keep session,
//!     └── hand over / restore → Active                  back off, retry while JWT valid
//! ```
//! Every transition is in [`Session::step`]. Times on the JWT are the server's clock;
//! which answers may move the estimate of that clock is decided in [`crate::skew`].
//!
//! Waiting and ending:
//! - A `Retry-After` from the auth service up to [`RetryPolicy::max_retry_after`] is
//!   waited out (calls keep waiting, each wait counts as an attempt). A longer one fails
//!   the waiting calls at once with its error (`retry_after` set), and until the
//!   server's time no exchange or refresh goes out: a call without a usable JWT fails
//!   at once, with the time left as `retry_after`, sending nothing.
//! - The backoff counter counts failures in a row: it starts over when the last
//!   failure is older than [`FAILURE_MEMORY`], so an old burst does not stretch the
//!   backoff of a call made long after.
//! - An ended session remembers why it ended; every call that waits on it fails with
//!   that reason (`no_session` only when logged out or nothing was handed over).
//!
//! [`RetryPolicy::max_retry_after`]: crate::RetryPolicy::max_retry_after

#[allow(unused_imports)]
use crate::prelude::*;
use core::time::Duration;

use crate::classify::{classify_response, classify_transport, local, malformed, Credential, Stage};
use crate::client::Withheld;
use crate::config::Mode;
use crate::ctx::{backoff, Ctx};
use crate::error::{CallError, ErrorKind};
use crate::event::{Event, SessionChange, SessionInfo};
use crate::http::{HeaderText, HttpResponse, Method, Purpose, RequestId, TransportErrorKind};
use crate::jwt::Scope;
use crate::secret::{scrub, Secret};
use crate::skew::Clock;
use crate::snapshot::SessionSnapshot;
use crate::time::{millis, Timestamp};

pub(crate) use crate::grant::{from_snapshot, parse_grant, Tokens};
use crate::grant::{parse_answer, rotation, Rotation};

const SESSION_BACKOFF_BASE: Duration = Duration::from_millis(500);
const SESSION_BACKOFF_CAP: Duration = Duration::from_secs(30);
/// The longest `Retry-After` from the auth service that is honoured: a server asking
/// for more than a day is broken, and the client would be unusable until a restart.
const MAX_SESSION_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);
/// A failure older than this no longer counts toward the session's backoff.
pub(crate) const FAILURE_MEMORY: Duration = Duration::from_secs(5 * 60);
/// Retired secrets kept for scrubbing server text (eight rotations' worth).
const MAX_RETIRED: usize = 16;

/// The machine's state; tokens live beside it in [`Session::tokens`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// No session (none yet, or logged out in session mode).
    Empty,
    /// A key exchange is in flight.
    Exchanging(RequestId),
    /// Tokens held, nothing in flight.
    Active,
    /// A refresh is in flight (tokens still held and used while valid).
    Refreshing(RequestId),
    /// Handoff mode: the session ended and only the app can hand over another.
    Ended,
}

/// What the session machine is told.
pub(crate) enum Input<'a> {
    /// A call needs a credential.
    Demand,
    /// Time passed (timers).
    Tick,
    /// An answer to the exchange or refresh request `id`, sent at the driver time given.
    Answer(RequestId, &'a HttpResponse, Timestamp),
    /// A transport failure of the exchange or refresh request `id`.
    Failed(RequestId, TransportErrorKind),
    /// An edge answered 401 to the JWT of this generation.
    Rejected(u64),
    /// The app handed over (or restored) a session.
    Adopt(Tokens, SessionChange),
    /// The app logged out.
    Logout,
    /// The driver did not send the refresh `id` (another client may have spent, or be
    /// spending, its refresh token); after [`Withheld::Spent`] wait this long for that
    /// client's session before getting one another way.
    Withheld(RequestId, Withheld, Duration),
}

/// What the client must do for the calls waiting on the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Notice {
    /// An attempt failed but will be retried: waiting calls count it as an attempt.
    Transient(CallError),
    /// The session cannot be had for now: waiting calls fail with this.
    Fatal(CallError),
    /// Handoff: the session ended; waiting calls wait for a hand-over, then give up.
    Ended(CallError),
}

/// What a call gets when it asks for a credential (borrowed: asked once per drive, and
/// a copy of a JWT and its scope there was two allocations per call).
#[derive(Clone, Debug)]
pub(crate) enum Credentials<'a> {
    /// Use this JWT (generation for matching a later 401).
    Jwt(&'a Secret, u64, Option<&'a Scope>),
    /// Use the API key (direct mode).
    Key(&'a Secret),
    /// Wait: an exchange or refresh is under way or backing off.
    Wait,
    /// Fail now with this.
    Fail(CallError),
}

/// The session machine.
#[derive(Debug)]
pub(crate) struct Session {
    mode: Mode,
    state: State,
    tokens: Option<Tokens>,
    /// The estimate of the server's clock.
    clock: Clock,
    /// Proactive refresh due (server clock).
    refresh_at: Option<Timestamp>,
    /// Backing off after a failed attempt until then (driver clock).
    retry_at: Option<Timestamp>,
    failures: u32,
    /// When the last failure counted in `failures` happened (driver clock).
    last_failure: Option<Timestamp>,
    /// Why the session ended (state `Ended`), for every call that waits on it.
    ended: Option<CallError>,
    /// A generation an edge rejected.
    stale: Option<u64>,
    generation: u64,
    /// Calls are waiting for a session (so a timer may start an exchange).
    wanted: bool,
    /// The last fatal failure, answered to new calls while backing off.
    fatal: Option<CallError>,
    /// Tokens this session held before (rotated, replaced or rejected): never sent again,
    /// but still scrubbed from server text that echoes them. Forgotten on logout.
    retired: Vec<Secret>,
}

impl Session {
    pub(crate) fn new(mode: Mode) -> Self {
        Session {
            mode,
            state: if mode == Mode::Handoff {
                State::Ended
            } else {
                State::Empty
            },
            tokens: None,
            clock: Clock::default(),
            refresh_at: None,
            retry_at: None,
            failures: 0,
            last_failure: None,
            ended: None,
            stale: None,
            generation: 0,
            wanted: false,
            fatal: None,
            retired: Vec::new(),
        }
    }

    pub(crate) fn state(&self) -> State {
        self.state
    }

    pub(crate) fn tokens(&self) -> Option<&Tokens> {
        self.tokens.as_ref()
    }

    pub(crate) fn skew_ms(&self) -> i64 {
        self.clock.skew_ms()
    }

    /// The driver's `now` on the server's clock.
    pub(crate) fn server_now(&self, now: Timestamp) -> Timestamp {
        self.clock.server_now(now)
    }

    /// A server-clock instant on the driver's clock.
    fn driver_time(&self, at: Timestamp) -> Timestamp {
        self.clock.driver_time(at)
    }

    /// No call waits for a credential any more: stop retrying a failed exchange on a
    /// timer (the next call starts one). Refreshes of a held session go on regardless.
    pub(crate) fn clear_demand(&mut self) {
        self.wanted = false;
    }

    /// Starts from a skew learnt earlier (a restored snapshot's), until a grant says.
    pub(crate) fn restore_skew(&mut self, skew_ms: i64) {
        self.clock.restore(skew_ms);
    }

    /// The driver's clock stepped back by `back_ms`: the server's did not.
    pub(crate) fn rebase(&mut self, back_ms: i64) {
        self.clock.rebase(back_ms);
        self.retry_at = self.retry_at.map(|at| at.offset(-back_ms));
    }

    /// What a call waiting on this session fails with when it gives up: why the session
    /// ended, or `no_session` (logged out, or nothing handed over).
    pub(crate) fn end_reason(&self) -> CallError {
        match (&self.ended, self.state) {
            (Some(e), State::Ended) => e.clone(),
            _ => local(ErrorKind::NoSession, Stage::Call),
        }
    }

    /// The credential a call should use now.
    pub(crate) fn credentials<'a>(
        &'a self,
        now: Timestamp,
        key: Option<&'a Secret>,
    ) -> Credentials<'a> {
        if self.mode == Mode::Direct {
            return match key {
                Some(k) => Credentials::Key(k),
                None => Credentials::Fail(local(ErrorKind::NoSession, Stage::Call)),
            };
        }
        if let Some(t) = self.usable(now) {
            return Credentials::Jwt(&t.jwt, t.generation, t.scope.as_ref());
        }
        match (&self.fatal, self.retry_at) {
            (Some(e), Some(at)) if at > now && !self.in_flight() => {
                let mut e = e.clone();
                if e.retry_after.is_some() {
                    // The server's time is still ahead: say how far.
                    e.retry_after = Some(at.since(now));
                }
                Credentials::Fail(e)
            }
            _ => Credentials::Wait,
        }
    }

    fn usable(&self, now: Timestamp) -> Option<&Tokens> {
        let t = self.tokens.as_ref()?;
        let fresh = self.server_now(now).plus(t.min_validity()) < t.exp;
        (fresh && self.stale != Some(t.generation)).then_some(t)
    }

    fn in_flight(&self) -> bool {
        matches!(self.state, State::Exchanging(_) | State::Refreshing(_))
    }

    /// The next instant the machine wants a `Tick` (driver clock).
    pub(crate) fn poll_timeout(&self) -> Option<Timestamp> {
        if self.in_flight() || self.mode == Mode::Direct {
            return None;
        }
        if let Some(at) = self.retry_at {
            if self.wanted || self.tokens.is_some() {
                return Some(at);
            }
            return None;
        }
        if self.state == State::Active {
            return self.refresh_at.map(|at| self.driver_time(at));
        }
        None
    }

    /// The one place the state changes.
    pub(crate) fn step(
        &mut self,
        now: Timestamp,
        input: Input<'_>,
        ctx: &mut Ctx<'_>,
    ) -> Option<Notice> {
        if self.mode == Mode::Direct {
            return None;
        }
        match (self.state, input) {
            (_, Input::Demand) => {
                self.wanted = true;
                self.kick(now, ctx)
            }
            (_, Input::Tick) => self.kick(now, ctx),
            (State::Exchanging(req), Input::Answer(id, resp, sent)) if req == id => {
                self.on_answer(now, sent, Stage::Exchange, resp, ctx)
            }
            (State::Refreshing(req), Input::Answer(id, resp, sent)) if req == id => {
                self.on_answer(now, sent, Stage::Refresh, resp, ctx)
            }
            (State::Exchanging(req), Input::Failed(id, kind)) if req == id => {
                self.state = if self.tokens.is_some() {
                    State::Active
                } else {
                    State::Empty
                };
                self.transient(now, classify_transport(Stage::Exchange, kind), None, ctx)
            }
            (State::Refreshing(req), Input::Failed(id, kind)) if req == id => {
                self.state = State::Active;
                self.transient(now, classify_transport(Stage::Refresh, kind), None, ctx)
            }
            (State::Refreshing(req), Input::Withheld(id, why, wait)) if req == id => {
                // Never send that refresh token again: another client holds it.
                self.state = State::Active;
                if let Some(t) = self.tokens.as_mut() {
                    t.refresh_exp = None;
                    self.retired.extend(t.refresh.take());
                }
                if why == Withheld::Spent {
                    self.retry_at = Some(now.plus(wait));
                }
                self.kick(now, ctx)
            }
            // An answer for a request this machine has abandoned (hand-over, logout).
            (_, Input::Answer(..) | Input::Failed(..) | Input::Withheld(..)) => None,
            (_, Input::Rejected(generation)) => {
                if self
                    .tokens
                    .as_ref()
                    .is_some_and(|t| t.generation == generation)
                {
                    // Refresh now — unless the auth service asked us to wait
                    // (Retry-After) or we are backing off: clearing that wait here
                    // sent a refresh per edge 401 straight into a rate limit.
                    self.stale = Some(generation);
                }
                self.kick(now, ctx)
            }
            (_, Input::Adopt(mut tokens, reason)) => {
                if reason == SessionChange::HandedOver {
                    self.clock.check_handed_over(now, tokens.iat, tokens.exp);
                }
                self.generation += 1;
                tokens.generation = self.generation;
                self.install(tokens, reason, ctx);
                None
            }
            (_, Input::Logout) => {
                self.tokens = None;
                self.retired.clear();
                self.refresh_at = None;
                self.retry_at = None;
                self.fatal = None;
                self.ended = None;
                self.failures = 0;
                self.wanted = false;
                self.state = if self.mode == Mode::Handoff {
                    State::Ended
                } else {
                    State::Empty
                };
                ctx.events.push_back(cleared());
                let e = local(ErrorKind::NoSession, Stage::Call);
                Some(Notice::Fatal(e))
            }
        }
    }

    /// Starts an exchange or refresh when one is needed and allowed.
    fn kick(&mut self, now: Timestamp, ctx: &mut Ctx<'_>) -> Option<Notice> {
        if self.in_flight() || self.retry_at.is_some_and(|at| at > now) {
            return None;
        }
        self.retry_at = self.retry_at.filter(|at| *at > now);
        let server_now = self.server_now(now);
        let usable = self.usable(now).is_some();
        let Some(t) = &self.tokens else {
            if self.wanted && self.state == State::Empty {
                self.exchange(now, ctx);
            }
            return None;
        };
        let due = self.refresh_at.is_none_or(|at| server_now >= at);
        if usable && !due {
            return None;
        }
        let refresh_alive = t.refresh_exp.is_none_or(|e| server_now < e);
        match (&t.refresh, refresh_alive, ctx.cfg.api_key.is_some()) {
            (Some(r), true, _) => {
                let body = one_field("refresh_token", r.expose());
                let id = self.auth_request(Purpose::Refresh, "/v1/auth/refresh", None, body, ctx);
                self.state = State::Refreshing(id);
                None
            }
            (_, _, true) => {
                self.exchange(now, ctx);
                None
            }
            // Handoff with nothing left to refresh with: use the JWT while it lasts,
            // and wake when it stops being usable (the session ends then) — not at
            // once, again and again, from a refresh time already passed.
            _ if usable => {
                self.refresh_at = Some(t.exp.minus(t.min_validity()));
                None
            }
            _ => Some(self.end(ctx)),
        }
    }

    fn exchange(&mut self, _now: Timestamp, ctx: &mut Ctx<'_>) {
        let Some(key) = ctx.cfg.api_key.clone() else {
            return;
        };
        let body = one_field("user_agent", &ctx.cfg.cfg.user_agent);
        let id = self.auth_request(Purpose::Exchange, "/v1/auth/session", Some(&key), body, ctx);
        self.state = State::Exchanging(id);
    }

    fn auth_request(
        &mut self,
        purpose: Purpose,
        path: &str,
        key: Option<&Secret>,
        body: String,
        ctx: &mut Ctx<'_>,
    ) -> RequestId {
        let mut headers: Vec<(HeaderText, HeaderText)> = Vec::with_capacity(5);
        if let Some(k) = key {
            headers.push((
                "Authorization".into(),
                ["Bearer ", k.expose()].concat().into(),
            ));
        }
        headers.push(("Content-Type".into(), "application/json".into()));
        headers.push(("Accept".into(), "application/json".into()));
        headers.push(ctx.cfg.user_agent_header());
        headers.push(("X-Request-ID".into(), ctx.trace_id()));
        let url = ctx.cfg.auth.join(path);
        let timeout = ctx.cfg.cfg.timeouts.auth;
        ctx.send(
            purpose,
            Method::Post,
            url,
            headers,
            Some(body.into_bytes()),
            timeout,
        )
    }

    fn on_answer(
        &mut self,
        now: Timestamp,
        sent: Timestamp,
        stage: Stage,
        resp: &HttpResponse,
        ctx: &mut Ctx<'_>,
    ) -> Option<Notice> {
        let had_tokens = self.tokens.is_some();
        self.state = if had_tokens {
            State::Active
        } else {
            State::Empty
        };
        if (200..300).contains(&resp.status) {
            let previous_refresh = self
                .tokens
                .as_ref()
                .map(|t| (t.refresh.clone(), t.refresh_exp));
            let parsed = parse_answer(resp, self.server_now(now)).and_then(|t| {
                let before = self.clock.skew_ms();
                self.clock.observe_grant(sent, now, t.times);
                if self.clock.skew_ms() == before {
                    return Ok(t);
                }
                // Lifetimes relative to the server's now are read again on the new clock.
                parse_answer(resp, self.server_now(now))
            });
            return match parsed {
                Ok(mut t) => {
                    if self.server_now(now).plus(t.min_validity()) >= t.exp {
                        // Dead on arrival: installing it would drop a valid session, or
                        // refresh again at once, in a loop. Treat it as unreadable (but
                        // its refresh token did replace the one sent).
                        if stage == Stage::Refresh {
                            let r = match (t.refresh.take(), t.refresh_exp) {
                                (Some(r), Some(exp)) => Rotation::New(r, exp),
                                _ => Rotation::Kept,
                            };
                            self.rotate(r, ctx);
                        }
                        return self.transient(now, malformed(stage, resp.status), None, ctx);
                    }
                    if stage == Stage::Refresh && t.refresh.is_none() {
                        // No rotation in this answer: the old refresh token stays valid,
                        // until its own expiry.
                        if let Some((refresh, refresh_exp)) = previous_refresh {
                            t.refresh = refresh;
                            t.refresh_exp = refresh_exp;
                        }
                    }
                    self.generation += 1;
                    t.generation = self.generation;
                    let reason = if stage == Stage::Exchange {
                        SessionChange::Exchanged
                    } else {
                        SessionChange::Refreshed
                    };
                    self.install(t, reason, ctx);
                    None
                }
                Err(()) => {
                    if stage == Stage::Refresh {
                        self.rotate(rotation(resp, self.server_now(now)), ctx);
                    }
                    self.transient(now, malformed(stage, resp.status), None, ctx)
                }
            };
        }
        let secrets = self.known_secrets(ctx);
        let secrets: Vec<&Secret> = secrets.iter().collect();
        let err = classify_response(
            stage,
            credential(stage),
            resp,
            self.server_now(now),
            &secrets,
        );
        match (stage, err.kind) {
            // The refresh token is dead (expired, revoked, reused): never send it again.
            (Stage::Refresh, ErrorKind::SessionExpired) => {
                self.retire(None);
                self.refresh_at = None;
                self.state = State::Empty;
                if ctx.cfg.api_key.is_some() {
                    ctx.events.push_back(cleared());
                    self.exchange(now, ctx);
                    None
                } else {
                    Some(self.end_with(err, ctx))
                }
            }
            // The server asked for a longer wait than a call may sit through: waiting
            // calls fail now with its time, and nothing goes out before it.
            (_, ErrorKind::RateLimited | ErrorKind::Server)
                if err
                    .retry_after
                    .is_some_and(|ra| ra > ctx.cfg.cfg.retry.max_retry_after) =>
            {
                let ra = err.retry_after.unwrap_or_default();
                self.count_failure(now);
                self.retry_at = Some(now.plus(ra.min(MAX_SESSION_RETRY_AFTER)));
                self.fatal = Some(err.clone());
                Some(Notice::Fatal(err))
            }
            (_, ErrorKind::RateLimited | ErrorKind::Server | ErrorKind::Network(_)) => {
                let ra = err.retry_after;
                self.transient(now, err, ra, ctx)
            }
            _ => {
                let n = self.count_failure(now);
                let d = ctx.jitter(backoff(SESSION_BACKOFF_BASE, SESSION_BACKOFF_CAP, n));
                self.retry_at = Some(now.plus(d.max(Duration::from_secs(5))));
                self.fatal = Some(err.clone());
                Some(Notice::Fatal(err))
            }
        }
    }

    /// Counts a failure in a row (forgetting those older than [`FAILURE_MEMORY`]) and
    /// returns how many there are now.
    fn count_failure(&mut self, now: Timestamp) -> u32 {
        if self
            .last_failure
            .is_some_and(|at| now >= at.plus(FAILURE_MEMORY) || now < at)
        {
            self.failures = 0;
        }
        self.last_failure = Some(now);
        self.failures = self.failures.saturating_add(1);
        self.failures
    }

    /// A failure worth retrying: keep whatever session is held, back off.
    fn transient(
        &mut self,
        now: Timestamp,
        err: CallError,
        retry_after: Option<Duration>,
        ctx: &mut Ctx<'_>,
    ) -> Option<Notice> {
        let n = self.count_failure(now);
        let mut d = ctx.jitter(backoff(SESSION_BACKOFF_BASE, SESSION_BACKOFF_CAP, n));
        if let Some(ra) = retry_after {
            d = d.max(ra.min(MAX_SESSION_RETRY_AFTER));
        }
        self.retry_at = Some(now.plus(d));
        self.fatal = None;
        Some(Notice::Transient(err))
    }

    fn end(&mut self, ctx: &mut Ctx<'_>) -> Notice {
        let err = local(ErrorKind::SessionExpired, Stage::Refresh);
        self.end_with(err, ctx)
    }

    fn end_with(&mut self, err: CallError, ctx: &mut Ctx<'_>) -> Notice {
        self.retire(None);
        self.refresh_at = None;
        self.retry_at = None;
        self.state = State::Ended;
        self.ended = Some(err.clone());
        ctx.events.push_back(cleared());
        ctx.events
            .push_back(Event::SessionEnded { error: err.clone() });
        Notice::Ended(err)
    }

    fn install(&mut self, mut t: Tokens, reason: SessionChange, ctx: &mut Ctx<'_>) {
        // A session id that echoes a credential would show it in every event and log.
        let known = self.known_secrets(ctx);
        let refs: Vec<&Secret> = known
            .iter()
            .chain([&t.jwt])
            .chain(t.refresh.as_ref())
            .collect();
        t.session_id = t.session_id.take().map(|id| scrub(&id, &refs));
        let margin = t.margin();
        let jitter = Duration::from_millis(ctx.rng.below(millis(margin) / 2 + 1));
        self.refresh_at = Some(t.exp.minus(margin).minus(jitter));
        self.retry_at = None;
        self.failures = 0;
        self.last_failure = None;
        self.fatal = None;
        self.ended = None;
        self.stale = None;
        self.wanted = false;
        self.state = State::Active;
        ctx.events.push_back(Event::SessionChanged {
            reason,
            info: Some(info(&t, self.refresh_at.map(|at| self.driver_time(at)))),
            snapshot: Some(snapshot(&t, self.clock.skew_ms())),
        });
        self.retire(Some(t));
    }

    /// A refresh answer that could not be installed still rotated the refresh token (see
    /// [`Rotation`]): the retry sends the new one, or, with none usable, the session goes on
    /// without one (an exchange with the key when held; else the JWT while it lasts). The
    /// old one is never sent again: reusing a rotated token revokes the whole session.
    fn rotate(&mut self, r: Rotation, ctx: &mut Ctx<'_>) {
        let Some(t) = self.tokens.as_mut() else {
            return;
        };
        let old = match r {
            Rotation::Kept => return,
            Rotation::New(refresh, exp) => {
                t.refresh_exp = Some(exp);
                t.refresh.replace(refresh)
            }
            Rotation::Unusable => {
                t.refresh_exp = None;
                t.refresh.take()
            }
        };
        self.retired.extend(old);
        let excess = self.retired.len().saturating_sub(MAX_RETIRED);
        self.retired.drain(..excess);
        // The app persists the snapshot: the one it holds names a dead refresh token.
        ctx.events.push_back(Event::SessionChanged {
            reason: SessionChange::Refreshed,
            info: self.info(),
            snapshot: self.snapshot(),
        });
    }

    /// Replaces the tokens, keeping the old ones' secrets (the last few) for scrubbing.
    fn retire(&mut self, next: Option<Tokens>) {
        if let Some(old) = core::mem::replace(&mut self.tokens, next) {
            self.retired.push(old.jwt.clone());
            self.retired.extend(old.refresh.clone());
        }
        let excess = self.retired.len().saturating_sub(MAX_RETIRED);
        self.retired.drain(..excess);
    }

    /// Secrets held before (see [`Session::retired`]).
    pub(crate) fn retired(&self) -> &[Secret] {
        &self.retired
    }

    fn known_secrets(&self, ctx: &Ctx<'_>) -> Vec<Secret> {
        let mut v = Vec::new();
        if let Some(k) = &ctx.cfg.api_key {
            v.push(k.clone());
        }
        if let Some(t) = &self.tokens {
            v.push(t.jwt.clone());
            if let Some(r) = &t.refresh {
                v.push(r.clone());
            }
        }
        v.extend(self.retired.iter().cloned());
        v
    }

    /// Snapshot of the current session, if any.
    pub(crate) fn snapshot(&self) -> Option<SessionSnapshot> {
        self.tokens
            .as_ref()
            .map(|t| snapshot(t, self.clock.skew_ms()))
    }

    /// Non-secret facts about the current session.
    pub(crate) fn info(&self) -> Option<SessionInfo> {
        self.tokens
            .as_ref()
            .map(|t| info(t, self.refresh_at.map(|at| self.driver_time(at))))
    }
}

fn credential(stage: Stage) -> Credential {
    match stage {
        Stage::Exchange => Credential::Key,
        Stage::Refresh => Credential::RefreshToken,
        _ => Credential::None,
    }
}

fn cleared() -> Event {
    Event::SessionChanged {
        reason: SessionChange::Cleared,
        info: None,
        snapshot: None,
    }
}

fn snapshot(t: &Tokens, skew_ms: i64) -> SessionSnapshot {
    SessionSnapshot {
        clock_skew_ms: Some(skew_ms),
        session_token: t.jwt.clone(),
        refresh_token: t.refresh.clone(),
        session_id: t.session_id.clone(),
        expires_at: t.exp,
        refresh_expires_at: t.refresh_exp,
    }
}

fn info(t: &Tokens, refresh_at: Option<Timestamp>) -> SessionInfo {
    SessionInfo {
        session_id: t.session_id.clone(),
        expires_at: t.exp,
        refresh_expires_at: t.refresh_exp,
        refresh_at,
        scope: t.scope.as_ref().map(|s| s.words.clone()),
    }
}

/// `{"name":"value"}`, the body of the core's auth requests.
fn one_field(name: &str, value: &str) -> String {
    let mut s = String::with_capacity(8 + name.len() + value.len());
    s.push('{');
    crate::json::push_str(&mut s, name);
    s.push(':');
    crate::json::push_str(&mut s, value);
    s.push('}');
    s
}
