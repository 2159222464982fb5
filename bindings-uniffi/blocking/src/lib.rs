//! A blocking Rust client for `polargrid-core`: the shared threaded driver
//! (`polargrid-driver`, the run loop the Python, Kotlin and Swift packages use too) over a
//! ureq transport. The core decides everything; the driver keeps time (the system clock
//! plus a test offset) and runs each request on its own thread so refreshes and
//! discoveries happen in the background; a call's first attempt runs on the calling
//! thread, which would only wait for it.
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

mod ureq_transport;

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use polargrid_core::{
    CallError, CallSpec, Client, Config, ErrorKind, Event, Method, MisuseError, Timestamp,
};
use polargrid_driver::{Driver, StartError};

use ureq_transport::Ureq;

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
/// streams arrive event by event). The head is ureq's as it was parsed, read through
/// [`Response::header`] and [`Response::headers`] without copies.
pub struct Response {
    /// Status code (2xx).
    pub status: u16,
    /// The region that answered.
    pub region: Option<String>,
    headers: ureq::http::HeaderMap,
    body: ureq_transport::Returning,
}

impl Response {
    /// The body as a reader (for streams).
    pub fn reader(&mut self) -> &mut (dyn Read + Send) {
        &mut self.body
    }

    /// The whole body as text.
    pub fn text(mut self) -> std::io::Result<String> {
        let mut s = String::new();
        self.body.read_to_string(&mut s)?;
        Ok(s)
    }

    /// The first value of a header (name in any case), if it is UTF-8 text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
    }

    /// Every header, names in lowercase, the values of one name together (in the order
    /// received); a value that is not UTF-8 text is left out (the raw bytes:
    /// [`Response::header_map`]).
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.headers.iter().filter_map(|(k, v)| {
            std::str::from_utf8(v.as_bytes())
                .ok()
                .map(|v| (k.as_str(), v))
        })
    }

    /// The head as ureq parsed it (`http`'s map: raw bytes, every value of a name).
    pub fn header_map(&self) -> &ureq::http::HeaderMap {
        &self.headers
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

/// The client: thread-safe, cheap to share by reference.
pub struct PolarGrid {
    driver: Driver<Ureq>,
    /// Non-call events for the app, in order.
    log: Arc<Mutex<Vec<Event>>>,
}

/// How long one blocking wait lasts before it looks again (a call ends on its own
/// deadline well before).
const WAIT_SLICE: Duration = Duration::from_secs(3600);

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
        let log = Arc::new(Mutex::new(Vec::new()));
        let to_log = Arc::clone(&log);
        let listener: polargrid_driver::Listener =
            Box::new(move |e| to_log.lock().unwrap_or_else(|p| p.into_inner()).push(e));
        // The timer thread could not start: the client never opened.
        let driver = Driver::new(core, Ureq::new(), Some(listener), 0)
            .map_err(|_| Error::Call(CallError::local(ErrorKind::Closed)))?;
        Ok(PolarGrid { driver, log })
    }

    /// Makes one call and waits for its ending.
    pub fn call(&self, req: Request) -> Result<Response, Error> {
        let mut spec = req.spec;
        if let Some(ct) = req.content_type {
            spec.headers.push(("Content-Type".to_string(), ct));
        }
        let transport = self.driver.transport();
        let (started, here) = self.driver.start_here(spec, req.body);
        // The call's first attempt runs on this thread (it would only wait for it); its
        // success, if it got one, is this thread's (else dropped when the call returns).
        let mut first = here.and_then(|(request, reply)| transport.send_here(request, reply));
        let call = started.map_err(|e| match e {
            StartError::Refused(m) => Error::Misuse(m),
            StartError::Closed => Error::Call(CallError::local(ErrorKind::Closed)),
        })?;
        let ending = loop {
            if let Some(ending) = self.driver.wait_blocking(call, WAIT_SLICE) {
                break ending;
            }
        };
        // Its attempts are answered or cut: wait for their threads.
        transport.finish_call(call);
        match ending {
            Ok(ready) => match first
                .take_if(|(id, _)| *id == ready.request)
                .map(|(_, r)| r)
                .or_else(|| transport.claim(ready.request))
            {
                Some(mut r) => {
                    r.region = ready.region;
                    Ok(r)
                }
                None => Err(Error::Misuse(MisuseError::UnknownRequest(ready.request))),
            },
            Err(e) if e.kind == ErrorKind::Cancelled => Err(Error::Cancelled),
            Err(e) => Err(Error::Call(e)),
        }
    }

    /// Takes the non-call events (session and region changes) seen so far.
    pub fn take_events(&self) -> Vec<Event> {
        std::mem::take(&mut *self.log.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Runs `f` on the core (status getters, hand-over, restore, logout).
    pub fn with_core<T>(&self, f: impl FnOnce(&mut Client, Timestamp) -> T) -> T {
        self.driver.with_core(f)
    }

    /// How far this client's clock has been moved from the system clock.
    pub fn clock_offset_ms(&self) -> i64 {
        self.driver.clock_offset_ms()
    }

    /// Moves this client's clock (tests and demos: expire a JWT without waiting).
    pub fn advance_clock(&self, ms: i64) {
        self.driver.advance_clock(ms);
    }
}

impl Drop for PolarGrid {
    fn drop(&mut self) {
        // Stop the timer, then shut down every connection still out and wait for every
        // thread: nothing this client started outlives it.
        self.driver.close();
        self.driver.transport().shutdown();
    }
}
