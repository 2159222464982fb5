//! Classification: a pure function from (what was sent, what came back) to a
//! [`CallError`] a program can act on. Follows the troubleshooting table of PolarGrid's
//! authentication docs; see `PROTOCOL.md` "Error bodies and classification inputs".

#[allow(unused_imports)]
use crate::prelude::*;
use core::time::Duration;

use crate::error::{CallError, ErrorKind};
use crate::http::{HttpResponse, TransportErrorKind, MAX_ERROR_BODY};
use crate::httpdate::{parse_http_date, parse_retry_after};
use crate::json::Reader;
use crate::secret::{scrub, Secret};
use crate::time::Timestamp;

/// Which kind of request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Key → session exchange at the auth service.
    Exchange,
    /// Refresh at the auth service.
    Refresh,
    /// Region discovery at the autorouter.
    Discover,
    /// An app call to an edge.
    Call,
}

/// Which credential the failed request carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Credential {
    /// No credential (discovery).
    None,
    /// The `pg_` API key (exchange, direct mode).
    Key,
    /// The session JWT.
    Jwt,
    /// The refresh token (refresh).
    RefreshToken,
}

/// Longest server message kept in an error.
const MAX_MESSAGE: usize = 200;

/// Classifies an HTTP answer that is not a success.
///
/// An HTTP-date `Retry-After` is read against the answer's own `Date`, or `server_now`
/// when it has none; `secrets` are scrubbed from any
/// server text that ends up in the error.
pub fn classify_response(
    stage: Stage,
    credential: Credential,
    resp: &HttpResponse,
    server_now: Timestamp,
    secrets: &[&Secret],
) -> CallError {
    let body = &resp.body[..resp.body.len().min(MAX_ERROR_BODY)];
    let json = parse_json_object(body);
    let status = resp.status;
    let kind = match status {
        401 => match (stage, credential) {
            (Stage::Refresh, _) => ErrorKind::SessionExpired,
            (_, Credential::Jwt) => ErrorKind::SessionExpired,
            (Stage::Discover, _) => ErrorKind::UnexpectedStatus,
            _ => ErrorKind::InvalidApiKey,
        },
        400 if stage == Stage::Refresh => ErrorKind::SessionExpired,
        400 | 422 => ErrorKind::Validation,
        402 => ErrorKind::Billing,
        403 if is_cdn_block(json.as_ref()) => ErrorKind::CdnBlocked,
        403 => ErrorKind::InsufficientScope,
        404 => ErrorKind::NotFound,
        408 => ErrorKind::Network(TransportErrorKind::Timeout),
        429 => ErrorKind::RateLimited,
        500..=599 => ErrorKind::Server,
        _ => ErrorKind::UnexpectedStatus,
    };
    let retryable = match kind {
        ErrorKind::RateLimited | ErrorKind::Network(_) => true,
        ErrorKind::Server => !matches!(status, 501 | 505),
        ErrorKind::SessionExpired => stage == Stage::Call,
        _ => false,
    };
    // An HTTP-date `Retry-After` is read against the `Date` of the same answer: both
    // come from the server's clock, even a wrong one (see `crate::skew`).
    let anchor = resp
        .header("date")
        .and_then(parse_http_date)
        .unwrap_or(server_now);
    let retry_after = resp
        .header("retry-after")
        .and_then(|v| parse_retry_after(v, anchor))
        .filter(|_| matches!(status, 429 | 503));
    let (cause, fix) = if (300..400).contains(&status) {
        REDIRECT
    } else {
        explain(kind, stage)
    };
    CallError {
        kind,
        status: Some(status),
        retryable,
        retry_after,
        cause,
        fix,
        server_message: server_message(body, json.as_ref(), secrets),
        request_id: None,
        attempts: 0,
    }
}

/// A redirect's cause and fix: the client never follows one (it would carry the key, a
/// JWT or a refresh token to the host the answer names).
const REDIRECT: (&str, &str) = (
    "the server answered with a redirect, which the client never follows: it would carry a credential to another host",
    "check the configured endpoints and base URL (use https and the exact host); a proxy or captive portal may be redirecting",
);

/// Classifies a failure below HTTP.
pub fn classify_transport(stage: Stage, kind: TransportErrorKind) -> CallError {
    let kind = ErrorKind::Network(kind);
    let (cause, fix) = explain(kind, stage);
    CallError {
        kind,
        status: None,
        retryable: true,
        retry_after: None,
        cause,
        fix,
        server_message: None,
        request_id: None,
        attempts: 0,
    }
}

