//! The HTTP layer: one listener per role on 127.0.0.1, each with its own thread
//! blocked in `accept`, a thread per connection (HTTP/1.1 keep-alive), all
//! behaviour delegated to the [`Model`].
//!
//! A target put down is closed at once: its accept thread is woken (by a connection
//! of our own), drops the listener and is joined before the admin call returns, so
//! connects get `ECONNREFUSED`; its idle keep-alive connections are shut down, and a
//! busy one is closed after its answer. `up` rebinds the same port. Connections
//! refused this way never reach the emulator, so only requests that raced with the
//! close are logged as `refused` (see [`Outcome::Refuse`]).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

pub mod http;
mod wire;

use std::collections::HashMap;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::model::{
    Fault, LogEntry, Model, ModelConfig, ModelError, Outcome, RegionConfig, Request, Response,
    Role, StartupInfo, Target,
};

/// Most connections served at once; more are closed unanswered.
const MAX_CONNECTIONS: usize = 512;
/// How long a kept-alive connection may sit idle (longer than clients' own pool timeouts,
/// so a client never reuses a connection the emulator is closing) and how long one read
/// may block.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
const REQUEST_DEADLINE: Duration = Duration::from_secs(30);
/// Longest injected delay actually slept (one hour).
const MAX_DELAY_MS: u64 = 3_600_000;

/// How to start an [`Emulator`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmulatorConfig {
    /// Edge region ids, in routing preference order.
    pub regions: Vec<String>,
    /// Seed of keys, tokens and ids.
    pub seed: u64,
    /// Session JWT lifetime, seconds.
    pub jwt_ttl_s: u64,
    /// Refresh token lifetime, seconds.
    pub refresh_ttl_s: u64,
    /// `ttl` of route answers, seconds.
    pub route_ttl_s: u64,
    /// Answer the exchange with `token` instead of `session_token`.
    pub legacy_token_field: bool,
    /// Per-region model lists replacing the default (`llama-3.1-8b`, `qwen-2.5-7b`).
    pub region_models: Vec<(String, Vec<String>)>,
}

