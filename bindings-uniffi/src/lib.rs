//! # polargrid-uniffi
//!
//! `polargrid-core` for Python, Kotlin and Swift. This crate holds the **one shared
//! driver**: the run loop every language would otherwise write again (send what the
//! core asks for, concurrently; feed the answers back; sleep until the core's next
//! deadline; sort its events). Each language layer only supplies an HTTP stack through
//! the foreign [`Transport`] trait and wraps [`Driver`] in an idiomatic client.
//!
//! ## How a foreign layer uses it
//! 1. Implement [`Transport`]: `send(request, reply)` starts sending [`HttpRequest`] on
//!    the language's own concurrency (a thread pool, an asyncio task, a coroutine, a Swift
//!    `Task`) and returns at once; when the answer head arrives it calls
//!    [`Reply::response`] (status, headers, and the body as [`HttpRequest::body_rule`]
//!    says) or [`Reply::failed`]. A 2xx answer to an app call keeps its body on the
//!    foreign side, keyed by the request id, until [`CallResponse::request_id`] claims
//!    it or `release(request_id)` drops it. Streams never cross.
//! 2. Optionally implement [`Listener`] to hear session changes (persist the snapshot),
//!    ended sessions and region changes.
//! 3. `Driver::new(api_key, options, transport, listener)`, then for each app call
//!    `start(call)` → call id, and wait for its ending with `wait` (async: asyncio,
//!    coroutines, Swift concurrency; dropping the future cancels the call) or
//!    `wait_blocking` (threads; in bounded slices so the caller stays interruptible).
//! 4. `close()` when done.
//!
//! All policy (sessions, routing, retries, classification) stays in `polargrid-core`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
// `PolarGridError` is what crosses the FFI (serialised into a buffer by uniffi): its size
// on the Rust stack does not matter, and boxing its record would change the foreign API.
#![allow(clippy::result_large_err)]

mod convert;
mod driver;
#[cfg(test)]
mod tests;

use std::sync::Arc;

pub use driver::{Driver, Reply};

uniffi::setup_scaffolding!();

/// How the client authenticates (see `polargrid_core::Mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum AuthMode {
    /// Exchange the `pg_` key for a session JWT, refresh it, send the JWT to the edges (default).
    Session,
    /// Send the `pg_` key straight to the edges (no session).
    Direct,
    /// No key on this device: the app hands over sessions minted by its backend
    /// ([`Driver::hand_over`]).
    Handoff,
}

/// Client options. A foreign layer fills this from its own constructor's arguments;
/// every field but `mode` may be left empty for the core's default. The API key is
/// passed separately to [`Driver::new`] so that no record ever holds it.
#[derive(Clone, Debug, uniffi::Record)]
pub struct Options {
    /// How to authenticate.
    pub mode: AuthMode,
    /// Pin a region (id like `yto-01` or alias like `toronto`); skips discovery.
    #[uniffi(default = None)]
    pub region: Option<String>,
    /// A fixed edge base URL (an autorouter URL means auto-routing). At most one of
    /// `region` and `base_url`.
    #[uniffi(default = None)]
    pub base_url: Option<String>,
    /// Discovery scope: `country` (default) or `global`.
    #[uniffi(default = None)]
    pub scope: Option<String>,
    /// Where PolarGrid lives, as JSON shaped like the emulator's start-up line (passed
    /// to `polargrid_core::Endpoints::from_json` as it is); empty for the real service.
    #[uniffi(default = None)]
    pub endpoints_json: Option<String>,
    /// Let a pinned region fail over to another when it is down.
    #[uniffi(default = false)]
    pub failover_pinned: bool,
    /// Attempts per call, the first included (1..=20); empty for the core's default.
    #[uniffi(default = None)]
    pub max_attempts: Option<u32>,
    /// First retry backoff in ms (tests shorten it); empty for the core's default.
    #[uniffi(default = None)]
    pub backoff_base_ms: Option<u64>,
    /// Largest retry backoff in ms; empty for the core's default.
    #[uniffi(default = None)]
    pub backoff_max_ms: Option<u64>,
    /// Seed for jitter and request ids (tests); empty for one from the clock.
    #[uniffi(default = None)]
    pub seed: Option<u64>,
    /// `User-Agent` product token, like `polargrid-core-python/0.1.0`; empty for the core's.
    #[uniffi(default = None)]
    pub user_agent: Option<String>,
}

