//! Public error types: the classification every failure is sorted into, configuration
//! errors, and driver misuse.

use core::fmt;
use core::time::Duration;

use crate::http::{RequestId, TransportErrorKind};

/// What went wrong, in terms a program can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 401 on the key exchange or on a direct-mode call: the API key is invalid,
    /// revoked or deleted.
    InvalidApiKey,
    /// The session can no longer be used: a 401 on an edge call that a refresh did not
    /// cure, or a refresh token rejected with no key to exchange again.
    SessionExpired,
    /// The app logged out, or no session was ever handed over (handoff mode).
    NoSession,
    /// 403 from the CDN in front of PolarGrid (`{"Message": null}`, an HTML/text
    /// "Forbidden", CloudFront headers): wrong endpoint or malformed headers, not a bad key.
    CdnBlocked,
    /// 403 from the service, or the local pre-check: the key's permission level does not
    /// allow this endpoint (`/v1/tokens` needs `admin`).
    InsufficientScope,
    /// 402: the organisation has no credits or no payment method.
    Billing,
    /// 400 or 422: the request was malformed.
    Validation,
    /// 404: no such endpoint or model.
    NotFound,
    /// 429: rate limited; `retry_after` says when to come back if the server said.
    RateLimited,
    /// 5xx from the service.
    Server,
    /// The request failed below HTTP (DNS, connect, TLS, timeout, broken connection).
    Network(TransportErrorKind),
    /// A 2xx answer from the auth service or autorouter that could not be understood.
    MalformedResponse,
    /// A status the protocol does not use (1xx, 3xx, other 4xx).
    UnexpectedStatus,
}

impl ErrorKind {
    /// A stable lowercase name for logs and bindings (`"invalid_api_key"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidApiKey => "invalid_api_key",
            ErrorKind::SessionExpired => "session_expired",
            ErrorKind::NoSession => "no_session",
            ErrorKind::CdnBlocked => "cdn_blocked",
            ErrorKind::InsufficientScope => "insufficient_scope",
            ErrorKind::Billing => "billing",
            ErrorKind::Validation => "validation",
            ErrorKind::NotFound => "not_found",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Server => "server",
            ErrorKind::Network(_) => "network",
            ErrorKind::MalformedResponse => "malformed_response",
            ErrorKind::UnexpectedStatus => "unexpected_status",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Network(t) => write!(f, "network ({t})"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// A classified failure of a call (or of the session it needed).
///
/// Never contains a secret: server-supplied text is scrubbed before it gets here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallError {
    /// The class of failure.
    pub kind: ErrorKind,
    /// HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// Whether trying the same call again later can succeed.
    pub retryable: bool,
    /// When the server asked to be retried (from `Retry-After`), relative to the answer.
    pub retry_after: Option<Duration>,
    /// One line: what happened.
    pub cause: &'static str,
    /// One line: how to fix it.
    pub fix: &'static str,
    /// The server's own message (`message`/`detail`/`code`), scrubbed and bounded.
    pub server_message: Option<String>,
    /// The `X-Request-ID` sent with the call, for support tickets.
    pub request_id: Option<String>,
    /// How many attempts were made.
    pub attempts: u32,
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if let Some(s) = self.status {
            write!(f, " (HTTP {s})")?;
        }
        write!(f, ": {}", self.cause)?;
        if let Some(m) = &self.server_message {
            write!(f, " — server said: {m}")?;
        }
        write!(f, ". Fix: {}", self.fix)?;
        if let Some(r) = &self.request_id {
            write!(f, " [request id {r}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for CallError {}

/// A configuration problem, found before any request is made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The API key does not look like a PolarGrid key.
    #[error("api key is malformed: {problem}; fix: pass the key exactly as the Console showed it (it starts with `pg_`)")]
    MalformedApiKey {
        /// What is wrong with it (never the key itself).
        problem: &'static str,
    },
    /// The mode needs an API key and none was given.
    #[error("mode {mode} needs an api key; fix: pass a `pg_…` key, or use handoff mode with a session minted by your backend")]
    MissingApiKey {
        /// The mode that needs it.
        mode: &'static str,
    },
    /// A URL could not be parsed or is not allowed.
    #[error("{field} is not a usable url ({problem}); fix: {fix}")]
    BadUrl {
        /// Which setting.
        field: &'static str,
        /// What is wrong.
        problem: &'static str,
        /// How to fix it.
        fix: &'static str,
    },
    /// A region name is neither a known id, an alias, nor a well-formed id.
    #[error("region {region:?} is not a region id or alias; fix: use an id like `yto-01` or an alias like `toronto`")]
    UnknownRegion {
        /// The name given.
        region: String,
    },
    /// The endpoints JSON could not be read.
    #[error("endpoints JSON is unusable ({problem}); fix: pass the emulator's start-up JSON as it is, or an object with `autorouter`, `auth` and `regions`")]
    BadEndpoints {
        /// What is wrong.
        problem: &'static str,
    },
    /// A setting is out of range.
    #[error("{field} is out of range ({problem})")]
    OutOfRange {
        /// Which setting.
        field: &'static str,
        /// What is wrong.
        problem: &'static str,
    },
}

/// The driver used the core wrongly; the core's state is unchanged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MisuseError {
    /// An answer for a request id the core never emitted (or already answered).
    #[error("unknown request id {0}: it was never emitted by this client or was already answered")]
    UnknownRequest(RequestId),
    /// A session snapshot could not be read.
    #[error("session snapshot unreadable: {0}")]
    BadSnapshot(&'static str),
    /// A call spec is unusable.
    #[error("bad call: {0}")]
    BadCall(&'static str),
}