/// A 2xx answer from the auth service or autorouter that could not be read.
pub fn malformed(stage: Stage, status: u16) -> CallError {
    let (cause, fix) = explain(ErrorKind::MalformedResponse, stage);
    CallError {
        kind: ErrorKind::MalformedResponse,
        status: Some(status),
        retryable: true,
        retry_after: None,
        cause,
        fix,
        server_message: None,
        request_id: None,
        attempts: 0,
    }
}

/// An error the core raises itself (no answer involved): no session, local scope check.
pub fn local(kind: ErrorKind, stage: Stage) -> CallError {
    let (cause, fix) = explain(kind, stage);
    CallError {
        kind,
        status: None,
        retryable: matches!(kind, ErrorKind::Network(_)),
        retry_after: None,
        cause,
        fix,
        server_message: None,
        request_id: None,
        attempts: 0,
    }
}

/// The CDN (CloudFront/WAF) answers 403 before the service sees the request: its body is
/// `{"Message": null}` (capital M), not JSON at all ("Forbidden", an HTML page), or empty.
/// Only a JSON body with the service's own `message`/`detail`/`code`/`error` is the
/// service's scope answer — even when it travelled through the CDN and carries its headers.
/// An answer that is not service-shaped is treated as the CDN's: "use an admin key" would
/// be the wrong fix for it.
fn is_cdn_block(json: Option<&ErrorBody>) -> bool {
    match json {
        Some(ErrorBody([message, detail, error, _, code])) => ![message, detail, error, code]
            .iter()
            .any(|t| t.as_ref().is_some_and(|t| !t.null)),
        None => true,
    }
}

/// A member of an error body, as far as the message needs it.
#[derive(Default)]
struct Text {
    null: bool,
    string: bool,
    /// What a person is shown: a string as it is, an object's `message`, anything else
    /// (number, array, boolean) as its JSON text; `None` for `null`.
    text: Option<String>,
}

/// The members of an error body the core reads, the last of each as a JSON object keeps
/// them: `message`, `detail`, `error`, `Message`, `code`.
struct ErrorBody([Option<Text>; 5]);

const BODY_KEYS: [&str; 5] = ["message", "detail", "error", "Message", "code"];

fn parse_json_object(body: &[u8]) -> Option<ErrorBody> {
    let mut b = ErrorBody(Default::default());
    Reader::document(body, true, |r| {
        r.object(
            true,
            &mut |k, r| match BODY_KEYS.iter().position(|n| *n == k) {
                Some(i) => {
                    let t = text_of(r)?;
                    if let Some(slot) = b.0.get_mut(i) {
                        *slot = Some(t);
                    }
                    Some(())
                }
                None => r.skip(),
            },
        )
    })?;
    Some(b)
}

fn text_of(r: &mut Reader<'_>) -> Option<Text> {
    let mut t = Text::default();
    match r.peek()? {
        b'"' => {
            t.string = true;
            t.text = Some(r.string()?);
        }
        b'{' => {
            r.object(true, &mut |k, r| {
                if k == "message" {
                    t.text = text_of(r)?.text;
                    Some(())
                } else {
                    r.skip()
                }
            })?;
        }
        _ if r.null() => t.null = true,
        _ => {
            let from = r.pos();
            r.skip()?;
            t.text = Some(String::from_utf8_lossy(r.source(from, r.pos())).into_owned());
        }
    }
    Some(t)
}

fn server_message(body: &[u8], json: Option<&ErrorBody>, secrets: &[&Secret]) -> Option<String> {
    let text = match json {
        Some(obj) => {
            let [message, detail, error, capital, code] = &obj.0;
            let msg = [message, detail, error, capital]
                .into_iter()
                .find_map(|t| t.as_ref()?.text.clone());
            let code = code
                .as_ref()
                .filter(|t| t.string)
                .and_then(|t| t.text.as_deref());
            match (msg, code) {
                (Some(m), Some(c)) => [m.as_str(), " (", c, ")"].concat(),
                (Some(m), None) => m,
                (None, Some(c)) => c.to_string(),
                (None, None) => return None,
            }
        }
        None => {
            let s = core::str::from_utf8(body).ok()?.trim();
            if s.is_empty() || s.contains('<') {
                return None;
            }
            s.lines().next()?.to_string()
        }
    };
    let mut text = scrub(&printable(&text), secrets);
    if text.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    (!text.is_empty()).then_some(text)
}

