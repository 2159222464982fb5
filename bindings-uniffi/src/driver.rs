//! The uniffi skin of the shared driver (`polargrid_driver::Driver`): the exported
//! [`Driver`] and [`Reply`] objects, and the adapters from the foreign [`Transport`] and
//! [`Listener`] to the driver's Rust ones. The run loop itself (the core behind a lock,
//! the timer thread, sends, answers, call endings) is `polargrid-driver`, the same one the
//! blocking Rust client runs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use polargrid_core as pc;
use polargrid_driver as pd;

use crate::convert;
use crate::heads::Blocks;
use crate::{
    CallRequest, CallResponse, Header, Listener, Options, PolarGridError, SessionState, Transport,
    TransportErrorKind,
};

/// The client: the core plus the run loop. Thread-safe; share one per app (or per
/// account). Create it with [`Driver::new`]; see the crate docs for the foreign side.
#[derive(uniffi::Object)]
pub struct Driver {
    pub(crate) inner: pd::Driver<Foreign>,
    /// Endings `Driver::answer` collected that it could not hand back (see `heads`),
    /// until `wait`, `wait_blocking`, `cancel` or `close` takes them.
    pub(crate) early: Mutex<pd::Ids<u64, CallResponse>>,
}

/// The way back for one sent request. Call exactly one of its methods, once, from any
/// thread; later calls are ignored.
#[derive(uniffi::Object)]
pub struct Reply {
    inner: pd::Reply,
}

/// The foreign transport behind the driver's Rust one: each request crosses as one
/// [`crate::HttpRequest`] record with its [`Reply`] (`Driver::new`), or as one block
/// answered by request id (`Driver::with_blocks`, in `heads`).
pub(crate) enum Foreign {
    Records(Arc<dyn Transport>),
    Blocks(Blocks),
}

impl pd::Transport for Foreign {
    fn send(&self, request: pc::HttpRequest, reply: pd::Reply) {
        match self {
            Foreign::Records(t) => {
                t.send(convert::request(request), Arc::new(Reply { inner: reply }));
            }
            Foreign::Blocks(b) => b.send(request, reply),
        }
    }

    fn release(&self, request: pc::RequestId) {
        match self {
            Foreign::Records(t) => t.release(request.0),
            Foreign::Blocks(b) => b.release(request.0),
        }
    }
}

fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn start_error(e: pd::StartError) -> PolarGridError {
    match e {
        pd::StartError::Closed => convert::ended(pc::ErrorKind::Closed),
        pd::StartError::Refused(m) => convert::misuse(m),
    }
}

fn ending(e: pd::Ending) -> Result<CallResponse, PolarGridError> {
    match e {
        Ok(r) => Ok(CallResponse {
            call: r.call.0,
            request_id: r.request.0,
            region: r.region,
        }),
        Err(e) => Err(convert::call_error(&e)),
    }
}

impl Driver {
    /// `new` and `with_blocks`: the options checked by the core's rules, the session
    /// restored, the run loop started over `transport`.
    pub(crate) fn build(
        options: Options,
        transport: Foreign,
        listener: Option<Arc<dyn Listener>>,
    ) -> Result<Arc<Driver>, PolarGridError> {
        let built = convert::options(&options)
            .build()
            .map_err(|e| convert::config_error(&e))?;
        let seed = options
            .seed
            .unwrap_or_else(|| wall_ms() ^ (std::process::id() as u64).rotate_left(32));
        let mut core =
            pc::Client::new(built.config, seed).map_err(|e| convert::config_error(&e))?;
        let offset = options.clock_offset_ms;
        if let Some(snap) = &built.session {
            let now = pc::Timestamp::from_millis(wall_ms()).offset(offset);
            core.restore(now, snap).map_err(convert::misuse)?;
        }
        let listener = listener.map(|l| -> pd::Listener {
            Box::new(move |ev| {
                if let Some(e) = convert::event(&ev) {
                    l.on_event(e);
                }
            })
        });
        let inner = pd::Driver::new(core, transport, listener, offset)
            .map_err(|_| convert::ended(pc::ErrorKind::Closed))?;
        Ok(Arc::new(Driver {
            inner,
            early: Mutex::default(),
        }))
    }

    pub(crate) fn lock_early(&self) -> std::sync::MutexGuard<'_, pd::Ids<u64, CallResponse>> {
        self.early.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn take_early(&self, call: u64) -> Option<CallResponse> {
        let mut early = self.lock_early();
        if early.is_empty() {
            return None;
        }
        early.remove(&call)
    }
}

#[uniffi::export]
impl Driver {
    /// Checks the options with the core's rules (`polargrid_core::Options::build`) and
    /// builds the client, restoring `options.session_json` if given; a refused
    /// configuration is an `invalid_config` (or `key_in_browser`) error with the core's
    /// cause and fix. The key is never returned, printed or sent anywhere but the auth
    /// service (session mode) or the edges (direct mode). Starts one timer thread that
    /// lives until [`Driver::close`] (or the driver is dropped).
    #[uniffi::constructor]
    pub fn new(
        options: Options,
        transport: Arc<dyn Transport>,
        listener: Option<Arc<dyn Listener>>,
    ) -> Result<Arc<Driver>, PolarGridError> {
        Driver::build(options, Foreign::Records(transport), listener)
    }

    /// Starts an app call and returns its id at once. The call's body and headers travel
    /// with it: every request of the call carries them (the driver holds the body until
    /// the call ends), so sends may begin before this returns. Then `wait` or
    /// `wait_blocking` for it. A refused call (path, method, header) is `invalid_call`.
    pub fn start(&self, call: CallRequest) -> Result<u64, PolarGridError> {
        let spec = convert::call_spec(&call)?;
        self.inner
            .start(spec, call.body)
            .map(|c| c.0)
            .map_err(start_error)
    }

