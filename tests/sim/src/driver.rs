//! The driver: a simulated clock, a queue of answers in flight, an agenda of app
//! actions and faults, and the loop that steps the core and the model.
//!
//! ```text
//! loop {
//!     drain every client: events first (aborts, session changes), then requests
//!         (each request: invariants, then the model answers it in memory: Refuse →
//!         connect error, Respond/Delay → an answer queued after its latency, or a
//!         timeout if its own timeout passes first, or nothing if a fault drops it)
//!     jump the clock to the earliest of: next answer, next agenda item, next
//!         client poll_timeout; never sleep
//!     do that one thing (handle_response / handle_transport_error / an action /
//!         handle_timeout), checking the invariants around it
//! }
//! ```

use std::collections::BTreeMap;

use polargrid_core::{
    CallId, Client, HttpRequest, HttpResponse, Purpose, RequestId, TransportErrorKind,
};
use polargrid_emulator::model::{Model, Outcome, Role, Target};

use crate::invariants::{broken, Book, Invariant, Lineage, Violation};
use crate::net::{host_path, to_client, to_model, Urls};
use crate::plan::{Dice, Plan, SimMode, DRAIN, FINAL_WINDOW};
use crate::slot::{Counts, Sent, Slot};
use crate::trace::{Step, StepKind, Trace};

/// 2027-01-15T08:00:00Z: the simulation's epoch.
pub const T0: u64 = 1_799_913_600_000;

/// A call open longer than this (awake time) never ends.
const MAX_CALL_AGE: u64 = 30 * 60 * 1000;
/// Steps at one instant before the run is declared stuck.
const MAX_STEPS_PER_INSTANT: u32 = 200_000;

/// An answer on its way to a client.
#[derive(Clone, Debug)]
pub(crate) enum Answer {
    Response(HttpResponse),
    Transport(TransportErrorKind),
}

#[derive(Clone, Debug)]
pub(crate) struct Delivery {
    pub(crate) slot: usize,
    pub(crate) inst: u32,
    pub(crate) req: RequestId,
    pub(crate) answer: Answer,
}

/// Something scheduled.
#[derive(Clone, Debug)]
pub(crate) enum Action {
    /// `plan.workload[i]`.
    App(usize),
    /// `plan.faults[i]` starts.
    FaultStart(usize),
    /// `plan.faults[i]` ends.
    FaultEnd(usize),
    /// The app cancels a call.
    Cancel {
        slot: usize,
        inst: u32,
        call: CallId,
    },
    /// The backend hands a session to a handoff client.
    Mint { slot: usize },
    /// A second client makes a call (and schedules its next one).
    CloneCall { slot: usize },
    /// A busy user's next call (`plan.faults[i]` is the `Busy` window).
    BusyCall(usize),
    /// Every fault stops; the final window starts.
    StopFaults,
    /// A probe call of the final window.
    Probe(u32),
    /// The end of the run.
    End,
}

/// A probe of the final window.
#[derive(Clone, Debug)]
pub(crate) struct Probe {
    pub(crate) inst: u32,
    pub(crate) call: CallId,
    pub(crate) started: u64,
    pub(crate) ended: Option<(u64, bool)>,
}

/// What a run measured.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Per client (0 = the app).
    pub clients: Vec<Counts>,
    /// Recovery time after the faults stopped, ms.
    pub recovery_ms: u64,
    /// Simulated time, ms.
    pub simulated_ms: u64,
    /// Trace steps.
    pub steps: u64,
    /// Hash of the whole trace.
    pub trace_hash: u64,
}