impl Default for EmulatorConfig {
    fn default() -> EmulatorConfig {
        let base = ModelConfig::default();
        EmulatorConfig {
            regions: base.regions.iter().map(|r| r.id.clone()).collect(),
            seed: base.seed,
            jwt_ttl_s: base.jwt_ttl_s,
            refresh_ttl_s: base.refresh_ttl_s,
            route_ttl_s: base.route_ttl_s,
            legacy_token_field: false,
            region_models: Vec::new(),
        }
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(ErrorKind::InvalidInput, msg)
}

/// A listener's accept thread and how to stop it.
struct Acceptor {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

struct Slot {
    role: Role,
    addr: SocketAddr,
    acceptor: Option<Acceptor>,
}

/// An open connection: a handle to shut it down, and whether it is between requests.
struct Conn {
    role: Role,
    stream: TcpStream,
    idle: bool,
}

struct Shared {
    model: Mutex<Model>,
    slots: Mutex<Vec<Slot>>,
    conns: Mutex<HashMap<u64, Conn>>,
    next_conn: AtomicU64,
    shutdown: AtomicBool,
    connections: AtomicUsize,
    wire: Mutex<wire::WireState>,
    /// The trap listener's URL (where a `redirect` wire fault points).
    trap_url: String,
}

/// Unix milliseconds of the real clock.
fn real_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn bind_local() -> io::Result<TcpListener> {
    TcpListener::bind(("127.0.0.1", 0))
}

/// Starts the thread that accepts connections on `listener` until told to stop.
fn start_acceptor(shared: &Arc<Shared>, role: &Role, listener: TcpListener) -> Option<Acceptor> {
    let stop = Arc::new(AtomicBool::new(false));
    let (s, r, st) = (Arc::clone(shared), role.clone(), Arc::clone(&stop));
    let thread = thread::Builder::new()
        .name("pg-emu-accept".to_string())
        .spawn(move || {
            for stream in listener.incoming() {
                if st.load(Ordering::SeqCst) || s.shutdown.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    spawn_connection(&s, r.clone(), stream);
                }
            }
            // `listener` is dropped here: the port refuses connections from now on.
        })
        .ok()?;
    Some(Acceptor { stop, thread })
}

/// Stops an accept thread and waits until its listener is closed.
fn stop_acceptor(addr: SocketAddr, acceptor: Acceptor) {
    acceptor.stop.store(true, Ordering::SeqCst);
    // Wake the blocked `accept` with a connection of our own.
    if TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok() {
        let _ = acceptor.thread.join();
    }
}

impl Shared {
    fn model(&self) -> MutexGuard<'_, Model> {
        self.model.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn slots(&self) -> MutexGuard<'_, Vec<Slot>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn conns(&self) -> MutexGuard<'_, HashMap<u64, Conn>> {
        self.conns.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wire(&self) -> MutexGuard<'_, wire::WireState> {
        self.wire.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn trap_url(&self) -> &str {
        &self.trap_url
    }

    fn is_down(&self, role: &Role) -> bool {
        role.target()
            .is_some_and(|t| self.model().down_targets().contains(&t))
    }

    /// Closes the listeners (and idle connections) of down targets and rebinds those
    /// back up.
    fn sync_listeners(self: &Arc<Self>) {
        let mut down = self.model().down_targets();
        let blackholed = self.wire().blackholed.clone();
        let mut slots = self.slots();
        for slot in slots.iter_mut() {
            let Some(target) = slot.role.target() else {
                continue;
            };
            let want_down = down.contains(&target);
            let want_hole = !want_down && blackholed.contains(&target);
            if want_down || want_hole {
                if let Some(acceptor) = slot.acceptor.take() {
                    stop_acceptor(slot.addr, acceptor);
                }
            }
            let mut w = self.wire();
            if !want_hole {
                w.holes.remove(&target); // closes the backlog-0 listener and its filler
            } else if !w.holes.contains_key(&target) {
                if let Ok(hole) = wire::blackhole(slot.addr) {
                    w.holes.insert(target.clone(), hole);
                }
            }
            drop(w);
            if !want_down && !want_hole && slot.acceptor.is_none() {
                // Fails only if another process took the port meanwhile; retried at the
                // next admin call.
                if let Ok(l) = TcpListener::bind(slot.addr) {
                    slot.acceptor = start_acceptor(self, &slot.role, l);
                }
            }
        }
        drop(slots);
        down.extend(blackholed);
        for conn in self.conns().values() {
            let down = conn.role.target().is_some_and(|t| down.contains(&t));
            if down && conn.idle {
                let _ = conn.stream.shutdown(Shutdown::Both);
            }
        }
    }

    /// Sleeps `ms`, waking early (and answering `false`) on shutdown.
    fn sleep_unless_shutdown(&self, ms: u64) -> bool {
        // Capped so that any `delay_ms` is safe to add to an `Instant`.
        let until = Instant::now() + Duration::from_millis(ms.min(MAX_DELAY_MS));
        loop {
            if self.shutdown.load(Ordering::SeqCst) {
                return false;
            }
            let now = Instant::now();
            if now >= until {
                return true;
            }
            thread::sleep((until - now).min(Duration::from_millis(10)));
        }
    }
}

/// Unregisters a connection and decrements the count when its thread ends.
struct ConnectionGuard(Arc<Shared>, u64);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.conns().remove(&self.1);
        self.0.connections.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Reads and discards what the client still sends (bounded), so closing does
/// not reset the connection before it has read an error answer.
fn linger(stream: &mut TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let until = Instant::now() + Duration::from_secs(1);
    let mut buf = [0u8; 16 * 1024];
    let mut total = 0usize;
    while Instant::now() < until && total < 4 * http::MAX_BODY {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
    }
}

/// Serves requests on one connection until either side closes it.
fn serve_connection(shared: &Arc<Shared>, id: u64, role: &Role, mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let _ = stream.set_write_timeout(Some(READ_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let mut carry = Vec::new();
    loop {
        let deadline = Instant::now() + READ_TIMEOUT + REQUEST_DEADLINE;
        let read = http::read_request_on(&mut stream, &mut carry, deadline);
        let busy = shared
            .conns()
            .get_mut(&id)
            .map(|c| c.idle = false)
            .is_some();
        if !busy || shared.shutdown.load(Ordering::SeqCst) {
            return; // shut down while idle
        }
        let (request, keep_alive) = match read {
            Ok(r) => r,
            Err(http::ReadError::Closed) => return,
            Err(http::ReadError::Reject(status, message)) => {
                let resp = {
                    let m = shared.model();
                    m.error_response(m.server_time(real_now_ms()), role, status, &message)
                };
                let _ = http::write_response(&mut stream, &resp);
                linger(&mut stream);
                return;
            }
        };
        if !serve_request(shared, role, &mut stream, &request, keep_alive) {
            return;
        }
        if let Some(c) = shared.conns().get_mut(&id) {
            c.idle = true;
        }
        if shared.is_down(role) || shared.shutdown.load(Ordering::SeqCst) {
            return;
        }
    }
}

/// The model's answer to `req` after any injected delay, or `None` when the target
/// refused it (the connection is shut) or the emulator is shutting down.
fn model_answer(shared: &Arc<Shared>, role: &Role, req: &Request) -> Option<Response> {
    let outcome = {
        let mut m = shared.model();
        let now = m.server_time(real_now_ms());
        m.handle(now, role, req)
    };
    match outcome {
        Outcome::Refuse => {
            shared.sync_listeners();
            None
        }
        Outcome::Respond(r) => Some(r),
        Outcome::Delay(ms, r) => shared.sleep_unless_shutdown(ms).then_some(r),
    }
}

/// Answers one request; whether the connection stays open for the next.
fn serve_request(
    shared: &Arc<Shared>,
    role: &Role,
    stream: &mut TcpStream,
    request: &Request,
    keep_alive: bool,
) -> bool {
    if *role == Role::Admin {
        if let Some(resp) = wire::admin(shared, request) {
            return http::write_response_on(stream, &resp, keep_alive).unwrap_or(false);
        }
    }
    if let Some(kind) = wire::take(shared, role, request) {
        return wire::serve(shared, role, stream, request, kind, keep_alive);
    }
    let outcome = {
        let mut m = shared.model();
        let now = m.server_time(real_now_ms());
        m.handle(now, role, request)
    };
    if *role == Role::Admin {
        shared.sync_listeners();
    }
    let resp = match outcome {
        Outcome::Refuse => {
            shared.sync_listeners();
            let _ = stream.shutdown(Shutdown::Both);
            return false;
        }
        Outcome::Respond(r) => r,
        Outcome::Delay(ms, r) => {
            if !shared.sleep_unless_shutdown(ms) {
                return false;
            }
            r
        }
    };
    match http::write_response_on(stream, &resp, keep_alive) {
        Ok(true) => true,
        _ => {
            let _ = stream.flush();
            let _ = stream.shutdown(Shutdown::Write);
            false
        }
    }
}

fn spawn_connection(shared: &Arc<Shared>, role: Role, stream: TcpStream) {
    if shared.shutdown.load(Ordering::SeqCst) {
        return;
    }
    if shared.connections.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
        shared.connections.fetch_sub(1, Ordering::SeqCst);
        return; // dropping the stream closes it
    }
    let id = shared.next_conn.fetch_add(1, Ordering::SeqCst);
    if let Ok(handle) = stream.try_clone() {
        shared.conns().insert(
            id,
            Conn {
                role: role.clone(),
                stream: handle,
                idle: true,
            },
        );
    }
    let guard = ConnectionGuard(Arc::clone(shared), id);
    let spawned = thread::Builder::new()
        .name("pg-emu-conn".to_string())
        .spawn(move || {
            let guard = guard;
            serve_connection(&guard.0, guard.1, &role, stream);
        });
    // On spawn failure the closure (guard and stream) is dropped: count restored, stream closed.
    drop(spawned);
}

/// A running emulator: listeners on 127.0.0.1, served by background threads.
/// Dropping it closes every listener and stops the threads.
pub struct Emulator {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator").finish_non_exhaustive()
    }
}

impl Emulator {
    /// Binds every listener (ports chosen by the OS) and starts serving.
    pub fn start(cfg: EmulatorConfig) -> io::Result<Emulator> {
        if cfg.regions.is_empty() {
            return Err(invalid("at least one region is required".to_string()));
        }
        for (i, id) in cfg.regions.iter().enumerate() {
            let ok = id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if id.is_empty()
                || !ok
                || cfg
                    .regions
                    .get(..i)
                    .is_some_and(|before| before.contains(id))
            {
                return Err(invalid(format!("bad or duplicate region id {id:?}")));
            }
        }
        let url = |l: &TcpListener| l.local_addr().map(|a| format!("http://{a}"));
        let mut listeners = Vec::new();
        let mut add = |role: Role| -> io::Result<String> {
            let listener = bind_local()?;
            let u = url(&listener)?;
            listeners.push((role, listener));
            Ok(u)
        };
        let mut model_cfg = ModelConfig::new(&[]);
        model_cfg.seed = cfg.seed;
        model_cfg.autorouter_url = add(Role::Autorouter)?;
        model_cfg.auth_url = add(Role::Auth)?;
        model_cfg.admin_url = add(Role::Admin)?;
        for id in &cfg.regions {
            let mut region = RegionConfig::known(id, &add(Role::Edge(id.clone()))?);
            if let Some((_, models)) = cfg.region_models.iter().find(|(r, _)| r == id) {
                region.models = models.clone();
            }
            model_cfg.regions.push(region);
        }
        let trap = bind_local()?;
        let trap_url = url(&trap)?;
        listeners.push((Role::Trap, trap));
        model_cfg.jwt_ttl_s = cfg.jwt_ttl_s;
        model_cfg.refresh_ttl_s = cfg.refresh_ttl_s;
        model_cfg.route_ttl_s = cfg.route_ttl_s;
        model_cfg.legacy_token_field = cfg.legacy_token_field;
        let shared = Arc::new(Shared {
            model: Mutex::new(Model::new(model_cfg)),
            slots: Mutex::new(Vec::new()),
            conns: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(0),
            shutdown: AtomicBool::new(false),
            connections: AtomicUsize::new(0),
            wire: Mutex::new(wire::WireState::default()),
            trap_url,
        });
        let emulator = Emulator {
            shared: Arc::clone(&shared),
        };
        for (role, listener) in listeners {
            let addr = listener.local_addr()?;
            let acceptor = start_acceptor(&shared, &role, listener)
                .ok_or_else(|| io::Error::other("cannot start an accept thread"))?;
            shared.slots().push(Slot {
                role,
                addr,
                acceptor: Some(acceptor),
            });
        }
        Ok(emulator)
    }

