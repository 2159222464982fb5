//! The records and enums that cross to Python, Kotlin and Swift. Each mirrors one item of
//! `polargrid-core` (the table is in the crate docs); the conversions are in `convert`.
//!
//! Secrets: a record that can hold one (`Options`, `HttpRequest`, `Header`,
//! `DriverEvent`) exports a redacting `Debug` and `Display`, so the generated
//! `__repr__`/`__str__`, `toString` and `description` print no key, JWT or refresh token.

use std::fmt;

/// Client options: `polargrid_core::Options`, field for field, plus the driver's `seed`.
/// Every field may be left empty for the core's default; the core's rules apply
/// (`Options::build`): a key in handoff mode, a region with a base URL, an unknown mode
/// are each a `invalid_config` error. Printing it never shows the key or the session.
#[uniffi::export(Debug, Display)]
#[derive(Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct Options {
    /// The `pg_` key (session and direct mode; none in handoff mode).
    #[uniffi(default)]
    pub api_key: Option<String>,
    /// `session` (default), `direct` or `handoff`.
    #[uniffi(default)]
    pub mode: Option<String>,
    /// Pin a region (id like `yto-01` or alias like `toronto`); skips discovery.
    #[uniffi(default)]
    pub region: Option<String>,
    /// A fixed edge base URL (an autorouter URL means auto-routing). Not with `region`.
    #[uniffi(default)]
    pub base_url: Option<String>,
    /// Discovery scope: `country` (default) or `global`.
    #[uniffi(default)]
    pub scope: Option<String>,
    /// Where PolarGrid lives, as JSON shaped like the emulator's start-up line; empty
    /// for the real service.
    #[uniffi(default)]
    pub endpoints_json: Option<String>,
    /// A session snapshot to restore (from a `SessionChanged` event), holds secrets.
    #[uniffi(default)]
    pub session_json: Option<String>,
    /// Let a pinned region fail over to another when it is down.
    #[uniffi(default = false)]
    pub failover_pinned: bool,
    /// Attempts per call, the first included (1..=20).
    #[uniffi(default)]
    pub max_attempts: Option<u32>,
    /// First retry backoff in ms.
    #[uniffi(default)]
    pub backoff_base_ms: Option<u64>,
    /// Largest retry backoff in ms.
    #[uniffi(default)]
    pub backoff_max_ms: Option<u64>,
    /// Each attempt's time to the answer head, ms (default 60 000).
    #[uniffi(default)]
    pub request_timeout_ms: Option<u64>,
    /// A call as a whole, from start to its answer head, ms (default twice the request
    /// timeout; a stream's body after the head is never cut).
    #[uniffi(default)]
    pub call_deadline_ms: Option<u64>,
    /// Establishing a connection, ms, for every request (default 10 000).
    #[uniffi(default)]
    pub connect_timeout_ms: Option<u64>,
    /// Each exchange or refresh request, ms (default 10 000).
    #[uniffi(default)]
    pub auth_timeout_ms: Option<u64>,
    /// `User-Agent` product token, like `polargrid-core-python/0.1.0`.
    #[uniffi(default)]
    pub user_agent: Option<String>,
    /// The app runs where its users can read it (a web view): a key is then refused.
    #[uniffi(default = false)]
    pub key_visible_to_users: bool,
    /// Accept a key even there (local tools only).
    #[uniffi(default = false)]
    pub allow_key_in_browser: bool,
    /// Seed for jitter and request ids (tests); empty for one from the clock.
    #[uniffi(default)]
    pub seed: Option<u64>,
    /// Start with this client's clock moved by this many ms (tests and demos, like
    /// `Driver::advance_clock` before the first step).
    #[uniffi(default = 0)]
    pub clock_offset_ms: i64,
}

/// One HTTP header. Printing it hides an `Authorization` value.
#[uniffi::export(Debug, Display)]
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct Header {
    /// Name (case-insensitive).
    pub name: String,
    /// Value.
    pub value: String,
}

/// Why the core sends a request (`polargrid_core::Purpose`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum Purpose {
    /// `POST {auth}/v1/auth/session`: API key → session.
    Exchange,
    /// `POST {auth}/v1/auth/refresh`: refresh token → new session.
    Refresh,
    /// `GET {autorouter}/v1/route`: region discovery.
    Discover,
    /// An attempt of an app call (`HttpRequest::call` says which).
    Call,
}

