//! What the driver does besides moving answers: the app's calls and its reactions to
//! events, the fault plan, the handoff backend, and the final window's verdict.

use polargrid_core::{CallId, CallSpec, Event, Method};
use polargrid_emulator::model::{Fault as ModelFault, Outcome, Request, Role, Target};

use crate::driver::{Action, Probe, Sim};
use crate::invariants::{broken, CallBook, Counted, Invariant, Violation};
use crate::plan::{
    fmt_dur, CallKind, CallPlan, FaultKind, ModelHint, SimMode, MINUTE, RECOVERY_BOUND, REGIONS,
    SECOND,
};
use crate::trace::StepKind;

/// Calls a client queues while asleep, at most.
const MAX_DEFERRED: usize = 60;
/// Probe calls of the final window: one every this often.
const PROBE_EVERY: u64 = 5 * SECOND;

impl Sim {
    pub(crate) fn act(&mut self, action: Action) -> Result<(), Violation> {
        match action {
            Action::App(i) => {
                let calls = self
                    .plan
                    .workload
                    .get(i)
                    .map(|a| a.calls.clone())
                    .unwrap_or_default();
                for c in calls {
                    self.app_call(0, c, false)?;
                }
                Ok(())
            }
            Action::FaultStart(i) => self.fault_start(i),
            Action::FaultEnd(i) => self.fault_end(i),
            Action::Cancel { slot, inst, call } => {
                let s = &self.slots[slot];
                if !s.alive || s.inst != inst {
                    return Ok(());
                }
                if s.asleep(self.t) {
                    let at = s.asleep_until.unwrap_or(self.t);
                    self.schedule(at, Action::Cancel { slot, inst, call });
                    return Ok(());
                }
                let now = self.now_of(slot);
                let open = self.slots[slot].book.open.contains_key(&call);
                let cancelled = self.slots[slot].client.cancel_call(now, call);
                self.step(
                    slot,
                    StepKind::Action(format!("app cancels {call}: {cancelled}")),
                );
                if cancelled != open {
                    let v = broken(
                        Invariant::CallAccounting,
                        format!("cancel_call({call}) returned {cancelled} but the call was open: {open}"),
                    );
                    return Err(self.fail(slot, v));
                }
                Ok(())
            }
            Action::Mint { slot } => self.mint(slot),
            Action::CloneCall { slot } => {
                if !self.slots[slot].alive {
                    return Ok(());
                }
                let plan = CallPlan {
                    kind: CallKind::Models,
                    cancel_after: None,
                    timeout: None,
                };
                self.app_call(slot, plan, false)?;
                let at = self.t + self.app.range(MINUTE, 10 * MINUTE);
                self.schedule(at, Action::CloneCall { slot });
                Ok(())
            }
            Action::BusyCall(i) => {
                let Some(f) = self.plan.faults.get(i).cloned() else {
                    return Ok(());
                };
                let FaultKind::Busy { every_ms } = f.kind else {
                    return Ok(());
                };
                if self.stopped_at.is_some() || self.t >= f.at + f.dur {
                    return Ok(());
                }
                let kind = if self.app.chance(50) {
                    CallKind::Models
                } else {
                    CallKind::Chat {
                        model: ModelHint::Body,
                        stream: false,
                    }
                };
                let plan = CallPlan {
                    kind,
                    cancel_after: None,
                    timeout: None,
                };
                self.app_call(0, plan, false)?;
                self.schedule(self.t + every_ms, Action::BusyCall(i));
                Ok(())
            }
            Action::StopFaults => self.stop_faults(),
            Action::Probe(n) => {
                let kind = if n % 2 == 0 {
                    CallKind::Models
                } else {
                    CallKind::Chat {
                        model: if n % 4 == 1 {
                            ModelHint::Body
                        } else {
                            ModelHint::Llama
                        },
                        stream: n % 3 == 0,
                    }
                };
                let plan = CallPlan {
                    kind,
                    cancel_after: None,
                    timeout: None,
                };
                self.app_call(0, plan, true)
            }
            Action::End => self.finish(),
        }
    }