    /// The startup information (URLs, regions, keys, lifetimes).
    pub fn info(&self) -> StartupInfo {
        self.shared.model().info()
    }

    /// Runs `f` on the model (then reconciles listeners with down targets).
    pub fn with_model<R>(&self, f: impl FnOnce(&mut Model) -> R) -> R {
        let r = f(&mut self.shared.model());
        self.shared.sync_listeners();
        r
    }

    /// The current server time (real clock + offset), Unix ms.
    pub fn server_now_ms(&self) -> u64 {
        self.shared.model().server_time(real_now_ms())
    }

    /// Injects a fault (`Down` closes the target's listener before returning).
    pub fn inject(&self, target: &Target, fault: Fault) -> Result<(), ModelError> {
        self.with_model(|m| m.inject(target, fault))
    }

    /// Puts `target` down (connections refused) or back up on the same port.
    pub fn set_down(&self, target: &Target, down: bool) -> Result<(), ModelError> {
        self.with_model(|m| m.set_down(target, down))
    }

    /// Moves the server clock by `ms`.
    pub fn advance_clock_ms(&self, ms: i64) {
        self.with_model(|m| m.advance_clock_ms(ms));
    }

    /// Sets the server clock offset.
    pub fn set_clock_offset_ms(&self, ms: i64) {
        self.with_model(|m| m.set_clock_offset_ms(ms));
    }

