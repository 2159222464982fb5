//! The ureq transport of the shared driver (`polargrid_driver::Transport`): each request
//! on its own thread, over an agent (a connection pool) of its own, which is shut down the
//! moment the driver releases the request (the core's timeout, a cancel, a hand-over), so
//! a server that stalls or trickles a body cannot hold a thread or a socket. An agent whose
//! request ended normally goes back to a small idle list per origin (after the app has
//! read or dropped a streamed body), so keep-alive connections are still reused.
//!
//! What it costs per request is kept near bare ureq's (the Rust budget of issue 17):
//! - ureq gets only the connect timeout, in the agent's own configuration (an agent
//!   made with another connect timeout gets it for that request only). The request's
//!   `timeout` is the core's to enforce: at it the core aborts the request and the
//!   driver releases it here, which shuts its agent down (as for a cancel). A read
//!   timeout given to ureq as well was a `setsockopt` per call (ureq sets the time left)
//!   and a configuration copied per request.
//! - The URL and the header values move into the ureq request without a copy; a request
//!   without a body goes without one (no `Content-Length: 0` on a GET).
//! - The head of a success kept for the app stays ureq's (`Response::header` reads it):
//!   only the heads the core reads ([`HttpRequest::reads_answer_headers`]) become text.
//! - The idle agents are found by origin without building a key: each origin's name
//!   is made once, and a request's agent goes back by the index of its origin's list
//!   (lists are only ever added to, until the shutdown that empties them all).
//! - A header value the core shares between requests ([`HeaderText::Shared`]: the bearer,
//!   the user agent) becomes a ureq header value once, kept by the text's address while
//!   the core still holds it; the names are ureq's constants.

use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{ConnectionDetails, Connector, DefaultConnector, Transport};

use polargrid_core::{
    CallId, HeaderText, HttpRequest, HttpResponse, Method, Purpose, RequestId, TransportErrorKind,
};
use polargrid_driver::{Ids, Reply};
use ureq::http::{HeaderName, HeaderValue};

use crate::Response;

/// The transport: cheap to share (one per client).
pub(crate) struct Ureq {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    /// One connector under every agent, so TLS settings (root store) are built once, not
    /// per request.
    connector: SharedConnector,
    /// How many calls have attempts on threads of their own (`State::call_threads`),
    /// written under the lock: `finish_call` of a call whose attempts all ran on its
    /// caller's thread (the usual case) then takes no lock.
    threaded_calls: AtomicUsize,
}

#[derive(Default)]
struct State {
    shutdown: bool,
    /// The agent (own connection) of each request in flight, to shut it down on release.
    in_flight: Ids<RequestId, (Option<CallId>, AgentRef)>,
    /// Agents whose request ended normally, by origin, for the next request there.
    idle: Vec<Idle>,
    /// Successful app-call answers (body unread) until the app claims or the driver
    /// releases them.
    kept: Ids<RequestId, Response>,
    /// Threads of app-call attempts, joined when their call returns.
    call_threads: Ids<CallId, Vec<JoinHandle<()>>>,
    /// Threads of core-owned requests (exchange, refresh, discovery), joined on shutdown.
    background: Vec<JoinHandle<()>>,
    /// The ureq values of the texts the core shares between requests (see
    /// [`shared_value`]): read while the request is built under the lock `dispatch`
    /// holds anyway (a lock of their own was two more a request).
    shared: Vec<(Arc<str>, HeaderValue)>,
}

/// The idle agents of one origin (`scheme://authority`), each with the connect timeout
/// its configuration holds.
struct Idle {
    origin: Box<str>,
    agents: Vec<(Duration, AgentRef)>,
}

/// An agent as this transport passes it around: ureq's `Agent` is four `Arc`s, so a
/// clone and drop per request were eight atomic operations; this is two.
type AgentRef = Arc<ureq::Agent>;

/// The default connector, shared by the per-request agents (ureq's `unversioned` API,
/// pinned with ureq itself).
#[derive(Clone, Debug)]
struct SharedConnector(Arc<DefaultConnector>);

impl Connector for SharedConnector {
    type Out = Box<dyn Transport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<()>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        self.0.connect(details, chained)
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new agent (own pool) whose configuration holds `connect` as its connect timeout.
    fn agent(&self, connect: Duration) -> ureq::Agent {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(connect))
            .build();
        ureq::Agent::with_parts(config, self.connector.clone(), DefaultResolver::default())
    }
}