    /// Starts an app call on `slot` (queued if the client is asleep).
    pub(crate) fn app_call(
        &mut self,
        slot: usize,
        plan: CallPlan,
        probe: bool,
    ) -> Result<(), Violation> {
        if self.slots[slot].asleep(self.t) {
            if self.slots[slot].deferred.len() < MAX_DEFERRED {
                self.slots[slot].deferred.push(plan);
            }
            return Ok(());
        }
        let (mut spec, body) = call_spec(&plan);
        if let Some(ms) = plan.timeout {
            spec.timeout = Some(core::time::Duration::from_millis(ms));
        }
        let now = self.now_of(slot);
        let call = self.slots[slot].client.start_call(now, spec).map_err(|e| {
            broken(
                Invariant::Liveness,
                format!("start_call refused a well-formed call: {e}"),
            )
        })?;
        let s = &mut self.slots[slot];
        s.counts.calls += 1;
        if let Some(b) = body {
            s.bodies.insert(call, b);
        }
        s.book.open.insert(
            call,
            CallBook {
                plan,
                started: self.t,
                started_awake: s.awake_ms,
                sends: 0,
                jwt_401s: 0,
                retries: 0,
                not_before: None,
                trace_id: None,
                probe,
            },
        );
        let inst = s.inst;
        if probe {
            self.probes.push(Probe {
                inst,
                call,
                started: self.t,
                ended: None,
            });
        }
        self.step(
            slot,
            StepKind::Action(format!("app starts {call} {:?}", plan.kind)),
        );
        if let Some(after) = plan.cancel_after {
            self.schedule(self.t + after, Action::Cancel { slot, inst, call });
        }
        Ok(())
    }

