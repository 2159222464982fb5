//! Public error types: the classification every failure is sorted into, configuration
//! errors, and driver misuse.

#[allow(unused_imports)]
use crate::prelude::*;
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
    /// A status the protocol does not use (1xx, other 4xx), or a redirect (3xx): the
    /// client never follows one.
    UnexpectedStatus,
    /// The configuration was refused before any request ([`ConfigError`]).
    InvalidConfig,
    /// A `pg_` key was given where the people using the app can read it (a web page or
    /// worker); keep it on a backend and hand sessions over instead.
    KeyInBrowser,
    /// The app's call (path, method, header) or a value it passed (snapshot, grant) was
    /// refused before any request ([`MisuseError`]).
    InvalidCall,
    /// The app cancelled the call (raised by drivers).
    Cancelled,
    /// The client was closed while the call was open, or before it (raised by drivers).
    Closed,
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
            ErrorKind::InvalidConfig => "invalid_config",
            ErrorKind::KeyInBrowser => "key_in_browser",
            ErrorKind::InvalidCall => "invalid_call",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Closed => "closed",
        }
    }

    /// Every kind's name, as [`as_str`](Self::as_str) writes it (`network` once): the
    /// list every binding's error-kind type holds.
    pub const NAMES: [&'static str; 18] = [
        "invalid_api_key",
        "session_expired",
        "no_session",
        "cdn_blocked",
        "insufficient_scope",
        "billing",
        "validation",
        "not_found",
        "rate_limited",
        "server",
        "network",
        "malformed_response",
        "unexpected_status",
        "invalid_config",
        "key_in_browser",
        "invalid_call",
        "cancelled",
        "closed",
    ];

    /// The transport failure behind a `network` error.
    pub fn transport(self) -> Option<TransportErrorKind> {
        match self {
            ErrorKind::Network(t) => Some(t),
            _ => None,
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

impl CallError {
    /// An error the core (or a driver, for [`ErrorKind::Cancelled`] and
    /// [`ErrorKind::Closed`]) raises itself, with no answer involved: the kind's own cause
    /// and fix, no status, retryable only for network kinds.
    pub fn local(kind: ErrorKind) -> CallError {
        crate::classify::local(kind, crate::classify::Stage::Call)
    }

    /// The whole error as one line for humans (what `Display` prints), built without
    /// `core::fmt` so the wasm build can use it: kind, status, cause, the server's
    /// message, fix and request id. Never holds a secret.
    pub fn message(&self) -> String {
        let mut s = String::with_capacity(160);
        s.push_str(self.kind.as_str());
        if let Some(t) = self.kind.transport() {
            s.push_str(" (");
            s.push_str(t.as_str());
            s.push(')');
        }
        if let Some(code) = self.status {
            s.push_str(" (HTTP ");
            crate::json::push_decimal(&mut s, u64::from(code));
            s.push(')');
        }
        s.push_str(": ");
        s.push_str(self.cause);
        if let Some(m) = &self.server_message {
            s.push_str(" — server said: ");
            s.push_str(m);
        }
        s.push_str(". Fix: ");
        s.push_str(self.fix);
        if let Some(r) = &self.request_id {
            s.push_str(" [request id ");
            s.push_str(r);
            s.push(']');
        }
        s
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl core::error::Error for CallError {}

/// A configuration problem, found before any request is made. Its
/// [`kind`](Self::kind), [`cause`](Self::cause) and [`fix`](Self::fix) are what bindings
/// show; `Display` joins them for Rust users.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The API key does not look like a PolarGrid key.
    MalformedApiKey {
        /// What is wrong with it (never the key itself).
        problem: &'static str,
    },
    /// The mode needs an API key and none was given.
    MissingApiKey {
        /// The mode that needs it.
        mode: &'static str,
    },
    /// Handoff mode was given an API key: it keeps none on the device.
    KeyInHandoff,
    /// A key where the people using the app can read it (a page or worker).
    KeyInBrowser,
    /// Both a region and a base URL were given.
    RegionAndBaseUrl,
    /// The mode is not one the client knows.
    UnknownMode,
    /// The session snapshot to restore could not be read.
    BadSession {
        /// What is wrong.
        problem: &'static str,
    },
    /// A URL could not be parsed or is not allowed.
    BadUrl {
        /// Which setting.
        field: &'static str,
        /// What is wrong.
        problem: &'static str,
        /// How to fix it.
        fix: &'static str,
    },
    /// A region name is neither a known id, an alias, nor a well-formed id.
    UnknownRegion {
        /// The name given.
        region: String,
    },
    /// The endpoints JSON could not be read.
    BadEndpoints {
        /// What is wrong.
        problem: &'static str,
    },
    /// A setting is out of range.
    OutOfRange {
        /// Which setting.
        field: &'static str,
        /// What is wrong.
        problem: &'static str,
    },
}

impl ConfigError {
    /// The whole error as one line (what `Display` prints: `…; fix: …`), built without
    /// `core::fmt` so the wasm build can use it. Never holds a secret.
    pub fn message(&self) -> String {
        let region;
        let parts: &[&str] = match self {
            ConfigError::MalformedApiKey { problem } => &["api key is malformed: ", problem, "; fix: pass the key exactly as the Console showed it (it starts with `pg_`)"],
            ConfigError::MissingApiKey { mode } => &["mode ", mode, " needs an api key; fix: pass a `pg_…` key, or use handoff mode with a session minted by your backend"],
            ConfigError::KeyInHandoff => &["handoff mode keeps no api key on this device; fix: drop the key, or use session mode"],
            ConfigError::KeyInBrowser => &["a pg_ key in a web page can be read by anyone who opens it; fix: keep the key on your backend, mint sessions there and hand them over (handoff mode); for a local tool only, allow the key in the browser explicitly"],
            ConfigError::RegionAndBaseUrl => &["region and base url were both given; fix: pass one of them, or neither to auto-route"],
            ConfigError::UnknownMode => &["mode is not session, direct or handoff; fix: use session (the default), direct or handoff"],
            ConfigError::BadSession { problem } => &["the session to restore is unusable (", problem, "); fix: pass the snapshot exactly as the client gave it (pg.snapshot() or a session event), or none"],
            ConfigError::BadUrl { field, problem, fix } => &[field, " is not a usable url (", problem, "); fix: ", fix],
            ConfigError::UnknownRegion { region: r } => {
                region = quoted(r);
                &["region ", &region, " is not a region id or alias; fix: use an id like `yto-01` or an alias like `toronto`"]
            }
            ConfigError::BadEndpoints { problem } => &["endpoints JSON is unusable (", problem, "); fix: pass the emulator's start-up JSON as it is, or an object with `autorouter`, `auth` and `regions`"],
            ConfigError::OutOfRange { field, problem } => &[field, " is out of range (", problem, "); fix: pass a value in range, or leave it unset for the default"],
        };
        parts.concat()
    }

    /// [`ErrorKind::InvalidConfig`], or [`ErrorKind::KeyInBrowser`].
    pub fn kind(&self) -> ErrorKind {
        match self {
            ConfigError::KeyInBrowser => ErrorKind::KeyInBrowser,
            _ => ErrorKind::InvalidConfig,
        }
    }

    /// One line: what is wrong (never a secret).
    pub fn cause(&self) -> String {
        let joined = |parts: &[&str]| parts.concat();
        match self {
            ConfigError::MalformedApiKey { problem } => {
                joined(&["the api key is malformed: ", problem])
            }
            ConfigError::MissingApiKey { mode } => {
                joined(&["mode ", mode, " needs an api key and none was given"])
            }
            ConfigError::KeyInHandoff => {
                "handoff mode keeps no api key on this device, and one was given".to_string()
            }
            ConfigError::KeyInBrowser => {
                "a pg_ key in a web page or worker can be read by anyone who opens it".to_string()
            }
            ConfigError::RegionAndBaseUrl => "region and base url were both given".to_string(),
            ConfigError::UnknownMode => "the mode is not session, direct or handoff".to_string(),
            ConfigError::BadSession { problem } => {
                joined(&["the session to restore is unusable: ", problem])
            }
            ConfigError::BadUrl { field, problem, .. } => {
                joined(&[field, " is not a usable url: ", problem])
            }
            ConfigError::UnknownRegion { region } => {
                joined(&["region \"", region, "\" is not a region id or alias"])
            }
            ConfigError::BadEndpoints { problem } => {
                joined(&["the endpoints JSON is unusable: ", problem])
            }
            ConfigError::OutOfRange { field, problem } => {
                joined(&[field, " is out of range: ", problem])
            }
        }
    }

    /// One line: how to fix it.
    pub fn fix(&self) -> &'static str {
        match self {
            ConfigError::MalformedApiKey { .. } => "pass the key exactly as the Console showed it (it starts with pg_)",
            ConfigError::MissingApiKey { .. } => "pass a pg_… key, or use handoff mode with a session minted by your backend (a restored session alone runs in handoff mode too)",
            ConfigError::KeyInHandoff => "drop the key, or use session mode",
            ConfigError::KeyInBrowser => "keep the key on your backend: mint sessions there and hand them over (handoff mode); for a local tool only, allow the key in the browser explicitly",
            ConfigError::RegionAndBaseUrl => "pass one of them, or neither to auto-route",
            ConfigError::UnknownMode => "use session (the default), direct or handoff",
            ConfigError::BadSession { .. } => "pass the snapshot exactly as the client gave it (from a session event or the snapshot getter), or none",
            ConfigError::BadUrl { fix, .. } => fix,
            ConfigError::UnknownRegion { .. } => "use an id like yto-01 or an alias like toronto",
            ConfigError::BadEndpoints { .. } => "pass the emulator's start-up JSON as it is, or an object with autorouter, auth and regions",
            ConfigError::OutOfRange { .. } => "pass a value in range, or leave it unset for the default",
        }
    }
}

/// The driver or the app used the core wrongly; the core's state is unchanged. Its
/// [`kind`](Self::kind) is always [`ErrorKind::InvalidCall`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MisuseError {
    /// An answer for a request id the core never emitted (or already answered).
    UnknownRequest(RequestId),
    /// A session snapshot could not be read.
    BadSnapshot(&'static str),
    /// A call spec is unusable.
    BadCall(&'static str),
}

impl MisuseError {
    /// The whole error as one line (what `Display` prints), built without `core::fmt`.
    pub fn message(&self) -> String {
        match self {
            MisuseError::UnknownRequest(id) => {
                let mut s = String::from("unknown request id req#");
                crate::json::push_decimal(&mut s, id.0);
                s.push_str(": it was never emitted by this client or was already answered");
                s
            }
            MisuseError::BadSnapshot(why) => ["session snapshot unreadable: ", why].concat(),
            MisuseError::BadCall(why) => ["bad call: ", why].concat(),
        }
    }

    /// Always [`ErrorKind::InvalidCall`].
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidCall
    }

    /// One line: what is wrong.
    pub fn cause(&self) -> &'static str {
        match self {
            MisuseError::UnknownRequest(_) => {
                "an answer came for a request this client never sent or already answered"
            }
            MisuseError::BadSnapshot(why) | MisuseError::BadCall(why) => why,
        }
    }

    /// One line: how to fix it.
    pub fn fix(&self) -> &'static str {
        match self {
            MisuseError::UnknownRequest(_) => "answer each request the core emitted exactly once, by its id",
            MisuseError::BadSnapshot(_) => "pass the snapshot or grant exactly as it was given (a session event's snapshot, or your backend's session answer)",
            MisuseError::BadCall(_) => "fix the call as the cause says; paths look like /v1/models, methods are GET, POST, PUT, DELETE, PATCH or HEAD",
        }
    }
}