impl Ureq {
    pub(crate) fn new() -> Ureq {
        Ureq {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                connector: SharedConnector(Arc::new(DefaultConnector::new())),
                threaded_calls: AtomicUsize::new(0),
            }),
        }
    }

    /// The kept success answer of `request` (the app's now).
    pub(crate) fn claim(&self, request: RequestId) -> Option<Response> {
        self.inner.lock().kept.remove(&request)
    }

    /// A call returned: cut any attempt of it still out and wait for their threads, so
    /// nothing of the call outlives it.
    pub(crate) fn finish_call(&self, call: CallId) {
        // No call has an attempt on a thread of its own: nothing of this one is out (an
        // attempt on the caller's thread has ended before the call could return).
        if self.inner.threaded_calls.load(Ordering::Acquire) == 0 {
            return;
        }
        let threads = {
            let mut st = self.inner.lock();
            st.in_flight.retain(|_, (c, agent)| {
                let mine = *c == Some(call);
                if mine {
                    ureq::Agent::clone(agent).shutdown(); // (the entry goes: `retain` lends it)
                }
                !mine
            });
            let threads = st.call_threads.remove(&call).unwrap_or_default();
            self.inner
                .threaded_calls
                .store(st.call_threads.len(), Ordering::Release);
            threads
        };
        for t in threads {
            let _ = t.join();
        }
    }

    /// The client is gone (its driver closed first): send nothing more, shut down every
    /// connection still out, drop the kept answers and idle agents, and wait for every
    /// thread.
    pub(crate) fn shutdown(&self) {
        let (threads, kept) = {
            let mut st = self.inner.lock();
            st.shutdown = true;
            for (_, (_, agent)) in st.in_flight.drain() {
                ureq::Agent::clone(&agent).shutdown();
            }
            st.idle.clear();
            let mut threads = std::mem::take(&mut st.background);
            threads.extend(st.call_threads.drain().flat_map(|(_, v)| v));
            self.inner.threaded_calls.store(0, Ordering::Release);
            (threads, std::mem::take(&mut st.kept))
        };
        drop(kept);
        for t in threads {
            let _ = t.join();
        }
    }
}

impl Ureq {
    /// Sends the first request of a call on this thread (the caller would only wait for
    /// it: no thread, no two thread switches; the driver hands it over in
    /// `Driver::start_here`); returns when it is answered, or cut by a release. Its
    /// success is returned, not kept: the caller's to claim (no map, no lock), or to drop
    /// if the call ends otherwise. Retries, and the core's own requests, go out on
    /// threads of their own ([`polargrid_driver::Transport::send`]).
    pub(crate) fn send_here(
        &self,
        request: HttpRequest,
        reply: Reply,
    ) -> Option<(RequestId, Response)> {
        self.dispatch(request, reply, true)
    }

    /// Sends `request` over an agent of its own, on this thread (`inline`: its success is
    /// returned) or a new one.
    fn dispatch(
        &self,
        request: HttpRequest,
        reply: Reply,
        inline: bool,
    ) -> Option<(RequestId, Response)> {
        let mut st = self.inner.lock();
        if st.shutdown {
            // Dropped unanswered: `Aborted` (the driver is closed and ignores it anyway).
            drop(st);
            drop(reply);
            return None;
        }
        st.background.retain(|t| !t.is_finished());
        // An agent of its own (idle one for this origin, or new): `Agent::shutdown` then
        // cuts this request's connection and nobody else's.
        // (A known origin is recognised as the URL's start: no search for its end.)
        let (key, idle) = match st
            .idle
            .iter()
            .position(|i| starts_at(&request.url, &i.origin))
        {
            Some(k) => (k, st.idle[k].agents.pop()),
            None => {
                st.idle.push(Idle {
                    origin: origin(&request.url).into(),
                    agents: Vec::new(),
                });
                (st.idle.len() - 1, None)
            }
        };
        let (connect, agent) = idle.unwrap_or_else(|| {
            (
                request.connect_timeout,
                Arc::new(self.inner.agent(request.connect_timeout)),
            )
        });
        let sent = Sent {
            origin: key,
            connect,
        };
        let call = match request.purpose {
            Purpose::Call(c) => Some(c),
            _ => None,
        };
        st.in_flight.insert(request.id, (call, Arc::clone(&agent)));
        let mut request = request;
        let http_req = request_of(&mut st.shared, &mut request);
        if inline {
            drop(st);
            return exchange(&self.inner, &agent, sent, (request, http_req), reply, true);
        }
        let inner = Arc::clone(&self.inner);
        let t = std::thread::spawn(move || {
            exchange(&inner, &agent, sent, (request, http_req), reply, false);
        });
        match call {
            Some(c) => {
                st.call_threads.entry(c).or_default().push(t);
                self.inner
                    .threaded_calls
                    .store(st.call_threads.len(), Ordering::Release);
            }
            None => st.background.push(t),
        }
        None
    }
}