/// One simulation run.
pub struct Sim {
    pub(crate) plan: Plan,
    pub(crate) t: u64,
    pub(crate) model: Model,
    pub(crate) urls: Urls,
    pub(crate) key: String,
    pub(crate) slots: Vec<Slot>,
    pub(crate) lineages: Vec<Lineage>,
    deliveries: BTreeMap<(u64, u64), Delivery>,
    agenda: BTreeMap<(u64, u64), Action>,
    seq: u64,
    pub(crate) net: Dice,
    pub(crate) app: Dice,
    /// Active driver-level faults: (fault index, target, drop percent or extra latency).
    pub(crate) drops: Vec<(usize, Target, u8)>,
    pub(crate) delays: Vec<(usize, Target, u64)>,
    pub(crate) down: BTreeMap<Target, u32>,
    pub(crate) server_epoch: u64,
    pub(crate) trace: Trace,
    pub(crate) stopped_at: Option<u64>,
    pub(crate) probes: Vec<Probe>,
    pub(crate) recovery_ms: u64,
    /// Second clients: (fault index, slot).
    pub(crate) clones: Vec<(usize, usize)>,
    pub(crate) ended: bool,
}

impl Sim {
    /// A run of `plan` (not started).
    pub fn new(plan: Plan) -> Sim {
        let urls = Urls::new(plan.variant.urls);
        let mut model = Model::new(urls.model_config(plan.seed, &plan.variant));
        for (host, offset_ms) in &plan.variant.host_clocks {
            let clock = polargrid_emulator::model::Fault::DateOffset {
                offset_ms: *offset_ms,
            };
            // Every host of the variant exists in the model.
            let _ = model.inject(host, clock);
        }
        let keys = model.keys();
        let key = if plan.variant.admin_key {
            keys.admin
        } else {
            keys.read_write
        };
        let mut sim = Sim {
            net: Dice::new(plan.seed, "net"),
            app: Dice::new(plan.seed, "app"),
            plan,
            t: 0,
            model,
            urls,
            key,
            slots: Vec::new(),
            lineages: Vec::new(),
            deliveries: BTreeMap::new(),
            agenda: BTreeMap::new(),
            seq: 0,
            drops: Vec::new(),
            delays: Vec::new(),
            down: BTreeMap::new(),
            server_epoch: 0,
            trace: Trace::new(),
            stopped_at: None,
            probes: Vec::new(),
            recovery_ms: 0,
            clones: Vec::new(),
            ended: false,
        };
        for (i, a) in sim.plan.workload.iter().enumerate() {
            sim.agenda.insert((a.at, i as u64), Action::App(i));
        }
        sim.seq = sim.plan.workload.len() as u64;
        for i in 0..sim.plan.faults.len() {
            let (at, dur, window) = {
                let f = &sim.plan.faults[i];
                (f.at, f.dur, f.kind.is_window())
            };
            sim.schedule(at, Action::FaultStart(i));
            if window {
                sim.schedule(at + dur, Action::FaultEnd(i));
            }
        }
        let life = sim.plan.life;
        sim.schedule(life, Action::StopFaults);
        sim.schedule(life + FINAL_WINDOW + DRAIN, Action::End);
        sim
    }

    /// Keeps every step of the trace (for tests that inspect it).
    pub fn keep_trace(&mut self) {
        self.trace.keep_all = true;
    }

    /// The trace so far.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// The model (for scenario assertions).
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Runs to the end; the first violation stops it.
    pub fn run(&mut self) -> Result<RunStats, Violation> {
        let r = self.run_inner();
        r.map_err(|mut v| {
            v.t = self.t;
            v
        })
    }

    fn run_inner(&mut self) -> Result<RunStats, Violation> {
        self.add_client(None, None)?;
        let mut same_instant = 0u32;
        while !self.ended {
            self.pump_all()?;
            self.arm_timers();
            let Some(next) = self.next_instant() else {
                break;
            };
            if next > self.t {
                self.advance_to(next)?;
                same_instant = 0;
            } else {
                same_instant += 1;
                if same_instant > MAX_STEPS_PER_INSTANT {
                    return Err(broken(
                        Invariant::Liveness,
                        "more than 200000 steps at one instant: a busy loop".to_string(),
                    ));
                }
            }
            self.step_once()?;
        }
        Ok(self.stats())
    }

    pub(crate) fn stats(&self) -> RunStats {
        RunStats {
            clients: self.slots.iter().map(|s| s.counts.clone()).collect(),
            recovery_ms: self.recovery_ms,
            simulated_ms: self.t,
            steps: self.trace.len(),
            trace_hash: self.trace.hash(),
        }
    }

