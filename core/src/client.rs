//! The client: the machines wired together behind the Sans-IO surface.

#[allow(unused_imports)]
use crate::prelude::*;
use alloc::collections::VecDeque;

use crate::call::{Budget, Call, CallSpec, Next, Outcome, Phase, UsedCredential};
use crate::calls::{Calls, Timer, Timers};
use crate::classify::{classify_response, classify_transport, local, Credential, Stage};
use crate::config::{Checked, Config, Mode};
use crate::ctx::Ctx;
use crate::error::{ConfigError, ErrorKind, MisuseError};
use crate::event::{Event, RegionReason, SessionChange, SessionInfo};
use crate::http::{
    answer_head_broken, CallId, Certainty, HeaderText, HttpRequest, HttpResponse, Method, Purpose,
    RequestId, TransportErrorKind, MAX_ERROR_BODY,
};
use crate::idmap::IdMap;
use crate::rng::Rng;
use crate::route::{Input as RouteInput, Router};
use crate::secret::Secret;
use crate::session::{self, Credentials, Input as SessionInput, Notice, Session, State};
use crate::snapshot::SessionSnapshot;
use crate::time::Timestamp;

/// How far back the clock may step before the core treats it as a jump.
const BACKWARD_JUMP_MS: u64 = 1000;
/// Abandoned request ids remembered so a late answer is accepted and ignored.
const MAX_ABANDONED: usize = 4096;

/// Where the session is, for display and decisions.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionStatus {
    /// Direct mode: no session, the key goes to the edges.
    Direct,
    /// No session yet (one is exchanged when a call needs it).
    None,
    /// A key exchange is in flight.
    Exchanging,
    /// A session is held.
    Active(SessionInfo),
    /// A session is held and a refresh is in flight.
    Refreshing(SessionInfo),
    /// Handoff mode: no usable session; waiting for the app to hand one over.
    Ended,
}

