//! `make wasm-size`: every public entry point of the core reachable from wasm exports, with
//! inputs the optimiser cannot see (bytes from linear memory).
use std::sync::Mutex;

use polargrid_core::*;

static C: Mutex<Option<Client>> = Mutex::new(None);
static OUT: Mutex<Vec<u8>> = Mutex::new(Vec::new());

fn s(p: *const u8, n: usize) -> &'static str {
    let b = unsafe { core::slice::from_raw_parts(p, n) };
    core::str::from_utf8(b).unwrap_or("")
}
fn b(p: *const u8, n: usize) -> &'static [u8] {
    unsafe { core::slice::from_raw_parts(p, n) }
}
fn out(v: String) -> usize {
    let mut o = OUT.lock().unwrap();
    *o = v.into_bytes();
    o.len()
}

#[no_mangle]
pub extern "C" fn alloc(n: usize) -> *mut u8 {
    let mut v = Vec::<u8>::with_capacity(n);
    let p = v.as_mut_ptr();
    core::mem::forget(v);
    p
}

#[no_mangle]
pub extern "C" fn new(mode: u32, key: *const u8, kn: usize, ep: *const u8, en: usize, seed: u64) -> u32 {
    let k = s(key, kn);
    let mut cfg = match mode {
        0 => Config::new(k),
        1 => Config::direct(k),
        _ => Config::handoff(),
    };
    if en > 0 {
        match Endpoints::from_json(s(ep, en)) {
            Ok(e) => cfg = cfg.with_endpoints(e),
            Err(_) => return 2,
        }
    }
    match Client::new(cfg, seed) {
        Ok(c) => {
            *C.lock().unwrap() = Some(c);
            0
        }
        Err(e) => out(e.to_string()) as u32,
    }
}

#[no_mangle]
pub extern "C" fn start(now: u64, m: u32, p: *const u8, pn: usize, model: *const u8, mn: usize) -> u64 {
    let mut g = C.lock().unwrap();
    let Some(c) = g.as_mut() else { return 0 };
    let method = match m { 0 => Method::Get, 1 => Method::Post, 2 => Method::Put, _ => Method::Delete };
    let mut spec = CallSpec::new(method, s(p, pn));
    if mn > 0 { spec = spec.with_model(s(model, mn)); }
    match c.start_call(Timestamp::from_millis(now), spec) { Ok(id) => id.0, Err(e) => { drop(g); out(e.to_string()) as u64 } }
}

#[no_mangle]
pub extern "C" fn cancel(now: u64, id: u64) -> u32 {
    C.lock().unwrap().as_mut().map(|c| c.cancel_call(Timestamp::from_millis(now), CallId(id)) as u32).unwrap_or(0)
}

#[no_mangle]
pub extern "C" fn poll_request(now: u64) -> u64 {
    let mut g = C.lock().unwrap();
    let Some(c) = g.as_mut() else { return 0 };
    match c.poll_request(Timestamp::from_millis(now)) {
        Some(r) => { let id = r.id.0; let t = format!("{} {} {:?} {:?} {:?}", r.method.as_str(), r.url, r.headers, r.body, r.timeout); drop(g); out(t); id }
        None => 0,
    }
}

#[no_mangle]
pub extern "C" fn respond(now: u64, id: u64, status: u16, h: *const u8, hn: usize, body: *const u8, bn: usize) -> u32 {
    let mut g = C.lock().unwrap();
    let Some(c) = g.as_mut() else { return 0 };
    let mut r = HttpResponse::new(status).with_body(b(body, bn).to_vec());
    for line in s(h, hn).split('\n') {
        if let Some((k, v)) = line.split_once(':') { r = r.with_header(k, v); }
    }
    c.handle_response(Timestamp::from_millis(now), RequestId(id), r).is_ok() as u32
}

#[no_mangle]
pub extern "C" fn fail(now: u64, id: u64, kind: u32) -> u32 {
    let mut g = C.lock().unwrap();
    let Some(c) = g.as_mut() else { return 0 };
    let k = match kind { 0 => TransportErrorKind::Connect, 1 => TransportErrorKind::Dns, 2 => TransportErrorKind::Tls, 3 => TransportErrorKind::Timeout, _ => TransportErrorKind::Aborted };
    c.handle_transport_error(Timestamp::from_millis(now), RequestId(id), k).is_ok() as u32
}

#[no_mangle]
pub extern "C" fn tick(now: u64) -> u64 {
    let mut g = C.lock().unwrap();
    let Some(c) = g.as_mut() else { return 0 };
    c.handle_timeout(Timestamp::from_millis(now));
    c.poll_timeout().map(|t| t.as_millis()).unwrap_or(0)
}

#[no_mangle]
pub extern "C" fn poll_event() -> usize {
    let mut g = C.lock().unwrap();
    let Some(c) = g.as_mut() else { return 0 };
    let e = c.poll_event();
    let t = match e {
        Some(Event::CallFailed { error, .. }) => format!("{} {} {} {:?}", error, error.kind.as_str(), error.retryable, error),
        Some(Event::SessionChanged { snapshot: Some(s), info, .. }) => format!("{} {:?}", s.to_json(), info),
        Some(e) => format!("{e:?}"),
        None => return 0,
    };
    drop(g);
    out(t)
}

#[no_mangle]
pub extern "C" fn status() -> usize {
    let g = C.lock().unwrap();
    let Some(c) = g.as_ref() else { return 0 };
    let t = format!("{:?} {:?} {} {} {}", c.session_status(), c.current_region(), c.open_calls(), c.clock_skew_ms(), c.retry_budget());
    drop(g);
    out(t)
}

#[no_mangle]
pub extern "C" fn hand_over(now: u64, p: *const u8, n: usize, restore: u32) -> u32 {
    let mut g = C.lock().unwrap();
    let Some(c) = g.as_mut() else { return 0 };
    let now = Timestamp::from_millis(now);
    if restore == 1 {
        match SessionSnapshot::from_json(s(p, n)) { Ok(snap) => c.restore(now, &snap).is_ok() as u32, Err(_) => 2 }
    } else if restore == 2 {
        c.logout(now); 3
    } else {
        c.hand_over(now, s(p, n)).is_ok() as u32
    }
}
