//! The call machine: one logical API request through its attempts.
//!
//! ```text
//!   start ──▶ Waiting ── session + route ready ──▶ InFlight ── 2xx ──▶ Ready (event)
//!               ▲  ▲                                  │
//!               │  └── 401 with a JWT, first time: refresh (single-flight), replay once
//!               │                                     │
//!               └──── Backoff{until} ◀── retryable, safe for this call, attempts and
//!                                         budget left (Retry-After ≤ cap)
//!                                        otherwise ──▶ Failed (event, classified)
//!   cancel (any phase) ──▶ Cancelled (event; an in-flight request is aborted)
//! ```
//! The transitions are in [`Call::on_outcome`]; the client performs what it returns.
//! Where a retry goes: after a certain failure (refused, DNS, TLS) never to the same
//! region again, after an ambiguous one (timeout, 5xx) possibly the same — the rule
//! and why are in [`crate::route`].

#[allow(unused_imports)]
use crate::prelude::*;
use core::time::Duration;

use crate::classify::capped;
use crate::config::RetryPolicy;
use crate::ctx::{backoff, Ctx, TraceId};
use crate::error::{CallError, MisuseError};
use crate::http::{CallId, Method, RequestId};
use crate::time::Timestamp;

/// What the app wants to call. The body stays with the driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallSpec {
    /// HTTP method.
    pub method: Method,
    /// Path from the edge's root, like `/v1/chat/completions` (a query string may follow).
    pub path: String,
    /// Model name, as a routing hint for discovery (`model=…`).
    pub model: Option<String>,
    /// Whether the call may be sent again after a failure that may have reached the
    /// server (timeout, broken connection, 500/502/504) or whose cause the platform hid.
    /// `None` means: yes for idempotent methods, PolarGrid's inference endpoints (they
    /// change no server state; a replay costs at most a duplicated generation) and
    /// `/v1/tokens` (a second room token is minted, nothing else changes), no for
    /// anything else.
    pub idempotent: Option<bool>,
    /// Time to the response head; `None` for the configured call timeout.
    pub timeout: Option<Duration>,
    /// The call as a whole, from start to its answer head or failure (every attempt and
    /// backoff); `None` for the configured `call_deadline`.
    pub deadline: Option<Duration>,
    /// The app's own headers (content type, accept, …), checked by
    /// [`check_header`](crate::check_header) and sent after the core's. Values for the
    /// headers the core owns (`Authorization`, `User-Agent`, `X-Request-ID`) and
    /// hop-by-hop ones the transport sets (`Host`, `Content-Length`, …) are dropped.
    pub headers: Vec<(String, String)>,
}

/// Headers the core sets, or the transport does: an app's values for them are dropped.
const NOT_FROM_APP: [&str; 11] = [
    "authorization",
    "user-agent",
    "x-request-id",
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
];

impl CallSpec {
    /// A call with no routing hint and default idempotency and timeout.
    pub fn new(method: Method, path: &str) -> Self {
        CallSpec {
            method,
            path: path.to_string(),
            model: None,
            idempotent: None,
            timeout: None,
            deadline: None,
            headers: Vec::new(),
        }
    }

    /// Adds one of the app's headers (builder style).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// The app's headers that go out: all but those the core or the transport sets.
    pub(crate) fn app_headers(&self) -> impl Iterator<Item = &(String, String)> {
        self.headers
            .iter()
            .filter(|(k, _)| !NOT_FROM_APP.iter().any(|n| k.eq_ignore_ascii_case(n)))
    }

    /// Adds the model routing hint.
    pub fn with_model(mut self, model: &str) -> Self {
        self.model = Some(model.to_string());
        self
    }

