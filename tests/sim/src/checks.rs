//! The invariant checks that need the whole simulation (the model's view, the
//! clients' books): called by the driver around every request, answer and tick.

use polargrid_core::{
    parse_http_date, parse_retry_after, read_claims, HttpRequest, HttpResponse, Purpose, Timestamp,
};
use polargrid_emulator::model::Role;

use crate::driver::{bearer, purpose_name, refresh_token_of, Sim};
use crate::invariants::{
    broken, check_credentials, check_not_before, Counted, Invariant, Violation,
};
use crate::slot::Sent;

impl Sim {
    /// Invariants 1–4 for a request about to go out.
    pub(crate) fn check_send(
        &mut self,
        slot: usize,
        req: &HttpRequest,
        role: Option<&Role>,
    ) -> Result<(), Violation> {
        check_credentials(req, role, &self.key)?;
        let epoch = self.epoch(slot);
        let server_ms = self.server_ms();
        let lineage = self.slots[slot].lineage;
        let t = self.t;
        match req.purpose {
            Purpose::Exchange | Purpose::Refresh => {
                let pacing = &mut self.slots[slot].pacing;
                pacing.count(Counted::Session, t)?;
                check_not_before(
                    pacing.session_not_before.take(),
                    t,
                    epoch,
                    "an exchange/refresh",
                )?;
                self.check_needed(slot, req.purpose)?;
                if self.slots[slot].session_request_in_flight() {
                    return Err(broken(
                        Invariant::SingleFlight,
                        format!(
                            "{} sent while another exchange/refresh is in flight",
                            purpose_name(req.purpose)
                        ),
                    ));
                }
                if req.purpose == Purpose::Refresh {
                    if let Some(token) = refresh_token_of(req.body.as_deref()) {
                        self.lineages[lineage].check_refresh(&token)?;
                    }
                }
            }
            Purpose::Call(call) => {
                if let Some(jwt) = bearer(req).filter(|t| !t.starts_with("pg_")) {
                    self.lineages[lineage].check_jwt(jwt, server_ms, epoch)?;
                }
                let nb = self.slots[slot]
                    .book
                    .open
                    .get_mut(&call)
                    .and_then(|c| c.not_before.take());
                check_not_before(nb, t, epoch, "a call's retry")?;
                self.slots[slot]
                    .book
                    .on_send(call, req.header("x-request-id"))?;
            }
            Purpose::Discover => self.slots[slot].pacing.count(Counted::Discover, t)?,
        }
        Ok(())
    }

    /// Bookkeeping that needs the answer before the core consumes it.
    pub(crate) fn before_response(&mut self, slot: usize, sent: &Sent, resp: &HttpResponse) {
        let lineage = self.slots[slot].lineage;
        if matches!(resp.status, 429 | 503) {
            // A Retry-After date means the host's own clock: read it against the
            // answer's Date, as the core does.
            let server = resp
                .header("date")
                .and_then(parse_http_date)
                .unwrap_or(Timestamp::from_millis(self.server_ms()));
            let ra = resp
                .header("retry-after")
                .and_then(|v| parse_retry_after(v, server))
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
            if let Some(ra) = ra {
                // Whole seconds on the wire, and the client's view of the server's
                // clock may be off by the 1.5 s it tolerates.
                let epoch = self.epoch(slot);
                match sent.purpose {
                    Purpose::Call(call) => {
                        if let Some(c) = self.slots[slot].book.open.get_mut(&call) {
                            c.not_before = Some((self.t + ra.saturating_sub(2_500), epoch));
                        }
                    }
                    Purpose::Exchange | Purpose::Refresh => {
                        // The core honours up to a day of it (documented cap).
                        let wait = ra.min(86_400_000).saturating_sub(2_500);
                        self.slots[slot].pacing.session_not_before = Some((self.t + wait, epoch));
                    }
                    Purpose::Discover => {}
                }
            }
        }
        let grant = matches!(sent.purpose, Purpose::Exchange | Purpose::Refresh);
        if grant && (200..300).contains(&resp.status) {
            self.slots[slot].pacing.jwt_rejected = false;
        }
        match sent.purpose {
            Purpose::Refresh if resp.status == 200 => {
                let new = refresh_token_of(Some(&resp.body));
                if let (Some(old), Some(new)) = (&sent.refresh_token, new) {
                    if *old != new {
                        self.lineages[lineage].rotated(old);
                    }
                }
            }
            Purpose::Call(call) if resp.status == 401 && sent.jwt_bearing => {
                self.slots[slot].pacing.jwt_rejected = true;
                if let Some(c) = self.slots[slot].book.open.get_mut(&call) {
                    c.jwt_401s += 1;
                }
            }
            _ => {}
        }
    }