impl polargrid_driver::Transport for Ureq {
    fn send(&self, request: HttpRequest, reply: Reply) {
        self.dispatch(request, reply, false);
    }

    fn release(&self, request: RequestId) {
        let kept = {
            let mut st = self.inner.lock();
            // Unblocks the request's thread at once (connect, head, body read). Under the
            // lock: the agent (its pool, its socket) is gone before `finish_call` can look,
            // so a call that returns leaves no socket of its own behind, not even for the
            // moment this thread needs to drop it.
            if let Some((_, agent)) = st.in_flight.remove(&request) {
                ureq::Agent::clone(&agent).shutdown();
            }
            st.kept.remove(&request)
        };
        // Outside the lock: a dropped body hands its agent back to the idle list.
        drop(kept);
    }
}

/// Where a request's agent goes back to: its origin's idle list (its index in
/// `State::idle`), with the connect timeout its configuration holds.
struct Sent {
    origin: usize,
    connect: Duration,
}

/// One HTTP exchange over its own agent (connection), on its own thread or `inline` on
/// the caller's: a success body is then returned to the caller instead of kept under the
/// request's id.
fn exchange(
    inner: &Arc<Inner>,
    agent: &ureq::Agent,
    sent: Sent,
    (req, http_req): (HttpRequest, Option<ureq::http::Request<()>>),
    reply: Reply,
    inline: bool,
) -> Option<(RequestId, Response)> {
    let id = req.id;
    let result = send(agent, sent.connect, req, http_req);
    let mut st = inner.lock();
    // Still in flight: it ended normally (not released), so its agent may serve again.
    let reusable = st.in_flight.remove(&id).map(|(_, a)| a);
    match result {
        Ok((resp, rest)) => {
            let mut here = None;
            match (rest, reusable) {
                (Some((headers, reader)), agent) => {
                    // A streamed body: the agent is reusable once the app is done with it.
                    let back = agent.map(|a| (Arc::clone(inner), sent, a));
                    let kept = Response {
                        status: resp.status,
                        headers,
                        region: None,
                        body: Returning {
                            inner: Some(reader),
                            back,
                        },
                    };
                    if inline {
                        here = Some((id, kept));
                    } else {
                        st.kept.insert(id, kept);
                    }
                }
                (None, Some(agent)) => park_idle(&mut st, sent, agent),
                (None, None) => {}
            }
            drop(st);
            reply.response(resp);
            here
        }
        Err(kind) => {
            drop(st);
            reply.failed(kind);
            None
        }
    }
}

/// Idle agents kept per origin (each holds at most its keep-alive connections).
const MAX_IDLE_PER_ORIGIN: usize = 8;

fn park_idle(st: &mut State, sent: Sent, agent: AgentRef) {
    if st.shutdown {
        return;
    }
    // The origin's entry is where it was: lists are only added to, until a shutdown
    // empties them (then nothing is kept).
    if let Some(i) = st.idle.get_mut(sent.origin) {
        if i.agents.len() < MAX_IDLE_PER_ORIGIN {
            i.agents.push((sent.connect, agent));
        }
    }
}

/// Whether `origin` (an [`origin`] text) is the origin of `url`: `url` starts with it and
/// goes on with a path, query or fragment, or not at all.
fn starts_at(url: &str, origin: &str) -> bool {
    url.strip_prefix(origin)
        .is_some_and(|rest| matches!(rest.bytes().next(), None | Some(b'/' | b'?' | b'#')))
}

