//! What crosses the Sans-IO boundary: complete request descriptions out, responses and
//! transport errors in.

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
}

/// A complete request: the driver sends exactly this and returns what came back.
///
/// For [`Purpose::Call`] the driver attaches the app's own body (the core never sees
/// it) and must not follow redirects. `Debug` redacts credentials.
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
    /// Headers to send, in order. May include `Authorization`.
    pub headers: Vec<(String, String)>,
    /// Body for core-owned requests (JSON); `None` for app calls and discovery.
    pub body: Option<Vec<u8>>,
    /// Give up (and report [`TransportErrorKind::Timeout`]) if no response head has
    /// arrived by then. The core also enforces it on its own through `handle_timeout`.
    pub timeout: Duration,
}

impl HttpRequest {
    /// The value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
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
            .finish()
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

/// How a request failed below HTTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransportErrorKind {
    /// The name did not resolve.
    Dns,
    /// The connection was refused or could not be established (nothing was sent).
    Connect,
    /// The TLS handshake failed (nothing was sent).
    Tls,
    /// No response head within the request's timeout (the server may have acted on it).
    Timeout,
    /// The connection broke after the request was sent (the server may have acted on it).
    Aborted,
}

impl TransportErrorKind {
    /// Whether the request certainly never reached the server's application.
    pub fn never_sent(self) -> bool {
        matches!(
            self,
            TransportErrorKind::Dns | TransportErrorKind::Connect | TransportErrorKind::Tls
        )
    }

    /// A stable lowercase name (`"connect"`, `"timeout"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            TransportErrorKind::Dns => "dns",
            TransportErrorKind::Connect => "connect",
            TransportErrorKind::Tls => "tls",
            TransportErrorKind::Timeout => "timeout",
            TransportErrorKind::Aborted => "aborted",
        }
    }
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub(crate) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}