    pub(crate) fn on_event(&mut self, slot: usize, ev: Event) -> Result<(), Violation> {
        let summary = match &ev {
            Event::CallReady { call, region, .. } => {
                format!("{call} ready from {}", region.as_deref().unwrap_or("?"))
            }
            Event::CallFailed { call, error } => format!(
                "{call} failed: {:?} status {:?} after {} attempts",
                error.kind, error.status, error.attempts
            ),
            Event::CallCancelled { call } => format!("{call} cancelled"),
            Event::Abort { request } => format!("abort {request}"),
            Event::SessionChanged {
                reason, snapshot, ..
            } => format!(
                "session {reason:?}{}",
                if snapshot.is_some() {
                    ""
                } else {
                    " (forget snapshot)"
                }
            ),
            Event::SessionEnded { error } => format!("session ended: {:?}", error.kind),
            Event::RegionChanged { region, reason, .. } => format!("region {region} ({reason:?})"),
            _ => "other event".to_string(),
        };
        self.step(slot, StepKind::Event(summary));
        let fail = |sim: &Sim, v: Violation| sim.fail(slot, v);
        match ev {
            Event::CallReady { call, .. } => {
                self.slots[slot]
                    .book
                    .on_end(call, "ready")
                    .map_err(|v| fail(self, v))?;
                let s = &mut self.slots[slot];
                s.book.successes += 1;
                s.counts.ready += 1;
                s.bodies.remove(&call);
                self.probe_ended(slot, call, true);
            }
            Event::CallFailed { call, .. } => {
                self.slots[slot]
                    .book
                    .on_end(call, "failed")
                    .map_err(|v| fail(self, v))?;
                let s = &mut self.slots[slot];
                s.counts.failed += 1;
                s.bodies.remove(&call);
                self.probe_ended(slot, call, false);
            }
            Event::CallCancelled { call } => {
                self.slots[slot]
                    .book
                    .on_end(call, "cancelled")
                    .map_err(|v| fail(self, v))?;
                let s = &mut self.slots[slot];
                s.counts.cancelled += 1;
                s.bodies.remove(&call);
            }
            // The driver forgets an aborted request (a late answer is dropped); the core
            // never aborts one it did not send.
            Event::Abort { request } if self.slots[slot].pending.remove(&request).is_none() => {
                let v = broken(
                    Invariant::Liveness,
                    format!("abort for {request}, which is not in flight"),
                );
                return Err(fail(self, v));
            }
            Event::SessionChanged { snapshot, .. } => {
                let epoch = self.epoch(slot);
                let lineage = self.slots[slot].lineage;
                match snapshot {
                    Some(snap) => {
                        self.lineages[lineage].obtained(snap.session_token.expose(), epoch);
                        self.slots[slot].store = Some(snap.to_json());
                        self.slots[slot].store_evidence = self.slots[slot].evidence;
                    }
                    None => self.slots[slot].store = None,
                }
            }
            Event::SessionEnded { .. } => {
                let t = self.t;
                self.slots[slot]
                    .pacing
                    .count(Counted::Ended, t)
                    .map_err(|v| fail(self, v))?;
                if self.plan.variant.mode == SimMode::Handoff {
                    self.schedule_mint(slot);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn probe_ended(&mut self, slot: usize, call: CallId, ok: bool) {
        if slot != 0 {
            return;
        }
        let inst = self.slots[0].inst;
        let t = self.t;
        if let Some(p) = self
            .probes
            .iter_mut()
            .find(|p| p.call == call && p.inst == inst && p.ended.is_none())
        {
            p.ended = Some((t, ok));
        }
    }

    /// The handoff backend: exchanges the key at the auth service (the model, directly)
    /// and hands the answer over; retries in 10 s if the auth service fails.
    fn mint(&mut self, slot: usize) -> Result<(), Violation> {
        self.slots[slot].mint_scheduled = false;
        if !self.slots[slot].alive {
            return Ok(());
        }
        if self.slots[slot].asleep(self.t) {
            self.schedule_mint(slot);
            return Ok(());
        }
        let req = Request::new("POST", "/v1/auth/session")
            .with_bearer(&self.key)
            .with_json(&serde_json::json!({"user_agent": "sim-backend/1"}));
        let server_ms = self.server_ms();
        let resp = match self.model.handle(server_ms, &Role::Auth, &req) {
            Outcome::Respond(r) | Outcome::Delay(_, r) if r.status == 200 => r,
            _ => {
                self.step(
                    slot,
                    StepKind::Action("backend could not mint a session".to_string()),
                );
                self.slots[slot].mint_scheduled = true;
                let at = self.t + 10 * SECOND;
                self.schedule(at, Action::Mint { slot });
                return Ok(());
            }
        };
        let mut body: serde_json::Value =
            serde_json::from_slice(&resp.body_bytes()).unwrap_or(serde_json::Value::Null);
        if self.plan.variant.handoff_without_refresh {
            if let Some(o) = body.as_object_mut() {
                o.remove("refresh_token");
                o.remove("refresh_expires_in");
            }
        }
        let now = self.now_of(slot);
        self.step(
            slot,
            StepKind::Action("backend hands over a session".to_string()),
        );
        self.slots[slot].counts.handovers += 1;
        self.slots[slot]
            .client
            .hand_over(now, &body.to_string())
            .map_err(|e| {
                broken(
                    Invariant::Liveness,
                    format!("hand_over refused a real answer: {e}"),
                )
            })
    }

    // ----- faults -----

    fn fault_start(&mut self, i: usize) -> Result<(), Violation> {
        let Some(f) = self.plan.faults.get(i).cloned() else {
            return Ok(());
        };
        self.step(0, StepKind::Action(format!("starts: {f}")));
        match f.kind {
            FaultKind::Drop { target, percent } => self.drops.push((i, target, percent)),
            FaultKind::Delay { target, extra_ms } => self.delays.push((i, target, extra_ms)),
            FaultKind::Slow { target, delay_ms } => self.inject(
                &target,
                ModelFault::Slow {
                    delay_ms,
                    count: None,
                },
            ),
            FaultKind::Status {
                target,
                status,
                count,
            } => self.inject(
                &target,
                ModelFault::Status {
                    status,
                    count: Some(count),
                },
            ),
            FaultKind::RateLimit {
                target,
                retry_after,
                count,
            } => self.inject(
                &target,
                ModelFault::RateLimit {
                    retry_after,
                    count: Some(count),
                },
            ),
            FaultKind::Down { target } => {
                *self.down.entry(target.clone()).or_insert(0) += 1;
                self.inject(&target, ModelFault::Down);
            }
            FaultKind::RevokeSession => {
                let sid = match self.slots[0].client.session_status() {
                    polargrid_core::SessionStatus::Active(info)
                    | polargrid_core::SessionStatus::Refreshing(info) => info.session_id,
                    _ => None,
                };
                if let Some(sid) = sid {
                    self.model.revoke_session(&sid);
                }
            }
            FaultKind::RevokeAll => {
                self.model.revoke_all_sessions();
            }
            FaultKind::RotateUnderneath => {
                let token = self.slots[0]
                    .store
                    .as_deref()
                    .and_then(|j| polargrid_core::SessionSnapshot::from_json(j).ok())
                    .and_then(|s| s.refresh_token.map(|r| r.expose().to_string()));
                if let Some(token) = token {
                    let req = Request::new("POST", "/v1/auth/refresh")
                        .with_json(&serde_json::json!({ "refresh_token": token }));
                    let server_ms = self.server_ms();
                    let out = self.model.handle(server_ms, &Role::Auth, &req);
                    let status = out.response().map(|r| r.status);
                    self.step(
                        0,
                        StepKind::Action(format!("someone else refreshed: {status:?}")),
                    );
                }
            }
            FaultKind::Sleep => self.sleep(0, f.at + f.dur),
            FaultKind::BackgroundResume { calls } => {
                self.sleep(0, f.at + f.dur);
                let mut d = crate::plan::Dice::new(self.plan.seed ^ f.id as u64, "background");
                for _ in 0..calls {
                    let c = crate::plan::gen_call(&mut d);
                    if self.slots[0].deferred.len() < MAX_DEFERRED {
                        self.slots[0].deferred.push(c);
                    }
                }
            }
            FaultKind::Busy { .. } => self.schedule(self.t, Action::BusyCall(i)),
            FaultKind::ClockStep { delta_ms } => {
                // One device: every client on it sees the step.
                for s in 0..self.slots.len() {
                    if self.slots[s].alive {
                        self.slots[s].offset_ms += delta_ms;
                        let l = self.slots[s].lineage;
                        self.lineages[l].clock_steps += 1;
                    }
                }
            }
            FaultKind::ServerSkew { offset_ms } => {
                self.model.set_clock_offset_ms(offset_ms);
                self.server_epoch += 1;
            }
            FaultKind::Restart => self.restart(0)?,
            FaultKind::SharedClone => {
                if let Some(json) = self.slots[0].store.clone() {
                    // Another tab or process on the same device: same clock.
                    let slot = self.add_client(Some(json), Some(0))?;
                    self.step(
                        slot,
                        StepKind::Action(format!("second client for {}", fmt_dur(f.dur))),
                    );
                    self.schedule(self.t, Action::CloneCall { slot });
                    self.clones.push((i, slot));
                }
            }
        }
        Ok(())
    }

    fn fault_end(&mut self, i: usize) -> Result<(), Violation> {
        let Some(f) = self.plan.faults.get(i).cloned() else {
            return Ok(());
        };
        self.step(0, StepKind::Action(format!("fault {} ends", f.id)));
        match f.kind {
            FaultKind::Drop { .. } => self.drops.retain(|(j, _, _)| *j != i),
            FaultKind::Delay { .. } => self.delays.retain(|(j, _, _)| *j != i),
            FaultKind::Slow { target, .. } => self.inject(
                &target,
                ModelFault::Slow {
                    delay_ms: 0,
                    count: Some(0),
                },
            ),
            FaultKind::Down { target } => {
                let n = self.down.entry(target.clone()).or_insert(1);
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.down.remove(&target);
                    self.inject(&target, ModelFault::Up);
                }
            }
            FaultKind::Sleep | FaultKind::BackgroundResume { .. } => self.wake(0)?,
            FaultKind::SharedClone => {
                let gone: Vec<usize> = self
                    .clones
                    .iter()
                    .filter(|(j, _)| *j == i)
                    .map(|(_, s)| *s)
                    .collect();
                self.clones.retain(|(j, _)| *j != i);
                for s in gone {
                    self.drop_client(s);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn inject(&mut self, target: &Target, fault: ModelFault) {
        // Every target in a plan exists: an error here would be a plan bug, and the
        // fault simply does not happen.
        let _ = self.model.inject(target, fault);
    }

    fn sleep(&mut self, slot: usize, until: u64) {
        let s = &mut self.slots[slot];
        s.asleep_until = Some(s.asleep_until.map_or(until, |u| u.max(until)));
    }

    fn wake(&mut self, slot: usize) -> Result<(), Violation> {
        let s = &mut self.slots[slot];
        if s.asleep_until.is_some_and(|u| u > self.t) {
            return Ok(()); // another, longer sleep is still on
        }
        s.asleep_until = None;
        if !s.alive {
            return Ok(());
        }
        self.step(slot, StepKind::Action("device wakes".to_string()));
        self.tick(slot)?;
        let queued = std::mem::take(&mut self.slots[slot].deferred);
        for c in queued {
            self.app_call(slot, c, false)?;
        }
        Ok(())
    }

    fn drop_client(&mut self, slot: usize) {
        let s = &mut self.slots[slot];
        if !s.alive {
            return;
        }
        s.alive = false;
        s.counts.lost += s.book.open.len() as u64;
        s.book.open.clear();
        self.step(slot, StepKind::Action("client dropped".to_string()));
    }

    /// The app restarts: the client is dropped and a new one restores what was persisted.
    pub(crate) fn restart(&mut self, slot: usize) -> Result<(), Violation> {
        if self.slots[slot].asleep(self.t) {
            return Ok(()); // nothing runs while asleep
        }
        let seed = self.app.next();
        let s = &mut self.slots[slot];
        s.counts.lost += s.book.open.len() as u64;
        s.counts.restarts += 1;
        s.book = crate::invariants::Book::new(s.config.retry.clone());
        s.pending.clear();
        s.bodies.clear();
        s.inst += 1;
        s.pacing.session_not_before = None;
        s.mint_scheduled = false;
        s.timer = None;
        s.timer_for = None;
        s.client = polargrid_core::Client::new(s.config.clone(), seed).map_err(|e| {
            broken(
                Invariant::Liveness,
                format!("client config rejected on restart: {e}"),
            )
        })?;
        let json = s.store.clone();
        self.step(slot, StepKind::Action("app restarted".to_string()));
        self.boot(slot, json)
    }

    // ----- the end -----

    fn stop_faults(&mut self) -> Result<(), Violation> {
        self.step(0, StepKind::Action("faults stop".to_string()));
        for t in [Target::Autorouter, Target::Auth]
            .into_iter()
            .chain(REGIONS.iter().map(|r| Target::Region(r.to_string())))
        {
            self.inject(&t, ModelFault::Clear);
            self.inject(&t, ModelFault::Up);
        }
        self.down.clear();
        self.drops.clear();
        self.delays.clear();
        for (_, s) in std::mem::take(&mut self.clones) {
            self.drop_client(s);
        }
        if self.slots[0].asleep_until.is_some() {
            self.slots[0].asleep_until = Some(self.t);
            self.wake(0)?;
        }
        self.stopped_at = Some(self.t);
        let n = (crate::plan::FINAL_WINDOW / PROBE_EVERY) as u32;
        for k in 0..n {
            self.schedule(self.t + u64::from(k) * PROBE_EVERY, Action::Probe(k));
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), Violation> {
        self.ended = true;
        let stop = self.stopped_at.unwrap_or(self.t);
        for (i, s) in self.slots.iter().enumerate() {
            if s.alive && (!s.book.open.is_empty() || s.client.open_calls() != 0) {
                let v = broken(
                    Invariant::CallAccounting,
                    format!(
                        "{} calls still open ({} by the core) at the end of the run",
                        s.book.open.len(),
                        s.client.open_calls()
                    ),
                );
                return Err(self.fail(i, v));
            }
        }
        let inst = self.slots[0].inst;
        let probes: Vec<&Probe> = self.probes.iter().filter(|p| p.inst == inst).collect();
        if let Some(p) = probes
            .iter()
            .find(|p| p.started >= stop + RECOVERY_BOUND && p.ended.map(|e| e.1) != Some(true))
        {
            let v = broken(
                Invariant::Recovery,
                format!(
                    "probe {} started {} after the faults stopped and did not succeed",
                    p.call,
                    fmt_dur(p.started - stop)
                ),
            );
            return Err(self.fail(0, v));
        }
        let first_ok = probes
            .iter()
            .rposition(|p| p.ended.map(|e| e.1) != Some(true))
            .map_or(0, |i| i + 1);
        self.recovery_ms = match probes.get(first_ok) {
            Some(p) => p.ended.map_or(0, |(t, _)| t.saturating_sub(stop)),
            None => {
                let v = broken(Invariant::Recovery, "no probe succeeded".to_string());
                return Err(self.fail(0, v));
            }
        };
        if self.recovery_ms > RECOVERY_BOUND {
            let v = broken(
                Invariant::Recovery,
                format!("recovery took {}", fmt_dur(self.recovery_ms)),
            );
            return Err(self.fail(0, v));
        }
        Ok(())
    }
}

/// The core's call spec and the driver's body for a planned call.
fn call_spec(plan: &CallPlan) -> (CallSpec, Option<Vec<u8>>) {
    match plan.kind {
        CallKind::Models => (CallSpec::new(Method::Get, "/v1/models"), None),
        CallKind::Chat { model, stream } => {
            let mut spec = CallSpec::new(Method::Post, "/v1/chat/completions");
            if model != ModelHint::Body {
                spec = spec.with_model(model.name());
            }
            let body = serde_json::json!({
                "model": model.name(),
                "messages": [{"role": "user", "content": "hello from the simulator"}],
                "stream": stream,
            });
            (spec, Some(body.to_string().into_bytes()))
        }
        CallKind::Completion => (
            CallSpec::new(Method::Post, "/v1/completions"),
            Some(
                serde_json::json!({"model": "qwen-2.5-7b", "prompt": "once upon"})
                    .to_string()
                    .into_bytes(),
            ),
        ),
        CallKind::Tokens => (
            CallSpec::new(Method::Post, "/v1/tokens"),
            Some(
                serde_json::json!({"room": "sim-room", "identity": "sim-user"})
                    .to_string()
                    .into_bytes(),
            ),
        ),
    }
}