    pub(crate) fn schedule(&mut self, at: u64, action: Action) {
        self.seq += 1;
        self.agenda.insert((at.max(self.t), self.seq), action);
    }

    fn queue(&mut self, at: u64, d: Delivery) {
        self.seq += 1;
        self.deliveries.insert((at.max(self.t), self.seq), d);
    }

    pub(crate) fn step(&mut self, slot: usize, kind: StepKind) {
        let inst = self.slots.get(slot).map_or(0, |s| s.inst);
        self.trace.push(Step {
            t: self.t,
            client: (slot, inst),
            kind,
        });
    }

    /// Client clock of `slot` now (Unix ms).
    pub(crate) fn now_of(&self, slot: usize) -> polargrid_core::Timestamp {
        let s = &self.slots[slot];
        polargrid_core::Timestamp::from_millis(s.now(T0, self.t))
    }

    /// The model's clock now.
    pub(crate) fn server_ms(&self) -> u64 {
        self.model.server_time(T0 + self.t)
    }

    pub(crate) fn epoch(&self, slot: usize) -> u64 {
        let lineage = self.slots[slot].lineage;
        self.lineages[lineage].clock_steps + self.server_epoch
    }

    pub(crate) fn fail(&self, slot: usize, mut v: Violation) -> Violation {
        v.client = slot;
        v.t = self.t;
        v
    }

    // ----- the loop -----

    fn next_instant(&self) -> Option<u64> {
        let mut next = self.deliveries.keys().next().map(|k| k.0);
        let mut consider = |t: u64| next = Some(next.map_or(t, |n: u64| n.min(t)));
        if let Some(k) = self.agenda.keys().next() {
            consider(k.0);
        }
        for s in self.slots.iter().filter(|s| s.alive && !s.asleep(self.t)) {
            if let Some(at) = s.timer {
                consider(at);
            }
        }
        next
    }

    /// Re-arms each client's timer when its `poll_timeout` changed (as a driver does
    /// after each input): `sleep(at - now)` on a monotonic clock.
    fn arm_timers(&mut self) {
        for s in self.slots.iter_mut().filter(|s| s.alive) {
            let pt = s.client.poll_timeout();
            if pt != s.timer_for {
                let now = s.now(T0, self.t);
                s.timer = pt.map(|at| self.t + at.as_millis().saturating_sub(now));
                s.timer_for = pt;
            }
        }
    }

    fn advance_to(&mut self, next: u64) -> Result<(), Violation> {
        let dt = next - self.t;
        let before = self.t;
        self.t = next;
        for i in 0..self.slots.len() {
            let s = &mut self.slots[i];
            if !s.alive || s.asleep(before) {
                continue;
            }
            s.awake_ms += dt;
            let oldest = s
                .book
                .open
                .iter()
                .find(|(_, c)| s.awake_ms.saturating_sub(c.started_awake) > MAX_CALL_AGE)
                .map(|(id, _)| *id);
            if let Some(call) = oldest {
                let v = broken(
                    Invariant::Liveness,
                    format!("{call} is still open after 30 minutes of awake time"),
                );
                return Err(self.fail(i, v));
            }
        }
        Ok(())
    }

    /// Does the one earliest thing due now.
    fn step_once(&mut self) -> Result<(), Violation> {
        if let Some(e) = self.deliveries.first_entry() {
            if e.key().0 <= self.t {
                let d = e.remove();
                return self.deliver(d);
            }
        }
        if let Some(e) = self.agenda.first_entry() {
            if e.key().0 <= self.t {
                let a = e.remove();
                return self.act(a);
            }
        }
        for i in 0..self.slots.len() {
            let s = &self.slots[i];
            if !s.alive || s.asleep(self.t) {
                continue;
            }
            if s.timer.is_some_and(|at| at <= self.t) {
                return self.tick(i);
            }
        }
        Ok(())
    }