/// A complete request the core wants sent (`polargrid_core::HttpRequest`, with the app's
/// body attached for calls). The transport contract (crate docs of `polargrid-core`):
/// send exactly this; never follow a redirect (a 3xx is an answer); give up connecting
/// after `connect_timeout_ms` (`connect_timeout`) and waiting after `timeout_ms`
/// (`timeout`); read at most `body_limit` bytes of an answer the core reads; release the
/// connection at once on failure or `release`; map failures with the core's table.
#[uniffi::export(Debug, Display)]
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpRequest {
    /// The request's id: the key under which a kept success body is claimed or released.
    pub id: u64,
    /// Why it is sent.
    pub purpose: Purpose,
    /// The app call this is an attempt of (`purpose` is `Call`), else `None`.
    pub call: Option<u64>,
    /// `GET`, `POST`, …
    pub method: String,
    /// Full URL including any query string.
    pub url: String,
    /// The headers to send, in order, as one block: `Name: value` lines joined by `\r\n`
    /// (no trailing one). Every value was checked by the core (no CR, LF or NUL). Holds
    /// `Authorization`: never log it.
    pub headers: String,
    /// The body: the core's JSON for its own requests, the app's for a call, or `None`.
    pub body: Option<Vec<u8>>,
    /// Give up (`timeout`) if the answer the core needs has not arrived within this
    /// many ms: the head of a 2xx call answer, else the head and body up to `body_limit`.
    pub timeout_ms: u64,
    /// Give up connecting (`connect_timeout`) after this many ms (never over `timeout_ms`).
    pub connect_timeout_ms: u64,
    /// How much of an answer's body to read and pass to the core: at most this many
    /// bytes (4096 for a failed call, 65 536 for the core's own requests). The one
    /// exception: a 2xx answer to a call (`purpose` `Call`) passes an empty body and keeps
    /// the real one, unread, for the app (`polargrid_core::HttpRequest::body_limit`).
    pub body_limit: u32,
}

/// How a request failed below HTTP: `polargrid_core::TransportErrorKind`, the one table
/// every transport maps its platform's failures onto (the `polargrid-core` crate docs
/// hold each binding's mapping).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum TransportErrorKind {
    /// The name did not resolve (certain: nothing was sent).
    Dns,
    /// Refused, or no route to the host (certain).
    Connect,
    /// The TLS handshake failed (certain).
    Tls,
    /// No connection within `connect_timeout_ms` (certain).
    ConnectTimeout,
    /// Sent, and no answer within `timeout_ms` (ambiguous: the server may have acted).
    Timeout,
    /// The connection broke after sending began (ambiguous).
    Aborted,
    /// The answer was not valid HTTP (ambiguous).
    Protocol,
    /// Failed before any answer and the platform does not say why.
    Opaque,
}

/// What went wrong, in terms a program can act on: `polargrid_core::ErrorKind`, whose
/// `NAMES` are these variants in snake case (`invalid_api_key`, …, `closed`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum ErrorKind {
    /// 401 on the key exchange or a direct call: the key is invalid, revoked or deleted.
    InvalidApiKey,
    /// The session can no longer be used and could not be renewed.
    SessionExpired,
    /// Logged out, or no session handed over yet (handoff mode).
    NoSession,
    /// 403 from the CDN in front of PolarGrid: wrong endpoint or malformed headers.
    CdnBlocked,
    /// 403 from the service: the key's permission level does not allow this endpoint.
    InsufficientScope,
    /// 402: no credits or no payment method.
    Billing,
    /// 400 or 422: the request was malformed.
    Validation,
    /// 404: no such endpoint or model.
    NotFound,
    /// 429: rate limited (`retry_after_ms` says when to come back, if the server said).
    RateLimited,
    /// 5xx from the service.
    Server,
    /// Failed below HTTP (`transport` says how).
    Network,
    /// A 2xx answer from the auth service or autorouter that could not be understood.
    MalformedResponse,
    /// A status the protocol does not use, or a redirect (never followed).
    UnexpectedStatus,
    /// The configuration was refused before any request.
    InvalidConfig,
    /// A `pg_` key where the people using the app can read it.
    KeyInBrowser,
    /// The app's call or a value it passed (snapshot, grant, header) was refused.
    InvalidCall,
    /// The app cancelled the call.
    Cancelled,
    /// The client was closed while the call was open, or before it.
    Closed,
}

/// A classified failure (`polargrid_core::CallError`, `ConfigError` or `MisuseError`):
/// read `kind`, `cause` and `fix`, never parse `message`. Holds no secret.
#[uniffi::export(Debug, Display)]
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Failure {
    /// The class of failure.
    pub kind: ErrorKind,
    /// For `Network`: how the transport failed.
    pub transport: Option<TransportErrorKind>,
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
    /// Attempts made (0 when none was).
    pub attempts: u32,
    /// The whole thing as one line for humans (`polargrid_core::CallError::message`).
    pub message: String,
}

/// Every error the driver returns: one shape, `failure.kind` says which. Holds no secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum PolarGridError {
    /// Something failed; `failure` says what, classified.
    #[error("{}", failure.message)]
    Failed {
        /// The classification.
        failure: Failure,
    },
}

impl PolarGridError {
    /// The failure's kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            PolarGridError::Failed { failure } => failure.kind,
        }
    }
}

