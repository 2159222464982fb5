//! One simulated client: the core's `Client`, its clock, what it has sent, what its
//! app persisted, and the checker's books about it.

use std::collections::BTreeMap;

use polargrid_core::{CallId, Client, Config, Purpose, RequestId};

use crate::invariants::{Book, Pacing};
use crate::plan::CallPlan;

/// A request the client emitted that has not been resolved yet.
#[derive(Clone, Debug)]
pub struct Sent {
    /// Why the client sent it.
    pub purpose: Purpose,
    /// The refresh token it carried (refresh requests), to follow rotation.
    pub refresh_token: Option<String>,
    /// It carried a JWT (app calls in session/handoff mode).
    pub jwt_bearing: bool,
}

/// One client.
pub struct Slot {
    /// Still running (a second client is dropped at the end of its window).
    pub alive: bool,
    /// The core.
    pub client: Client,
    /// Its configuration (kept to rebuild it on restart).
    pub config: Config,
    /// Instance number: bumped on each restart, so answers to a dead instance are dropped.
    pub inst: u32,
    /// Index into the driver's lineages.
    pub lineage: usize,
    /// Client clock minus true clock, ms.
    pub offset_ms: i64,
    /// Asleep until this true time.
    pub asleep_until: Option<u64>,
    /// Calls the app queued while asleep (started at wake).
    pub deferred: Vec<CallPlan>,
    /// What the app persisted: the last snapshot's JSON (`to_json`).
    pub store: Option<String>,
    /// Clock epoch of the last answer this client saw (its last evidence of the
    /// server's clock); `None` before any.
    pub evidence: Option<u64>,
    /// `evidence` when the persisted snapshot was written (what a restore knows).
    pub store_evidence: Option<u64>,
    /// Requests in flight.
    pub pending: BTreeMap<RequestId, Sent>,
    /// The checker's book of this instance.
    pub book: Book,
    /// True time this client was awake, ms (call ages are measured in it).
    pub awake_ms: u64,
    /// The driver's timer (true time), armed from `poll_timeout` like a real driver's
    /// monotonic timer: a step of the wall clock does not move it.
    pub timer: Option<u64>,
    /// The `poll_timeout` value the timer was armed from.
    pub timer_for: Option<polargrid_core::Timestamp>,
    /// Handoff: a backend mint is scheduled.
    pub mint_scheduled: bool,
    /// Storm and Retry-After bookkeeping.
    pub pacing: Pacing,
    /// App bodies of open calls.
    pub bodies: BTreeMap<CallId, Vec<u8>>,
    /// Counters.
    pub counts: Counts,
}

/// What a client did over the run (all its instances).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Exchange requests sent.
    pub exchanges: u64,
    /// Refresh requests sent.
    pub refreshes: u64,
    /// Discovery requests sent.
    pub discoveries: u64,
    /// Edge requests sent.
    pub edge_requests: u64,
    /// Calls started.
    pub calls: u64,
    /// Calls that succeeded.
    pub ready: u64,
    /// Calls that failed.
    pub failed: u64,
    /// Calls cancelled.
    pub cancelled: u64,
    /// Calls lost because the app restarted (or the client was dropped).
    pub lost: u64,
    /// Sessions handed over by the simulated backend.
    pub handovers: u64,
    /// Restarts.
    pub restarts: u64,
}

impl Slot {
    /// The client's clock at true time `t` (Unix ms).
    pub fn now(&self, t0: u64, t: u64) -> u64 {
        let v = i128::from(t0) + i128::from(t) + i128::from(self.offset_ms);
        v.clamp(0, i128::from(u64::MAX)) as u64
    }

    /// Whether it is asleep at `t`.
    pub fn asleep(&self, t: u64) -> bool {
        self.asleep_until.is_some_and(|w| w > t)
    }

    /// Whether an exchange or refresh is in flight.
    pub fn session_request_in_flight(&self) -> bool {
        self.pending
            .values()
            .any(|s| matches!(s.purpose, Purpose::Exchange | Purpose::Refresh))
    }
}
