//! The shared driver: the core behind a lock, a timer thread that sleeps until the core's
//! next deadline, sends handed to the foreign [`Transport`], answers fed back through
//! [`Reply`], and call endings delivered to blocking or async waiters.
//!
//! Nothing foreign is ever called while the lock is held: each step collects what to
//! send, release and announce, drops the lock, then calls out ([`Flush`]).

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use polargrid_core as pc;

use crate::convert;
use crate::{
    CallRequest, CallResponse, DriverEvent, Header, Listener, Options, PolarGridError,
    SessionState, Transport, TransportErrorKind,
};

/// How a call ended, until its waiter collects it.
enum Ending {
    Ready(pc::RequestId, Option<String>),
    Failed(pc::CallError),
    Cancelled,
    Closed,
}

#[derive(Default)]
struct Flush {
    send: Vec<(crate::HttpRequest, Arc<Reply>)>,
    release: Vec<u64>,
    events: bool,
    wake: Vec<Waker>,
    notify: bool,
    kick_timer: bool,
}

impl Flush {
    fn is_idle(&self) -> bool {
        self.send.is_empty() && self.release.is_empty() && self.wake.is_empty() && !self.events
    }
}

struct State {
    core: pc::Client,
    /// Calls that ended, by call id, until collected.
    endings: HashMap<pc::CallId, Ending>,
    /// Wakers of async waiters, by call id.
    wakers: HashMap<pc::CallId, Waker>,
    /// Requests whose 2xx body the foreign side keeps, until claimed or released.
    held: HashSet<pc::RequestId>,
    /// Calls started and not yet ended or abandoned.
    open: HashSet<pc::CallId>,
    /// The bodies of open calls, attached to each of their requests.
    bodies: HashMap<pc::CallId, Vec<u8>>,
    /// App events to deliver, in order.
    events: VecDeque<DriverEvent>,
    /// When the timer thread plans to wake (driver clock, ms; `u64::MAX`: not until
    /// kicked, nothing is due).
    timer_wake: u64,
    /// How many times the timer thread went to sleep (tests read it).
    timer_parks: u64,
    /// The driver clock and the monotonic clock when last read: a gap between how far
    /// each moved is a clock jump (device sleep, a clock correction, `advance_clock`).
    seen: (u64, std::time::Instant),
    closed: bool,
}

pub(crate) struct Shared {
    state: Mutex<State>,
    /// Signalled whenever a call ends (blocking waiters).
    changed: Condvar,
    /// Signalled when the core's next deadline moved earlier than the timer's plan.
    timer: Condvar,
    /// Serialises event delivery so listeners see events in the core's order.
    delivery: Mutex<()>,
    transport: Arc<dyn Transport>,
    listener: Option<Arc<dyn Listener>>,
    offset_ms: AtomicI64,
    self_ref: Weak<Shared>,
}