    /// Sets idempotency explicitly.
    pub fn with_idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = Some(idempotent);
        self
    }

    /// Checks the path: absolute, no scheme or host, no whitespace or control characters.
    pub(crate) fn check(&self) -> Result<(), MisuseError> {
        let p = &self.path;
        if !p.starts_with('/') || p.starts_with("//") {
            return Err(MisuseError::BadCall(
                "path must start with a single `/`, like /v1/models",
            ));
        }
        if p.len() > 4096 {
            return Err(MisuseError::BadCall("path is longer than 4096 characters"));
        }
        // The usual path is printable ASCII: checked byte by byte, the same rule as below
        // for those (ASCII whitespace and controls are the bytes up to space, and DEL).
        let plain = p
            .bytes()
            .all(|b| b > b' ' && b < 0x7f && b != b'#' && b != b'\\');
        if !plain
            && p.chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '#' || c == '\\')
        {
            return Err(MisuseError::BadCall(
                "path has whitespace, control characters, `#` or `\\`; percent-encode them",
            ));
        }
        if self.headers.len() > crate::http::MAX_APP_HEADERS {
            return Err(MisuseError::BadCall("more than 100 headers"));
        }
        let mut size = 0usize;
        for (k, v) in &self.headers {
            crate::http::check_header(k, v).map_err(MisuseError::BadCall)?;
            size = size.saturating_add(k.len() + v.len() + 4);
        }
        if size > crate::http::MAX_HEAD {
            return Err(MisuseError::BadCall(
                "the headers are larger than 64 KiB together",
            ));
        }
        if self.timeout.is_some_and(|t| t.is_zero()) || self.deadline.is_some_and(|d| d.is_zero()) {
            return Err(MisuseError::BadCall("a timeout or deadline of zero"));
        }
        if let Some(m) = &self.model {
            if m.is_empty() || m.len() > 256 {
                return Err(MisuseError::BadCall(
                    "model hint must be 1 to 256 bytes (UTF-8)",
                ));
            }
        }
        Ok(())
    }

    /// The path without its query.
    pub(crate) fn bare_path(&self) -> &str {
        self.path.split('?').next().unwrap_or("")
    }

    fn default_idempotent(&self) -> bool {
        const INFERENCE: [&str; 7] = [
            "/v1/chat/completions",
            "/v1/completions",
            "/v1/embeddings",
            "/v1/models",
            "/v1/audio/speech",
            "/v1/audio/transcriptions",
            "/v1/tokens",
        ];
        self.method.is_idempotent() || INFERENCE.contains(&self.bare_path())
    }
}

/// Which credential an attempt carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UsedCredential {
    /// The session JWT of this generation.
    Jwt(u64),
    /// The API key.
    Key,
}

/// Where a call is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Needs a session and a route.
    Waiting,
    /// Waits before its next attempt.
    Backoff(Timestamp),
    /// An attempt is out.
    InFlight {
        req: RequestId,
        region: String,
        credential: UsedCredential,
    },
}

/// How an attempt (or the session it waited on) ended.
pub(crate) enum Outcome {
    /// 2xx.
    Success,
    /// The edge said 401 to this JWT generation.
    JwtRejected(u64),
    /// A classified failure; `never_sent` when it certainly did not reach the service.
    Failure { error: CallError, never_sent: bool },
}

/// What the client does next for a call.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Deliver the answer.
    Ready,
    /// Refresh the session (generation), then send again.
    Replay(u64),
    /// Try again at this time.
    RetryAt(Timestamp),
    /// Give up with this error.
    Fail(CallError),
}

/// One logical call.
#[derive(Clone, Debug)]
pub(crate) struct Call {
    pub(crate) id: CallId,
    pub(crate) spec: CallSpec,
    /// `X-Request-ID`, the same for every attempt.
    pub(crate) trace_id: TraceId,
    pub(crate) phase: Phase,
    pub(crate) idempotent: bool,
    /// Attempts that count toward the limit (sends, and session attempts waited on).
    pub(crate) attempts: u32,
    /// Requests actually sent (a replay included).
    pub(crate) sends: u32,
    pub(crate) replayed: bool,
    /// Handoff: give up waiting for a session at this time.
    pub(crate) wait_deadline: Option<Timestamp>,
    pub(crate) last_error: Option<CallError>,
    /// Regions this call failed on for certain (refused, DNS, TLS): it never goes back
    /// (see the rule in `crate::route`).
    pub(crate) avoid: Vec<String>,
    /// When the call as a whole gives up (driver clock).
    pub(crate) deadline: Option<Timestamp>,
}

impl Call {
    pub(crate) fn new(
        id: CallId,
        spec: CallSpec,
        trace_id: TraceId,
        deadline: Option<Timestamp>,
    ) -> Self {
        let idempotent = spec.idempotent.unwrap_or_else(|| spec.default_idempotent());
        Call {
            id,
            spec,
            trace_id,
            phase: Phase::Waiting,
            idempotent,
            attempts: 0,
            sends: 0,
            replayed: false,
            wait_deadline: None,
            last_error: None,
            avoid: Vec::new(),
            deadline,
        }
    }

