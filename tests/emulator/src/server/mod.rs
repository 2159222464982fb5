//! The HTTP layer: one listener per role on 127.0.0.1, a thread per connection,
//! all behaviour delegated to the [`Model`].
//!
//! Listeners are polled (non-blocking accept, 2 ms idle sleep) by one thread, so
//! a target put down is closed at once (connects get `ECONNREFUSED`) and brought
//! back by rebinding the same port. Connections refused this way never reach
//! the emulator, so only requests that raced with the close are logged as
//! `refused` (see [`Outcome::Refuse`]).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

pub mod http;

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::model::{
    Fault, LogEntry, Model, ModelConfig, ModelError, Outcome, RegionConfig, Role, StartupInfo,
    Target,
};

/// Most connections served at once; more are closed unanswered.
const MAX_CONNECTIONS: usize = 256;
const IDLE_POLL: Duration = Duration::from_millis(2);
const READ_TIMEOUT: Duration = Duration::from_secs(10);
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

struct Slot {
    role: Role,
    addr: SocketAddr,
    listener: Option<TcpListener>,
}

struct Shared {
    model: Mutex<Model>,
    slots: Mutex<Vec<Slot>>,
    shutdown: AtomicBool,
    connections: AtomicUsize,
}

/// Unix milliseconds of the real clock.
fn real_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn bind_local() -> io::Result<TcpListener> {
    let listener = TcpListener::bind(("127.0.0.1", 0))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

impl Shared {
    fn model(&self) -> MutexGuard<'_, Model> {
        self.model.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn slots(&self) -> MutexGuard<'_, Vec<Slot>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Closes the listeners of down targets and rebinds those back up.
    fn sync_listeners(&self) {
        let down = self.model().down_targets();
        for slot in self.slots().iter_mut() {
            let Some(target) = slot.role.target() else {
                continue;
            };
            let want_down = down.contains(&target);
            if want_down && slot.listener.is_some() {
                slot.listener = None;
            } else if !want_down && slot.listener.is_none() {
                // Fails only if another process took the port meanwhile; retried later.
                if let Ok(l) = TcpListener::bind(slot.addr) {
                    if l.set_nonblocking(true).is_ok() {
                        slot.listener = Some(l);
                    }
                }
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

/// Decrements the connection count when a connection thread ends.
struct ConnectionGuard(Arc<Shared>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
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

fn serve_connection(shared: &Shared, role: &Role, mut stream: TcpStream) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let _ = stream.set_write_timeout(Some(READ_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let request = match http::read_request(&mut stream, Instant::now() + REQUEST_DEADLINE) {
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
    let outcome = {
        let mut m = shared.model();
        let now = m.server_time(real_now_ms());
        m.handle(now, role, &request)
    };
    if *role == Role::Admin {
        shared.sync_listeners();
    }
    let resp = match outcome {
        Outcome::Refuse => {
            shared.sync_listeners();
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        Outcome::Respond(r) => r,
        Outcome::Delay(ms, r) => {
            if !shared.sleep_unless_shutdown(ms) {
                return;
            }
            r
        }
    };
    let _ = http::write_response(&mut stream, &resp);
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Write);
}

fn spawn_connection(shared: &Arc<Shared>, role: Role, stream: TcpStream) {
    if shared.connections.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
        shared.connections.fetch_sub(1, Ordering::SeqCst);
        return; // dropping the stream closes it
    }
    let guard = ConnectionGuard(Arc::clone(shared));
    let spawned = thread::Builder::new()
        .name("pg-emu-conn".to_string())
        .spawn(move || {
            let guard = guard;
            serve_connection(&guard.0, &role, stream);
        });
    // On spawn failure the closure (guard and stream) is dropped: count restored, stream closed.
    drop(spawned);
}

fn poll_listeners(shared: &Arc<Shared>) {
    let mut last_sync = Instant::now();
    while !shared.shutdown.load(Ordering::SeqCst) {
        let mut accepted = Vec::new();
        for slot in shared.slots().iter() {
            let Some(listener) = &slot.listener else {
                continue;
            };
            for _ in 0..16 {
                match listener.accept() {
                    Ok((stream, _)) => accepted.push((slot.role.clone(), stream)),
                    Err(_) => break,
                }
            }
        }
        let idle = accepted.is_empty();
        for (role, stream) in accepted {
            spawn_connection(shared, role, stream);
        }
        if last_sync.elapsed() > Duration::from_millis(200) {
            shared.sync_listeners();
            last_sync = Instant::now();
        }
        if idle {
            thread::sleep(IDLE_POLL);
        }
    }
}

/// A running emulator: listeners on 127.0.0.1, served by background threads.
/// Dropping it closes every listener and stops the threads.
pub struct Emulator {
    shared: Arc<Shared>,
    poller: Option<JoinHandle<()>>,
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
        let mut slots = Vec::new();
        let mut add = |role: Role| -> io::Result<String> {
            let listener = bind_local()?;
            let u = url(&listener)?;
            slots.push(Slot {
                role,
                addr: listener.local_addr()?,
                listener: Some(listener),
            });
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
        model_cfg.jwt_ttl_s = cfg.jwt_ttl_s;
        model_cfg.refresh_ttl_s = cfg.refresh_ttl_s;
        model_cfg.route_ttl_s = cfg.route_ttl_s;
        model_cfg.legacy_token_field = cfg.legacy_token_field;
        let shared = Arc::new(Shared {
            model: Mutex::new(Model::new(model_cfg)),
            slots: Mutex::new(slots),
            shutdown: AtomicBool::new(false),
            connections: AtomicUsize::new(0),
        });
        let poller_shared = Arc::clone(&shared);
        let poller = thread::Builder::new()
            .name("pg-emu-accept".to_string())
            .spawn(move || poll_listeners(&poller_shared))?;
        Ok(Emulator {
            shared,
            poller: Some(poller),
        })
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
        if let Some(poller) = self.poller.take() {
            let _ = poller.join();
        }
        self.shared.slots().clear();
    }
}
