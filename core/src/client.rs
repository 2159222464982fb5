//! The client: the machines wired together behind the Sans-IO surface.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::call::{Budget, Call, CallSpec, Next, Outcome, Phase, UsedCredential};
use crate::classify::{classify_response, classify_transport, local, Credential, Stage};
use crate::config::{Checked, Config, Mode};
use crate::ctx::Ctx;
use crate::error::{ConfigError, ErrorKind, MisuseError};
use crate::event::{Event, SessionChange, SessionInfo};
use crate::http::{
    CallId, HttpRequest, HttpResponse, Method, Purpose, RequestId, TransportErrorKind,
    MAX_ERROR_BODY,
};
use crate::rng::Rng;
use crate::route::{Input as RouteInput, RouteKey, Router};
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

#[derive(Clone, Copy, Debug)]
struct Pending {
    purpose: Purpose,
    /// When the core gives up on it (driver clock).
    deadline: Option<Timestamp>,
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
    outbox: VecDeque<HttpRequest>,
    events: VecDeque<Event>,
    session: Session,
    router: Router,
    calls: BTreeMap<CallId, Call>,
    pending: BTreeMap<RequestId, Pending>,
    abandoned: BTreeSet<RequestId>,
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
            calls: BTreeMap::new(),
            pending: BTreeMap::new(),
            abandoned: BTreeSet::new(),
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
            if spec.path.contains(k) || spec.model.as_deref().is_some_and(|m| m.contains(k)) {
                return Err(MisuseError::BadCall("the path or model hint contains the API key: it belongs only in the Authorization header the core adds"));
            }
        }
        self.observe_now(now);
        self.next_call += 1;
        let id = CallId(self.next_call);
        let trace = ctx!(self).trace_id();
        self.calls.insert(id, Call::new(id, spec, trace));
        self.drive(now);
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
        true
    }

    /// Forgets the session: waiting calls fail with [`ErrorKind::NoSession`], and a
    /// [`Event::SessionChanged`] with no snapshot says to delete the persisted one. In
    /// session mode the next call exchanges the key again; in handoff mode the app hands
    /// over a new session.
    pub fn logout(&mut self, now: Timestamp) {
        self.observe_now(now);
        self.abandon_session_request();
        let notice = self
            .session
            .step(now, SessionInput::Logout, &mut ctx!(self));
        self.apply_notice(now, notice);
        self.drive(now);
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
        self.drive(now);
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
                    .step(now, RouteInput::Answer(id, &resp), &mut ctx!(self))
            }
            Purpose::Call(call) => self.on_call_answer(now, call, id, &resp),
        }
        self.drive(now);
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
        Ok(())
    }

    /// Lets time pass: request timeouts, proactive refresh, backoffs, waits. Call it at
    /// (or after) [`poll_timeout`](Self::poll_timeout); calling it early is harmless.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        self.observe_now(now);
        let expired: Vec<(RequestId, Purpose)> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline.is_some_and(|d| d <= now))
            .map(|(id, p)| (*id, p.purpose))
            .collect();
        for (id, purpose) in expired {
            self.pending.remove(&id);
            self.remember_abandoned(id);
            self.events.push_back(Event::Abort { request: id });
            self.on_transport_error(now, id, purpose, TransportErrorKind::Timeout);
        }
        let n = self.session.step(now, SessionInput::Tick, &mut ctx!(self));
        self.apply_notice(now, n);
        let mut failed = Vec::new();
        for c in self.calls.values_mut() {
            if let Phase::Backoff(at) = c.phase {
                if at <= now {
                    c.phase = Phase::Waiting;
                }
            }
            if c.phase == Phase::Waiting && c.wait_deadline.is_some_and(|d| d <= now) {
                failed.push(c.id);
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
    }

    // ----- outputs -----

    /// The next request to send. The driver sends it as is (for app calls adding the
    /// app's body and its own content headers) and answers with its id.
    #[must_use]
    pub fn poll_request(&mut self, now: Timestamp) -> Option<HttpRequest> {
        let req = self.outbox.pop_front()?;
        // The deadline is set on this `now`: see a clock step first, or the next input
        // would take the step as news and move this fresh deadline back by it again.
        self.observe_now(now);
        let deadline = Some(now.plus(req.timeout));
        self.pending.insert(
            req.id,
            Pending {
                purpose: req.purpose,
                deadline,
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
        let requests = self.pending.values().filter_map(|p| p.deadline);
        let calls = self.calls.values().filter_map(|c| match c.phase {
            Phase::Backoff(at) => Some(at),
            Phase::Waiting => c.wait_deadline,
            Phase::InFlight { .. } => None,
        });
        requests
            .chain(calls)
            .chain(self.session.poll_timeout())
            .min()
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
    fn take_pending(&mut self, id: RequestId) -> Result<Option<Pending>, MisuseError> {
        if let Some(p) = self.pending.remove(&id) {
            return Ok(Some(p));
        }
        if self.abandoned.remove(&id) {
            return Ok(None);
        }
        Err(MisuseError::UnknownRequest(id))
    }

    /// Detects a clock that stepped back: the server's clock did not, so the skew grows
    /// by the step and every local deadline moves with it (nothing waits an hour longer
    /// because the clock was set back an hour).
    fn observe_now(&mut self, now: Timestamp) {
        if let Some(last) = self.last_now {
            if now.as_millis().saturating_add(BACKWARD_JUMP_MS) < last.as_millis() {
                let back = last.diff_millis(now);
                self.session.rebase(back);
                self.router.rebase(back);
                for p in self.pending.values_mut() {
                    p.deadline = p.deadline.map(|d| d.offset(-back));
                }
                for c in self.calls.values_mut() {
                    if let Phase::Backoff(at) = c.phase {
                        c.phase = Phase::Backoff(at.offset(-back));
                    }
                    c.wait_deadline = c.wait_deadline.map(|d| d.offset(-back));
                }
            }
        }
        self.last_now = Some(now);
    }

    /// Drops a request the core no longer needs: unsent, it is simply withdrawn; sent, the
    /// driver is asked to abort it and a late answer is accepted quietly.
    fn abandon(&mut self, req: RequestId) {
        let before = self.outbox.len();
        self.outbox.retain(|r| r.id != req);
        if self.outbox.len() == before && self.pending.remove(&req).is_some() {
            self.remember_abandoned(req);
            self.events.push_back(Event::Abort { request: req });
        }
    }

    fn remember_abandoned(&mut self, req: RequestId) {
        self.abandoned.insert(req);
        while self.abandoned.len() > MAX_ABANDONED {
            self.abandoned.pop_first();
        }
    }

    fn abandon_session_request(&mut self) {
        if let State::Exchanging(req) | State::Refreshing(req) = self.session.state() {
            self.abandon(req);
        }
    }

    fn on_transport_error(
        &mut self,
        now: Timestamp,
        id: RequestId,
        purpose: Purpose,
        kind: TransportErrorKind,
    ) {
        match purpose {
            Purpose::Exchange | Purpose::Refresh => {
                let n = self
                    .session
                    .step(now, SessionInput::Failed(id, kind), &mut ctx!(self));
                self.apply_notice(now, n);
            }
            Purpose::Discover => self
                .router
                .step(now, RouteInput::Failed(id), &mut ctx!(self)),
            Purpose::Call(call) => {
                let region = match self.calls.get(&call).map(|c| &c.phase) {
                    Some(Phase::InFlight { req, region, .. }) if *req == id => region.clone(),
                    _ => return,
                };
                self.router
                    .step(now, RouteInput::EdgeFailed(&region), &mut ctx!(self));
                if kind.never_sent() && Router::can_fail_over(&self.cfg) {
                    if let Some(c) = self.calls.get_mut(&call) {
                        c.avoid.push(region);
                    }
                }
                let error = classify_transport(Stage::Call, kind);
                let outcome = Outcome::Failure {
                    error,
                    never_sent: kind.never_sent(),
                };
                self.advance_call(now, call, outcome);
            }
        }
    }

    fn on_call_answer(&mut self, now: Timestamp, call: CallId, id: RequestId, resp: &HttpResponse) {
        let (region, credential) = match self.calls.get(&call).map(|c| &c.phase) {
            Some(Phase::InFlight {
                req,
                region,
                credential,
            }) if *req == id => (region.clone(), *credential),
            _ => return,
        };
        let down = matches!(resp.status, 502..=504);
        let input = if down {
            RouteInput::EdgeFailed(&region)
        } else {
            RouteInput::EdgeOk(&region)
        };
        self.router.step(now, input, &mut ctx!(self));
        let outcome = if (200..300).contains(&resp.status) {
            Outcome::Success
        } else {
            let cred = match credential {
                UsedCredential::Jwt(_) => Credential::Jwt,
                UsedCredential::Key => Credential::Key,
            };
            let secrets = self.known_secrets();
            let refs: Vec<&Secret> = secrets.iter().collect();
            let server_now = self.session.server_now(now);
            let error = classify_response(Stage::Call, cred, resp, server_now, &refs);
            match (resp.status, credential) {
                (401, UsedCredential::Jwt(generation)) => {
                    if let Some(c) = self.calls.get_mut(&call) {
                        c.last_error = Some(c.stamp(error));
                    }
                    Outcome::JwtRejected(generation)
                }
                _ => Outcome::Failure {
                    error,
                    never_sent: false,
                },
            }
        };
        if let Outcome::Success = outcome {
            let region = Some(region);
            self.advance_call(now, call, outcome);
            self.events.push_back(Event::CallReady {
                call,
                request: id,
                region,
            });
            return;
        }
        self.advance_call(now, call, outcome);
    }

    fn known_secrets(&self) -> Vec<Secret> {
        let mut v: Vec<Secret> = self.cfg.api_key.iter().cloned().collect();
        if let Some(t) = self.session.tokens() {
            v.push(t.jwt.clone());
            v.extend(t.refresh.iter().cloned());
        }
        v.extend(self.session.retired().iter().cloned());
        v
    }

    fn advance_call(&mut self, now: Timestamp, call: CallId, outcome: Outcome) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let policy = &self.cfg.cfg.retry;
        let mut ctx = Ctx {
            cfg: &self.cfg,
            rng: &mut self.rng,
            next_request: &mut self.next_request,
            outbox: &mut self.outbox,
            events: &mut self.events,
        };
        match c.on_outcome(now, outcome, policy, &mut self.budget, &mut ctx) {
            Next::Ready => {
                self.calls.remove(&call);
            }
            Next::Replay(generation) => {
                let n = self
                    .session
                    .step(now, SessionInput::Rejected(generation), &mut ctx!(self));
                self.apply_notice(now, n);
            }
            Next::RetryAt(_) => {}
            Next::Fail(e) => self.fail(call, e),
        }
    }

    fn fail(&mut self, call: CallId, error: crate::error::CallError) {
        if let Some(c) = self.calls.remove(&call) {
            let error = c.stamp(error);
            self.events.push_back(Event::CallFailed { call, error });
        }
    }

    /// Tells the calls waiting on the session what became of it.
    fn apply_notice(&mut self, now: Timestamp, notice: Option<Notice>) {
        let Some(notice) = notice else {
            return;
        };
        let key = self.cfg.api_key.clone();
        if let Credentials::Jwt(..) | Credentials::Key(_) =
            self.session.credentials(now, key.as_ref())
        {
            return; // calls have a usable credential: nobody is waiting on the session
        }
        let waiting = self.waiting();
        let max = self.cfg.cfg.retry.max_attempts;
        for id in waiting {
            match &notice {
                Notice::Fatal(e) => self.fail(id, e.clone()),
                Notice::Transient(e) => {
                    let Some(c) = self.calls.get_mut(&id) else {
                        continue;
                    };
                    c.attempts += 1;
                    c.last_error = Some(e.clone());
                    if c.attempts >= max {
                        self.fail(id, e.clone());
                    }
                }
                Notice::Ended(e) => {
                    if let Some(c) = self.calls.get_mut(&id) {
                        c.last_error = Some(e.clone());
                        c.wait_deadline
                            .get_or_insert(now.plus(self.cfg.cfg.handoff_wait));
                    }
                }
            }
        }
        if !self.calls.values().any(|c| c.phase == Phase::Waiting) {
            self.session.clear_demand();
        }
    }

    /// Moves every waiting call forward: credentials, route, then send.
    fn drive(&mut self, now: Timestamp) {
        if !self.calls.values().any(|c| c.phase == Phase::Waiting) {
            return;
        }
        // One credential serves every waiting call: ask once, not once per call.
        let key = self.cfg.api_key.clone();
        let (secret, used, scope) = match self.session.credentials(now, key.as_ref()) {
            Credentials::Jwt(s, g, scope) => (s, UsedCredential::Jwt(g), scope),
            Credentials::Key(k) => (k, UsedCredential::Key, None),
            Credentials::Fail(e) => {
                for id in self.waiting() {
                    self.fail(id, e.clone());
                }
                return;
            }
            Credentials::Wait => {
                // Discover while the session is being obtained, not after it.
                self.resolve_routes(now);
                let n = self
                    .session
                    .step(now, SessionInput::Demand, &mut ctx!(self));
                self.apply_notice(now, n);
                if self.session.state() == State::Ended {
                    let deadline = now.plus(self.cfg.cfg.handoff_wait);
                    for c in self
                        .calls
                        .values_mut()
                        .filter(|c| c.phase == Phase::Waiting)
                    {
                        c.wait_deadline.get_or_insert(deadline);
                    }
                }
                return;
            }
        };
        let admin_only_denied = scope.as_ref().is_some_and(|s| !s.is_admin());
        for id in self.waiting() {
            let Some(c) = self.calls.get(&id) else {
                continue;
            };
            if admin_only_denied && c.spec.bare_path() == "/v1/tokens" {
                self.fail(id, local(ErrorKind::InsufficientScope, Stage::Call));
                continue;
            }
            let rkey = RouteKey {
                scope: self.cfg.scope,
                model: c.spec.model.clone(),
            };
            let Some(target) = self.router.target_for(now, &rkey, &self.cfg, &c.avoid) else {
                self.router
                    .step(now, RouteInput::Resolve(&rkey), &mut ctx!(self));
                continue;
            };
            if c.avoid.contains(&target.region) {
                // Every known region failed for certain for this call.
                if let Some(e) = c.last_error.clone() {
                    self.fail(id, e);
                    continue;
                }
            }
            self.dispatch(id, target, secret.clone(), used);
        }
    }

    /// Starts discovery for every waiting call whose route is unknown.
    fn resolve_routes(&mut self, now: Timestamp) {
        // Distinct model hints only: a thousand calls waiting on one refresh share a route.
        let models: std::collections::BTreeSet<Option<&str>> = self
            .calls
            .values()
            .filter(|c| c.phase == Phase::Waiting)
            .map(|c| c.spec.model.as_deref())
            .collect();
        let keys: Vec<RouteKey> = models
            .into_iter()
            .map(|m| RouteKey {
                scope: self.cfg.scope,
                model: m.map(str::to_string),
            })
            .collect();
        for k in keys {
            if self.router.target(now, &k, &self.cfg).is_none() {
                self.router
                    .step(now, RouteInput::Resolve(&k), &mut ctx!(self));
            }
        }
    }

    /// Calls waiting for a credential or a route, in id order.
    fn waiting(&self) -> Vec<CallId> {
        self.calls
            .values()
            .filter(|c| c.phase == Phase::Waiting)
            .map(|c| c.id)
            .collect()
    }

    fn dispatch(
        &mut self,
        id: CallId,
        target: crate::route::Target,
        secret: Secret,
        used: UsedCredential,
    ) {
        let mut ctx = ctx!(self);
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        let url = target.url.join(&c.spec.path);
        let headers = vec![
            (
                "Authorization".to_string(),
                format!("Bearer {}", secret.expose()),
            ),
            ("User-Agent".to_string(), ctx.cfg.cfg.user_agent.clone()),
            ("X-Request-ID".to_string(), c.trace_id.clone()),
        ];
        let timeout = c.spec.timeout.unwrap_or(ctx.cfg.cfg.timeouts.call);
        let method: Method = c.spec.method;
        let req = ctx.send(Purpose::Call(id), method, url, headers, None, timeout);
        c.phase = Phase::InFlight {
            req,
            region: target.region.clone(),
            credential: used,
        };
        c.attempts += 1;
        c.sends += 1;
        if self.router.note_used(&target.region) {
            self.events.push_back(Event::RegionChanged {
                region: target.region,
                endpoint: target.url.base(),
                reason: target.reason,
            });
        }
    }
}
