//! One session shared by clients side by side (the tabs of one origin, the processes of
//! one app): the decisions, so a binding only moves bytes between the core, a lock, a
//! shared store and a channel.
//!
//! A binding that shares the session:
//! - takes a cross-client lock around each exchange and refresh the core asks for, waiting
//!   at most [`TabWaits::lock`]; inside it reads the shared store and passes what it holds
//!   to [`Client::offer_session`] (the core abandons its request when it adopts it);
//! - keeps a shared ledger of spent refresh tokens, keyed by what [`Client::spends`] says
//!   the request spends; a token already in it, or a lock not granted in time, is
//!   reported with [`Client::withhold`] instead of sending — the core then never sends
//!   that refresh token again and decides what instead ([`Withheld`]);
//! - writes and broadcasts every snapshot of a change whose [`SessionChange::is_new`] is
//!   true, and offers every snapshot it hears or reads to [`Client::offer_session`];
//! - a client opening without a stored session asks the others first and waits at most
//!   [`TabWaits::ask`] for their answers before asking the app's backend for a new one.
//!
//! [`SessionChange::is_new`]: crate::SessionChange::is_new

#[allow(unused_imports)]
use crate::prelude::*;
use core::time::Duration;

use super::Client;
use crate::config::Timeouts;
use crate::ctx::Ctx;
use crate::error::MisuseError;
use crate::event::SessionChange;
use crate::http::{Purpose, RequestId};
use crate::secret::Secret;
use crate::session::{self, Input as SessionInput};
use crate::snapshot::SessionSnapshot;
use crate::time::Timestamp;

/// A storage read or write that has not answered in this long never will (a hung
/// `localStorage`, an extension): the binding goes on without it.
pub const STORAGE_WAIT: Duration = Duration::from_secs(2);
/// How long a client that opens with nothing stored waits for the others' sessions:
/// long enough for a busy tab's event loop to answer, short next to a backend round trip.
pub const ASK_WAIT: Duration = Duration::from_millis(250);
/// How long a refresh withheld because its token was already spent waits for the session
/// that spending produced (the spender broadcasts it once its answer is in).
pub const OFFER_WAIT: Duration = Duration::from_secs(3);
/// Spent-token ledger entries older than this are pruned: the refresh token's life
/// (30 days at the auth service) and a day.
pub const LEDGER_KEEP: Duration = Duration::from_secs(31 * 24 * 3600);

/// The bounds a binding coordinating clients waits for (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TabWaits {
    /// The longest wait for the lock: a holder keeps it for one auth request (the auth
    /// timeout) and a storage write ([`STORAGE_WAIT`]); 3 s more and it is frozen or gone.
    pub lock: Duration,
    /// [`STORAGE_WAIT`].
    pub storage: Duration,
    /// [`ASK_WAIT`].
    pub ask: Duration,
    /// [`LEDGER_KEEP`].
    pub ledger_keep: Duration,
}

impl TabWaits {
    /// The bounds for these timeouts (15 s of lock wait with the default 10 s auth timeout).
    pub fn new(timeouts: &Timeouts) -> TabWaits {
        TabWaits {
            lock: timeouts.auth + STORAGE_WAIT + Duration::from_secs(3),
            storage: STORAGE_WAIT,
            ask: ASK_WAIT,
            ledger_keep: LEDGER_KEEP,
        }
    }
}

impl Default for TabWaits {
    /// The bounds for the default timeouts.
    fn default() -> Self {
        TabWaits::new(&Timeouts::default())
    }
}

/// Why a binding did not send an exchange or refresh the core asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Withheld {
    /// The cross-client lock was not granted within [`TabWaits::lock`]: its holder may be
    /// frozen in the middle of spending this very refresh token, and may finish later.
    LockTimeout,
    /// The shared ledger says another client already sent this refresh token.
    Spent,
}

impl Withheld {
    /// Both reasons.
    pub const ALL: [Withheld; 2] = [Withheld::LockTimeout, Withheld::Spent];

    /// `lock_timeout` or `spent`.
    pub fn as_str(self) -> &'static str {
        match self {
            Withheld::LockTimeout => "lock_timeout",
            Withheld::Spent => "spent",
        }
    }

    /// The reason named by [`as_str`](Self::as_str), if it is one.
    pub fn parse(name: &str) -> Option<Withheld> {
        Withheld::ALL.into_iter().find(|w| w.as_str() == name)
    }
}

