//! A small blocking driver for `polargrid-core`: the core decides everything, this crate
//! only moves bytes (ureq), keeps time (the system clock plus a test offset) and runs
//! each request on its own thread so refreshes and discoveries happen in the background.
//!
//! Nothing outlives its call: each request in flight has an agent (a connection pool) of
//! its own, which is shut down the moment the core abandons the request (its timeout, a
//! cancel, a hand-over), so a server that stalls or trickles a body cannot hold a thread
//! or a socket. A call returns only after the threads of its attempts have ended, and
//! dropping the client shuts down and joins every request still out (refreshes,
//! discoveries). An agent whose request ended normally goes back to a small idle list per
//! origin (after the app has read or dropped a streamed body), so keep-alive connections
//! are still reused; the idle ones close when the client is dropped.
//!
//! The emulator is not a dependency: with the `emulator` feature (tests only),
//! `emulator_endpoints` converts its start-up info; otherwise pass its start-up JSON to
//! [`polargrid_core::Endpoints::from_json`].
//!
//! ```no_run
//! let pg = polargrid_blocking::PolarGrid::new(polargrid_core::Config::new("pg_…"))?;
//! let resp = pg.call(polargrid_blocking::Request::get("/v1/models"))?;
//! println!("{}", resp.text()?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::collections::HashMap;
use std::io::Read;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{ConnectionDetails, Connector, DefaultConnector, Transport};

use polargrid_core::{
    CallError, CallId, CallSpec, Client, Config, Event, HttpRequest, HttpResponse, Method,
    MisuseError, Purpose, RequestId, Timestamp, TransportErrorKind,
};

/// The endpoints of a running emulator (its start-up JSON), for a client to talk to it.
/// Only with the `emulator` feature (the emulator links `jsonwebtoken` and `rsa`, which a
/// user of the driver must not get); [`polargrid_core::Endpoints::from_json`] takes the
/// same start-up JSON without it.
#[cfg(feature = "emulator")]
pub fn emulator_endpoints(info: &polargrid_emulator::StartupInfo) -> polargrid_core::Endpoints {
    polargrid_core::Endpoints {
        autorouter: info.autorouter.clone(),
        auth: info.auth.clone(),
        regions: info
            .regions
            .iter()
            .map(|r| polargrid_core::RegionInfo {
                id: r.id.clone(),
                name: r.name.clone(),
                country: r.country.clone(),
                url: Some(r.url.clone()),
            })
            .collect(),
        ..polargrid_core::Endpoints::default()
    }
}

/// What the app wants to send.
#[derive(Clone, Debug)]
pub struct Request {
    /// Method, path, routing hint, idempotency.
    pub spec: CallSpec,
    /// The body (JSON for chat), sent as is; the core never sees it.
    pub body: Option<Vec<u8>>,
    /// `Content-Type` of the body.
    pub content_type: Option<String>,
}

impl Request {
    /// `GET path`.
    pub fn get(path: &str) -> Self {
        Request {
            spec: CallSpec::new(Method::Get, path),
            body: None,
            content_type: None,
        }
    }

    /// `POST path` with a JSON body.
    pub fn post_json(path: &str, body: &serde_json::Value) -> Self {
        let model = body
            .get("model")
            .and_then(|m| m.as_str())
            .map(str::to_string);
        let mut spec = CallSpec::new(Method::Post, path);
        spec.model = model;
        Request {
            spec,
            body: Some(body.to_string().into_bytes()),
            content_type: Some("application/json".to_string()),
        }
    }
}

/// A successful answer; the body is read from the network as the app reads it (SSE
/// streams arrive event by event).
pub struct Response {
    /// Status code (2xx).
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// The region that answered.
    pub region: Option<String>,
    body: Box<dyn Read + Send>,
}

impl Response {
    /// The body as a reader (for streams).
    pub fn reader(&mut self) -> &mut (dyn Read + Send) {
        &mut *self.body
    }

    /// The whole body as text.
    pub fn text(mut self) -> std::io::Result<String> {
        let mut s = String::new();
        self.body.read_to_string(&mut s)?;
        Ok(s)
    }

    /// A header value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("region", &self.region)
            .finish()
    }
}

/// Why a call failed.
#[derive(Debug)]
pub enum Error {
    /// The core classified the failure.
    Call(CallError),
    /// The driver misused the core (a bug here).
    Misuse(MisuseError),
    /// The configuration was rejected.
    Config(polargrid_core::ConfigError),
    /// The call was cancelled.
    Cancelled,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Call(e) => write!(f, "{e}"),
            Error::Misuse(e) => write!(f, "{e}"),
            Error::Config(e) => write!(f, "{e}"),
            Error::Cancelled => f.write_str("cancelled"),
        }
    }
}