    /// Whether, on a transport that cannot observe connects, no answer head by the connect
    /// timeout may move this call on (`route` module docs, "Unobserved connects"): a method
    /// idempotent by HTTP, whose head is expected fast, on a call safe to repeat. Not the
    /// inference POSTs: a non-streaming generation's head comes after the whole generation.
    pub(crate) fn connect_watched(&self) -> bool {
        self.idempotent && self.spec.method.is_idempotent()
    }

    /// Stamps an error with this call's request id and attempt count.
    pub(crate) fn stamp(&self, mut e: CallError) -> CallError {
        e.request_id = Some(self.trace_id.text().into_string());
        e.attempts = self.sends;
        e
    }

    /// The one place a call decides what follows an outcome.
    pub(crate) fn on_outcome(
        &mut self,
        now: Timestamp,
        outcome: Outcome,
        policy: &RetryPolicy,
        budget: &mut Budget,
        ctx: &mut Ctx<'_>,
    ) -> Next {
        match outcome {
            Outcome::Success => {
                budget.success();
                Next::Ready
            }
            Outcome::JwtRejected(generation) if !self.replayed => {
                self.replayed = true;
                // The replay is not a retry: it does not count toward the limit or budget.
                self.attempts = self.attempts.saturating_sub(1);
                self.phase = Phase::Waiting;
                Next::Replay(generation)
            }
            Outcome::JwtRejected(_) => {
                Next::Fail(self.stamp(self.last_error.clone().unwrap_or_else(|| {
                    crate::classify::local(
                        crate::error::ErrorKind::SessionExpired,
                        crate::classify::Stage::Call,
                    )
                })))
            }
            Outcome::Failure { error, never_sent } => {
                let error = self.stamp(error);
                self.last_error = Some(error.clone());
                let safe =
                    self.idempotent || never_sent || matches!(error.status, Some(429) | Some(503));
                if !error.retryable || !safe || self.attempts >= policy.max_attempts {
                    return Next::Fail(error);
                }
                let wait = match error.retry_after {
                    Some(ra) => match capped(ra, policy.max_retry_after) {
                        (_, true) => return Next::Fail(error),
                        (ra, false) => Some(ra),
                    },
                    None => None,
                };
                if !budget.withdraw() {
                    return Next::Fail(error);
                }
                let b = ctx.jitter(backoff(
                    policy.base_backoff,
                    policy.max_backoff,
                    self.attempts,
                ));
                // The server's Retry-After when it gave one, never less than our backoff.
                let at = now.plus(wait.map_or(b, |w| w.max(b)));
                if self.deadline.is_some_and(|d| at >= d) {
                    // The retry would start after the call's deadline: fail now.
                    budget.refund();
                    return Next::Fail(error);
                }
                self.phase = Phase::Backoff(at);
                Next::RetryAt(at)
            }
        }
    }
}

/// The retry budget: a token bucket shared by all calls, so an outage cannot turn into
/// a retry storm. Each retry takes one token; each success puts back a fraction. First
/// attempts never need a token.
#[derive(Clone, Debug)]
pub(crate) struct Budget {
    tenths: u32,
    cap_tenths: u32,
    refill_tenths: u32,
}

impl Budget {
    pub(crate) fn new(policy: &RetryPolicy) -> Self {
        let cap = policy.budget_capacity.saturating_mul(10);
        Budget {
            tenths: cap,
            cap_tenths: cap,
            refill_tenths: policy.budget_refill_tenths,
        }
    }

    /// Takes a token for a retry; `false` when the budget is spent.
    pub(crate) fn withdraw(&mut self) -> bool {
        if self.tenths >= 10 {
            self.tenths -= 10;
            true
        } else {
            false
        }
    }

    /// Puts back a token taken for a retry that was not made.
    pub(crate) fn refund(&mut self) {
        self.tenths = self.tenths.saturating_add(10).min(self.cap_tenths);
    }

    /// Puts back a fraction for a success.
    pub(crate) fn success(&mut self) {
        self.tenths = self
            .tenths
            .saturating_add(self.refill_tenths)
            .min(self.cap_tenths);
    }

    /// Whole retries left.
    pub(crate) fn available(&self) -> u32 {
        self.tenths / 10
    }
}
