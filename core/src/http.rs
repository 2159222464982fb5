//! What crosses the Sans-IO boundary: complete request descriptions out, responses and
//! transport errors in. The transport rules every driver follows are in the crate docs.

#[allow(unused_imports)]
use crate::prelude::*;
use alloc::sync::Arc;
use core::fmt;
use core::time::Duration;

/// Identifies one HTTP request the core emitted; answer it with
/// [`Client::handle_response`](crate::Client::handle_response) or
/// [`Client::handle_transport_error`](crate::Client::handle_transport_error).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// Identifies one logical API call from [`Client::start_call`](crate::Client::start_call)
/// to its single ending event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CallId(pub u64);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "req#{}", self.0)
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "call#{}", self.0)
    }
}

/// HTTP method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// DELETE
    Delete,
    /// PATCH
    Patch,
    /// HEAD
    Head,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Patch => "PATCH",
            Method::Head => "HEAD",
        }
    }

    /// Parses a method name (case-insensitive).
    pub fn parse(s: &str) -> Option<Method> {
        Some(match s.to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "PATCH" => Method::Patch,
            "HEAD" => Method::Head,
            _ => return None,
        })
    }

    /// Whether HTTP defines the method as idempotent.
    pub fn is_idempotent(self) -> bool {
        !matches!(self, Method::Post | Method::Patch)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the core sends a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// `POST {auth}/v1/auth/session`: API key → session.
    Exchange,
    /// `POST {auth}/v1/auth/refresh`: refresh token → new session.
    Refresh,
    /// `GET {autorouter}/v1/route`: region discovery.
    Discover,
    /// An attempt of an app call; the driver attaches the call's body (if any).
    Call(CallId),
}

impl Purpose {
    /// Whether the request's body is carried by the core (exchange, refresh, discovery)
    /// rather than by the driver (app calls).
    pub fn core_owned(self) -> bool {
        !matches!(self, Purpose::Call(_))
    }

    /// A stable lowercase name: `exchange`, `refresh`, `discover` or `call`.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Exchange => "exchange",
            Purpose::Refresh => "refresh",
            Purpose::Discover => "discover",
            Purpose::Call(_) => "call",
        }
    }
}

/// A complete request: the driver sends exactly this and returns what came back.
///
/// For [`Purpose::Call`] the driver attaches the app's own body (the core never sees
/// it). The transport rules every driver follows are in the [crate docs](crate):
/// never follow a redirect, read at most [`body_limit`](Self::body_limit) of an answer,
/// give up connecting after `connect_timeout`, release the connection at once when the
/// request fails or the core aborts it. `Debug` redacts credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Answer with this id.
    pub id: RequestId,
    /// Why it is sent.
    pub purpose: Purpose,
    /// HTTP method.
    pub method: Method,
    /// Full URL including any query string.
    pub url: String,
    /// Headers to send, in order, as (name, value). May include `Authorization`.
    pub headers: Vec<(HeaderText, HeaderText)>,
    /// Body for core-owned requests (JSON); `None` for app calls and discovery.
    pub body: Option<Vec<u8>>,
    /// Give up (and report [`TransportErrorKind::Timeout`]) if the answer the core needs
    /// has not arrived by then: the head of a 2xx app call; the head and the body (up to
    /// [`body_limit`](Self::body_limit)) otherwise. Already shortened to what is left of
    /// the call's whole-call deadline. The core also enforces it on its own through
    /// `handle_timeout`.
    pub timeout: Duration,
    /// Give up connecting (and report [`TransportErrorKind::ConnectTimeout`]) after this;
    /// never longer than `timeout`.
    pub connect_timeout: Duration,
}

impl HttpRequest {
    /// The value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// How much of an answer's body with `status` to read and pass to the core:
    /// `None` for a 2xx answer to an app call (keep the body for the app, unread, and
    /// pass an empty one), otherwise at most this many bytes ([`MAX_CORE_BODY`] for the
    /// core's own requests, [`MAX_ERROR_BODY`] for a failed app call).
    pub fn body_limit(&self, status: u16) -> Option<usize> {
        match self.purpose {
            Purpose::Call(_) if (200..300).contains(&status) => None,
            _ => Some(self.read_limit()),
        }
    }

    /// The [`body_limit`](Self::body_limit) of every answer the core reads (all but a
    /// 2xx answer to an app call), for a transport that learns it before the status:
    /// [`MAX_ERROR_BODY`] for an app call, [`MAX_CORE_BODY`] for the core's own requests.
    pub fn read_limit(&self) -> usize {
        match self.purpose {
            Purpose::Call(_) => MAX_ERROR_BODY,
            _ => MAX_CORE_BODY,
        }
    }