/// Server text as shown to humans: without control characters (CR/LF, ESC of ANSI
/// escapes: log forging) and without the invisible bidi controls that reorder what a
/// reader sees.
pub(crate) fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| {
            !c.is_control()
                && !matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

/// One line of cause and one line of fix per kind.
fn explain(kind: ErrorKind, stage: Stage) -> (&'static str, &'static str) {
    match (kind, stage) {
        (ErrorKind::InvalidApiKey, _) => (
            "the API key was rejected: it is invalid, revoked or deleted",
            "create a key in the PolarGrid Console and pass it exactly as shown (it starts with pg_)",
        ),
        (ErrorKind::SessionExpired, Stage::Refresh) => (
            "the refresh token was rejected: it expired, was revoked, or was already used by another client",
            "exchange the API key again, or have your backend hand over a new session",
        ),
        (ErrorKind::SessionExpired, _) => (
            "the session token was rejected: it expired or its session was revoked",
            "the client refreshes on its own; if it persists, hand over a new session or check the key",
        ),
        (ErrorKind::NoSession, _) => (
            "there is no session: the app logged out, or no session was handed over",
            "hand over a session minted by your backend, or configure an API key",
        ),
        (ErrorKind::CdnBlocked, _) => (
            "the CDN in front of PolarGrid refused the request before it reached the service: wrong endpoint URL or malformed headers, not a bad key",
            "send inference to an edge URL from discovery (not the autorouter) with a well-formed `Authorization: Bearer` header",
        ),
        (ErrorKind::InsufficientScope, _) => (
            "the key's permission level does not allow this endpoint",
            "use a key created with the admin permission level for /v1/tokens",
        ),
        (ErrorKind::Billing, _) => (
            "the organisation has no credits or no payment method",
            "add credits or a payment method on the PolarGrid Console billing page",
        ),
        (ErrorKind::Validation, _) => (
            "the request was rejected as malformed",
            "check the body against the API reference: model name, messages, parameter types",
        ),
        (ErrorKind::NotFound, _) => (
            "no such endpoint or model",
            "check the path and the model name (GET /v1/models lists the models)",
        ),
        (ErrorKind::RateLimited, _) => (
            "too many requests: the service is rate limiting this key",
            "slow down and retry after the time the service gave",
        ),
        (ErrorKind::Server, _) => (
            "PolarGrid answered with a server error",
            "retry later; the client already retried and failed over where it was safe",
        ),
        (ErrorKind::Network(TransportErrorKind::Dns), _) => (
            "the host name did not resolve",
            "check the network connection and the configured endpoint URLs",
        ),
        (ErrorKind::Network(TransportErrorKind::Connect), _) => (
            "the connection could not be established",
            "check the network connection; the client fails over to another region when it can",
        ),
        (ErrorKind::Network(TransportErrorKind::Tls), _) => (
            "the TLS handshake failed",
            "check the system clock and any proxy that intercepts TLS",
        ),
        (ErrorKind::Network(TransportErrorKind::Timeout), _) => (
            "no answer arrived in time",
            "retry; for long generations use streaming or raise the call timeout",
        ),
        (ErrorKind::Network(TransportErrorKind::ConnectTimeout), _) => (
            "no connection could be made in time: the host did not answer",
            "check the network connection; the client fails over to another region when it can",
        ),
        (ErrorKind::Network(TransportErrorKind::Aborted), _) => (
            "the connection broke after the request was sent",
            "retry; the client only retries such failures automatically when the call is idempotent",
        ),
        (ErrorKind::Network(TransportErrorKind::Protocol), _) => (
            "the answer was not valid HTTP (a malformed or oversized header)",
            "check that the endpoints point at PolarGrid and not at a proxy or captive portal",
        ),
        (ErrorKind::Network(TransportErrorKind::Opaque), _) => (
            "the request failed and the platform did not say why: offline, refused, DNS, TLS, or in a web page also CORS or the page's Content-Security-Policy",
            "check the network connection (in a web page also that its CSP connect-src and the server's CORS allow the PolarGrid hosts); calls that are not safe to repeat are not retried",
        ),
        (ErrorKind::MalformedResponse, _) => (
            "the service answered with something the client could not read",
            "retry; if it persists, check that the endpoints point at PolarGrid and not at a proxy or captive portal",
        ),
        (ErrorKind::UnexpectedStatus, _) => (
            "the service answered with a status the protocol does not use",
            "check that the endpoints point at PolarGrid and that no proxy redirects the request",
        ),
        (ErrorKind::InvalidConfig | ErrorKind::KeyInBrowser, _) => (
            "the configuration was refused",
            "fix the option the error names",
        ),
        (ErrorKind::InvalidCall, _) => (
            "the call was refused before any request",
            "fix the call as the error says",
        ),
        (ErrorKind::Cancelled, _) => ("the call was cancelled", "nothing to fix: the app cancelled it"),
        (ErrorKind::Closed, _) => (
            "the client was closed",
            "make calls before closing the client, or create a new one",
        ),
    }
}

/// Clamps a server-supplied delay to `cap`, reporting whether it had to be cut.
pub(crate) fn capped(d: Duration, cap: Duration) -> (Duration, bool) {
    if d > cap {
        (cap, true)
    } else {
        (d, false)
    }
}
