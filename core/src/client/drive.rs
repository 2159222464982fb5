//! The client's internals: how answers move calls along, and the drive that sends every
//! waiting call once a credential and a route are there.

use super::*;
#[allow(unused_imports)]
use crate::prelude::*;

impl Client {
    pub(super) fn on_transport_error(
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
            Purpose::Discover => {
                self.router
                    .step(now, RouteInput::Failed(id), &mut ctx!(self));
                self.calls.release_parked();
            }
            Purpose::Call(call) => {
                let (region, idempotent) = match self.calls.get(&call) {
                    Some(c) => match &c.phase {
                        Phase::InFlight { req, region, .. } if *req == id => {
                            (region.clone(), c.idempotent)
                        }
                        _ => return,
                    },
                    None => return,
                };
                self.router
                    .step(now, RouteInput::EdgeFailed(&region), &mut ctx!(self));
                // The rule (route module docs): a certain failure never reached the
                // server; an opaque one is taken as certain for a call that is safe to
                // repeat, since sending it again, elsewhere, can do no harm.
                let as_certain = match kind.certainty() {
                    Certainty::Certain => true,
                    Certainty::Opaque => idempotent,
                    Certainty::Ambiguous => false,
                };
                if as_certain && Router::can_fail_over(&self.cfg) {
                    if let Some(c) = self.calls.get_mut(&call) {
                        c.avoid.push(region);
                    }
                }
                let error = classify_transport(Stage::Call, kind);
                let outcome = Outcome::Failure {
                    error,
                    never_sent: as_certain,
                };
                self.advance_call(now, call, outcome);
            }
        }
    }

    /// For a transport that cannot observe connects: the core's own connect deadline for
    /// `req`, armed when it is an attempt of a call whose answer head is expected fast and
    /// that may go elsewhere (the rule: `route` module docs, "Unobserved connects").
    /// Exchanges, refreshes and discovery are never watched: they run to their own timeout
    /// as everywhere.
    pub(super) fn watch_connect(&mut self, now: Timestamp, req: &HttpRequest) -> Option<Timestamp> {
        let Purpose::Call(call) = req.purpose else {
            return None;
        };
        if !self.calls.get(&call)?.connect_watched() || !Router::can_fail_over(&self.cfg) {
            return None;
        }
        let at = now.plus(req.connect_timeout);
        self.timers.push(at, Timer::Request(req.id));
        Some(at)
    }

    /// No answer head by the connect timeout, on a transport that cannot observe connects:
    /// an opaque failure of the attempt when the call can still go elsewhere (it is aborted
    /// and the call moves on, the region counting it toward being marked down); on the
    /// call's last chance the attempt runs on to its own deadline (`route` module docs).
    pub(super) fn no_head_by_connect(&mut self, now: Timestamp, id: RequestId) {
        let Some(p) = self.pending.get_mut(&id) else {
            return;
        };
        p.connect_deadline = None;
        let purpose = p.purpose;
        let Purpose::Call(call) = purpose else {
            return;
        };
        if !self.may_move_on(now, call, id) {
            return;
        }
        self.pending.remove(&id);
        self.remember_abandoned(id);
        self.events.push_back(Event::Abort { request: id });
        self.on_transport_error(now, id, purpose, TransportErrorKind::Opaque);
    }

    /// Whether a call whose attempt `req` has no head by its connect timeout can still be
    /// answered elsewhere: it is watched at all, may fail over and has a known region it
    /// has not failed on, an attempt and a retry token left, and time before its deadline
    /// for the longest backoff and a connect. Otherwise this attempt is its last chance.
    fn may_move_on(&self, now: Timestamp, call: CallId, req: RequestId) -> bool {
        let Some(c) = self.calls.get(&call) else {
            return false;
        };
        let Phase::InFlight { req: r, region, .. } = &c.phase else {
            return false;
        };
        let policy = &self.cfg.cfg.retry;
        let elsewhere = Router::has_alternative(&self.cfg, region, &c.avoid);
        let next = now
            .plus(crate::ctx::backoff(
                policy.base_backoff,
                policy.max_backoff,
                c.attempts,
            ))
            .plus(
                self.cfg
                    .cfg
                    .timeouts
                    .connect
                    .min(c.spec.timeout.unwrap_or(self.cfg.cfg.timeouts.call)),
            );
        *r == req
            && c.connect_watched()
            && elsewhere
            && c.attempts < policy.max_attempts
            && self.budget.available() > 0
            && c.deadline.is_none_or(|d| next < d)
    }

    pub(super) fn on_call_answer(
        &mut self,
        now: Timestamp,
        call: CallId,
        id: RequestId,
        resp: &HttpResponse,
    ) {
        // The region is taken, not copied: every outcome below moves the call on.
        let (region, credential) = match self.calls.get_mut(&call).map(|c| &mut c.phase) {
            Some(Phase::InFlight {
                req,
                region,
                credential,
            }) if *req == id => (core::mem::take(region), *credential),
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

    pub(super) fn known_secrets(&self) -> Vec<Secret> {
        let mut v: Vec<Secret> = self.cfg.api_key.iter().cloned().collect();
        if let Some(t) = self.session.tokens() {
            v.push(t.jwt.clone());
            v.extend(t.refresh.iter().cloned());
        }
        v.extend(self.session.retired().iter().cloned());
        v
    }

    pub(super) fn advance_call(&mut self, now: Timestamp, call: CallId, outcome: Outcome) {
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
                self.calls.discard(&call);
            }
            Next::Replay(generation) => {
                // The call waits again (for the refreshed session).
                if let Some(d) = self.calls.entered_waiting(call, self.cfg.scope) {
                    self.timers.push(d, Timer::Call(call));
                }
                let n = self
                    .session
                    .step(now, SessionInput::Rejected(generation), &mut ctx!(self));
                self.apply_notice(now, n);
            }
            Next::RetryAt(at) => self.timers.push(at, Timer::Call(call)),
            Next::Fail(e) => self.fail(call, e),
        }
    }

    /// Ends a call whose whole-call deadline has come: its in-flight request is aborted
    /// and it fails with its last error, or a timeout when it had none. `false` when the
    /// call is not past its deadline (or is gone).
    pub(super) fn past_deadline(&mut self, now: Timestamp, id: CallId) -> bool {
        let Some(c) = self.calls.get(&id) else {
            return false;
        };
        if c.deadline.is_none_or(|d| d > now) {
            return false;
        }
        let e = c.last_error.clone().unwrap_or_else(|| {
            crate::classify::local(ErrorKind::Network(TransportErrorKind::Timeout), Stage::Call)
        });
        if let Phase::InFlight { req, .. } = c.phase {
            self.abandon(req);
        }
        self.fail(id, e);
        true
    }

    pub(super) fn fail(&mut self, call: CallId, error: crate::error::CallError) {
        if let Some(c) = self.calls.remove(&call) {
            let error = c.stamp(error);
            self.events.push_back(Event::CallFailed { call, error });
        }
    }

    /// Tells the calls waiting on the session what became of it.
    pub(super) fn apply_notice(&mut self, now: Timestamp, notice: Option<Notice>) {
        let Some(notice) = notice else {
            return;
        };
        if let Credentials::Jwt(..) | Credentials::Key(_) =
            self.session.credentials(now, self.cfg.api_key.as_ref())
        {
            return; // calls have a usable credential: nobody is waiting on the session
        }
        // Session news concerns every waiting call: the one place that visits them all.
        let waiting = self.calls.waiting_ids();
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
                        if c.wait_deadline.is_none() {
                            let d = now.plus(self.cfg.cfg.handoff_wait);
                            c.wait_deadline = Some(d);
                            self.timers.push(d, Timer::Call(id));
                        }
                    }
                }
            }
        }
        if self.calls.waiting() == 0 {
            self.session.clear_demand();
        }
    }

    /// Moves the waiting calls forward: credentials, route, then send. Only calls that
    /// started waiting since the last drive, or whose route has just been discovered,
    /// are looked at: the cost does not grow with the number of calls parked.
    pub(super) fn drive(&mut self, now: Timestamp) {
        if self.calls.waiting() == 0 {
            self.calls.clear_fresh();
            return;
        }
        // One credential serves every waiting call: ask once, not once per call.
        let creds = match self.session.credentials(now, self.cfg.api_key.as_ref()) {
            Credentials::Jwt(s, g, scope) => {
                let used = UsedCredential::Jwt(g);
                cache_bearer(&mut self.bearer, used, s);
                Ok((used, scope.is_some_and(|s| !s.is_admin())))
            }
            Credentials::Key(k) => {
                cache_bearer(&mut self.bearer, UsedCredential::Key, k);
                Ok((UsedCredential::Key, false))
            }
            Credentials::Fail(e) => Err(Some(e)),
            Credentials::Wait => Err(None),
        };
        let (used, admin_only_denied) = match creds {
            Ok(c) => c,
            Err(Some(e)) => {
                self.bearer = None;
                for id in self.calls.waiting_ids() {
                    self.fail(id, e.clone());
                }
                self.calls.clear_fresh();
                return;
            }
            Err(None) => {
                self.bearer = None;
                // Discover while the session is being obtained, not after it.
                self.resolve_routes(now);
                let n = self
                    .session
                    .step(now, SessionInput::Demand, &mut ctx!(self));
                self.apply_notice(now, n);
                if self.session.state() == State::Ended {
                    // Calls that waited before the session ended got their deadline
                    // with the notice that ended it; these are the newcomers.
                    let deadline = now.plus(self.cfg.cfg.handoff_wait);
                    for id in self.calls.arm_fresh(deadline) {
                        self.timers.push(deadline, Timer::Call(id));
                    }
                } else {
                    self.calls.clear_fresh();
                }
                return;
            }
        };
        self.calls.clear_fresh();
        if self.parked_with != Some(used) {
            // A new credential (scope) may change what a parked call gets.
            self.parked_with = Some(used);
            self.calls.release_parked();
        }
        while let Some(id) = self.calls.pop_queued() {
            let Some(c) = self.calls.get(&id) else {
                continue;
            };
            if admin_only_denied && c.spec.bare_path() == "/v1/tokens" {
                self.fail(id, local(ErrorKind::InsufficientScope, Stage::Call));
                continue;
            }
            let Some(rkey) = self.calls.key_of(&id) else {
                self.calls.park(id); // (every waiting call's key is counted)
                continue;
            };
            let Some(target) = self.router.target_for(now, rkey, &self.cfg, &c.avoid) else {
                self.router
                    .step(now, RouteInput::Resolve(rkey), &mut ctx!(self));
                // Its route is being discovered: examined again when that ends.
                self.calls.park(id);
                continue;
            };
            if c.avoid.iter().any(|a| *a == *target.region) {
                // Every known region failed for certain for this call.
                if let Some(e) = c.last_error.clone() {
                    self.fail(id, e);
                    continue;
                }
            }
            // The target is read where the router keeps it: the URL and the call's own
            // copy of the region are the only texts made.
            let url = target.url.join(&c.spec.path);
            let region = target.region.into_owned();
            let announce = (self.router.current() != Some(region.as_str()))
                .then(|| (target.url.base(), target.reason));
            self.dispatch(
                now,
                id,
                Picked {
                    url,
                    region,
                    announce,
                },
                used,
            );
        }
    }

    /// Starts discovery for every route key waiting calls have whose route is unknown
    /// (each distinct key once, from the counted keys: no scan of the calls).
    fn resolve_routes(&mut self, now: Timestamp) {
        for (k, _) in self.calls.keys() {
            if self.router.target(now, k, &self.cfg).is_none() {
                self.router
                    .step(now, RouteInput::Resolve(k), &mut ctx!(self));
            }
        }
    }

    fn dispatch(&mut self, now: Timestamp, id: CallId, picked: Picked, used: UsedCredential) {
        let Some(c) = self.calls.get(&id) else {
            return;
        };
        let Some((_, bearer)) = &self.bearer else {
            return; // (`drive` sets it before any dispatch)
        };
        let Picked {
            url,
            region,
            announce,
        } = picked;
        // The names are the core's own and the bearer and user agent are shared with every
        // other request: only the request id and the app's headers are texts of their own.
        let mut headers = Vec::with_capacity(3 + c.spec.headers.len());
        headers.push((
            HeaderText::Static("Authorization"),
            HeaderText::Shared(bearer.0.clone()),
        ));
        headers.push(self.cfg.user_agent_header());
        headers.push((HeaderText::Static("X-Request-ID"), c.trace_id.text()));
        headers.extend(
            c.spec
                .app_headers()
                .map(|(k, v)| (HeaderText::Owned(k.clone()), HeaderText::Owned(v.clone()))),
        );
        let timeout = c.spec.timeout.unwrap_or(self.cfg.cfg.timeouts.call);
        // Never past the call's deadline (at least a millisecond: a deadline that is due
        // has already failed the call before it gets here).
        let timeout = match c.deadline {
            Some(d) => timeout.min(d.since(now).max(core::time::Duration::from_millis(1))),
            None => timeout,
        };
        let method: Method = c.spec.method;
        let req = ctx!(self).send(Purpose::Call(id), method, url, headers, None, timeout);
        if self.router.note_used(&region) {
            if let Some((endpoint, reason)) = announce {
                self.events.push_back(Event::RegionChanged {
                    region: region.clone(),
                    endpoint,
                    reason,
                });
            }
        }
        let phase = Phase::InFlight {
            req,
            region,
            credential: used,
        };
        if let Some(c) = self.calls.set_in_flight(&id, phase) {
            c.attempts += 1;
            c.sends += 1;
        }
    }

    /// Pops the timers that no longer hold, so the earliest one is real: called at the end
    /// of every input, which is what lets [`Client::poll_timeout`] take `&self` and answer
    /// without a scan. Rebuilds the heap when stale entries outnumber the live ones.
    pub(super) fn tidy_timers(&mut self) {
        while let Some((at, t)) = self.timers.peek() {
            if self.timer_holds(at, t) {
                break;
            }
            self.timers.pop();
        }
        if self.timers.len() > 2 * (self.pending.len() + self.calls.len()) + 64 {
            let (pending, calls) = (&self.pending, &self.calls);
            self.timers
                .retain(|at, t| timer_holds(pending, calls, at, t));
        }
    }

    fn timer_holds(&self, at: Timestamp, t: Timer) -> bool {
        timer_holds(&self.pending, &self.calls, at, t)
    }

    /// After a clock step moved every deadline: one entry per live deadline.
    pub(super) fn rebuild_timers(&mut self) {
        self.timers.clear();
        for (id, p) in self.pending.iter() {
            for d in [p.deadline, p.connect_deadline].into_iter().flatten() {
                self.timers.push(d, Timer::Request(*id));
            }
        }
        for c in self.calls.values() {
            if let Some(d) = c.deadline {
                self.timers.push(d, Timer::Call(c.id));
            }
            match c.phase {
                Phase::Backoff(at) => self.timers.push(at, Timer::Call(c.id)),
                Phase::Waiting => {
                    if let Some(d) = c.wait_deadline {
                        self.timers.push(d, Timer::Call(c.id));
                    }
                }
                Phase::InFlight { .. } => {}
            }
        }
    }
}