    /// Whether the core reads the headers of an answer with `status`: not those of a 2xx
    /// answer to an app call (they go to the app with its body, which the core never
    /// sees either); those of every other answer. Where this is `false` a transport may
    /// pass no headers at all, provided its own parser refuses a head that breaks the
    /// hygiene rule of [`check_header`] (a CR, LF or NUL in a value, over [`MAX_HEAD`]
    /// bytes) as [`TransportErrorKind::Protocol`]; a transport whose parser lets such a
    /// head through passes the headers, and the core checks them.
    pub fn reads_answer_headers(&self, status: u16) -> bool {
        self.body_limit(status).is_some()
    }
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| {
                if k.eq_ignore_ascii_case("authorization") {
                    (k.as_str(), "[redacted]")
                } else {
                    (k.as_str(), v.as_str())
                }
            })
            .collect();
        f.debug_struct("HttpRequest")
            .field("id", &self.id)
            .field("purpose", &self.purpose)
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .field(
                "body",
                &self.body.as_ref().map(|b| format!("[{} bytes]", b.len())),
            )
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

/// A header name or value of an [`HttpRequest`], read as a `str` (`Deref`,
/// [`as_str`](Self::as_str), `Display`; equal to the same text whatever its kind).
///
/// What many requests share is not copied for each: the core's own header names are
/// [`Static`](Self::Static), the user agent and the `Authorization` value of the
/// credential calls use now are [`Shared`](Self::Shared) (one text per credential, not one
/// per request); a request id and the app's own headers are [`Owned`](Self::Owned). A
/// transport that keeps a converted value (an HTTP library's header value, made once) may
/// key it by the shared text's address; any other reads the text.
#[derive(Clone)]
pub enum HeaderText {
    /// Text fixed in the core (its header names, constant values).
    Static(&'static str),
    /// Text shared by many requests (the user agent, the current `Authorization` value).
    Shared(Arc<str>),
    /// Text of this request alone.
    Owned(String),
}

impl HeaderText {
    /// The text.
    pub fn as_str(&self) -> &str {
        match self {
            HeaderText::Static(s) => s,
            HeaderText::Shared(s) => s,
            HeaderText::Owned(s) => s,
        }
    }

    /// The text as a `String` of its own (moved out when owned, copied otherwise).
    pub fn into_string(self) -> String {
        match self {
            HeaderText::Owned(s) => s,
            other => other.as_str().to_string(),
        }
    }
}

impl core::ops::Deref for HeaderText {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for HeaderText {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for HeaderText {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for HeaderText {}

impl PartialEq<str> for HeaderText {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for HeaderText {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl core::hash::Hash for HeaderText {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for HeaderText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for HeaderText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&'static str> for HeaderText {
    fn from(s: &'static str) -> Self {
        HeaderText::Static(s)
    }
}

impl From<String> for HeaderText {
    fn from(s: String) -> Self {
        HeaderText::Owned(s)
    }
}

impl From<Arc<str>> for HeaderText {
    fn from(s: Arc<str>) -> Self {
        HeaderText::Shared(s)
    }
}

impl From<HeaderText> for String {
    fn from(t: HeaderText) -> Self {
        t.into_string()
    }
}

/// Largest error-body prefix the core looks at; pass at most this many bytes of a
/// non-2xx app-call response (more is truncated).
pub const MAX_ERROR_BODY: usize = 4096;

/// Largest body the core accepts for its own requests (exchange, refresh, discovery).
pub const MAX_CORE_BODY: usize = 64 * 1024;

/// What came back for a request.
///
/// For [`Purpose::Call`] with a 2xx status, leave `body` empty: the success body stays
/// with the driver and goes to the app when the core says the call is ready. For any
/// other status pass the first [`MAX_ERROR_BODY`] bytes so the failure can be classified.
/// For core-owned purposes pass the whole body.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Response headers (names case-insensitive).
    pub headers: Vec<(String, String)>,
    /// Body or body prefix, see above.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A response with a status, no headers and no body.
    pub fn new(status: u16) -> Self {
        HttpResponse {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header (builder style).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Sets the body (builder style).
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Bodies of core-owned answers hold tokens: never print them.
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("headers", &self.headers.len())
            .field("body", &format!("[{} bytes]", self.body.len()))
            .finish()
    }
}

/// How a request failed below HTTP: the one table every driver maps its platform's
/// failures onto (see the [crate docs](crate) for each binding's mapping).
///
/// | kind | [`Certainty`] | what happened |
/// |---|---|---|
/// | [`Dns`](Self::Dns) | certain | the host name did not resolve |
/// | [`Connect`](Self::Connect) | certain | the connection was refused, or no route to the host |
/// | [`Tls`](Self::Tls) | certain | the TLS handshake failed |
/// | [`ConnectTimeout`](Self::ConnectTimeout) | certain | no connection within `connect_timeout` |
/// | [`Timeout`](Self::Timeout) | ambiguous | sent, and the answer did not arrive within `timeout` |
/// | [`Aborted`](Self::Aborted) | ambiguous | the connection broke (reset, closed) after sending began |
/// | [`Protocol`](Self::Protocol) | ambiguous | the answer was not valid HTTP (a header with CR, LF or NUL, a head over 64 KiB, a parse error) |
/// | [`Opaque`](Self::Opaque) | opaque | it failed before any answer and the platform does not say why (a browser's `TypeError`: offline, refused, DNS, CORS or CSP) |
///
/// What the core does with each certainty is written in the `route` module docs: a
/// certain failure never reached the server, so any call may go elsewhere; an ambiguous
/// one may have been processed, so only a call that is safe to repeat is sent again; an
/// opaque one is treated as certain for a call that is safe to repeat and fails any other
/// call with a cause that says the platform did not tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The name did not resolve (nothing was sent).
    Dns,
    /// The connection was refused or could not be established (nothing was sent).
    Connect,
    /// The TLS handshake failed (nothing was sent).
    Tls,
    /// No connection within the request's `connect_timeout` (nothing was sent).
    ConnectTimeout,
    /// No answer within the request's timeout (the server may have acted on it).
    Timeout,
    /// The connection broke after the request was sent (the server may have acted on it).
    Aborted,
    /// The answer was not valid HTTP (the server may have acted on the request).
    Protocol,
    /// Failed before any answer, cause unknown: the platform does not say.
    Opaque,
}

/// How sure a transport failure is that the request never reached the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Certainty {
    /// Nothing reached the server: any call may be sent again, anywhere.
    Certain,
    /// The server may have acted on the request.
    Ambiguous,
    /// The platform does not say.
    Opaque,
}

impl TransportErrorKind {
    /// Every kind, in the table's order.
    pub const ALL: [TransportErrorKind; 8] = [
        TransportErrorKind::Dns,
        TransportErrorKind::Connect,
        TransportErrorKind::Tls,
        TransportErrorKind::ConnectTimeout,
        TransportErrorKind::Timeout,
        TransportErrorKind::Aborted,
        TransportErrorKind::Protocol,
        TransportErrorKind::Opaque,
    ];

