//! Wire faults: what the HTTP layer does to a target's connections and answers that the
//! model's answers cannot express — a redirect to a trap listener, a body that never ends,
//! a body that trickles, a stream whose chunks are spaced out, a head a client must refuse
//! (a bare CR or a NUL in a value, more than 64 KiB), a reset after the head, and a
//! listener that never completes a connection (a connect timeout).
//!
//! Set through `POST /admin/fault` like the model's faults (`{"target": "auth", "kind":
//! "stall"}`); `clear`, `up` and `POST /admin/reset` remove them too. `GET
//! /admin/connections` counts the connections open to each listener.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use super::{real_now_ms, Shared};
use crate::model::{Body, Request, Response, Role, Target};

/// The longest a stalled or trickling answer holds its connection (the client gives up
/// long before; this only bounds a test that forgot to).
const HOLD_MAX: Duration = Duration::from_secs(120);
/// How often a held connection checks whether the client closed it.
const POLL: Duration = Duration::from_millis(10);
/// Default size of a `huge_head` fault's head: over the 64 KiB every client refuses.
const HUGE_HEAD: usize = 80 * 1024;

/// One wire fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireKind {
    /// Answer `status` (307/308) with `Location:` the trap listener's URL + the path.
    Redirect {
        /// 3xx status.
        status: u16,
    },
    /// Answer the head (`status`, a `content-length` of 1000) and two body bytes, then
    /// nothing until the client closes.
    Stall {
        /// Status of the head.
        status: u16,
    },
    /// Answer the head, then one body byte every `byte_ms`, never finishing.
    Trickle {
        /// Status of the head (an edge `500`).
        status: u16,
        /// Milliseconds between bytes.
        byte_ms: u64,
    },
    /// Serve the request, writing a stream's events `chunk_delay_ms` apart (the first
    /// after the head too).
    SlowStream {
        /// Milliseconds before each event.
        chunk_delay_ms: u64,
    },
    /// Serve the request with one more header, `x-pg-fault: a<value>b`, written raw
    /// (`value` is `"\r"` or `"\u0000"`: a value with a bare CR or a NUL).
    BadHeader {
        /// Characters put in the value.
        value: String,
    },
    /// Serve the request with padding headers (4 KiB each) making the head over `bytes`.
    HugeHead {
        /// Head size to exceed.
        bytes: usize,
    },
    /// Answer the head, then reset the connection (RST) before any body byte.
    ResetAfterHead,
}

/// A pending wire fault and how many more requests it applies to.
#[derive(Debug, Clone)]
struct Pending {
    kind: WireKind,
    remaining: Option<u32>,
}

/// The HTTP layer's fault state.
#[derive(Default)]
pub(super) struct WireState {
    pending: HashMap<Target, VecDeque<Pending>>,
    /// Targets whose listener never completes a connection.
    pub(super) blackholed: Vec<Target>,
    /// The backlog-0 listener standing in for a blackholed target, and the connection of
    /// our own that fills its accept queue.
    pub(super) holes: HashMap<Target, (socket2::Socket, TcpStream)>,
}

impl WireState {
    /// Takes the next wire fault of `target`, counting it down.
    fn take(&mut self, target: &Target) -> Option<WireKind> {
        let q = self.pending.get_mut(target)?;
        let front = q.front_mut()?;
        let kind = front.kind.clone();
        if let Some(n) = &mut front.remaining {
            *n = n.saturating_sub(1);
            if *n == 0 {
                q.pop_front();
            }
        }
        Some(kind)
    }

    fn clear(&mut self, target: &Target) {
        self.pending.remove(target);
        self.blackholed.retain(|t| t != target);
    }
}

/// Binds a listener on `addr` that never completes a connection: backlog 0 and its one
/// accept-queue place taken by a connection of our own that is never accepted, so the
/// kernel drops every further SYN and a client's `connect` times out (Linux: with
/// `tcp_abort_on_overflow` off, the default).
pub(super) fn blackhole(addr: SocketAddr) -> io::Result<(socket2::Socket, TcpStream)> {
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    s.set_reuse_address(true)?;
    s.bind(&addr.into())?;
    s.listen(0)?;
    let filler = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    Ok((s, filler))
}

fn bad(message: &str) -> Response {
    crate::model::json_response(400, &json!({"message": message, "code": "invalid_request"}))
}

fn num(body: &Map<String, Value>, key: &str, default: u64) -> u64 {
    body.get(key).and_then(Value::as_u64).unwrap_or(default)
}