/// `s` in double quotes, escaped as Rust's `{:?}` escapes it (without `core::fmt`).
fn quoted(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '\'' => q.push(c),
            c => q.extend(c.escape_debug()),
        }
    }
    q.push('"');
    q
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl core::error::Error for ConfigError {}

impl fmt::Display for MisuseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl core::error::Error for MisuseError {}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn config_and_misuse_messages_are_what_display_printed_before_without_fmt() {
        let region = ConfigError::UnknownRegion {
            region: "a\"b'c\n".into(),
        };
        assert_eq!(
            region.message(),
            r#"region "a\"b'c\n" is not a region id or alias; fix: use an id like `yto-01` or an alias like `toronto`"#
        );
        let url = ConfigError::BadUrl {
            field: "base url",
            problem: "no host",
            fix: "pass https://…",
        };
        assert_eq!(
            url.to_string(),
            "base url is not a usable url (no host); fix: pass https://…"
        );
        assert_eq!(
            MisuseError::UnknownRequest(RequestId(42)).message(),
            "unknown request id req#42: it was never emitted by this client or was already answered"
        );
        assert_eq!(
            MisuseError::BadSnapshot("x").to_string(),
            "session snapshot unreadable: x"
        );
        assert_eq!(MisuseError::BadCall("y").message(), "bad call: y");
    }
}