    /// Invariant 5: a session held before `what` is still held after it, unless its
    /// JWT is (within the core's margin of being) expired and its refresh token dead.
    pub(crate) fn check_session_kept(
        &mut self,
        slot: usize,
        held_before: bool,
        what: &str,
    ) -> Result<(), Violation> {
        if !held_before || self.holds_session(slot) {
            return Ok(());
        }
        // The session it held is the one the app last persisted (the event that
        // clears the persisted copy has not been handled yet).
        let Some(before) = self.slots[slot]
            .store
            .as_deref()
            .and_then(|j| polargrid_core::SessionSnapshot::from_json(j).ok())
        else {
            return Ok(());
        };
        let server_ms = self.server_ms();
        // The core stops using a JWT 30 s (at most) before it expires, and its view of
        // the server's clock may be off by the latency of the answer it learnt it from.
        let jwt_done = before.expires_at.as_millis() <= server_ms + 35_000;
        let refresh_dead = match &before.refresh_token {
            None => true,
            Some(r) => {
                !self.model.refresh_token_live(r.expose(), server_ms)
                    || before
                        .refresh_expires_at
                        .is_some_and(|e| e.as_millis() <= server_ms + 35_000)
            }
        };
        // The client cannot know of a clock step before an answer shows it.
        let epoch = self.epoch(slot);
        let stepped = self.slots[slot].evidence != Some(epoch);
        if (jwt_done && refresh_dead) || stepped {
            return Ok(());
        }
        let v =
            broken(
                Invariant::SessionKept,
                format!(
                "the session was dropped after {what}, though its JWT {} and its refresh token {}",
                if jwt_done {
                    "was expiring"
                } else {
                    "was still valid"
                },
                if refresh_dead { "was dead" } else { "was still live" },
            ),
            );
        Err(self.fail(slot, v))
    }

    /// Invariant 9 for an exchange or refresh about to go out.
    fn check_needed(&self, slot: usize, purpose: Purpose) -> Result<(), Violation> {
        let s = &self.slots[slot];
        let Some(snap) = s.client.session_snapshot() else {
            return Ok(()); // no session: an exchange is what gets one
        };
        if s.evidence != Some(self.epoch(slot)) || s.pacing.jwt_rejected {
            return Ok(()); // a clock step the client cannot know of yet, or a 401
        }
        let server_ms = self.server_ms();
        let needless = match purpose {
            Purpose::Exchange => {
                let live = snap.refresh_token.as_ref().is_some_and(|r| {
                    self.model
                        .refresh_token_live(r.expose(), server_ms + 60_000)
                });
                let lasting = snap
                    .refresh_expires_at
                    .is_none_or(|e| e.as_millis() > server_ms + 120_000);
                (live && lasting).then_some("an exchange while the refresh token is live")
            }
            Purpose::Refresh => {
                let Ok(c) = read_claims(snap.session_token.expose()) else {
                    return Ok(());
                };
                let exp = c.exp.as_millis();
                let lifetime = c.iat.map_or(0, |i| exp.saturating_sub(i.as_millis()));
                let early = exp > server_ms + lifetime / 5 + 60_000;
                (lifetime > 0 && early).then_some("a refresh long before the JWT expires")
            }
            _ => None,
        };
        match needless {
            Some(what) => Err(broken(
                Invariant::NeedlessSessionRequest,
                format!("{what}, with no clock step since the last grant"),
            )),
            None => Ok(()),
        }
    }

    /// Whether the client holds a session (cheaper than cloning its snapshot).
    pub(crate) fn holds_session(&self, slot: usize) -> bool {
        matches!(
            self.slots[slot].client.session_status(),
            polargrid_core::SessionStatus::Active(_) | polargrid_core::SessionStatus::Refreshing(_)
        )
    }
}