/// An app call to start with `Driver::start`: the core's `CallSpec` plus the body.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct CallRequest {
    /// `GET`, `POST`, … (case-insensitive).
    pub method: String,
    /// Path from the edge's root, like `/v1/chat/completions` (a query may follow).
    pub path: String,
    /// The body, sent with every attempt (the driver holds it until the call ends).
    #[uniffi(default)]
    pub body: Option<Vec<u8>>,
    /// The app's own headers (content type, accept, …), checked by the core's
    /// `check_header`: a value with CR, LF or NUL fails the call with `invalid_call`.
    #[uniffi(default)]
    pub headers: Vec<Header>,
    /// The routing hint; `None` for the core's `model_hint` of the body.
    #[uniffi(default)]
    pub model: Option<String>,
    /// Whether the call may be replayed after a failure that may have reached the
    /// server; `None` for the core's rule.
    #[uniffi(default)]
    pub idempotent: Option<bool>,
    /// Each attempt's time to the answer head in ms; `None` for the configured one.
    #[uniffi(default)]
    pub timeout_ms: Option<u64>,
    /// The call as a whole in ms; `None` for the configured `call_deadline_ms`.
    #[uniffi(default)]
    pub deadline_ms: Option<u64>,
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

/// Why the session changed (`polargrid_core::SessionChange`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum SessionChange {
    /// A key exchange minted it.
    Exchanged,
    /// A refresh renewed it.
    Refreshed,
    /// The app handed it over.
    HandedOver,
    /// Restored from a snapshot.
    Restored,
    /// Logged out or ended: forget the persisted snapshot.
    Cleared,
}

/// Why calls moved to a region (`polargrid_core::RegionReason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum RegionReason {
    /// The autorouter chose it.
    Discovered,
    /// Discovery failed; the default region is used.
    Fallback,
    /// The previous region was marked down.
    Failover,
    /// Configured (pinned region or base URL).
    Configured,
}

/// Something the app may want to hear about, given to `Listener::on_event` in order.
/// Printing it never shows the snapshot.
#[uniffi::export(Debug, Display)]
#[derive(Clone, PartialEq, Eq, uniffi::Enum)]
pub enum DriverEvent {
    /// The session changed: persist `snapshot_json` (it holds secrets: store it like a
    /// password) or, when it is `None`, delete what was persisted.
    SessionChanged {
        /// Why.
        reason: SessionChange,
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
        failure: Failure,
    },
    /// Calls now go to another region.
    RegionChanged {
        /// Region id.
        region: String,
        /// Edge base URL.
        endpoint: String,
        /// Why.
        reason: RegionReason,
    },
}

const REDACTED: &str = "[redacted]";

fn is_secret_header(name: &str) -> bool {
    name.trim().eq_ignore_ascii_case("authorization")
}

/// A header block with every `Authorization` value replaced.
pub(crate) fn redact_head(head: &str) -> String {
    head.split("\r\n")
        .map(|line| match line.split_once(':') {
            Some((name, _)) if is_secret_header(name) => format!("{name}: {REDACTED}"),
            _ => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

fn hidden(v: &Option<String>) -> Option<&'static str> {
    v.as_ref().map(|_| REDACTED)
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("api_key", &hidden(&self.api_key))
            .field("mode", &self.mode)
            .field("region", &self.region)
            .field("base_url", &self.base_url)
            .field("scope", &self.scope)
            .field("session_json", &hidden(&self.session_json))
            .field("max_attempts", &self.max_attempts)
            .field("request_timeout_ms", &self.request_timeout_ms)
            .field("call_deadline_ms", &self.call_deadline_ms)
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = if is_secret_header(&self.name) {
            REDACTED
        } else {
            &self.value
        };
        write!(f, "Header({}: {value})", self.name)
    }
}

impl fmt::Display for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequest")
            .field("id", &self.id)
            .field("purpose", &self.purpose)
            .field("call", &self.call)
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &redact_head(&self.headers))
            .field(
                "body",
                &self.body.as_ref().map(|b| format!("[{} bytes]", b.len())),
            )
            .field("timeout_ms", &self.timeout_ms)
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field("body_limit", &self.body_limit)
            .finish()
    }
}

impl fmt::Display for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} (request {})", self.method, self.url, self.id)
    }
}

impl fmt::Debug for DriverEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DriverEvent::SessionChanged {
                reason,
                session_id,
                expires_at_ms,
                snapshot_json,
            } => f
                .debug_struct("SessionChanged")
                .field("reason", reason)
                .field("session_id", session_id)
                .field("expires_at_ms", expires_at_ms)
                .field("snapshot_json", &hidden(snapshot_json))
                .finish(),
            DriverEvent::SessionEnded { failure } => f
                .debug_struct("SessionEnded")
                .field("kind", &failure.kind)
                .field("message", &failure.message)
                .finish(),
            DriverEvent::RegionChanged {
                region,
                endpoint,
                reason,
            } => f
                .debug_struct("RegionChanged")
                .field("region", region)
                .field("endpoint", endpoint)
                .field("reason", reason)
                .finish(),
        }
    }
}

impl fmt::Display for DriverEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