    /// Waits for the call's ending (async: asyncio, Kotlin coroutines, Swift
    /// concurrency). `Ok` names the request whose kept body is the answer. Dropping the
    /// future before it ends (task cancelled) cancels the call.
    pub async fn wait(&self, call: u64) -> Result<CallResponse, PolarGridError> {
        if let Some(r) = self.take_early(call) {
            return Ok(r);
        }
        ending(self.inner.wait(pc::CallId(call)).await)
    }

    /// Waits up to `timeout_ms` for the call's ending on this thread; `None` if it has
    /// not ended yet. Call it in short slices (say 100 ms) so the caller stays
    /// interruptible, and `cancel` the call if the caller gives up.
    pub fn wait_blocking(
        &self,
        call: u64,
        timeout_ms: u32,
    ) -> Result<Option<CallResponse>, PolarGridError> {
        if let Some(r) = self.take_early(call) {
            return Ok(Some(r));
        }
        let timeout = Duration::from_millis(u64::from(timeout_ms));
        self.inner
            .wait_blocking(pc::CallId(call), timeout)
            .map(ending)
            .transpose()
    }

    /// Cancels a call (an async waiter parked in `wait` is woken with `Cancelled`; an answer
    /// already kept is released; a later `wait_blocking` finds nothing).
    /// Returns `false` if it had already ended and been collected.
    pub fn cancel(&self, call: u64) -> bool {
        if let Some(r) = self.take_early(call) {
            pd::Transport::release(self.inner.transport(), pc::RequestId(r.request_id));
            return true;
        }
        self.inner.cancel(pc::CallId(call))
    }

    /// Hands over a session minted by the app's backend: `grant_json` is the auth
    /// service's answer as it is. Waiting calls continue with it.
    pub fn hand_over(&self, grant_json: String) -> Result<(), PolarGridError> {
        self.inner
            .with_core(|core, now| core.hand_over(now, &grant_json))
            .map_err(convert::misuse)
    }

    /// Restores a session persisted from a `SessionChanged` event's `snapshot_json`,
    /// without a new exchange.
    pub fn restore(&self, snapshot_json: String) -> Result<(), PolarGridError> {
        let snap = pc::SessionSnapshot::from_json(&snapshot_json).map_err(convert::misuse)?;
        self.inner
            .with_core(|core, now| core.restore(now, &snap))
            .map_err(convert::misuse)
    }

    /// Forgets the session (a `SessionChanged` with no snapshot follows); in session mode
    /// the next call exchanges the key again.
    pub fn logout(&self) {
        self.inner.with_core(|core, now| core.logout(now));
    }

    /// The session snapshot to persist now, if a session is held (holds secrets).
    pub fn session_snapshot(&self) -> Option<String> {
        self.inner
            .peek(|core| core.session_snapshot().map(|s| s.to_json()))
    }

    /// Where the session is.
    pub fn session_state(&self) -> SessionState {
        match self.inner.peek(pc::Client::session_status) {
            pc::SessionStatus::Direct => SessionState::Direct,
            pc::SessionStatus::Exchanging => SessionState::Exchanging,
            pc::SessionStatus::Active(_) => SessionState::Active,
            pc::SessionStatus::Refreshing(_) => SessionState::Refreshing,
            pc::SessionStatus::Ended => SessionState::Ended,
            _ => SessionState::None,
        }
    }

    /// The region the last call went to.
    pub fn current_region(&self) -> Option<String> {
        self.inner
            .peek(|core| core.current_region().map(str::to_string))
    }

    /// Moves this client's clock by `ms` (tests and demos: expire a JWT without waiting).
    pub fn advance_clock(&self, ms: i64) {
        self.inner.advance_clock(ms);
    }

    /// Stops the timer, ends every open call with `Closed` and releases every kept body.
    /// Idempotent; the driver refuses new calls afterwards.
    pub fn close(&self) {
        self.inner.close();
        let early: Vec<u64> = self
            .lock_early()
            .drain()
            .map(|(_, r)| r.request_id)
            .collect();
        for id in early {
            pd::Transport::release(self.inner.transport(), pc::RequestId(id));
        }
    }
}

#[uniffi::export]
impl Reply {
    /// The answer head arrived: `status`, `headers`, and the body: empty for a 2xx answer
    /// to a call (kept for the app), else at most the request's `body_limit` bytes.
    pub fn response(&self, status: u16, headers: Vec<Header>, body: Vec<u8>) {
        self.inner.response(pc::HttpResponse {
            status,
            headers: headers.into_iter().map(|h| (h.name, h.value)).collect(),
            body,
        });
    }

    /// Same as [`Reply::response`] with the headers as one HTTP/1.1 header block
    /// (`Name: value` lines separated by `\r\n` or `\n`, UTF-8 or Latin-1): one argument
    /// instead of a list of records, which is much cheaper to pass from Python.
    pub fn response_head(&self, status: u16, head: Vec<u8>, body: Vec<u8>) {
        self.inner.response_head(status, &head, body);
    }

    /// The request failed below HTTP, as the platform's failure maps onto the core's
    /// table (`polargrid_core` crate docs; interrupted: `Aborted`). A reply the foreign
    /// side drops unanswered (an exception in its transport) counts as `Aborted`.
    pub fn failed(&self, error: TransportErrorKind) {
        self.inner.failed(convert::transport_error(error));
    }

    /// The request's id (the one in its `HttpRequest`).
    pub fn request_id(&self) -> u64 {
        self.inner.request_id().0
    }
}