    /// Where the kind stands in the table.
    pub fn certainty(self) -> Certainty {
        match self {
            TransportErrorKind::Dns
            | TransportErrorKind::Connect
            | TransportErrorKind::Tls
            | TransportErrorKind::ConnectTimeout => Certainty::Certain,
            TransportErrorKind::Timeout
            | TransportErrorKind::Aborted
            | TransportErrorKind::Protocol => Certainty::Ambiguous,
            TransportErrorKind::Opaque => Certainty::Opaque,
        }
    }

    /// Whether the request certainly never reached the server's application.
    pub fn never_sent(self) -> bool {
        self.certainty() == Certainty::Certain
    }

    /// A stable lowercase name (`"connect"`, `"connect_timeout"`, `"opaque"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            TransportErrorKind::Dns => "dns",
            TransportErrorKind::Connect => "connect",
            TransportErrorKind::Tls => "tls",
            TransportErrorKind::ConnectTimeout => "connect_timeout",
            TransportErrorKind::Timeout => "timeout",
            TransportErrorKind::Aborted => "aborted",
            TransportErrorKind::Protocol => "protocol",
            TransportErrorKind::Opaque => "opaque",
        }
    }

    /// Reads a name written by [`as_str`](Self::as_str).
    pub fn parse(name: &str) -> Option<TransportErrorKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Largest header block (request or answer) a transport accepts, in bytes.
pub const MAX_HEAD: usize = 64 * 1024;
/// Largest header value the core emits or accepts from the app.
pub const MAX_HEADER_VALUE: usize = 8 * 1024;
/// Most headers an app call may add.
pub const MAX_APP_HEADERS: usize = 100;

/// Why an app's header cannot be sent: the one rule for header hygiene.
///
/// A name must be an HTTP token (letters, digits and ``!#$%&'*+-.^_`|~``) of at most 256
/// bytes; a value must hold no CR, LF, NUL or other control character but TAB, and be at
/// most [`MAX_HEADER_VALUE`] bytes. Drivers never send a header the core has not checked,
/// and treat an answer whose head breaks the same rule (or exceeds [`MAX_HEAD`]) as
/// [`TransportErrorKind::Protocol`] (the core checks the headers it is given too).
pub fn check_header(name: &str, value: &str) -> Result<(), &'static str> {
    let token = |c: u8| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c);
    if name.is_empty() || name.len() > 256 || !name.bytes().all(token) {
        return Err("a header name is empty, longer than 256 bytes or not an HTTP token");
    }
    if value.len() > MAX_HEADER_VALUE {
        return Err("a header value is longer than 8 KiB");
    }
    if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err("a header value holds CR, LF, NUL or another control character");
    }
    Ok(())
}

/// Whether an answer's headers break the hygiene rule (see [`check_header`]): a value
/// with CR, LF or NUL, or a head over [`MAX_HEAD`] bytes.
pub(crate) fn answer_head_broken(headers: &[(String, String)]) -> bool {
    let mut size = 0usize;
    for (k, v) in headers {
        size = size.saturating_add(k.len() + v.len() + 4);
        if v.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
            return true;
        }
    }
    size > MAX_HEAD
}

pub(crate) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}
