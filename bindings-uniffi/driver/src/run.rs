//! The run loop: the core behind a lock, a timer thread that sleeps until the core's next
//! deadline, sends handed to the [`Transport`], answers fed back through [`Reply`], and
//! call endings delivered to blocking or async waiters.
//!
//! Nothing of the transport or the listener is ever called while the lock is held: each
//! step collects what to send, release and announce, drops the lock, then calls out
//! ([`Flush`]).

use std::collections::hash_map::Entry;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use polargrid_core as pc;

use crate::{Answer, Ending, Ids, Listener, Ready, Reply, StartError, Transport};

/// How a call ended, until its waiter collects it.
enum End {
    Ready(pc::RequestId, Option<String>),
    Failed(pc::CallError),
    Cancelled,
    Closed,
}

#[derive(Default)]
struct Flush {
    /// The requests to send, in order: the first held in place (a step usually sends
    /// one, and a vector of one was an allocation per call), the rest after it.
    first: Option<(pc::HttpRequest, Reply)>,
    send: Vec<(pc::HttpRequest, Reply)>,
    release: Vec<pc::RequestId>,
    events: bool,
    wake: Vec<Waker>,
    notify: bool,
    kick_timer: bool,
    /// The request of the last call this step found ready (its kept body is claimed).
    readied: Option<pc::RequestId>,
}

impl Flush {
    fn is_idle(&self) -> bool {
        self.first.is_none() && self.release.is_empty() && self.wake.is_empty() && !self.events
    }

    /// Takes the request of `call` out of the sends (the others keep their order).
    #[inline]
    fn take_call(&mut self, call: pc::CallId) -> Option<(pc::HttpRequest, Reply)> {
        let mine = |r: &pc::HttpRequest| r.purpose == pc::Purpose::Call(call);
        if self.first.as_ref().is_some_and(|(r, _)| mine(r)) {
            let taken = self.first.take();
            if !self.send.is_empty() {
                self.first = Some(self.send.remove(0));
            }
            return taken;
        }
        let i = self.send.iter().position(|(r, _)| mine(r))?;
        Some(self.send.remove(i))
    }
}

struct State {
    core: pc::Client,
    /// Calls started and not yet collected or abandoned, by call id, each with its
    /// ending once it has one (`None`: still open). A ready one names the request whose
    /// 2xx body the transport keeps until claimed or released (the only kept bodies: one
    /// no call claims is released at once). (One map, not a set of the open calls and a
    /// map of the endings: two hash-map operations a call fewer.)
    calls: Ids<pc::CallId, Option<End>>,
    /// Wakers of async waiters, by call id.
    wakers: Ids<pc::CallId, Waker>,
    /// The bodies of open calls, attached to each of their requests.
    bodies: Ids<pc::CallId, Vec<u8>>,
    /// App events to deliver, in order.
    events: VecDeque<pc::Event>,
    /// When the timer thread plans to wake (driver clock, ms; `u64::MAX`: not until
    /// kicked, nothing is due).
    timer_wake: u64,
    /// How many times the timer thread went to sleep.
    timer_parks: u64,
    /// The driver clock and the monotonic clock when last read together: a gap between
    /// how far each moved since is a clock jump (device sleep, a clock correction,
    /// `advance_clock`; see `catch_up`).
    seen: (u64, Instant),
    /// Blocking waiters parked on `changed`.
    waiters: usize,
    closed: bool,
}

struct Shared<T: Transport> {
    state: Mutex<State>,
    /// Signalled whenever a call ends (blocking waiters).
    changed: Condvar,
    /// Signalled when the core's next deadline moved earlier than the timer's plan.
    timer: Condvar,
    /// Serialises event delivery so the listener sees events in the core's order.
    delivery: Mutex<()>,
    transport: T,
    listener: Option<Listener>,
    offset_ms: AtomicI64,
    self_ref: Weak<Shared<T>>,
}