/// The admin requests the HTTP layer answers itself (`GET /admin/connections`, wire
/// faults), or `None` for the model. `up`, `clear` and `reset` also clear this layer's
/// faults and then go on to the model.
pub(super) fn admin(shared: &Arc<Shared>, req: &Request) -> Option<Response> {
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/admin/connections") => {
            let mut open: BTreeMap<String, usize> = BTreeMap::new();
            for slot in shared.slots().iter() {
                if let Some(name) = listener_name(&slot.role) {
                    open.insert(name, 0);
                }
            }
            for c in shared.conns().values() {
                if let Some(name) = listener_name(&c.role) {
                    *open.entry(name).or_insert(0) += 1;
                }
            }
            Some(crate::model::json_response(200, &json!({"open": open})))
        }
        ("POST", "/admin/reset") => {
            *shared.wire() = WireState::default();
            None
        }
        ("POST", "/admin/fault") => {
            let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&req.body) else {
                return None; // the model answers the error
            };
            let target = body
                .get("target")
                .and_then(Value::as_str)
                .and_then(Target::parse)?;
            let kind = body.get("kind").and_then(Value::as_str).unwrap_or("");
            let remaining = if body.get("forever").and_then(Value::as_bool) == Some(true) {
                None
            } else {
                Some(u32::try_from(num(&body, "count", 1)).unwrap_or(u32::MAX))
            };
            let wire = match kind {
                "up" | "clear" => {
                    shared.wire().clear(&target);
                    return None;
                }
                "blackhole" => {
                    let known = shared
                        .slots()
                        .iter()
                        .any(|s| s.role.target().as_ref() == Some(&target));
                    if !known {
                        return Some(bad("unknown target"));
                    }
                    let mut w = shared.wire();
                    if !w.blackholed.contains(&target) {
                        w.blackholed.push(target);
                    }
                    drop(w);
                    shared.sync_listeners();
                    return Some(crate::model::json_response(200, &json!({"ok": true})));
                }
                "redirect" => WireKind::Redirect {
                    status: u16::try_from(num(&body, "status", 307)).unwrap_or(307),
                },
                "stall" => WireKind::Stall {
                    status: u16::try_from(num(&body, "status", 200)).unwrap_or(200),
                },
                "trickle" => WireKind::Trickle {
                    status: u16::try_from(num(&body, "status", 500)).unwrap_or(500),
                    byte_ms: num(&body, "byte_ms", 100).max(1),
                },
                "slow_stream" => WireKind::SlowStream {
                    chunk_delay_ms: num(&body, "chunk_delay_ms", 200),
                },
                "bad_header" => WireKind::BadHeader {
                    value: match body.get("value").and_then(Value::as_str).unwrap_or("cr") {
                        "cr" => "\r".to_string(),
                        "nul" => "\0".to_string(),
                        "lf" => "\n".to_string(),
                        other => other.to_string(),
                    },
                },
                "huge_head" => WireKind::HugeHead {
                    bytes: usize::try_from(num(&body, "bytes", HUGE_HEAD as u64))
                        .unwrap_or(HUGE_HEAD)
                        .min(1024 * 1024),
                },
                "reset_after_head" => WireKind::ResetAfterHead,
                _ => return None,
            };
            shared
                .wire()
                .pending
                .entry(target)
                .or_default()
                .push_back(Pending {
                    kind: wire,
                    remaining,
                });
            Some(crate::model::json_response(200, &json!({"ok": true})))
        }
        _ => None,
    }
}

/// The name `GET /admin/connections` counts a listener under.
fn listener_name(role: &Role) -> Option<String> {
    match role {
        Role::Trap => Some("trap".to_string()),
        Role::Admin => None,
        r => r.target().map(|t| t.to_string()),
    }
}

/// Takes the wire fault that applies to this request, if any (never to a preflight).
pub(super) fn take(shared: &Arc<Shared>, role: &Role, req: &Request) -> Option<WireKind> {
    if req.method == "OPTIONS" {
        return None;
    }
    let target = role.target()?;
    shared.wire().take(&target)
}