    /// `handle_timeout` for `slot`, checked for invariant 5 and for a busy loop.
    pub(crate) fn tick(&mut self, slot: usize) -> Result<(), Violation> {
        let now = self.now_of(slot);
        self.step(slot, StepKind::Tick);
        let before = self.holds_session(slot);
        self.slots[slot].client.handle_timeout(now);
        // Fired: the next one is armed from the new poll_timeout.
        self.slots[slot].timer_for = None;
        self.slots[slot].timer = None;
        self.check_session_kept(slot, before, "time passing")?;
        if let Some(at) = self.slots[slot].client.poll_timeout() {
            if at <= now {
                let v = broken(
                    Invariant::Liveness,
                    format!(
                        "poll_timeout() is {} ms in the past right after handle_timeout(now): a busy loop",
                        now.as_millis() - at.as_millis()
                    ),
                );
                return Err(self.fail(slot, v));
            }
        }
        Ok(())
    }

    // ----- outputs of the clients -----

    pub(crate) fn pump_all(&mut self) -> Result<(), Violation> {
        for i in 0..self.slots.len() {
            if self.slots[i].alive {
                self.pump(i)?;
            }
        }
        Ok(())
    }

    /// Drains one client: events first (so aborts are seen before new requests), then
    /// requests, until both are empty.
    pub(crate) fn pump(&mut self, slot: usize) -> Result<(), Violation> {
        loop {
            let mut progressed = false;
            while let Some(ev) = self.slots[slot].client.poll_event() {
                progressed = true;
                self.on_event(slot, ev)?;
            }
            let now = self.now_of(slot);
            if let Some(req) = self.slots[slot].client.poll_request(now) {
                progressed = true;
                self.send(slot, req)?;
            }
            if !progressed {
                return Ok(());
            }
        }
    }

    fn send(&mut self, slot: usize, req: HttpRequest) -> Result<(), Violation> {
        let role = self.urls.role(&req.url);
        let credential = credential_kind(&req, &self.key);
        self.step(
            slot,
            StepKind::Send {
                id: req.id.0,
                purpose: purpose_name(req.purpose),
                method: req.method.as_str(),
                target: host_path(&req.url),
                credential,
            },
        );
        self.check_send(slot, &req, role.as_ref())
            .map_err(|v| self.fail(slot, v))?;
        let refresh_token = (req.purpose == Purpose::Refresh)
            .then(|| refresh_token_of(req.body.as_deref()))
            .flatten();
        let s = &mut self.slots[slot];
        match req.purpose {
            Purpose::Exchange => s.counts.exchanges += 1,
            Purpose::Refresh => s.counts.refreshes += 1,
            Purpose::Discover => s.counts.discoveries += 1,
            Purpose::Call(_) => s.counts.edge_requests += 1,
        }
        let target = role.as_ref().and_then(Role::target);
        s.pending.insert(
            req.id,
            Sent {
                purpose: req.purpose,
                refresh_token,
                jwt_bearing: credential == "jwt",
            },
        );
        let inst = s.inst;
        let deliver = |answer| Delivery {
            slot,
            inst,
            req: req.id,
            answer,
        };
        // A browser's fetch says only that it failed: refusals and DNS are opaque there.
        let opaque = self.plan.variant.opaque_platform;
        let hidden = |k| {
            if opaque {
                TransportErrorKind::Opaque
            } else {
                k
            }
        };
        let Some(role) = role else {
            let at = self.t + 5;
            self.queue(
                at,
                deliver(Answer::Transport(hidden(TransportErrorKind::Dns))),
            );
            return Ok(());
        };
        let body = match req.purpose {
            Purpose::Call(c) => self.slots[slot].bodies.get(&c).cloned(),
            _ => None,
        };
        let mreq = to_model(&req, body.as_deref());
        let server_ms = self.server_ms();
        let outcome = self.model.handle(server_ms, &role, &mreq);
        let (extra, resp) = match outcome {
            Outcome::Refuse => {
                let at = self.t + self.net.range(1, 40);
                let kind = hidden(TransportErrorKind::Connect);
                self.queue(at, deliver(Answer::Transport(kind)));
                return Ok(());
            }
            Outcome::Respond(r) => (0, r),
            Outcome::Delay(d, r) => (d, r),
        };
        let drop_percent = self
            .drops
            .iter()
            .filter(|(_, t, _)| Some(t) == target.as_ref())
            .map(|(_, _, p)| u64::from(*p))
            .max();
        if let Some(p) = drop_percent {
            if self.net.chance(p) {
                self.step(
                    slot,
                    StepKind::Lost {
                        id: req.id.0,
                        why: "answer dropped by the network",
                    },
                );
                return Ok(());
            }
        }
        let latency = self.net.range(5, 250)
            + self
                .delays
                .iter()
                .filter(|(_, t, _)| Some(t) == target.as_ref())
                .map(|(_, _, ms)| *ms)
                .sum::<u64>()
            + extra;
        let timeout = u64::try_from(req.timeout.as_millis()).unwrap_or(u64::MAX);
        if latency > timeout {
            let at = self.t.saturating_add(timeout);
            self.queue(at, deliver(Answer::Transport(TransportErrorKind::Timeout)));
        } else {
            let at = self.t + latency;
            self.queue(at, deliver(Answer::Response(to_client(req.purpose, &resp))));
        }
        Ok(())
    }