/// The client: the core plus the run loop. Thread-safe; share one per app (or per
/// account). Dropping it closes it.
pub struct Driver<T: Transport> {
    shared: Arc<Shared<T>>,
    timer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// How far the driver clock may drift from the monotonic one between two reads before it
/// counts as a jump.
const CLOCK_JUMP_MS: i128 = 1000;

#[inline]
fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[inline]
fn clock(offset_ms: i64) -> pc::Timestamp {
    pc::Timestamp::from_millis(wall_ms()).offset(offset_ms)
}

impl<T: Transport> Shared<T> {
    #[inline]
    fn now(&self) -> pc::Timestamp {
        clock(self.offset_ms.load(Ordering::SeqCst))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes what the core wants done; call with the lock held, then [`Shared::flush`]
    /// without it. A closed driver sends nothing more.
    fn pump(&self, st: &mut State, now: pc::Timestamp, out: &mut Flush) {
        if st.closed {
            return;
        }
        while let Some(mut req) = st.core.poll_request(now) {
            let answer: Weak<dyn Answer> = self.self_ref.clone();
            let reply = Reply {
                driver: answer,
                id: req.id,
                keeps_success: !req.purpose.core_owned(),
                answered: AtomicBool::new(false),
            };
            // (The maps are often empty: a call without a body, no async waiter. An
            // empty map is not searched.)
            match req.purpose {
                pc::Purpose::Call(c) if !st.bodies.is_empty() => {
                    req.body = st.bodies.get(&c).cloned();
                }
                _ => {}
            }
            match out.first {
                None => out.first = Some((req, reply)),
                Some(_) => out.send.push((req, reply)),
            }
        }
        while let Some(ev) = st.core.poll_event() {
            let ended = match ev {
                pc::Event::CallReady {
                    call,
                    request,
                    region,
                } => {
                    out.readied = Some(request);
                    Some((call, End::Ready(request, region)))
                }
                pc::Event::CallFailed { call, error } => Some((call, End::Failed(error))),
                pc::Event::CallCancelled { call } => Some((call, End::Cancelled)),
                pc::Event::Abort { request } => {
                    out.release.push(request);
                    None
                }
                other => {
                    if self.listener.is_some() {
                        st.events.push_back(other);
                        out.events = true;
                    }
                    None
                }
            };
            if let Some((call, ending)) = ended {
                if !st.bodies.is_empty() {
                    st.bodies.remove(&call);
                }
                // An abandoned call's ending is collected by nobody (nor is one that
                // has ended already: the `Cancelled` an abandoning waiter left).
                if let Some(slot @ None) = st.calls.get_mut(&call) {
                    *slot = Some(ending);
                }
                if let Some(w) = (!st.wakers.is_empty())
                    .then(|| st.wakers.remove(&call))
                    .flatten()
                {
                    out.wake.push(w);
                }
                // Only a parked blocking waiter needs the signal (a syscall).
                out.notify |= st.waiters > 0;
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
        // (A call's answer usually leaves nothing to do here.)
        if out.is_idle() && !out.notify && !out.kick_timer {
            return;
        }
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
        for (req, reply) in out.first.into_iter().chain(out.send) {
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
                l(ev);
            }
        }
    }

    /// Tells the core what time it is before anything else happens: a deadline that
    /// passed (the app was asleep, the clock jumped) is handled now, so the first call
    /// after a resume sees the truth; a jump replans the timer, whose sleep was measured
    /// on the monotonic clock.
    ///
    /// The monotonic clock is read only when the driver clock moved back, or forward by
    /// more than [`CLOCK_JUMP_MS`], since the last pair of readings (`seen`): within that
    /// no forward jump can hide, and a backward one only wakes the timer early (it looks
    /// again then). A call's two steps then read one clock each, not two.
    #[inline]
    fn catch_up(&self, st: &mut State, now: pc::Timestamp, out: &mut Flush) {
        let (wall0, mono0) = st.seen;
        let moved = i128::from(now.as_millis()) - i128::from(wall0);
        if !(0..=CLOCK_JUMP_MS).contains(&moved) {
            let mono = Instant::now();
            st.seen = (now.as_millis(), mono);
            let elapsed =
                i128::try_from(mono.duration_since(mono0).as_millis()).unwrap_or(i128::MAX);
            if (moved - elapsed).abs() > CLOCK_JUMP_MS {
                out.kick_timer = true;
            }
        }
        if st.core.poll_timeout().is_some_and(|at| at <= now) {
            st.core.handle_timeout(now);
        }
    }

    /// Runs `f` on the core, then does what it asked for.
    fn step<R>(&self, f: impl FnOnce(&mut State, pc::Timestamp) -> R) -> R {
        let mut out = Flush::default();
        let value = {
            let mut st = self.lock();
            let now = self.now();
            self.catch_up(&mut st, now, &mut out);
            let v = f(&mut st, now);
            self.pump(&mut st, now, &mut out);
            v
        };
        self.flush(out);
        value
    }

    /// Collects a call's ending, if it has one.
    #[inline]
    fn collect(&self, st: &mut State, call: pc::CallId) -> Option<Ending> {
        let ending = match st.calls.entry(call) {
            Entry::Occupied(e) if e.get().is_some() => e.remove()?,
            _ => return None,
        };
        Some(match ending {
            End::Ready(request, region) => Ok(Ready {
                call,
                request,
                region,
            }),
            End::Failed(e) => Err(e),
            End::Cancelled => Err(pc::CallError::local(pc::ErrorKind::Cancelled)),
            End::Closed => Err(pc::CallError::local(pc::ErrorKind::Closed)),
        })
    }

    /// Gives up on `call`: cancels it in the core, or drops its answer if it already came.
    /// `tell_waiter`: an async waiter still parked on the call (the app cancelled it from
    /// elsewhere, as Swift's cancellation does) is woken and collects `Cancelled`; a waiter
    /// that is itself giving up (its future dropped) passes `false`.
    fn abandon(&self, call: pc::CallId, tell_waiter: bool) -> bool {
        let (known, kept, waker) = self.step(|st, now| {
            let waker = st.wakers.remove(&call);
            let (known, kept) = match st.calls.remove(&call) {
                Some(Some(End::Ready(req, _))) => (true, Some(req)),
                Some(Some(_)) => (true, None),
                open => {
                    st.bodies.remove(&call);
                    st.core.cancel_call(now, call);
                    (open.is_some(), None)
                }
            };
            let waker = waker.filter(|_| tell_waiter && known);
            if waker.is_some() {
                st.calls.insert(call, Some(End::Cancelled));
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
                self.pump(&mut st, now, &mut out);
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

impl<T: Transport> Answer for Shared<T> {
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
                    out.release.push(id);
                }
            } else {
                // An unknown id means the core already gave up on it: nothing to do.
                let _ = match result {
                    Ok(resp) => st.core.handle_response(now, id, resp),
                    Err(kind) => st.core.handle_transport_error(now, id, kind),
                };
                self.pump(&mut st, now, &mut out);
                // A kept body no call claimed (the core had abandoned the request). Its
                // call is ready in this step in the usual case: no search then.
                let claimed = |st: &State| {
                    out.readied == Some(id)
                        || st
                            .calls
                            .values()
                            .any(|e| matches!(e, Some(End::Ready(r, _)) if *r == id))
                };
                if kept && !claimed(&st) {
                    out.release.push(id);
                }
            }
        }
        self.flush(out);
    }
}

impl<T: Transport> Driver<T> {
    /// Runs `core` with `transport`: starts one timer thread that lives until
    /// [`Driver::close`] (or the driver is dropped). `clock_offset_ms` moves this
    /// driver's clock from the system's (tests and demos); `listener` hears the app's
    /// events. Fails only if the timer thread cannot be started.
    pub fn new(
        core: pc::Client,
        transport: T,
        listener: Option<Listener>,
        clock_offset_ms: i64,
    ) -> std::io::Result<Self> {
        let shared = Arc::new_cyclic(|me| Shared {
            state: Mutex::new(State {
                core,
                calls: Ids::default(),
                wakers: Ids::default(),
                bodies: Ids::default(),
                events: VecDeque::new(),
                timer_wake: 0,
                timer_parks: 0,
                seen: (clock(clock_offset_ms).as_millis(), Instant::now()),
                waiters: 0,
                closed: false,
            }),
            changed: Condvar::new(),
            timer: Condvar::new(),
            delivery: Mutex::new(()),
            transport,
            listener,
            offset_ms: AtomicI64::new(clock_offset_ms),
            self_ref: me.clone(),
        });
        let s = Arc::clone(&shared);
        let timer = std::thread::Builder::new()
            .name("polargrid-timer".to_string())
            .spawn(move || s.timer_loop())?;
        Ok(Driver {
            shared,
            timer: Mutex::new(Some(timer)),
        })
    }

    /// The transport (to claim a kept success body by its request id).
    pub fn transport(&self) -> &T {
        &self.shared.transport
    }

    /// Starts an app call and returns its id at once. `body` travels with every request
    /// of the call (the driver holds it until the call ends), so sends may begin before
    /// this returns. Then [`wait`](Driver::wait) or [`wait_blocking`](Driver::wait_blocking).
    pub fn start(
        &self,
        spec: pc::CallSpec,
        body: Option<Vec<u8>>,
    ) -> Result<pc::CallId, StartError> {
        self.shared.step(|st, now| open_call(st, now, spec, body))
    }

    /// [`start`](Driver::start), with the call's first request, when the start sends it,
    /// handed back instead of to the transport: the caller sends it and answers its
    /// [`Reply`] exactly as a transport would (a blocking caller that would only wait for
    /// it sends it on its own thread: no thread, no switch). Every other request goes to
    /// the transport, before this returns.
    pub fn start_here(
        &self,
        spec: pc::CallSpec,
        body: Option<Vec<u8>>,
    ) -> (
        Result<pc::CallId, StartError>,
        Option<(pc::HttpRequest, Reply)>,
    ) {
        let sh = &self.shared;
        let mut out = Flush::default();
        let (started, first) = {
            let mut st = sh.lock();
            let now = sh.now();
            sh.catch_up(&mut st, now, &mut out);
            let started = open_call(&mut st, now, spec, body);
            sh.pump(&mut st, now, &mut out);
            let first = started.as_ref().ok().and_then(|&c| out.take_call(c));
            (started, first)
        };
        sh.flush(out);
        (started, first)
    }

    /// Waits for the call's ending (async). Dropping the future before it ends (task
    /// cancelled) cancels the call.
    pub fn wait(&self, call: pc::CallId) -> Wait<T> {
        Wait {
            shared: Arc::clone(&self.shared),
            call,
            done: false,
        }
    }

    /// Waits up to `timeout` for the call's ending on this thread; `None` if it has not
    /// ended yet (then wait again, or [`cancel`](Driver::cancel) it).
    pub fn wait_blocking(&self, call: pc::CallId, timeout: Duration) -> Option<Ending> {
        let mut st = self.shared.lock();
        // A call that has ended already (its first attempt ran on the caller's thread)
        // costs no clock read.
        if let Some(r) = self.shared.collect(&mut st, call) {
            return Some(r);
        }
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(r) = self.shared.collect(&mut st, call) {
                return Some(r);
            }
            if st.closed {
                return Some(Err(pc::CallError::local(pc::ErrorKind::Closed)));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            st.waiters += 1;
            st = self
                .shared
                .changed
                .wait_timeout(st, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
            st.waiters -= 1;
        }
    }

    /// Cancels a call (an async waiter parked in `wait` is woken with `Cancelled`; an
    /// answer already kept is released; a later `wait_blocking` finds nothing). Returns
    /// `false` if it had already ended and been collected.
    pub fn cancel(&self, call: pc::CallId) -> bool {
        self.shared.abandon(call, true)
    }

    /// Runs `f` on the core (hand-over, restore, logout, status), then sends what it
    /// asked for.
    pub fn with_core<R>(&self, f: impl FnOnce(&mut pc::Client, pc::Timestamp) -> R) -> R {
        self.shared.step(|st, now| f(&mut st.core, now))
    }

    /// Reads the core without moving it (no step, nothing sent).
    pub fn peek<R>(&self, f: impl FnOnce(&pc::Client) -> R) -> R {
        f(&self.shared.lock().core)
    }

    /// How far this driver's clock has been moved from the system clock, ms.
    pub fn clock_offset_ms(&self) -> i64 {
        self.shared.offset_ms.load(Ordering::SeqCst)
    }

    /// The driver clock.
    pub fn now(&self) -> pc::Timestamp {
        self.shared.now()
    }

    /// Moves this driver's clock by `ms` and tells the core (tests and demos: expire a
    /// JWT without waiting).
    pub fn advance_clock(&self, ms: i64) {
        self.shared.offset_ms.fetch_add(ms, Ordering::SeqCst);
        self.shared.step(|st, now| st.core.handle_timeout(now));
    }

    /// Stops the timer, ends every open call with `Closed` and releases every kept body.
    /// Idempotent; the driver sends nothing more and refuses new calls afterwards.
    /// Requests still in flight are the transport's to stop.
    pub fn close(&self) {
        let mut release = Vec::new();
        let mut wake = Vec::new();
        {
            let mut st = self.shared.lock();
            if !st.closed {
                st.closed = true;
                let now = self.shared.now();
                let st = &mut *st;
                for (c, ending) in &mut st.calls {
                    if ending.is_none() {
                        st.core.cancel_call(now, *c);
                        *ending = Some(End::Closed);
                    }
                }
                while st.core.poll_event().is_some() {}
                st.bodies.clear();
                // The kept bodies of ready calls nobody collected.
                release.extend(st.calls.values().filter_map(|e| match e {
                    Some(End::Ready(r, _)) => Some(*r),
                    _ => None,
                }));
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

#[cfg(test)]
impl<T: Transport> Driver<T> {
    /// Moves the clock by `ms` without a step, as a device that slept (nobody tells the
    /// driver): the next step must notice.
    pub(crate) fn jump_clock_silently(&self, ms: i64) {
        self.shared.offset_ms.fetch_add(ms, Ordering::SeqCst);
    }

    /// How many times the timer thread slept, and when it plans to wake (driver clock,
    /// ms; `u64::MAX`: nothing is due).
    pub(crate) fn timer_plan(&self) -> (u64, u64) {
        let st = self.shared.lock();
        (st.timer_parks, st.timer_wake)
    }
}

impl<T: Transport> Drop for Driver<T> {
    fn drop(&mut self) {
        self.close();
    }
}

/// Starts an app call in the core and holds its body for its requests.
#[inline]
fn open_call(
    st: &mut State,
    now: pc::Timestamp,
    spec: pc::CallSpec,
    body: Option<Vec<u8>>,
) -> Result<pc::CallId, StartError> {
    if st.closed {
        return Err(StartError::Closed);
    }
    let c = st.core.start_call(now, spec).map_err(StartError::Refused)?;
    st.calls.insert(c, None);
    if let Some(b) = body {
        st.bodies.insert(c, b);
    }
    Ok(c)
}

/// The future behind [`Driver::wait`].
pub struct Wait<T: Transport> {
    shared: Arc<Shared<T>>,
    call: pc::CallId,
    done: bool,
}

impl<T: Transport> Future for Wait<T> {
    type Output = Ending;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Ending> {
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
            return Poll::Ready(Err(pc::CallError::local(pc::ErrorKind::Closed)));
        }
        st.wakers.insert(self.call, cx.waker().clone());
        Poll::Pending
    }
}

impl<T: Transport> Drop for Wait<T> {
    fn drop(&mut self) {
        if !self.done {
            self.shared.abandon(self.call, false);
        }
    }
}