impl std::error::Error for Error {}

enum Ending {
    Ready(RequestId, Option<String>),
    Failed(CallError),
    Cancelled,
}

struct State {
    core: Client,
    /// App bodies by call, attached to each attempt.
    bodies: HashMap<CallId, (Option<Vec<u8>>, Option<String>)>,
    /// Successful app-call answers waiting for the core's verdict.
    held: HashMap<RequestId, Response>,
    endings: HashMap<CallId, Ending>,
    /// Non-call events for the app (session changes, region changes), in order.
    log: Vec<Event>,
    shutdown: bool,
    /// The agent (own connection) of each request in flight, to shut it down on `Abort`.
    in_flight: HashMap<RequestId, (Option<CallId>, ureq::Agent)>,
    /// Agents whose request ended normally, by origin, for the next request there.
    idle: HashMap<String, Vec<ureq::Agent>>,
    /// Threads of app-call attempts, joined when their call returns.
    call_threads: HashMap<CallId, Vec<JoinHandle<()>>>,
    /// Threads of core-owned requests (exchange, refresh, discovery), joined on drop.
    background: Vec<JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    offset_ms: AtomicI64,
    /// One agent per request is built from this (see the crate docs)...
    http: ureq::config::Config,
    /// ...over one connector, so TLS settings (root store) are built once, not per request.
    connector: SharedConnector,
}

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