/// What the binding does with the request it withheld.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterWithheld {
    /// Send it after all: it spends nothing another client could be spending (an
    /// exchange: at worst one extra session).
    SendAnyway,
    /// Drop it: the core abandoned it (an [`Event::Abort`](crate::Event::Abort) follows)
    /// and never sends its refresh token again. With the key held it exchanges instead;
    /// after [`Withheld::Spent`] it first waits [`OFFER_WAIT`] for the spender's session;
    /// in handoff mode it uses the JWT while it lasts, then ends the session (the app hands
    /// over a new one).
    Dropped,
}

/// What the core made of a session another client offered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offer {
    /// It replaced this client's session (a [`SessionChange::Restored`] change follows;
    /// an exchange or refresh in flight is abandoned).
    Adopted,
    /// This client already holds that session.
    Same,
    /// This client's session expires no earlier: it keeps its own.
    NotNewer,
    /// It carries a token this client has moved on from (rotated, spent, rejected):
    /// adopting it would send that token again.
    Stale,
    /// Its JWT has expired and it has no live refresh token.
    Dead,
}

impl Client {
    /// The bounds a binding coordinating clients waits for, for this client's timeouts.
    pub fn tab_waits(&self) -> TabWaits {
        TabWaits::new(&self.cfg.cfg.timeouts)
    }

    /// The refresh token pending request `id` spends (a refresh), for the binding's
    /// shared ledger of spent tokens; `None` for any other request.
    pub fn spends(&self, id: RequestId) -> Option<&Secret> {
        let refreshing = self.session.state() == session::State::Refreshing(id);
        let refresh = self.session.tokens().and_then(|t| t.refresh.as_ref());
        refresh.filter(|_| refreshing && self.pending.get(&id).is_some())
    }

    /// The binding did not send request `id` (polled, not answered), for `why`. The core
    /// decides what instead; see [`AfterWithheld`]. An abandoned id is already dropped;
    /// an id the core never emitted is a [`MisuseError`].
    pub fn withhold(
        &mut self,
        now: Timestamp,
        id: RequestId,
        why: Withheld,
    ) -> Result<AfterWithheld, MisuseError> {
        let Some(p) = self.pending.get(&id) else {
            return match self.abandoned.binary_search(&id) {
                Ok(_) => Ok(AfterWithheld::Dropped),
                Err(_) => Err(MisuseError::UnknownRequest(id)),
            };
        };
        if p.purpose != Purpose::Refresh {
            return Ok(AfterWithheld::SendAnyway);
        }
        self.observe_now(now);
        let input = SessionInput::Withheld(id, why, OFFER_WAIT);
        let notice = self.session.step(now, input, &mut ctx!(self));
        self.abandon(id);
        self.apply_notice(now, notice);
        self.drive(now);
        self.tidy_timers();
        Ok(AfterWithheld::Dropped)
    }

    /// Another client sharing the session offers its snapshot (heard on a channel, read
    /// from shared storage). The core adopts it when it is newer — a JWT that expires
    /// later — and carries no token this client has moved on from; see [`Offer`].
    pub fn offer_session(
        &mut self,
        now: Timestamp,
        snapshot: &SessionSnapshot,
    ) -> Result<Offer, MisuseError> {
        self.refuse_in_direct_mode()?;
        self.observe_now(now);
        let verdict = self.judge(now, snapshot);
        if verdict == Offer::Adopted {
            self.adopt(
                now,
                session::from_snapshot(snapshot),
                SessionChange::Restored,
            );
        }
        Ok(verdict)
    }

    fn judge(&self, now: Timestamp, s: &SessionSnapshot) -> Offer {
        let own = self.session.tokens();
        if own.is_some_and(|t| t.jwt == s.session_token) {
            return Offer::Same;
        }
        let retired = self.session.retired();
        let moved_on = |x: &Secret| retired.contains(x);
        if moved_on(&s.session_token) || s.refresh_token.as_ref().is_some_and(moved_on) {
            return Offer::Stale;
        }
        let server_now = self.session.server_now(now);
        let refresh_alive =
            s.refresh_token.is_some() && s.refresh_expires_at.is_none_or(|e| server_now < e);
        if s.expires_at <= server_now && !refresh_alive {
            return Offer::Dead;
        }
        match own {
            Some(t) if s.expires_at <= t.exp => Offer::NotNewer,
            _ => Offer::Adopted,
        }
    }
}