/// One HTTP header.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Header {
    /// Name (case-insensitive).
    pub name: String,
    /// Value.
    pub value: String,
}

/// What to do with an answer's body when calling [`Reply::response`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum BodyRule {
    /// A request the core owns (exchange, refresh, discovery): pass the whole body
    /// (at most 64 KiB are read).
    Whole,
    /// An app call: for a 2xx answer pass an empty body and keep the real one (stream
    /// it to the app later, keyed by the request id); for any other status pass the
    /// first 4096 bytes so the core can classify the failure.
    KeepSuccess,
}

/// A complete request the core wants sent. Send exactly this (for app calls, attach
/// the app's own body and content headers, which the foreign layer kept by `call`),
/// do not follow redirects, and answer through the [`Reply`] that came with it.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpRequest {
    /// The request's id: the key under which a kept success body is claimed or released.
    pub id: u64,
    /// The app call this is an attempt of (`None`: a request the core owns).
    pub call: Option<u64>,
    /// `GET`, `POST`, …
    pub method: String,
    /// Full URL including any query string.
    pub url: String,
    /// Headers to send, in order (may include `Authorization`: never log them).
    pub headers: Vec<Header>,
    /// Body of a core-owned request (JSON); `None` for app calls (attach the app's).
    pub body: Option<Vec<u8>>,
    /// Give up and `failed(Timeout)` if no answer head arrived within this many ms.
    pub timeout_ms: u64,
    /// What to pass as the answer's body.
    pub body_rule: BodyRule,
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Headers carry the key or JWT and bodies carry refresh tokens: never print them.
        f.debug_struct("HttpRequest")
            .field("id", &self.id)
            .field("call", &self.call)
            .field("method", &self.method)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// How a request failed below HTTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum TransportError {
    /// The host name did not resolve.
    Dns,
    /// The connection was refused or not established (nothing was sent).
    Connect,
    /// The TLS handshake failed.
    Tls,
    /// No answer head within the request's timeout.
    Timeout,
    /// The connection broke after the request was sent, or the send was interrupted.
    Aborted,
}

/// An app call to start with [`Driver::start`]. Its body stays on the foreign side.
#[derive(Clone, Debug, uniffi::Record)]
pub struct CallRequest {
    /// `GET`, `POST`, … (case-insensitive).
    pub method: String,
    /// Path from the edge's root, like `/v1/chat/completions` (a query may follow).
    pub path: String,
    /// The body's `model`, as a routing hint for discovery.
    #[uniffi(default = None)]
    pub model: Option<String>,
    /// Whether the call may be replayed after a failure that may have reached the
    /// server; `None` for the core's rule (idempotent methods and inference endpoints).
    #[uniffi(default = None)]
    pub idempotent: Option<bool>,
    /// Time to the answer head in ms; `None` for the configured call timeout.
    #[uniffi(default = None)]
    pub timeout_ms: Option<u64>,
}

/// A call that succeeded: claim the kept success body of `request_id` and give it to
/// the app.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct CallResponse {
    /// The call.
    pub call: u64,
    /// The request whose (kept) answer is the call's answer.
    pub request_id: u64,
    /// The region that answered, if known.
    pub region: Option<String>,
}

/// A classified failure (`polargrid_core::CallError`). Holds no secret.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct CallFailure {
    /// Stable lowercase class: `invalid_api_key`, `session_expired`, `no_session`,
    /// `cdn_blocked`, `insufficient_scope`, `billing`, `validation`, `not_found`,
    /// `rate_limited`, `server`, `network`, `malformed_response`, `unexpected_status`.
    pub kind: String,
    /// For `network`: `dns`, `connect`, `tls`, `timeout` or `aborted`.
    pub transport: Option<String>,
    /// HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// Whether the same call may succeed later.
    pub retryable: bool,
    /// How long the server asked to wait (`Retry-After`), in ms.
    pub retry_after_ms: Option<u64>,
    /// The `X-Request-ID` sent, for support tickets.
    pub request_id: Option<String>,
    /// One line: what happened.
    pub cause: String,
    /// One line: how to fix it.
    pub fix: String,
    /// The server's own message, scrubbed and bounded.
    pub server_message: Option<String>,
    /// Attempts made.
    pub attempts: u32,
    /// The whole thing as one human-readable line.
    pub message: String,
}