/// `scheme://authority` of a URL (the key of the idle agents).
fn origin(url: &str) -> &str {
    // (A byte search: `find("://")` set up a substring searcher per request.)
    let after_scheme = url
        .bytes()
        .position(|b| b == b':')
        .filter(|&i| url[i..].starts_with("://"))
        .map_or(0, |i| i + 3);
    match url[after_scheme..]
        .bytes()
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
    {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

/// A streamed success body that hands its agent back to the idle list when the app drops
/// it (read to the end, its connection is back in that agent's pool by then).
pub(crate) struct Returning {
    inner: Option<ureq::BodyReader<'static>>,
    /// (The transport's state, kept while the app holds the body: after a shutdown an
    /// agent handed back is dropped.)
    back: Option<(Arc<Inner>, Sent, AgentRef)>,
}

impl Read for Returning {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match &mut self.inner {
            Some(r) => r.read(buf),
            None => Ok(0),
        }
    }

    // Forwarded: the default ones read through `read` in growing steps, ureq's reader
    // knows its body's length.
    fn read_to_end(&mut self, buf: &mut Vec<u8>) -> std::io::Result<usize> {
        match &mut self.inner {
            Some(r) => r.read_to_end(buf),
            None => Ok(0),
        }
    }

    fn read_to_string(&mut self, buf: &mut String) -> std::io::Result<usize> {
        match &mut self.inner {
            Some(r) => r.read_to_string(buf),
            None => Ok(0),
        }
    }
}

impl Drop for Returning {
    fn drop(&mut self) {
        drop(self.inner.take());
        let Some((inner, sent, agent)) = self.back.take() else {
            return;
        };
        // Never dropped where the lock is held (`release` and `shutdown` drop kept bodies
        // after letting it go).
        park_idle(&mut inner.lock(), sent, agent);
    }
}

/// The answer for the core, and for a body kept for the app its head and reader.
type Answered = (
    HttpResponse,
    Option<(ureq::http::HeaderMap, ureq::BodyReader<'static>)>,
);

/// The ureq request for `req` without its body, its URL and header values moved in
/// (ureq's types take a `String` without copying it), built in place: `http`'s builder
/// moves the whole request once per header. `None` for what ureq cannot send (the core
/// checked every header).
fn request_of(
    shared: &mut Vec<(Arc<str>, HeaderValue)>,
    req: &mut HttpRequest,
) -> Option<ureq::http::Request<()>> {
    use ureq::http::{Method as M, Uri};
    let mut r = ureq::http::Request::new(());
    *r.method_mut() = match req.method {
        Method::Get => M::GET,
        Method::Post => M::POST,
        Method::Put => M::PUT,
        Method::Delete => M::DELETE,
        Method::Patch => M::PATCH,
        Method::Head => M::HEAD,
    };
    *r.uri_mut() = Uri::try_from(std::mem::take(&mut req.url)).ok()?;
    let headers = std::mem::take(&mut req.headers);
    let map = r.headers_mut();
    map.reserve(headers.len());
    for (k, v) in headers {
        let name = name_of(k)?;
        let value = match v {
            HeaderText::Shared(text) => shared_value(shared, text, name == AUTHORIZATION)?,
            HeaderText::Owned(text) => HeaderValue::try_from(text).ok()?,
            other => HeaderValue::from_str(&other).ok()?,
        };
        map.append(name, value);
    }
    Some(r)
}

use ureq::http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};

/// The one name of the core's that `http` does not know, checked once (at compile time).
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A header name: the core's own are ureq's constants (no parse, no copy).
fn name_of(k: HeaderText) -> Option<HeaderName> {
    if let HeaderText::Static(s) = k {
        return Some(match s {
            "Authorization" => AUTHORIZATION,
            "User-Agent" => USER_AGENT,
            "X-Request-ID" => X_REQUEST_ID,
            "Content-Type" => CONTENT_TYPE,
            "Accept" => ACCEPT,
            _ => HeaderName::from_bytes(s.as_bytes()).ok()?,
        });
    }
    HeaderName::try_from(k.into_string()).ok()
}

/// Texts shared by the core kept at once (the bearer, the user agent, the one before a
/// refresh).
const MAX_SHARED: usize = 8;

/// The ureq value of a text the core shares between requests: made once, then the same
/// (a reference count, no copy) while the core holds the text; dropped when the core
/// no longer does (a refreshed bearer). `sensitive`: an `Authorization` value, which
/// `http` then never prints.
fn shared_value(
    kept: &mut Vec<(Arc<str>, HeaderValue)>,
    text: Arc<str>,
    sensitive: bool,
) -> Option<HeaderValue> {
    if let Some((_, v)) = kept.iter().find(|(t, _)| Arc::ptr_eq(t, &text)) {
        return Some(v.clone());
    }
    // The core let go of these (only this list and the request in hand held them).
    kept.retain(|(t, _)| Arc::strong_count(t) > 1);
    let mut value = HeaderValue::from_str(&text).ok()?;
    value.set_sensitive(sensitive);
    if kept.len() >= MAX_SHARED {
        kept.remove(0);
    }
    kept.push((text, value.clone()));
    Some(value)
}

/// Runs `http_req` on `agent`, with the request's connect timeout where the agent's
/// configuration holds another.
fn run<B: ureq::AsSendBody>(
    agent: &ureq::Agent,
    agent_connect: Duration,
    connect: Duration,
    http_req: ureq::http::Request<B>,
) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
    if connect == agent_connect {
        agent.run(http_req)
    } else {
        let config = agent
            .configure_request(http_req)
            .timeout_connect(Some(connect))
            .build();
        agent.run(config)
    }
}

