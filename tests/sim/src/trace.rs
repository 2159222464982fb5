//! The run's trace: every step is hashed (so two runs of a seed can be compared) and
//! the last [`KEEP`] are kept for the failure report. A step never holds a secret:
//! requests are described by purpose, method, host and path, tokens by a short
//! fingerprint at most.

use std::collections::VecDeque;
use std::fmt;

use crate::plan::fmt_t;

/// Steps kept for the report.
pub const KEEP: usize = 50;

/// What happened at one step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// The client emitted a request.
    Send {
        /// Request id.
        id: u64,
        /// `exchange`, `refresh`, `discover`, `call#N`.
        purpose: String,
        /// HTTP method.
        method: &'static str,
        /// `host[:port]/path` (no query, no credentials).
        target: String,
        /// Which credential it carried: `key`, `jwt`, `refresh`, `-`.
        credential: &'static str,
    },
    /// An answer (or a transport error) was fed to the client.
    Answer {
        /// Request id.
        id: u64,
        /// `200`, `503`, `connect`, `timeout` …
        outcome: String,
    },
    /// An answer was lost (dropped by a fault, or the request was aborted).
    Lost {
        /// Request id.
        id: u64,
        /// Why.
        why: &'static str,
    },
    /// The client emitted an event.
    Event(String),
    /// The app or the fault plan did something.
    Action(String),
    /// `handle_timeout`.
    Tick,
}

/// One step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// True time, ms from the start of the run.
    pub t: u64,
    /// Which client (0 = the app, 1 = a second client), and its instance (restarts).
    pub client: (usize, u32),
    /// What.
    pub kind: StepKind,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} c{}.{} ", fmt_t(self.t), self.client.0, self.client.1)?;
        match &self.kind {
            StepKind::Send {
                id,
                purpose,
                method,
                target,
                credential,
            } => write!(f, "-> req#{id} {purpose} {method} {target} [{credential}]"),
            StepKind::Answer { id, outcome } => write!(f, "<- req#{id} {outcome}"),
            StepKind::Lost { id, why } => write!(f, "xx req#{id} {why}"),
            StepKind::Event(e) => write!(f, "ev {e}"),
            StepKind::Action(a) => write!(f, "** {a}"),
            StepKind::Tick => write!(f, "tick"),
        }
    }
}

/// The trace of a run.
#[derive(Debug, Default)]
pub struct Trace {
    last: VecDeque<Step>,
    hash: u64,
    steps: u64,
    /// Keep every step (for tests that look at the whole run).
    pub keep_all: bool,
    all: Vec<Step>,
}

impl Trace {
    /// An empty trace.
    pub fn new() -> Trace {
        Trace {
            hash: FNV_OFFSET,
            ..Trace::default()
        }
    }

    /// Records a step.
    pub fn push(&mut self, step: Step) {
        self.hash = fnv_step(self.hash, &step);
        self.steps += 1;
        if self.keep_all {
            self.all.push(step.clone());
        }
        if self.last.len() == KEEP {
            self.last.pop_front();
        }
        self.last.push_back(step);
    }

    /// Hash of every step so far.
    pub fn hash(&self) -> u64 {
        self.hash
    }

    /// Number of steps so far.
    pub fn len(&self) -> u64 {
        self.steps
    }

    /// Whether nothing happened yet.
    pub fn is_empty(&self) -> bool {
        self.steps == 0
    }

    /// The last steps, oldest first.
    pub fn last(&self) -> impl Iterator<Item = &Step> {
        self.last.iter()
    }

    /// Every step (only with [`Trace::keep_all`]).
    pub fn all(&self) -> &[Step] {
        &self.all
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a over bytes.
pub fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A short, non-reversible fingerprint of a secret for messages: `#1a2b3c`.
pub fn fingerprint(secret: &str) -> String {
    format!("#{:06x}", fnv(FNV_OFFSET, secret.as_bytes()) & 0xFF_FFFF)
}

/// A 64-bit hash of a secret, to remember it without keeping it.
pub fn secret_hash(secret: &str) -> u64 {
    fnv(FNV_OFFSET, secret.as_bytes())
}

fn fnv_step(h: u64, s: &Step) -> u64 {
    let mut h = fnv(h, &s.t.to_le_bytes());
    h = fnv(h, &(s.client.0 as u64).to_le_bytes());
    h = fnv(h, &s.client.1.to_le_bytes());
    match &s.kind {
        StepKind::Send {
            id,
            purpose,
            method,
            target,
            credential,
        } => {
            h = fnv(h, b"S");
            h = fnv(h, &id.to_le_bytes());
            h = fnv(h, purpose.as_bytes());
            h = fnv(h, method.as_bytes());
            h = fnv(h, target.as_bytes());
            fnv(h, credential.as_bytes())
        }
        StepKind::Answer { id, outcome } => {
            h = fnv(h, b"A");
            h = fnv(h, &id.to_le_bytes());
            fnv(h, outcome.as_bytes())
        }
        StepKind::Lost { id, why } => {
            h = fnv(h, b"L");
            h = fnv(h, &id.to_le_bytes());
            fnv(h, why.as_bytes())
        }
        StepKind::Event(e) => fnv(fnv(h, b"E"), e.as_bytes()),
        StepKind::Action(a) => fnv(fnv(h, b"X"), a.as_bytes()),
        StepKind::Tick => fnv(h, b"T"),
    }
}