/// Every error the driver returns. Messages never hold a secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum PolarGridError {
    /// The call failed; `failure` says why, classified.
    #[error("{}", failure.message)]
    Call {
        /// The classification.
        failure: CallFailure,
    },
    /// The configuration was rejected before any request (the message holds the fix).
    #[error("{message}")]
    Config {
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The driver was used wrongly (bad path, unreadable snapshot or grant, unknown call).
    #[error("{message}")]
    Misuse {
        /// What is wrong.
        message: String,
    },
    /// The call was cancelled (`cancel`, or its `wait` future was dropped).
    #[error("the call was cancelled")]
    Cancelled,
    /// The driver was closed.
    #[error("the client is closed")]
    Closed,
}

/// Where the session is (`polargrid_core::SessionStatus`, without secrets).
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum SessionState {
    /// Direct mode: no session, the key goes to the edges.
    Direct,
    /// No session yet.
    None,
    /// A key exchange is in flight.
    Exchanging,
    /// A session is held.
    Active,
    /// A session is held and a refresh is in flight.
    Refreshing,
    /// Handoff mode: waiting for the app to hand a session over.
    Ended,
}

/// Something the app may want to hear about, given to [`Listener::on_event`] in order.
#[derive(Clone, PartialEq, Eq, uniffi::Enum)]
pub enum DriverEvent {
    /// The session changed: persist `snapshot_json` (it holds secrets: store it like a
    /// password) or, when it is `None`, delete what was persisted.
    SessionChanged {
        /// `exchanged`, `refreshed`, `handed_over`, `restored` or `cleared`.
        reason: String,
        /// The session id the auth service gave, if any.
        session_id: Option<String>,
        /// When the JWT expires (Unix ms, server clock), if a session is held.
        expires_at_ms: Option<u64>,
        /// What to persist; `None` means forget it.
        snapshot_json: Option<String>,
    },
    /// The session ended and cannot be renewed here (handoff mode): hand over a new one.
    SessionEnded {
        /// Why.
        failure: CallFailure,
    },
    /// Calls now go to another region.
    RegionChanged {
        /// Region id.
        region: String,
        /// Edge base URL.
        endpoint: String,
        /// `discovered`, `fallback`, `failover` or `configured`.
        reason: String,
    },
}

impl std::fmt::Debug for DriverEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DriverEvent::SessionChanged { reason, .. } => {
                write!(f, "SessionChanged({reason}, snapshot redacted)")
            }
            DriverEvent::SessionEnded { failure } => write!(f, "SessionEnded({})", failure.kind),
            DriverEvent::RegionChanged { region, reason, .. } => {
                write!(f, "RegionChanged({region}, {reason})")
            }
        }
    }
}

/// The foreign HTTP stack. Implemented once per language (httpx, `java.net.http`,
/// `URLSession`).
#[uniffi::export(with_foreign)]
pub trait Transport: Send + Sync {
    /// Start sending `request` on the language's own concurrency and return at once
    /// (never block here, never call back into the driver before returning unless from
    /// another thread or task). Answer exactly once through `reply`.
    fn send(&self, request: HttpRequest, reply: Arc<Reply>);
    /// The driver no longer needs request `request_id`: abort it if still in flight and
    /// close any success body kept for it. May come for an id already answered.
    fn release(&self, request_id: u64);
}

/// Hears session and region changes. Called outside the driver's lock, in order, from
/// whichever thread moved the core (a caller's, a transport's or the driver's timer).
#[uniffi::export(with_foreign)]
pub trait Listener: Send + Sync {
    /// One event.
    fn on_event(&self, event: DriverEvent);
}