/// The headers as the core reads them.
fn header_strings(map: &ureq::http::HeaderMap) -> Vec<(String, String)> {
    map.iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// Sends `http_req`, the ureq request [`request_of`] made of `req` (`None`: one ureq
/// cannot send).
fn send(
    agent: &ureq::Agent,
    agent_connect: Duration,
    mut req: HttpRequest,
    http_req: Option<ureq::http::Request<()>>,
) -> Result<Answered, TransportErrorKind> {
    let http_req = http_req.ok_or(TransportErrorKind::Connect)?;
    // No body, no `Content-Length: 0` on a GET (bare ureq sends none either).
    let resp = match req.body.take() {
        Some(body) => run(
            agent,
            agent_connect,
            req.connect_timeout,
            http_req.map(|()| body),
        ),
        None => run(
            agent,
            agent_connect,
            req.connect_timeout,
            http_req.map(|()| ureq::SendBody::none()),
        ),
    }
    .map_err(transport_kind)?;
    let status = resp.status().as_u16();
    let (parts, body) = resp.into_parts();
    // Only the heads the core reads become text (ureq's parser refuses a head that
    // breaks the hygiene rule as `Protocol`, so the core need not see the others).
    let headers = if req.reads_answer_headers(status) {
        header_strings(&parts.headers)
    } else {
        Vec::new()
    };
    // Kept unboxed (the app's `Response` holds it in place: two allocations fewer a call).
    let mut reader = body.into_reader();
    // The core says how much to read: none of an app call's 2xx body (it is the app's),
    // a bounded amount of anything else.
    let Some(limit) = req.body_limit(status) else {
        return Ok((
            HttpResponse {
                status,
                headers,
                body: Vec::new(),
            },
            // The app's head as ureq parsed it (no copy: read through `Response::header`).
            Some((parts.headers, reader)),
        ));
    };
    let limit = limit as u64;
    let mut buf = Vec::new();
    // A body that breaks off is a failure, never a shorter answer.
    if let Err(e) = (&mut reader).take(limit + 1).read_to_end(&mut buf) {
        return Err(
            match e.get_ref().and_then(|i| i.downcast_ref::<ureq::Error>()) {
                Some(ureq::Error::Timeout(_)) => TransportErrorKind::Timeout,
                _ => io_kind(&e),
            },
        );
    }
    Ok((
        HttpResponse {
            status,
            headers,
            body: buf,
        },
        None,
    ))
}

/// ureq's failures onto the core's kinds: the "Rust (ureq)" column of the table in
/// `polargrid_core`'s docs ("The transport contract"), the one mapping of this driver.
fn transport_kind(e: ureq::Error) -> TransportErrorKind {
    use ureq::Timeout as T;
    match e {
        // Connect timed out: nothing reached the server (certain).
        ureq::Error::Timeout(T::Connect) => TransportErrorKind::ConnectTimeout,
        ureq::Error::Timeout(T::Resolve) | ureq::Error::HostNotFound => TransportErrorKind::Dns,
        // No answer in time (the core's own deadline usually comes first).
        ureq::Error::Timeout(_) | ureq::Error::BodyStalled => TransportErrorKind::Timeout,
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::TlsRequired => {
            TransportErrorKind::Tls
        }
        ureq::Error::ConnectionFailed => TransportErrorKind::Connect,
        // A head the transport refuses (a bare CR or a NUL in a value, over 64 KiB,
        // unparseable): malformed answer.
        ureq::Error::Protocol(_) | ureq::Error::LargeResponseHeader(..) | ureq::Error::Http(_) => {
            TransportErrorKind::Protocol
        }
        ureq::Error::Io(io) => io_kind(&io),
        // Reset or closed after sending, or anything ureq does not say more about.
        _ => TransportErrorKind::Aborted,
    }
}

/// An I/O failure: refused or unreachable before sending, a timeout, malformed data, or a
/// reset after sending.
fn io_kind(io: &std::io::Error) -> TransportErrorKind {
    use std::io::ErrorKind as K;
    // rustls reports a failed handshake (a certificate, a peer that does not speak TLS)
    // as an I/O error around its own.
    if io
        .get_ref()
        .is_some_and(|e| e.downcast_ref::<rustls::Error>().is_some())
    {
        return TransportErrorKind::Tls;
    }
    match io.kind() {
        K::ConnectionRefused | K::AddrNotAvailable | K::HostUnreachable | K::NetworkUnreachable => {
            TransportErrorKind::Connect
        }
        K::TimedOut | K::WouldBlock => TransportErrorKind::Timeout,
        K::InvalidData => TransportErrorKind::Protocol,
        _ => TransportErrorKind::Aborted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Error as IoError, ErrorKind as K};
    use ureq::Timeout as T;
    use TransportErrorKind as Kind;

    #[test]
    fn the_idle_agents_are_keyed_by_scheme_and_authority() {
        for (url, want) in [
            ("http://127.0.0.1:8080/v1/models", "http://127.0.0.1:8080"),
            ("https://api.example/v1?x=1", "https://api.example"),
            ("https://api.example?x=1", "https://api.example"),
            ("https://api.example#f", "https://api.example"),
            ("https://api.example", "https://api.example"),
            ("http://[::1]:9/x", "http://[::1]:9"),
        ] {
            assert_eq!(origin(url), want, "{url}");
            // A known origin is found as the URL's start, the same as by its origin.
            assert!(starts_at(url, want), "{url}");
        }
        // A longer host or port with the same start is another origin.
        for (url, other) in [
            ("http://127.0.0.1:80801/x", "http://127.0.0.1:8080"),
            ("https://api.example.org/v1", "https://api.example"),
            ("http://api.example/v1", "https://api.example"),
        ] {
            assert!(!starts_at(url, other), "{url}");
            assert_ne!(origin(url), other, "{url}");
        }
    }

    /// Each row of the core's table that ureq can report (the emulator produces them in
    /// the conformance scenarios too: `blackhole`, `down`, `stall`, `reset_after_head`,
    /// `bad_header`, `huge_head`).
    #[test]
    fn ureq_failures_map_onto_the_core_table() {
        let cases = [
            (ureq::Error::Timeout(T::Connect), Kind::ConnectTimeout),
            (ureq::Error::Timeout(T::Resolve), Kind::Dns),
            (ureq::Error::HostNotFound, Kind::Dns),
            (ureq::Error::Timeout(T::RecvResponse), Kind::Timeout),
            (ureq::Error::Timeout(T::RecvBody), Kind::Timeout),
            (ureq::Error::ConnectionFailed, Kind::Connect),
            (
                ureq::Error::Io(IoError::from(K::ConnectionRefused)),
                Kind::Connect,
            ),
            (ureq::Error::Io(IoError::from(K::TimedOut)), Kind::Timeout),
            (
                ureq::Error::Io(IoError::from(K::ConnectionReset)),
                Kind::Aborted,
            ),
            (
                ureq::Error::Io(IoError::from(K::UnexpectedEof)),
                Kind::Aborted,
            ),
            (
                ureq::Error::Io(IoError::from(K::InvalidData)),
                Kind::Protocol,
            ),
            (
                ureq::Error::LargeResponseHeader(70_000, 65_536),
                Kind::Protocol,
            ),
            (ureq::Error::Tls("handshake"), Kind::Tls),
            (
                ureq::Error::Io(IoError::new(
                    K::InvalidData,
                    rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
                )),
                Kind::Tls,
            ),
        ];
        for (e, want) in cases {
            let shown = e.to_string();
            assert_eq!(transport_kind(e), want, "{shown}");
        }
    }
}