impl SessionStatus {
    /// A stable lowercase name: `direct`, `none`, `exchanging`, `active`, `refreshing` or
    /// `ended` (every binding uses these).
    pub fn as_str(&self) -> &'static str {
        match self {
            SessionStatus::Direct => "direct",
            SessionStatus::None => "none",
            SessionStatus::Exchanging => "exchanging",
            SessionStatus::Active(_) => "active",
            SessionStatus::Refreshing(_) => "refreshing",
            SessionStatus::Ended => "ended",
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Pending {
    purpose: Purpose,
    /// When the core gives up on it (driver clock).
    deadline: Option<Timestamp>,
    /// When the core judges its connect phase itself, for a transport that cannot observe
    /// it (`Config::transport_observes_connect`): see [`Client::no_head_by_connect`].
    connect_deadline: Option<Timestamp>,
    /// When it was handed to the driver (driver clock): its answer's `Date` is later.
    sent: Timestamp,
}

/// The PolarGrid client core. See the crate docs for the run loop.
///
/// Every method that can change state takes the driver's `now` first. Outputs are
/// polled: [`poll_request`](Self::poll_request), [`poll_event`](Self::poll_event),
/// [`poll_timeout`](Self::poll_timeout).
#[derive(Debug)]
pub struct Client {
    cfg: Checked,
    rng: Rng,
    next_request: u64,
    next_call: u64,
    /// Requests for the driver, in id order; `None` for one withdrawn before it was polled.
    outbox: VecDeque<(RequestId, Option<HttpRequest>)>,
    events: VecDeque<Event>,
    session: Session,
    router: Router,
    calls: Calls,
    timers: Timers,
    /// The credential the parked calls last saw (a new one may change their fate).
    parked_with: Option<UsedCredential>,
    /// The `Authorization` value (`Bearer …`) of the credential calls use now, built once
    /// per credential (a JWT generation, or the key) and shared by its requests instead of
    /// copied for each; dropped when no credential is usable. Redacted in `Debug`.
    bearer: Option<(UsedCredential, drive::Bearer)>,
    pending: IdMap<RequestId, Pending>,
    /// Recently abandoned request ids, sorted (at most `MAX_ABANDONED`).
    abandoned: Vec<RequestId>,
    budget: Budget,
    last_now: Option<Timestamp>,
}

macro_rules! ctx {
    ($s:ident) => {
        Ctx {
            cfg: &$s.cfg,
            rng: &mut $s.rng,
            next_request: &mut $s.next_request,
            outbox: &mut $s.outbox,
            events: &mut $s.events,
        }
    };
}

mod drive;
mod tabs;
pub use tabs::{
    AfterWithheld, Offer, TabWaits, Withheld, ASK_WAIT, LEDGER_KEEP, OFFER_WAIT, STORAGE_WAIT,
};

impl Client {
    /// Checks the configuration and builds a client. `seed` drives all jitter and
    /// request ids: the same seed and inputs give the same outputs.
    pub fn new(config: Config, seed: u64) -> Result<Client, ConfigError> {
        let cfg = Checked::new(config)?;
        let budget = Budget::new(&cfg.cfg.retry);
        Ok(Client {
            session: Session::new(cfg.mode),
            cfg,
            rng: Rng::new(seed),
            next_request: 0,
            next_call: 0,
            outbox: VecDeque::new(),
            events: VecDeque::new(),
            router: Router::default(),
            calls: Calls::default(),
            timers: Timers::default(),
            parked_with: None,
            bearer: None,
            pending: IdMap::default(),
            abandoned: Vec::new(),
            budget,
            last_now: None,
        })
    }

    // ----- commands -----

    /// Starts a call. It ends with exactly one of [`Event::CallReady`],
    /// [`Event::CallFailed`] or [`Event::CallCancelled`].
    pub fn start_call(&mut self, now: Timestamp, spec: CallSpec) -> Result<CallId, MisuseError> {
        spec.check()?;
        if let Some(k) = &self.cfg.api_key {
            // URLs end up in logs, and the model hint goes to the autorouter.
            let k = k.expose();
            // (A text shorter than the key cannot hold it: the usual case, and no search.)
            let holds = |t: &str| t.len() >= k.len() && t.contains(k);
            if holds(&spec.path) || spec.model.as_deref().is_some_and(holds) {
                return Err(MisuseError::BadCall("the path or model hint contains the API key: it belongs only in the Authorization header the core adds"));
            }
        }
        self.observe_now(now);
        self.next_call += 1;
        let id = CallId(self.next_call);
        let trace = ctx!(self).trace();
        let t = &self.cfg.cfg.timeouts;
        let deadline = spec
            .deadline
            .or(t.call_deadline)
            .unwrap_or_else(|| spec.timeout.unwrap_or(t.call).saturating_mul(2));
        let deadline = Some(now.plus(deadline));
        if let Some(d) = deadline {
            self.timers.push(d, Timer::Call(id));
        }
        self.calls
            .insert(Call::new(id, spec, trace, deadline), self.cfg.scope);
        self.drive(now);
        self.tidy_timers();
        Ok(id)
    }

    /// Cancels a call. Returns `false` if it already ended (or never existed).
    pub fn cancel_call(&mut self, now: Timestamp, call: CallId) -> bool {
        self.observe_now(now);
        let Some(c) = self.calls.remove(&call) else {
            return false;
        };
        if let Phase::InFlight { req, .. } = c.phase {
            self.abandon(req);
        }
        self.events.push_back(Event::CallCancelled { call });
        self.tidy_timers();
        true
    }

    /// Forgets the session: waiting calls fail with [`ErrorKind::NoSession`], and a
    /// [`Event::SessionChanged`] with no snapshot says to delete the persisted one. In
    /// session mode the next call exchanges the key again; in handoff mode the app hands
    /// over a new session.
    pub fn logout(&mut self, now: Timestamp) {
        self.observe_now(now);
        self.abandon_session_request();
        self.bearer = None;
        let notice = self
            .session
            .step(now, SessionInput::Logout, &mut ctx!(self));
        self.apply_notice(now, notice);
        self.drive(now);
        self.tidy_timers();
    }

    /// Hands over a session minted elsewhere (your backend called `/v1/auth/session`):
    /// `grant_json` is that answer's JSON, as is. Waiting calls continue with it.
    pub fn hand_over(&mut self, now: Timestamp, grant_json: &str) -> Result<(), MisuseError> {
        self.refuse_in_direct_mode()?;
        self.observe_now(now);
        let server_now = self.session.server_now(now);
        let tokens = session::parse_grant(grant_json.as_bytes(), server_now)
            .map_err(|_| MisuseError::BadSnapshot("not a session answer: needs session_token (or token) and an exp claim or expires_in"))?;
        self.adopt(now, tokens, SessionChange::HandedOver);
        Ok(())
    }

    /// Restores a persisted session (from [`Event::SessionChanged`]). An expired one is
    /// refreshed (or the key exchanged) when a call needs it.
    pub fn restore(
        &mut self,
        now: Timestamp,
        snapshot: &SessionSnapshot,
    ) -> Result<(), MisuseError> {
        self.refuse_in_direct_mode()?;
        self.observe_now(now);
        if let Some(skew) = snapshot.clock_skew_ms {
            self.session.restore_skew(skew);
        }
        self.adopt(
            now,
            session::from_snapshot(snapshot),
            SessionChange::Restored,
        );
        Ok(())
    }

    fn refuse_in_direct_mode(&self) -> Result<(), MisuseError> {
        if self.cfg.mode == Mode::Direct {
            return Err(MisuseError::BadCall(
                "direct mode keeps no session: use session or handoff mode",
            ));
        }
        Ok(())
    }

    fn adopt(&mut self, now: Timestamp, tokens: session::Tokens, reason: SessionChange) {
        self.abandon_session_request();
        let notice = self
            .session
            .step(now, SessionInput::Adopt(tokens, reason), &mut ctx!(self));
        self.apply_notice(now, notice);
        for c in self.calls.values_mut() {
            c.wait_deadline = None;
        }
        self.calls.refresh_all();
        self.drive(now);
        self.tidy_timers();
    }

    // ----- inputs -----

    /// Feeds the answer to request `id`. For app calls pass the status, headers and, for a
    /// non-2xx status, the first [`MAX_ERROR_BODY`] bytes of the body.
    ///
    /// An id the core never emitted (or already resolved) is a [`MisuseError`] and changes
    /// nothing; an answer to a request the core abandoned is accepted and ignored.
    pub fn handle_response(
        &mut self,
        now: Timestamp,
        id: RequestId,
        response: HttpResponse,
    ) -> Result<(), MisuseError> {
        let Some(p) = self.take_pending(id)? else {
            return Ok(());
        };
        self.observe_now(now);
        if answer_head_broken(&response.headers) {
            // Not valid HTTP (a header with CR, LF or NUL, a head over 64 KiB): the same
            // answer whichever platform's parser let it through (`check_header`).
            self.on_transport_error(now, id, p.purpose, TransportErrorKind::Protocol);
            self.drive(now);
            self.tidy_timers();
            return Ok(());
        }
        let mut resp = response;
        if !p.purpose.core_owned() {
            resp.body.truncate(MAX_ERROR_BODY);
        }
        match p.purpose {
            Purpose::Exchange | Purpose::Refresh => {
                let input = SessionInput::Answer(id, &resp, p.sent);
                let n = self.session.step(now, input, &mut ctx!(self));
                self.apply_notice(now, n);
            }
            Purpose::Discover => {
                self.router
                    .step(now, RouteInput::Answer(id, &resp), &mut ctx!(self));
                self.calls.release_parked();
            }
            Purpose::Call(call) => self.on_call_answer(now, call, id, &resp),
        }
        self.drive(now);
        self.tidy_timers();
        Ok(())
    }

    /// Feeds a failure below HTTP for request `id` (same id rules as
    /// [`handle_response`](Self::handle_response)).
    pub fn handle_transport_error(
        &mut self,
        now: Timestamp,
        id: RequestId,
        kind: TransportErrorKind,
    ) -> Result<(), MisuseError> {
        let Some(p) = self.take_pending(id)? else {
            return Ok(());
        };
        self.observe_now(now);
        self.on_transport_error(now, id, p.purpose, kind);
        self.drive(now);
        self.tidy_timers();
        Ok(())
    }

    /// Lets time pass: request timeouts, proactive refresh, backoffs, waits. Call it at
    /// (or after) [`poll_timeout`](Self::poll_timeout); calling it early is harmless.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        self.observe_now(now);
        // Everything due, from the timer heap: requests first (in id order), as before.
        // (Ids are sorted as plain numbers: one sort in the wasm build, not one per type.)
        let mut due_calls: Vec<u64> = Vec::new();
        let mut expired: Vec<u64> = Vec::new();
        let mut unconnected: Vec<u64> = Vec::new();
        while let Some((at, t)) = self.timers.pop_due(now) {
            match t {
                Timer::Request(id) => {
                    if let Some(p) = self.pending.get(&id) {
                        if p.connect_deadline == Some(at) {
                            unconnected.push(id.0);
                        }
                        if p.deadline == Some(at) {
                            expired.push(id.0);
                        }
                    }
                }
                Timer::Call(id) => due_calls.push(id.0),
            }
        }
        // A connect phase judged by the core comes first: when it moves the call on, the
        // same request's attempt deadline (if due too) finds it gone.
        unconnected.sort_unstable();
        unconnected.dedup();
        for id in unconnected {
            self.no_head_by_connect(now, RequestId(id));
        }
        expired.sort_unstable();
        expired.dedup();
        for id in expired.into_iter().map(RequestId) {
            let Some(p) = self.pending.remove(&id) else {
                continue;
            };
            self.remember_abandoned(id);
            self.events.push_back(Event::Abort { request: id });
            self.on_transport_error(now, id, p.purpose, TransportErrorKind::Timeout);
        }
        let n = self.session.step(now, SessionInput::Tick, &mut ctx!(self));
        self.apply_notice(now, n);
        // Calls whose backoff ended or whose wait ran out (judged on their state now;
        // the steps above may have set new ones). No request timer can be due here (only
        // `poll_request` sets them), but one would be kept, not lost.
        let mut requests = Vec::new();
        while let Some((at, t)) = self.timers.pop_due(now) {
            match t {
                Timer::Call(id) => due_calls.push(id.0),
                Timer::Request(_) => requests.push((at, t)),
            }
        }
        for (at, t) in requests {
            self.timers.push(at, t);
        }
        due_calls.sort_unstable();
        due_calls.dedup();
        let mut failed = Vec::new();
        for id in due_calls.into_iter().map(CallId) {
            if self.past_deadline(now, id) {
                continue;
            }
            let Some(c) = self.calls.get_mut(&id) else {
                continue;
            };
            if let Phase::Backoff(at) = c.phase {
                if at <= now {
                    c.phase = Phase::Waiting;
                    let deadline = self.calls.entered_waiting(id, self.cfg.scope);
                    if let Some(d) = deadline {
                        self.timers.push(d, Timer::Call(id));
                    }
                }
            }
            let Some(c) = self.calls.get(&id) else {
                continue;
            };
            if c.phase == Phase::Waiting && c.wait_deadline.is_some_and(|d| d <= now) {
                failed.push(id);
            }
        }
        for id in failed {
            let e = match self.session.state() {
                State::Ended => Some(self.session.end_reason()),
                _ => self.calls.get(&id).and_then(|c| c.last_error.clone()),
            };
            let e = e.unwrap_or_else(|| self.session.end_reason());
            self.fail(id, e);
        }
        self.drive(now);
        self.tidy_timers();
    }

    // ----- outputs -----

    /// The next request to send. The driver sends it as is (for app calls adding the
    /// app's body and its own content headers) and answers with its id.
    #[must_use]
    pub fn poll_request(&mut self, now: Timestamp) -> Option<HttpRequest> {
        let req = loop {
            if let (_, Some(r)) = self.outbox.pop_front()? {
                break r;
            }
        };
        // The deadline is set on this `now`: see a clock step first, or the next input
        // would take the step as news and move this fresh deadline back by it again.
        self.observe_now(now);
        let deadline = Some(now.plus(req.timeout));
        self.timers
            .push(now.plus(req.timeout), Timer::Request(req.id));
        let connect_deadline = if self.cfg.cfg.transport_observes_connect {
            None
        } else {
            self.watch_connect(now, &req)
        };
        self.pending.insert(
            req.id,
            Pending {
                purpose: req.purpose,
                deadline,
                connect_deadline,
                sent: now,
            },
        );
        Some(req)
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When the core next wants [`handle_timeout`](Self::handle_timeout). The value may
    /// change after any other call; `None` means nothing is scheduled.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        // Every input leaves the earliest timer one that holds (see `tidy_timers`).
        let timers = self.timers.peek().map(|(at, _)| at);
        timers.into_iter().chain(self.session.poll_timeout()).min()
    }

    // ----- getters -----

    /// The session's state (never its secrets).
    pub fn session_status(&self) -> SessionStatus {
        if self.cfg.mode == Mode::Direct {
            return SessionStatus::Direct;
        }
        match (self.session.state(), self.session.info()) {
            (State::Exchanging(_), _) => SessionStatus::Exchanging,
            (State::Refreshing(_), Some(i)) => SessionStatus::Refreshing(i),
            (State::Active, Some(i)) => SessionStatus::Active(i),
            (State::Ended, _) => SessionStatus::Ended,
            _ => SessionStatus::None,
        }
    }

    /// The snapshot to persist, if a session is held (holds secrets).
    pub fn session_snapshot(&self) -> Option<SessionSnapshot> {
        self.session.snapshot()
    }

    /// The region the last call went to.
    pub fn current_region(&self) -> Option<&str> {
        self.router.current()
    }

    /// Calls that have not ended yet.
    pub fn open_calls(&self) -> usize {
        self.calls.len()
    }

    /// Estimated server clock minus the driver's clock, in milliseconds.
    pub fn clock_skew_ms(&self) -> i64 {
        self.session.skew_ms()
    }

    /// Retries the budget allows right now.
    pub fn retry_budget(&self) -> u32 {
        self.budget.available()
    }

    // ----- internals -----

    /// Removes a pending request; `Ok(None)` for an abandoned one, `Err` for an unknown one.
    #[inline]
    fn take_pending(&mut self, id: RequestId) -> Result<Option<Pending>, MisuseError> {
        if let Some(p) = self.pending.remove(&id) {
            return Ok(Some(p));
        }
        if let Ok(i) = self.abandoned.binary_search(&id) {
            self.abandoned.remove(i);
            return Ok(None);
        }
        Err(MisuseError::UnknownRequest(id))
    }

    /// Detects a clock that stepped back: the server's clock did not, so the skew grows
    /// by the step and every local deadline moves with it (nothing waits an hour longer
    /// because the clock was set back an hour).
    #[inline]
    fn observe_now(&mut self, now: Timestamp) {
        if let Some(last) = self.last_now {
            if now.as_millis().saturating_add(BACKWARD_JUMP_MS) < last.as_millis() {
                self.clock_went_back(last.diff_millis(now));
            }
        }
        self.last_now = Some(now);
    }

    /// The clock jumped back by `back` ms: every deadline moves back with it.
    #[cold]
    fn clock_went_back(&mut self, back: i64) {
        self.session.rebase(back);
        self.router.rebase(back);
        for p in self.pending.values_mut() {
            p.deadline = p.deadline.map(|d| d.offset(-back));
            p.connect_deadline = p.connect_deadline.map(|d| d.offset(-back));
        }
        for c in self.calls.values_mut() {
            if let Phase::Backoff(at) = c.phase {
                c.phase = Phase::Backoff(at.offset(-back));
            }
            c.wait_deadline = c.wait_deadline.map(|d| d.offset(-back));
            c.deadline = c.deadline.map(|d| d.offset(-back));
        }
        self.rebuild_timers();
    }

    /// Drops a request the core no longer needs: unsent, it is simply withdrawn; sent, the
    /// driver is asked to abort it and a late answer is accepted quietly.
    fn abandon(&mut self, req: RequestId) {
        // The outbox is in id order: find an unsent request without a scan.
        if let Ok(i) = self.outbox.binary_search_by_key(&req, |(id, _)| *id) {
            self.outbox[i].1 = None;
        } else if self.pending.remove(&req).is_some() {
            self.remember_abandoned(req);
            self.events.push_back(Event::Abort { request: req });
        }
    }

    fn remember_abandoned(&mut self, req: RequestId) {
        if let Err(i) = self.abandoned.binary_search(&req) {
            self.abandoned.insert(i, req);
        }
        if self.abandoned.len() > MAX_ABANDONED {
            // The oldest go first (ids grow), as they did from the ordered set.
            let excess = self.abandoned.len() - MAX_ABANDONED;
            self.abandoned.drain(..excess);
        }
    }

    fn abandon_session_request(&mut self) {
        if let State::Exchanging(req) | State::Refreshing(req) = self.session.state() {
            self.abandon(req);
        }
    }
}