/// Where `drive` sends a call: the request URL, the call's region, and the region change
/// to announce (endpoint and reason) when the region is not the one the last call used.
struct Picked {
    url: String,
    region: String,
    announce: Option<(String, RegionReason)>,
}

/// The `Authorization` value (`Bearer …`) of the credential calls use now, shared by
/// their requests ([`HeaderText::Shared`]). Redacted in `Debug`. Unlike a [`Secret`] it
/// is not zeroed when dropped: requests still out share the text, as every copy a
/// transport holds of it.
#[derive(Clone)]
pub(super) struct Bearer(alloc::sync::Arc<str>);

impl core::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Bearer([redacted])")
    }
}

/// Keeps `Bearer <secret>` for credential `used` (built again only when the credential
/// changed: a new JWT generation, or the key).
fn cache_bearer(
    slot: &mut Option<(UsedCredential, Bearer)>,
    used: UsedCredential,
    secret: &Secret,
) {
    if slot.as_ref().is_some_and(|(u, _)| *u == used) {
        return;
    }
    *slot = Some((used, Bearer(["Bearer ", secret.expose()].concat().into())));
}

/// Whether a timer entry is still a deadline the core has: a request's timeout, a call's
/// backoff end, or a waiting call's handoff deadline (what `poll_timeout` reports).
fn timer_holds(
    pending: &IdMap<RequestId, Pending>,
    calls: &Calls,
    at: Timestamp,
    t: Timer,
) -> bool {
    match t {
        Timer::Request(id) => pending
            .get(&id)
            .is_some_and(|p| p.deadline == Some(at) || p.connect_deadline == Some(at)),
        Timer::Call(id) => calls.get(&id).is_some_and(|c| {
            c.deadline == Some(at)
                || match c.phase {
                    Phase::Backoff(b) => b == at,
                    Phase::Waiting => c.wait_deadline == Some(at),
                    Phase::InFlight { .. } => false,
                }
        }),
    }
}