    // ----- inputs to the clients -----

    fn deliver(&mut self, d: Delivery) -> Result<(), Violation> {
        let Some(s) = self.slots.get(d.slot) else {
            return Ok(());
        };
        if !s.alive || s.inst != d.inst {
            return Ok(()); // the client it was for is gone
        }
        if let Some(wake) = s.asleep_until.filter(|w| *w > self.t) {
            self.queue(wake + 1, d);
            return Ok(());
        }
        let slot = d.slot;
        let Some(sent) = self.slots[slot].pending.remove(&d.req) else {
            self.step(
                slot,
                StepKind::Lost {
                    id: d.req.0,
                    why: "answer to an aborted request, not handed over",
                },
            );
            return Ok(());
        };
        let now = self.now_of(slot);
        let before = self.holds_session(slot);
        let (outcome, status) = match &d.answer {
            Answer::Response(r) => (r.status.to_string(), Some(r.status)),
            Answer::Transport(k) => (k.as_str().to_string(), None),
        };
        self.step(
            slot,
            StepKind::Answer {
                id: d.req.0,
                outcome,
            },
        );
        let result = match d.answer {
            Answer::Response(resp) => {
                self.before_response(slot, &sent, &resp);
                // Only a grant tells the client the server's clock (see the core's
                // `skew` module): an answer's `Date` alone is no evidence.
                let grant = matches!(sent.purpose, Purpose::Exchange | Purpose::Refresh);
                if grant && (200..300).contains(&resp.status) {
                    self.slots[slot].evidence = Some(self.epoch(slot));
                }
                self.slots[slot].client.handle_response(now, d.req, resp)
            }
            Answer::Transport(kind) => self.slots[slot]
                .client
                .handle_transport_error(now, d.req, kind),
        };
        if let Err(e) = result {
            let v = broken(
                Invariant::Liveness,
                format!(
                    "the core refused the answer to its own request req#{}: {e}",
                    d.req.0
                ),
            );
            return Err(self.fail(slot, v));
        }
        // Only failures that say nothing about the credentials (no answer, 5xx, 429):
        // a 401/400 may legitimately end a session.
        if status.is_none_or(|s| s >= 500 || s == 429) {
            let why = match status {
                Some(s) => format!("a {s} answer"),
                None => "a transport error".to_string(),
            };
            self.check_session_kept(slot, before, &why)?;
        }
        Ok(())
    }

    // ----- clients -----