/// A raw head: the answer's headers (minus framing), `extra` unchecked, a length.
fn head(
    resp: &Response,
    extra: &[(String, String)],
    length: Option<usize>,
    close: bool,
) -> Vec<u8> {
    let mut h = format!(
        "HTTP/1.1 {} {}\r\n",
        resp.status,
        super::http::reason(resp.status)
    );
    for (name, value) in resp.headers.iter().chain(extra) {
        let framing = ["content-length", "transfer-encoding", "connection"]
            .iter()
            .any(|f| name.eq_ignore_ascii_case(f));
        if !framing {
            h.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    if let Some(n) = length {
        h.push_str(&format!("content-length: {n}\r\n"));
    }
    h.push_str(if close {
        "connection: close\r\n\r\n"
    } else {
        "connection: keep-alive\r\n\r\n"
    });
    h.into_bytes()
}

/// Whether the client has closed the connection (or it broke).
fn peer_closed(stream: &mut TcpStream) -> bool {
    let _ = stream.set_read_timeout(Some(POLL));
    let mut b = [0u8; 1024];
    match stream.read(&mut b) {
        Ok(0) => true,
        Ok(_) => false, // a pipelined request: ignored, the connection is closing anyway
        Err(e) => !matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ),
    }
}

/// Holds the connection until the client closes it, writing one byte every `every`
/// (when set); bounded by [`HOLD_MAX`] and shutdown.
fn hold(shared: &Shared, stream: &mut TcpStream, every: Option<Duration>) {
    let start = Instant::now();
    let mut next = every.map(|d| start + d);
    while start.elapsed() < HOLD_MAX && !shared.shutdown.load(std::sync::atomic::Ordering::SeqCst) {
        if peer_closed(stream) {
            break;
        }
        if let (Some(at), Some(d)) = (next, every) {
            if Instant::now() >= at {
                if stream
                    .write_all(b" ")
                    .and_then(|()| stream.flush())
                    .is_err()
                {
                    break;
                }
                next = Some(at + d);
            }
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}

/// Serves `req` under a wire fault; whether the connection stays open.
pub(super) fn serve(
    shared: &Arc<Shared>,
    role: &Role,
    stream: &mut TcpStream,
    req: &Request,
    kind: WireKind,
    keep_alive: bool,
) -> bool {
    let now = shared.model().server_time(real_now_ms());
    let answered = |status: u16| {
        let mut m = shared.model();
        m.record(now, role, req, status);
        let mut r = m.error_response(now, role, status, "wire fault");
        r.headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("content-type"));
        r
    };
    match kind {
        WireKind::Redirect { status } => {
            let mut resp = answered(status);
            let trap = shared.trap_url();
            let query = req
                .query
                .as_deref()
                .map(|q| format!("?{q}"))
                .unwrap_or_default();
            resp.headers
                .push(("location".to_string(), format!("{trap}{}{query}", req.path)));
            resp.body = Body::Bytes(Vec::new());
            super::http::write_response_on(stream, &resp, keep_alive).unwrap_or(false)
        }
        WireKind::Stall { status } => {
            let mut resp = answered(status);
            resp.headers
                .push(("content-type".to_string(), "application/json".to_string()));
            let mut out = head(&resp, &[], Some(1000), true);
            out.extend_from_slice(b"{\"");
            if stream.write_all(&out).and_then(|()| stream.flush()).is_ok() {
                hold(shared, stream, None);
            }
            false
        }
        WireKind::Trickle { status, byte_ms } => {
            let mut resp = answered(status);
            resp.headers
                .push(("content-type".to_string(), "application/json".to_string()));
            let out = head(&resp, &[], Some(100_000), true);
            if stream.write_all(&out).and_then(|()| stream.flush()).is_ok() {
                hold(shared, stream, Some(Duration::from_millis(byte_ms)));
            }
            false
        }
        WireKind::SlowStream { chunk_delay_ms } => {
            let Some(resp) = super::model_answer(shared, role, req) else {
                return false;
            };
            let Body::Sse(events) = &resp.body else {
                return super::http::write_response_on(stream, &resp, keep_alive).unwrap_or(false);
            };
            if stream.write_all(&head(&resp, &[], None, true)).is_err() {
                return false;
            }
            for e in events {
                if !shared.sleep_unless_shutdown(chunk_delay_ms)
                    || stream
                        .write_all(format!("data: {e}\n\n").as_bytes())
                        .and_then(|()| stream.flush())
                        .is_err()
                {
                    break;
                }
            }
            let _ = stream.shutdown(Shutdown::Write);
            false
        }
        WireKind::BadHeader { value } => {
            let Some(resp) = super::model_answer(shared, role, req) else {
                return false;
            };
            let extra = [("x-pg-fault".to_string(), format!("a{value}b"))];
            raw(stream, &resp, &extra)
        }
        WireKind::HugeHead { bytes } => {
            let Some(resp) = super::model_answer(shared, role, req) else {
                return false;
            };
            let pad = "x".repeat(4096);
            let extra: Vec<(String, String)> = (0..bytes / 4096 + 1)
                .map(|i| (format!("x-pg-padding-{i}"), pad.clone()))
                .collect();
            raw(stream, &resp, &extra)
        }
        WireKind::ResetAfterHead => {
            let Some(resp) = super::model_answer(shared, role, req) else {
                return false;
            };
            let body = resp.body_bytes();
            let out = head(&resp, &[], Some(body.len().max(1)), true);
            let _ = stream.write_all(&out).and_then(|()| stream.flush());
            // Linger 0: closing sends RST, not FIN.
            let _ = socket2::SockRef::from(&*stream).set_linger(Some(Duration::ZERO));
            false
        }
    }
}

/// Writes `resp` with `extra` headers as they are, then closes.
fn raw(stream: &mut TcpStream, resp: &Response, extra: &[(String, String)]) -> bool {
    let body = resp.body_bytes();
    let mut out = head(resp, extra, Some(body.len()), true);
    out.extend_from_slice(&body);
    let _ = stream.write_all(&out).and_then(|()| stream.flush());
    let _ = stream.shutdown(Shutdown::Write);
    false
}