    /// Revokes one session family; whether it existed.
    pub fn revoke_session(&self, session_id: &str) -> bool {
        self.with_model(|m| m.revoke_session(session_id))
    }

    /// Revokes every session; how many were active.
    pub fn revoke_all_sessions(&self) -> usize {
        self.with_model(Model::revoke_all_sessions)
    }

    /// Revokes a key and its sessions; whether it existed.
    pub fn revoke_key(&self, key: &str) -> bool {
        self.with_model(|m| m.revoke_key(key))
    }

    /// Sets the models a region serves.
    pub fn set_region_models(&self, region: &str, models: Vec<String>) -> Result<(), ModelError> {
        self.with_model(|m| m.set_region_models(region, models))
    }

    /// Back to the startup state (same keys and ports).
    pub fn reset(&self) {
        self.with_model(Model::reset);
    }

    /// A copy of the request log.
    pub fn log(&self) -> Vec<LogEntry> {
        self.shared.model().log().to_vec()
    }

    /// Empties the request log.
    pub fn clear_log(&self) {
        self.shared.model().clear_log();
    }

    /// Non-`OPTIONS` requests `role` received on `path`.
    pub fn count(&self, role: &Role, path: &str) -> usize {
        self.shared.model().log().count(role, path)
    }

    /// Connections accepted and not yet finished.
    pub fn open_connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Stops serving (same as dropping).
    pub fn shutdown(self) {}
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        let slots = std::mem::take(&mut *self.shared.slots());
        for slot in slots {
            if let Some(acceptor) = slot.acceptor {
                stop_acceptor(slot.addr, acceptor);
            }
        }
        for conn in self.shared.conns().values() {
            let _ = conn.stream.shutdown(Shutdown::Both);
        }
    }
}