    /// Adds a client (`restore_from`: a snapshot JSON to restore), on the same device
    /// as `beside` (same clock, same knowledge of it) or a new one. Returns its slot.
    pub(crate) fn add_client(
        &mut self,
        restore_from: Option<String>,
        beside: Option<usize>,
    ) -> Result<usize, Violation> {
        let (offset_ms, evidence, clock_steps) = match beside {
            Some(b) => {
                let s = &self.slots[b];
                let steps = self.lineages[s.lineage].clock_steps;
                (s.offset_ms, s.store_evidence, steps)
            }
            None => (0, None, 0),
        };
        let cfg = crate::net::client_config(&self.plan.variant, &self.urls, &self.key);
        let seed = self.app.next();
        let client = Client::new(cfg.clone(), seed).map_err(|e| {
            broken(
                Invariant::Liveness,
                format!("the simulator's client config was rejected: {e}"),
            )
        })?;
        let slot = self.slots.len();
        let mut lineage = Lineage::default();
        lineage.clock_steps = clock_steps;
        // On the same device, the restored JWT was obtained when the first client got
        // it: a clock step since then excuses this client as much as that one.
        let restored_jwt = restore_from
            .as_deref()
            .and_then(|j| polargrid_core::SessionSnapshot::from_json(j).ok())
            .map(|s| s.session_token.expose().to_string());
        if let (Some(b), Some(jwt)) = (beside, restored_jwt) {
            let first = &self.lineages[self.slots[b].lineage];
            if let Some(e) = first.obtained_epoch(&jwt) {
                lineage.obtained(&jwt, e);
            }
        }
        self.lineages.push(lineage);
        self.slots.push(Slot {
            alive: true,
            book: Book::new(cfg.retry.clone()),
            config: cfg,
            client,
            inst: 0,
            lineage: self.lineages.len() - 1,
            offset_ms,
            asleep_until: None,
            deferred: Vec::new(),
            store: None,
            evidence: None,
            store_evidence: evidence,
            pending: BTreeMap::new(),
            awake_ms: 0,
            timer: None,
            timer_for: None,
            mint_scheduled: false,
            bodies: BTreeMap::new(),
            pacing: crate::invariants::Pacing::default(),
            counts: Counts::default(),
        });
        self.boot(slot, restore_from)?;
        Ok(slot)
    }

    /// Restores `json` into a fresh client, or asks the backend for a session (handoff).
    pub(crate) fn boot(&mut self, slot: usize, json: Option<String>) -> Result<(), Violation> {
        let mode = self.plan.variant.mode;
        match json {
            Some(json) if mode != SimMode::Direct => {
                let snap = polargrid_core::SessionSnapshot::from_json(&json).map_err(|e| {
                    broken(
                        Invariant::Liveness,
                        format!("a snapshot written by to_json did not read back: {e}"),
                    )
                })?;
                let lineage = self.slots[slot].lineage;
                let epoch = self.epoch(slot);
                self.lineages[lineage].obtained(snap.session_token.expose(), epoch);
                let now = self.now_of(slot);
                self.slots[slot]
                    .client
                    .restore(now, &snap)
                    .map_err(|e| broken(Invariant::Liveness, format!("restore refused: {e}")))?;
                self.slots[slot].store = Some(json);
                self.slots[slot].evidence = self.slots[slot].store_evidence;
                self.step(
                    slot,
                    StepKind::Action("restored the persisted session".to_string()),
                );
            }
            _ if mode == SimMode::Handoff => self.schedule_mint(slot),
            _ => {}
        }
        Ok(())
    }

    pub(crate) fn schedule_mint(&mut self, slot: usize) {
        if self.slots[slot].mint_scheduled {
            return;
        }
        self.slots[slot].mint_scheduled = true;
        let at = self.t + self.app.range(200, 3000);
        self.schedule(at, Action::Mint { slot });
    }
}

pub(crate) fn purpose_name(p: Purpose) -> String {
    match p {
        Purpose::Exchange => "exchange".to_string(),
        Purpose::Refresh => "refresh".to_string(),
        Purpose::Discover => "discover".to_string(),
        Purpose::Call(c) => format!("call#{}", c.0),
    }
}

/// The bearer token of a request.
pub(crate) fn bearer(req: &HttpRequest) -> Option<&str> {
    req.header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
}

fn credential_kind(req: &HttpRequest, key: &str) -> &'static str {
    match bearer(req) {
        Some(t) if t == key || t.starts_with("pg_") => "key",
        Some(_) => "jwt",
        None if req.purpose == Purpose::Refresh => "refresh",
        None => "-",
    }
}

/// The `refresh_token` of a JSON body.
pub(crate) fn refresh_token_of(body: Option<&[u8]>) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body?).ok()?;
    v.get("refresh_token")?.as_str().map(str::to_string)
}