/// The client: the core plus the run loop. Thread-safe; share one per app (or per
/// account). Create it with [`Driver::new`]; see the crate docs for the foreign side.
#[derive(uniffi::Object)]
pub struct Driver {
    shared: Arc<Shared>,
    timer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// The way back for one sent request. Call exactly one of its methods, once, from any
/// thread; later calls are ignored.
#[derive(uniffi::Object)]
pub struct Reply {
    shared: Weak<Shared>,
    id: pc::RequestId,
    /// Whether a 2xx answer's body is kept on the foreign side (app calls).
    keeps_success: bool,
    answered: AtomicBool,
}

/// How far the driver clock may drift from the monotonic one between two reads before it
/// counts as a jump.
const CLOCK_JUMP_MS: i128 = 1000;

fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl Shared {
    fn now(&self) -> pc::Timestamp {
        pc::Timestamp::from_millis(wall_ms()).offset(self.offset_ms.load(Ordering::SeqCst))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes what the core wants done; call with the lock held, then [`Shared::flush`]
    /// without it.
    fn pump(&self, st: &mut State, out: &mut Flush) {
        let now = self.now();
        while let Some(req) = st.core.poll_request(now) {
            let reply = Arc::new(Reply {
                shared: self.self_ref.clone(),
                id: req.id,
                keeps_success: !req.purpose.core_owned(),
                answered: AtomicBool::new(false),
            });
            let body = match req.purpose {
                pc::Purpose::Call(c) => st.bodies.get(&c).cloned(),
                _ => None,
            };
            out.send.push((convert::request(req, body), reply));
        }
        while let Some(ev) = st.core.poll_event() {
            let ended = match &ev {
                pc::Event::CallReady {
                    call,
                    request,
                    region,
                } => Some((*call, Ending::Ready(*request, region.clone()))),
                pc::Event::CallFailed { call, error } => {
                    Some((*call, Ending::Failed(error.clone())))
                }
                pc::Event::CallCancelled { call } => Some((*call, Ending::Cancelled)),
                pc::Event::Abort { request } => {
                    st.held.remove(request);
                    out.release.push(request.0);
                    None
                }
                other => {
                    if let Some(e) = convert::event(other) {
                        st.events.push_back(e);
                        out.events = true;
                    }
                    None
                }
            };
            if let Some((call, ending)) = ended {
                st.bodies.remove(&call);
                // An abandoned call's ending is collected by nobody.
                if st.open.remove(&call) {
                    st.endings.insert(call, ending);
                }
                if let Some(w) = st.wakers.remove(&call) {
                    out.wake.push(w);
                }
                out.notify = true;
            }
        }
        if let Some(at) = st.core.poll_timeout() {
            if at.as_millis() < st.timer_wake {
                st.timer_wake = at.as_millis();
                out.kick_timer = true;
            }
        }
    }

    fn flush(&self, out: Flush) {
        // Events first: a session the app persists (SessionChanged) is saved before any
        // caller wakes or any request it enabled is sent, so a call that returns has its
        // session on disk (a client closed right after a call lost the save otherwise).
        if out.events {
            self.deliver();
        }
        if out.notify {
            self.changed.notify_all();
        }
        if out.kick_timer {
            self.timer.notify_all();
        }
        for w in out.wake {
            w.wake();
        }
        for id in out.release {
            self.transport.release(id);
        }
        for (req, reply) in out.send {
            self.transport.send(req, reply);
        }
    }

    fn deliver(&self) {
        let _order = self.delivery.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let Some(ev) = self.lock().events.pop_front() else {
                return;
            };
            if let Some(l) = &self.listener {
                l.on_event(ev);
            }
        }
    }

    /// Tells the core what time it is before anything else happens: a deadline that
    /// passed (the app was asleep, the clock jumped) is handled now, so the first call
    /// after a resume sees the truth; a jump replans the timer, whose sleep was measured
    /// on the monotonic clock.
    fn catch_up(&self, st: &mut State, now: pc::Timestamp, out: &mut Flush) {
        let mono = std::time::Instant::now();
        let (wall0, mono0) = st.seen;
        st.seen = (now.as_millis(), mono);
        let moved = i128::from(now.as_millis()) - i128::from(wall0);
        let elapsed = i128::try_from(mono.duration_since(mono0).as_millis()).unwrap_or(i128::MAX);
        if (moved - elapsed).abs() > CLOCK_JUMP_MS {
            out.kick_timer = true;
        }
        if st.core.poll_timeout().is_some_and(|at| at <= now) {
            st.core.handle_timeout(now);
        }
    }

    /// Runs `f` on the core, then does what it asked for.
    fn step<T>(&self, f: impl FnOnce(&mut State, pc::Timestamp) -> T) -> T {
        let mut out = Flush::default();
        let value = {
            let mut st = self.lock();
            let now = self.now();
            self.catch_up(&mut st, now, &mut out);
            let v = f(&mut st, now);
            self.pump(&mut st, &mut out);
            v
        };
        self.flush(out);
        value
    }

    fn answer(
        &self,
        id: pc::RequestId,
        keeps_success: bool,
        result: Result<pc::HttpResponse, pc::TransportErrorKind>,
    ) {
        let mut out = Flush::default();
        {
            let mut st = self.lock();
            let now = self.now();
            self.catch_up(&mut st, now, &mut out);
            let kept = keeps_success && matches!(&result, Ok(r) if (200..300).contains(&r.status));
            if st.closed {
                if kept {
                    out.release.push(id.0);
                }
            } else {
                if kept {
                    st.held.insert(id);
                }
                // An unknown id means the core already gave up on it: nothing to do.
                let _ = match result {
                    Ok(resp) => st.core.handle_response(now, id, resp),
                    Err(kind) => st.core.handle_transport_error(now, id, kind),
                };
                self.pump(&mut st, &mut out);
                // A kept body no call claimed (the core had abandoned the request).
                let claimed = st
                    .endings
                    .values()
                    .any(|e| matches!(e, Ending::Ready(r, _) if *r == id));
                if kept && !claimed {
                    st.held.remove(&id);
                    out.release.push(id.0);
                }
            }
        }
        self.flush(out);
    }

    /// Collects a call's ending, if it has one.
    fn collect(
        &self,
        st: &mut State,
        call: pc::CallId,
    ) -> Option<Result<CallResponse, PolarGridError>> {
        let ending = st.endings.remove(&call)?;
        Some(match ending {
            Ending::Ready(request, region) => {
                st.held.remove(&request);
                Ok(CallResponse {
                    call: call.0,
                    request_id: request.0,
                    region,
                })
            }
            Ending::Failed(e) => Err(convert::call_error(&e)),
            Ending::Cancelled => Err(convert::ended(pc::ErrorKind::Cancelled)),
            Ending::Closed => Err(convert::ended(pc::ErrorKind::Closed)),
        })
    }

    /// Gives up on `call`: cancels it in the core, or drops its answer if it already came.
    /// `tell_waiter`: an async waiter still parked on the call (the app cancelled it from
    /// elsewhere, as Swift's cancellation does) is woken and collects `Cancelled`; a waiter
    /// that is itself giving up (its future dropped) passes `false`.
    fn abandon(&self, call: pc::CallId, tell_waiter: bool) -> bool {
        let (known, kept, waker) = self.step(|st, now| {
            let waker = st.wakers.remove(&call);
            let (known, kept) = match st.endings.remove(&call) {
                Some(Ending::Ready(req, _)) => {
                    st.held.remove(&req);
                    (true, Some(req.0))
                }
                Some(_) => (true, None),
                None => {
                    st.bodies.remove(&call);
                    let open = st.open.remove(&call);
                    st.core.cancel_call(now, call);
                    (open, None)
                }
            };
            let waker = waker.filter(|_| tell_waiter && known);
            if waker.is_some() {
                st.endings.insert(call, Ending::Cancelled);
            }
            (known, kept, waker)
        });
        if let Some(id) = kept {
            self.transport.release(id);
        }
        if let Some(w) = waker {
            w.wake();
        }
        known
    }

    fn timer_loop(self: &Arc<Self>) {
        loop {
            let mut out = Flush::default();
            {
                let mut st = self.lock();
                if st.closed {
                    return;
                }
                let now = self.now();
                self.catch_up(&mut st, now, &mut out);
                self.pump(&mut st, &mut out);
                if out.is_idle() {
                    // Sleep until the core's next deadline; with none, until kicked (a
                    // step that gives the core one, a clock jump, close).
                    let next = st.core.poll_timeout();
                    st.timer_wake = next.map_or(u64::MAX, |at| at.as_millis());
                    st.timer_parks += 1;
                    match next {
                        None => drop(self.timer.wait(st)),
                        Some(at) => {
                            let wait = at.as_millis().saturating_sub(now.as_millis()).max(1);
                            drop(self.timer.wait_timeout(st, Duration::from_millis(wait)));
                        }
                    }
                    continue;
                }
            }
            out.kick_timer = false;
            self.flush(out);
        }
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
        let shared = Arc::new_cyclic(|me| Shared {
            state: Mutex::new(State {
                core,
                endings: HashMap::new(),
                wakers: HashMap::new(),
                held: HashSet::new(),
                open: HashSet::new(),
                bodies: HashMap::new(),
                events: VecDeque::new(),
                timer_wake: 0,
                timer_parks: 0,
                seen: (
                    pc::Timestamp::from_millis(wall_ms())
                        .offset(offset)
                        .as_millis(),
                    std::time::Instant::now(),
                ),
                closed: false,
            }),
            changed: Condvar::new(),
            timer: Condvar::new(),
            delivery: Mutex::new(()),
            transport,
            listener,
            offset_ms: AtomicI64::new(offset),
            self_ref: me.clone(),
        });
        let s = Arc::clone(&shared);
        let timer = std::thread::Builder::new()
            .name("polargrid-timer".to_string())
            .spawn(move || s.timer_loop())
            .map_err(|_| convert::ended(pc::ErrorKind::Closed))?;
        Ok(Arc::new(Driver {
            shared,
            timer: Mutex::new(Some(timer)),
        }))
    }

    /// Starts an app call and returns its id at once. The call's body and headers travel
    /// with it: every request of the call carries them (the driver holds the body until
    /// the call ends), so sends may begin before this returns. Then `wait` or
    /// `wait_blocking` for it. A refused call (path, method, header) is `invalid_call`.
    pub fn start(&self, call: CallRequest) -> Result<u64, PolarGridError> {
        let spec = convert::call_spec(&call)?;
        let body = call.body;
        self.shared.step(|st, now| {
            if st.closed {
                return Err(convert::ended(pc::ErrorKind::Closed));
            }
            let c = st.core.start_call(now, spec).map_err(convert::misuse)?;
            st.open.insert(c);
            if let Some(b) = body {
                st.bodies.insert(c, b);
            }
            Ok(c.0)
        })
    }

    /// Waits for the call's ending (async: asyncio, Kotlin coroutines, Swift
    /// concurrency). `Ok` names the request whose kept body is the answer. Dropping the
    /// future before it ends (task cancelled) cancels the call.
    pub async fn wait(&self, call: u64) -> Result<CallResponse, PolarGridError> {
        Wait {
            shared: Arc::clone(&self.shared),
            call: pc::CallId(call),
            done: false,
        }
        .await
    }

    /// Waits up to `timeout_ms` for the call's ending on this thread; `None` if it has
    /// not ended yet. Call it in short slices (say 100 ms) so the caller stays
    /// interruptible, and `cancel` the call if the caller gives up.
    pub fn wait_blocking(
        &self,
        call: u64,
        timeout_ms: u32,
    ) -> Result<Option<CallResponse>, PolarGridError> {
        let call = pc::CallId(call);
        let deadline = std::time::Instant::now() + Duration::from_millis(u64::from(timeout_ms));
        let mut st = self.shared.lock();
        loop {
            if let Some(r) = self.shared.collect(&mut st, call) {
                return r.map(Some);
            }
            if st.closed {
                return Err(convert::ended(pc::ErrorKind::Closed));
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            st = self
                .shared
                .changed
                .wait_timeout(st, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }

    /// Cancels a call (an async waiter parked in `wait` is woken with `Cancelled`; an answer
    /// already kept is released; a later `wait_blocking` finds nothing).
    /// Returns `false` if it had already ended and been collected.
    pub fn cancel(&self, call: u64) -> bool {
        self.shared.abandon(pc::CallId(call), true)
    }

    /// Hands over a session minted by the app's backend: `grant_json` is the auth
    /// service's answer as it is. Waiting calls continue with it.
    pub fn hand_over(&self, grant_json: String) -> Result<(), PolarGridError> {
        self.shared
            .step(|st, now| st.core.hand_over(now, &grant_json))
            .map_err(convert::misuse)
    }

    /// Restores a session persisted from a `SessionChanged` event's `snapshot_json`,
    /// without a new exchange.
    pub fn restore(&self, snapshot_json: String) -> Result<(), PolarGridError> {
        let snap = pc::SessionSnapshot::from_json(&snapshot_json).map_err(convert::misuse)?;
        self.shared
            .step(|st, now| st.core.restore(now, &snap))
            .map_err(convert::misuse)
    }

    /// Forgets the session (a `SessionChanged` with no snapshot follows); in session mode
    /// the next call exchanges the key again.
    pub fn logout(&self) {
        self.shared.step(|st, now| st.core.logout(now));
    }

    /// The session snapshot to persist now, if a session is held (holds secrets).
    pub fn session_snapshot(&self) -> Option<String> {
        self.shared
            .lock()
            .core
            .session_snapshot()
            .map(|s| s.to_json())
    }

    /// Where the session is.
    pub fn session_state(&self) -> SessionState {
        match self.shared.lock().core.session_status() {
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
        self.shared.lock().core.current_region().map(str::to_string)
    }

    /// Moves this client's clock by `ms` (tests and demos: expire a JWT without waiting).
    pub fn advance_clock(&self, ms: i64) {
        self.shared.offset_ms.fetch_add(ms, Ordering::SeqCst);
        self.shared.step(|st, now| st.core.handle_timeout(now));
    }

    /// Stops the timer, ends every open call with `Closed` and releases every kept body.
    /// Idempotent; the driver refuses new calls afterwards.
    pub fn close(&self) {
        let mut release = Vec::new();
        let mut wake = Vec::new();
        {
            let mut st = self.shared.lock();
            if !st.closed {
                st.closed = true;
                let now = self.shared.now();
                let open: Vec<pc::CallId> = st.open.drain().collect();
                for c in open {
                    st.core.cancel_call(now, c);
                    st.endings.insert(c, Ending::Closed);
                }
                while st.core.poll_event().is_some() {}
                st.bodies.clear();
                release.extend(st.held.drain().map(|r| r.0));
                wake.extend(st.wakers.drain().map(|(_, w)| w));
            }
        }
        self.shared.changed.notify_all();
        self.shared.timer.notify_all();
        for w in wake {
            w.wake();
        }
        for id in release {
            self.shared.transport.release(id);
        }
        let timer = self.timer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = timer {
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.close();
    }
}

#[uniffi::export]
impl Reply {
    /// The answer head arrived: `status`, `headers`, and the body: empty for a 2xx answer
    /// to a call (kept for the app), else at most the request's `body_limit` bytes.
    pub fn response(&self, status: u16, headers: Vec<Header>, body: Vec<u8>) {
        if self.answered.swap(true, Ordering::SeqCst) {
            return;
        }
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let resp = pc::HttpResponse {
            status,
            headers: headers.into_iter().map(|h| (h.name, h.value)).collect(),
            body,
        };
        shared.answer(self.id, self.keeps_success, Ok(resp));
    }

    /// Same as [`Reply::response`] with the headers as one HTTP/1.1 header block
    /// (`Name: value` lines separated by `\r\n` or `\n`, UTF-8 or Latin-1): one argument
    /// instead of a list of records, which is much cheaper to pass from Python.
    pub fn response_head(&self, status: u16, head: Vec<u8>, body: Vec<u8>) {
        let headers = String::from_utf8_lossy(&head)
            .split('\n')
            .filter_map(|line| {
                let (name, value) = line.split_once(':')?;
                Some(Header {
                    name: name.trim().to_string(),
                    value: value.trim().to_string(),
                })
            })
            .collect();
        self.response(status, headers, body);
    }

    /// The request failed below HTTP, as the platform's failure maps onto the core's
    /// table (`polargrid_core` crate docs; interrupted: `Aborted`).
    pub fn failed(&self, error: TransportErrorKind) {
        if self.answered.swap(true, Ordering::SeqCst) {
            return;
        }
        if let Some(shared) = self.shared.upgrade() {
            shared.answer(
                self.id,
                self.keeps_success,
                Err(convert::transport_error(error)),
            );
        }
    }

    /// The request's id (the one in its `HttpRequest`).
    pub fn request_id(&self) -> u64 {
        self.id.0
    }
}

impl Drop for Reply {
    /// A reply the foreign side dropped unanswered (an exception in its transport) counts
    /// as `Aborted`, so the call retries or fails now instead of at its timeout.
    fn drop(&mut self) {
        if !self.answered.swap(true, Ordering::SeqCst) {
            if let Some(shared) = self.shared.upgrade() {
                shared.answer(
                    self.id,
                    self.keeps_success,
                    Err(pc::TransportErrorKind::Aborted),
                );
            }
        }
    }
}

/// The future behind [`Driver::wait`].
struct Wait {
    shared: Arc<Shared>,
    call: pc::CallId,
    done: bool,
}

impl Future for Wait {
    type Output = Result<CallResponse, PolarGridError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut st = self.shared.lock();
        if let Some(r) = self.shared.collect(&mut st, self.call) {
            st.wakers.remove(&self.call);
            drop(st);
            self.done = true;
            return Poll::Ready(r);
        }
        if st.closed {
            drop(st);
            self.done = true;
            return Poll::Ready(Err(convert::ended(pc::ErrorKind::Closed)));
        }
        st.wakers.insert(self.call, cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Wait {
    fn drop(&mut self) {
        if !self.done {
            self.shared.abandon(self.call, false);
        }
    }
}

#[cfg(test)]
impl Driver {
    /// How many times the timer slept, and when it plans to wake (driver clock, ms).
    pub(crate) fn timer_plan(&self) -> (u64, u64) {
        let st = self.shared.lock();
        (st.timer_parks, st.timer_wake)
    }

    /// The driver clock, ms.
    pub(crate) fn clock_ms(&self) -> u64 {
        self.shared.now().as_millis()
    }

    /// Moves the clock without a step, as a device that slept (nobody tells the driver).
    pub(crate) fn jump_clock_silently(&self, ms: i64) {
        self.shared.offset_ms.fetch_add(ms, Ordering::SeqCst);
    }
}