impl Shared {
    fn now(&self) -> Timestamp {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Timestamp(ms).offset(self.offset_ms.load(Ordering::SeqCst))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The client: thread-safe, cheap to share by reference.
pub struct PolarGrid {
    shared: Arc<Shared>,
    timer: Option<std::thread::JoinHandle<()>>,
}

impl PolarGrid {
    /// Builds a client; the seed comes from the system clock.
    pub fn new(config: Config) -> Result<Self, Error> {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        Self::with_seed(config, seed)
    }

    /// Builds a client with a fixed seed (reproducible request ids and jitter).
    pub fn with_seed(config: Config, seed: u64) -> Result<Self, Error> {
        let core = Client::new(config, seed).map_err(Error::Config)?;
        let http = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                core,
                bodies: HashMap::new(),
                held: HashMap::new(),
                endings: HashMap::new(),
                log: Vec::new(),
                shutdown: false,
                in_flight: HashMap::new(),
                idle: HashMap::new(),
                call_threads: HashMap::new(),
                background: Vec::new(),
            }),
            changed: Condvar::new(),
            offset_ms: AtomicI64::new(0),
            http,
            connector: SharedConnector(Arc::new(DefaultConnector::new())),
        });
        let s = Arc::clone(&shared);
        let timer = std::thread::spawn(move || timer_loop(&s));
        Ok(PolarGrid {
            shared,
            timer: Some(timer),
        })
    }

    /// Makes one call and waits for its ending.
    pub fn call(&self, req: Request) -> Result<Response, Error> {
        let mut st = self.shared.lock();
        let now = self.shared.now();
        let call = st.core.start_call(now, req.spec).map_err(Error::Misuse)?;
        st.bodies.insert(call, (req.body, req.content_type));
        pump(&self.shared, &mut st);
        loop {
            if let Some(ending) = st.endings.remove(&call) {
                st.bodies.remove(&call);
                // Its attempts are answered or aborted (connection shut down): wait for
                // their threads, without the lock they need to finish.
                let threads = st.call_threads.remove(&call).unwrap_or_default();
                let mine: Vec<RequestId> = st
                    .in_flight
                    .iter()
                    .filter(|(_, (c, _))| *c == Some(call))
                    .map(|(r, _)| *r)
                    .collect();
                for r in mine {
                    if let Some((_, agent)) = st.in_flight.remove(&r) {
                        agent.shutdown();
                    }
                }
                drop(st);
                for t in threads {
                    let _ = t.join();
                }
                st = self.shared.lock();
                return match ending {
                    Ending::Ready(rid, region) => match st.held.remove(&rid) {
                        Some(mut r) => {
                            r.region = region;
                            Ok(r)
                        }
                        None => Err(Error::Misuse(MisuseError::UnknownRequest(rid))),
                    },
                    Ending::Failed(e) => Err(Error::Call(e)),
                    Ending::Cancelled => Err(Error::Cancelled),
                };
            }
            st = self
                .shared
                .changed
                .wait(st)
                .unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Takes the non-call events (session and region changes) seen so far.
    pub fn take_events(&self) -> Vec<Event> {
        std::mem::take(&mut self.shared.lock().log)
    }

    /// Runs `f` on the core (status getters, hand-over, restore, logout).
    pub fn with_core<T>(&self, f: impl FnOnce(&mut Client, Timestamp) -> T) -> T {
        let mut st = self.shared.lock();
        let now = self.shared.now();
        let out = f(&mut st.core, now);
        pump(&self.shared, &mut st);
        out
    }

    /// How far this client's clock has been moved from the system clock.
    pub fn clock_offset_ms(&self) -> i64 {
        self.shared.offset_ms.load(Ordering::SeqCst)
    }

    /// Moves this client's clock (tests and demos: expire a JWT without waiting).
    pub fn advance_clock(&self, ms: i64) {
        self.shared.offset_ms.fetch_add(ms, Ordering::SeqCst);
        let mut st = self.shared.lock();
        let now = self.shared.now();
        st.core.handle_timeout(now);
        pump(&self.shared, &mut st);
    }
}

impl Drop for PolarGrid {
    fn drop(&mut self) {
        // Stop the timer, shut down every connection still out, then wait for every
        // thread: nothing this client started outlives it.
        let threads = {
            let mut st = self.shared.lock();
            st.shutdown = true;
            for (_, (_, agent)) in st.in_flight.drain() {
                agent.shutdown();
            }
            st.idle.clear();
            let mut threads = std::mem::take(&mut st.background);
            threads.extend(st.call_threads.drain().flat_map(|(_, v)| v));
            threads
        };
        self.shared.changed.notify_all();
        if let Some(t) = self.timer.take() {
            let _ = t.join();
        }
        for t in threads {
            let _ = t.join();
        }
    }
}

/// Sends what the core asks for (each request on its own thread) and sorts its events.
fn pump(shared: &Arc<Shared>, st: &mut State) {
    let now = shared.now();
    st.background.retain(|t| !t.is_finished());
    while let Some(req) = st.core.poll_request(now) {
        let body = match req.purpose {
            Purpose::Call(c) => st.bodies.get(&c).cloned().unwrap_or((None, None)),
            _ => (req.body.clone(), None),
        };
        if st.shutdown {
            // The client is being dropped: send nothing more.
            let _ = st
                .core
                .handle_transport_error(now, req.id, TransportErrorKind::Aborted);
            continue;
        }
        // An agent of its own (idle one for this origin, or new): `Agent::shutdown` then
        // cuts this request's connection and nobody else's.
        let agent = st
            .idle
            .get_mut(origin(&req.url))
            .and_then(Vec::pop)
            .unwrap_or_else(|| {
                ureq::Agent::with_parts(
                    shared.http.clone(),
                    shared.connector.clone(),
                    DefaultResolver::default(),
                )
            });
        let purpose = req.purpose;
        let call = match purpose {
            Purpose::Call(c) => Some(c),
            _ => None,
        };
        st.in_flight.insert(req.id, (call, agent.clone()));
        let s = Arc::clone(shared);
        let t = std::thread::spawn(move || exchange(&s, &agent, req, body));
        match purpose {
            Purpose::Call(c) => st.call_threads.entry(c).or_default().push(t),
            _ => st.background.push(t),
        }
    }
    let mut woke = false;
    while let Some(ev) = st.core.poll_event() {
        match ev {
            Event::CallReady {
                call,
                request,
                region,
            } => {
                st.endings.insert(call, Ending::Ready(request, region));
                woke = true;
            }
            Event::CallFailed { call, error } => {
                st.endings.insert(call, Ending::Failed(error));
                woke = true;
            }
            Event::CallCancelled { call } => {
                st.endings.insert(call, Ending::Cancelled);
                woke = true;
            }
            Event::Abort { request } => {
                st.held.remove(&request);
                // Unblocks the request's thread at once (connect, head, body read).
                if let Some((_, agent)) = st.in_flight.remove(&request) {
                    agent.shutdown();
                }
            }
            other => st.log.push(other),
        }
    }
    if woke {
        shared.changed.notify_all();
    }
}

/// Wakes at the core's deadlines.
fn timer_loop(shared: &Arc<Shared>) {
    let mut st = shared.lock();
    loop {
        if st.shutdown {
            return;
        }
        let now = shared.now();
        st.core.handle_timeout(now);
        pump(shared, &mut st);
        let wait = match st.core.poll_timeout() {
            Some(at) => Duration::from_millis(
                at.as_millis()
                    .saturating_sub(shared.now().as_millis())
                    .clamp(1, 1000),
            ),
            None => Duration::from_millis(1000),
        };
        st = shared
            .changed
            .wait_timeout(st, wait)
            .map(|(g, _)| g)
            .unwrap_or_else(|p| p.into_inner().0);
    }
}

/// One HTTP exchange on its own thread, over its own agent (connection).
fn exchange(
    shared: &Arc<Shared>,
    agent: &ureq::Agent,
    req: HttpRequest,
    body: (Option<Vec<u8>>, Option<String>),
) {
    let result = send(agent, &req, body);
    let mut st = shared.lock();
    // Still in flight: it ended normally (not aborted), so its agent may serve again.
    let reusable = st.in_flight.remove(&req.id).map(|(_, a)| a);
    let now = shared.now();
    let fed = match result {
        Ok((resp, rest)) => {
            match (rest, reusable) {
                (Some(reader), agent) => {
                    // A streamed body: the agent is reusable once the app is done with it.
                    let back =
                        agent.map(|a| (Arc::downgrade(shared), origin(&req.url).to_string(), a));
                    st.held.insert(
                        req.id,
                        Response {
                            status: resp.status,
                            headers: resp.headers.clone(),
                            region: None,
                            body: Box::new(Returning {
                                inner: Some(reader),
                                back,
                            }),
                        },
                    );
                }
                (None, Some(agent)) => park_idle(&mut st, origin(&req.url), agent),
                (None, None) => {}
            }
            st.core.handle_response(now, req.id, resp)
        }
        Err(kind) => st.core.handle_transport_error(now, req.id, kind),
    };
    if let Err(e) = fed {
        // The core no longer knew the request (a bug in this driver): say so loudly.
        eprintln!("polargrid-blocking: {e}");
    }
    pump(shared, &mut st);
    shared.changed.notify_all();
}

/// Idle agents kept per origin (each holds at most its keep-alive connections).
const MAX_IDLE_PER_ORIGIN: usize = 8;

fn park_idle(st: &mut State, origin: &str, agent: ureq::Agent) {
    if st.shutdown {
        return;
    }
    let list = st.idle.entry(origin.to_string()).or_default();
    if list.len() < MAX_IDLE_PER_ORIGIN {
        list.push(agent);
    }
}

/// `scheme://authority` of a URL (the key of the idle agents).
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find(['/', '?', '#']) {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

/// A streamed success body that hands its agent back to the idle list when the app drops
/// it (read to the end, its connection is back in that agent's pool by then).
struct Returning {
    inner: Option<Box<dyn Read + Send>>,
    back: Option<(std::sync::Weak<Shared>, String, ureq::Agent)>,
}

impl Read for Returning {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match &mut self.inner {
            Some(r) => r.read(buf),
            None => Ok(0),
        }
    }
}

impl Drop for Returning {
    fn drop(&mut self) {
        drop(self.inner.take());
        let Some((shared, origin, agent)) = self.back.take() else {
            return;
        };
        let Some(shared) = shared.upgrade() else {
            return;
        };
        // `try_lock`: the driver itself drops held bodies under its lock (an abort); then
        // the agent is simply not reused.
        if let Ok(mut st) = shared.state.try_lock() {
            park_idle(&mut st, &origin, agent);
        };
    }
}

type Sent = (HttpResponse, Option<Box<dyn Read + Send>>);

fn send(
    agent: &ureq::Agent,
    req: &HttpRequest,
    body: (Option<Vec<u8>>, Option<String>),
) -> Result<Sent, TransportErrorKind> {
    let mut b = ureq::http::Request::builder()
        .method(req.method.as_str())
        .uri(&req.url);
    for (k, v) in &req.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    if let Some(ct) = &body.1 {
        b = b.header("Content-Type", ct.as_str());
    }
    let http_req = b
        .body(body.0.unwrap_or_default())
        .map_err(|_| TransportErrorKind::Connect)?;
    let config = agent
        .configure_request(http_req)
        .timeout_recv_response(Some(req.timeout))
        .timeout_connect(Some(req.connect_timeout))
        .build();
    let resp = agent.run(config).map_err(transport_kind)?;
    let status = resp.status().as_u16();
    let headers: Vec<(String, String)> = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut reader: Box<dyn Read + Send> = Box::new(resp.into_body().into_reader());
    // The core says how much to read: none of an app call's 2xx body (it is the app's),
    // a bounded amount of anything else.
    let Some(limit) = req.body_limit(status) else {
        return Ok((
            HttpResponse {
                status,
                headers,
                body: Vec::new(),
            },
            Some(reader),
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
