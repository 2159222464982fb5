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
//! `skew` (server − driver) comes from each answer's `Date` header (or the JWT's `iat`).

use core::time::Duration;

use serde::Deserialize;

use crate::classify::{classify_response, classify_transport, local, malformed, Credential, Stage};
use crate::config::Mode;
use crate::ctx::{backoff, Ctx};
use crate::error::{CallError, ErrorKind};
use crate::event::{Event, SessionChange, SessionInfo};
use crate::http::{HttpResponse, Method, Purpose, RequestId, TransportErrorKind, MAX_CORE_BODY};
use crate::httpdate::parse_http_date;
use crate::jwt::{read_claims, Scope};
use crate::secret::{scrub, Secret};
use crate::snapshot::SessionSnapshot;
use crate::time::{millis, Timestamp};

/// Refresh-token lifetime when the answer does not say (`PROTOCOL.md`: 30 days).
const DEFAULT_REFRESH_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
const SESSION_BACKOFF_BASE: Duration = Duration::from_millis(500);
const SESSION_BACKOFF_CAP: Duration = Duration::from_secs(30);
const MAX_SESSION_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Retired secrets kept for scrubbing server text (eight rotations' worth).
const MAX_RETIRED: usize = 16;

/// A live session's credentials and timing.
#[derive(Clone, Debug)]
pub(crate) struct Tokens {
    pub(crate) jwt: Secret,
    pub(crate) refresh: Option<Secret>,
    pub(crate) session_id: Option<String>,
    /// JWT expiry, server clock.
    pub(crate) exp: Timestamp,
    /// JWT issue time, server clock, when the JWT says.
    pub(crate) iat: Option<Timestamp>,
    /// Refresh-token expiry, server clock.
    pub(crate) refresh_exp: Option<Timestamp>,
    /// JWT lifetime, for margins.
    pub(crate) lifetime: Duration,
    pub(crate) scope: Option<Scope>,
    /// Bumped for every new JWT, so an edge's 401 can be matched to the JWT it judged.
    pub(crate) generation: u64,
}

impl Tokens {
    /// Refresh this long before expiry (before jitter): a tenth of the lifetime, 1 s–5 min.
    fn margin(&self) -> Duration {
        (self.lifetime / 10).clamp(Duration::from_secs(1), Duration::from_secs(300))
    }

    /// A call does not take a JWT with less validity left than this.
    fn min_validity(&self) -> Duration {
        (self.lifetime / 20).clamp(Duration::from_millis(250), Duration::from_secs(30))
    }
}

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
    /// An answer to the exchange or refresh request `id`.
    Answer(RequestId, &'a HttpResponse),
    /// A transport failure of the exchange or refresh request `id`.
    Failed(RequestId, TransportErrorKind),
    /// An edge answered 401 to the JWT of this generation.
    Rejected(u64),
    /// The app handed over (or restored) a session.
    Adopt(Tokens, SessionChange),
    /// The app logged out.
    Logout,
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

/// What a call gets when it asks for a credential.
#[derive(Clone, Debug)]
pub(crate) enum Credentials {
    /// Use this JWT (generation for matching a later 401).
    Jwt(Secret, u64, Option<Scope>),
    /// Use the API key (direct mode).
    Key(Secret),
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
    /// Server clock minus driver clock, ms.
    skew_ms: i64,
    /// Proactive refresh due (server clock).
    refresh_at: Option<Timestamp>,
    /// Backing off after a failed attempt until then (driver clock).
    retry_at: Option<Timestamp>,
    failures: u32,
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
            skew_ms: 0,
            refresh_at: None,
            retry_at: None,
            failures: 0,
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
        self.skew_ms
    }

    /// The driver's `now` on the server's clock.
    pub(crate) fn server_now(&self, now: Timestamp) -> Timestamp {
        now.offset(self.skew_ms)
    }

    /// A server-clock instant on the driver's clock (the skew may be `i64::MIN`).
    fn driver_time(&self, at: Timestamp) -> Timestamp {
        at.offset(self.skew_ms.saturating_neg())
    }

    /// Learns the server's clock from an answer's `Date` header. The server stamped it
    /// (truncated to the second) after the request was `sent` and before the answer
    /// arrived `now`, so the skew lies in `[date - now, date + 1 s - sent]`. An estimate
    /// outside that is moved to the upper end: a slow answer must not make the server's
    /// clock look earlier than it is — the client would take an expired JWT for a valid
    /// one (it did, by the whole delay, when the estimate was `date + 0.5 s - now`).
    pub(crate) fn observe_date(&mut self, sent: Timestamp, now: Timestamp, resp: &HttpResponse) {
        if let Some(date) = resp.header("date").and_then(parse_http_date) {
            let lower = date.diff_millis(now);
            let upper = date.offset(1000).diff_millis(sent);
            if lower > upper {
                // The driver's clock stepped back while the request was out: judge by
                // the answer alone (1 s resolution: only differences over 1.5 s count).
                let skew = date.offset(500).diff_millis(now);
                if skew.abs_diff(self.skew_ms) > 1500 {
                    self.skew_ms = skew;
                }
            } else if self.skew_ms < lower || self.skew_ms > upper {
                self.skew_ms = upper;
            }
        }
    }

    /// No call waits for a credential any more: stop retrying a failed exchange on a
    /// timer (the next call starts one). Refreshes of a held session go on regardless.
    pub(crate) fn clear_demand(&mut self) {
        self.wanted = false;
    }

    /// Starts from a skew learnt earlier (a restored snapshot's), until an answer says.
    pub(crate) fn restore_skew(&mut self, skew_ms: i64) {
        self.skew_ms = skew_ms;
    }

    /// A session handed over just now was not issued in the future and has not expired
    /// yet: if the estimate of the server's clock says otherwise, the device's clock
    /// stepped (no answer has shown it yet) — take the JWT's `iat` as the server's time.
    /// Without this, a device whose clock jumped ahead threw away every session handed
    /// over to it, with nothing ever going out that could correct the clock.
    fn check_clock_against(&mut self, now: Timestamp, t: &Tokens) {
        let Some(iat) = t.iat else {
            return;
        };
        let server_now = self.server_now(now);
        if server_now >= t.exp || server_now.plus(Duration::from_secs(2)) < iat {
            self.skew_ms = iat.diff_millis(now);
        }
    }

    /// The driver's clock stepped back by `back_ms`: the server's did not.
    pub(crate) fn rebase(&mut self, back_ms: i64) {
        self.skew_ms = self.skew_ms.saturating_add(back_ms);
        self.retry_at = self.retry_at.map(|at| at.offset(-back_ms));
    }

    /// The credential a call should use now.
    pub(crate) fn credentials(&self, now: Timestamp, key: Option<&Secret>) -> Credentials {
        if self.mode == Mode::Direct {
            return match key {
                Some(k) => Credentials::Key(k.clone()),
                None => Credentials::Fail(local(ErrorKind::NoSession, Stage::Call)),
            };
        }
        if let Some(t) = self.usable(now) {
            return Credentials::Jwt(t.jwt.clone(), t.generation, t.scope.clone());
        }
        match (&self.fatal, self.retry_at) {
            (Some(e), Some(at)) if at > now && !self.in_flight() => Credentials::Fail(e.clone()),
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
            (State::Exchanging(req), Input::Answer(id, resp)) if req == id => {
                self.on_answer(now, Stage::Exchange, resp, ctx)
            }
            (State::Refreshing(req), Input::Answer(id, resp)) if req == id => {
                self.on_answer(now, Stage::Refresh, resp, ctx)
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
            // An answer for a request this machine has abandoned (hand-over, logout).
            (_, Input::Answer(..) | Input::Failed(..)) => None,
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
                    self.check_clock_against(now, &tokens);
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
                let body = serde_json::json!({ "refresh_token": r.expose() }).to_string();
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
        let body = serde_json::json!({ "user_agent": ctx.cfg.cfg.user_agent }).to_string();
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
        let mut headers = Vec::with_capacity(5);
        if let Some(k) = key {
            headers.push((
                "Authorization".to_string(),
                format!("Bearer {}", k.expose()),
            ));
        }
        headers.push(("Content-Type".to_string(), "application/json".to_string()));
        headers.push(("Accept".to_string(), "application/json".to_string()));
        headers.push(("User-Agent".to_string(), ctx.cfg.cfg.user_agent.clone()));
        headers.push(("X-Request-ID".to_string(), ctx.trace_id()));
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
            return match parse_answer(resp, self.server_now(now)) {
                Ok(mut t) => {
                    if let (None, Some(iat)) = (resp.header("date"), t.iat) {
                        // No Date header: the JWT's iat is the server's clock at issue.
                        self.skew_ms = iat.diff_millis(now);
                    }
                    if self.server_now(now).plus(t.min_validity()) >= t.exp {
                        // Dead on arrival: installing it would drop a valid session, or
                        // refresh again at once, in a loop. Treat it as unreadable.
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
                Err(()) => self.transient(now, malformed(stage, resp.status), None, ctx),
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
            (_, ErrorKind::RateLimited | ErrorKind::Server | ErrorKind::Network(_)) => {
                let ra = err.retry_after;
                self.transient(now, err, ra, ctx)
            }
            _ => {
                self.failures += 1;
                let d = ctx.jitter(backoff(
                    SESSION_BACKOFF_BASE,
                    SESSION_BACKOFF_CAP,
                    self.failures,
                ));
                self.retry_at = Some(now.plus(d.max(Duration::from_secs(5))));
                self.fatal = Some(err.clone());
                Some(Notice::Fatal(err))
            }
        }
    }

    /// A failure worth retrying: keep whatever session is held, back off.
    fn transient(
        &mut self,
        now: Timestamp,
        err: CallError,
        retry_after: Option<Duration>,
        ctx: &mut Ctx<'_>,
    ) -> Option<Notice> {
        self.failures += 1;
        let mut d = ctx.jitter(backoff(
            SESSION_BACKOFF_BASE,
            SESSION_BACKOFF_CAP,
            self.failures,
        ));
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
        self.fatal = None;
        self.stale = None;
        self.wanted = false;
        self.state = State::Active;
        ctx.events.push_back(Event::SessionChanged {
            reason,
            info: Some(info(&t, self.refresh_at.map(|at| self.driver_time(at)))),
            snapshot: Some(snapshot(&t, self.skew_ms)),
        });
        self.retire(Some(t));
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
        self.tokens.as_ref().map(|t| snapshot(t, self.skew_ms))
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

#[derive(Deserialize)]
struct Answer {
    session_token: Option<String>,
    token: Option<String>,
    refresh_token: Option<String>,
    session_id: Option<serde_json::Value>,
    expires_in: Option<serde_json::Value>,
    refresh_expires_in: Option<serde_json::Value>,
}

/// Reads an exchange/refresh answer (or a hand-over of one). `server_now` anchors the
/// relative lifetimes. Accepts `session_token` or the older `token`.
pub(crate) fn parse_answer(resp: &HttpResponse, server_now: Timestamp) -> Result<Tokens, ()> {
    if resp.body.len() > MAX_CORE_BODY {
        return Err(());
    }
    parse_grant(&resp.body, server_now)
}

/// Reads the JSON of an exchange answer.
pub(crate) fn parse_grant(body: &[u8], server_now: Timestamp) -> Result<Tokens, ()> {
    let a: Answer = serde_json::from_slice(body).map_err(|_| ())?;
    let jwt = a
        .session_token
        .or(a.token)
        .filter(|t| !t.is_empty() && t.len() <= 16 * 1024 && t.is_ascii())
        // An API key is not a session: a backend that hands its key over as one would put
        // the key on a device that must not hold it (handoff mode, browsers).
        .filter(|t| !t.starts_with("pg_"))
        .ok_or(())?;
    let secs = |v: &Option<serde_json::Value>| {
        v.as_ref()
            .and_then(serde_json::Value::as_f64)
            .filter(|s| *s > 0.0 && *s < 1.0e10)
            .map(|s| Duration::from_millis((s * 1000.0) as u64))
    };
    let expires_in = secs(&a.expires_in);
    let claims = read_claims(&jwt).ok();
    let exp = match (&claims, expires_in) {
        (Some(c), _) => c.exp,
        (None, Some(d)) => server_now.plus(d),
        (None, None) => return Err(()),
    };
    let iat = claims.as_ref().and_then(|c| c.iat);
    let lifetime = match (iat, expires_in) {
        (Some(i), _) if exp > i => exp.since(i),
        (_, Some(d)) => d,
        _ => exp.since(server_now),
    };
    let refresh = a
        .refresh_token
        .filter(|r| !r.is_empty() && r.len() <= 16 * 1024);
    let refresh_exp = refresh
        .as_ref()
        .map(|_| server_now.plus(secs(&a.refresh_expires_in).unwrap_or(DEFAULT_REFRESH_TTL)));
    let session_id = match a.session_id {
        Some(serde_json::Value::String(s)) if s.len() <= 256 => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    Ok(Tokens {
        jwt: Secret::new(jwt),
        refresh: refresh.map(Secret::new),
        session_id,
        exp,
        iat,
        refresh_exp,
        lifetime,
        scope: claims.and_then(|c| c.scope),
        generation: 0,
    })
}

/// Tokens from a persisted snapshot.
pub(crate) fn from_snapshot(s: &SessionSnapshot) -> Tokens {
    let claims = read_claims(s.session_token.expose()).ok();
    let iat = claims.as_ref().and_then(|c| c.iat);
    let lifetime = match iat {
        Some(i) if s.expires_at > i => s.expires_at.since(i),
        _ => Duration::from_secs(24 * 3600),
    };
    Tokens {
        jwt: s.session_token.clone(),
        refresh: s.refresh_token.clone(),
        session_id: s.session_id.clone(),
        exp: s.expires_at,
        iat,
        refresh_exp: s.refresh_expires_at,
        lifetime,
        scope: claims.and_then(|c| c.scope),
        generation: 0,
    }
}
