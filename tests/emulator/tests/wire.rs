//! Wire faults over real sockets: redirects to the trap, a listener that never completes a
//! connection, stalled and trickling bodies, spaced streams, heads a client must refuse,
//! a reset after the head, and the open-connection count.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use polargrid_emulator::{Emulator, EmulatorConfig, StartupInfo};
use serde_json::{json, Value};
use support::{addr, connect, get, parse, post_json};

fn start() -> (Emulator, StartupInfo) {
    let emu = Emulator::start(EmulatorConfig::default()).expect("emulator starts");
    let info = emu.info();
    (emu, info)
}

fn fault(info: &StartupInfo, body: Value) {
    let r = post_json(&info.admin, "/admin/fault", &[], &body);
    assert_eq!(r.status, 200, "{}", r.text());
}

fn edge(info: &StartupInfo) -> String {
    info.regions[0].url.clone()
}

fn key(info: &StartupInfo) -> String {
    format!("Bearer {}", info.keys.read_write)
}

fn open_to(info: &StartupInfo, name: &str) -> u64 {
    get(&info.admin, "/admin/connections", &[]).json()["open"][name]
        .as_u64()
        .unwrap_or_else(|| panic!("no count for {name}"))
}

/// Re-reads the count until it is `want` (bounded: the server notices a close within ms).
fn wait_open(info: &StartupInfo, name: &str, want: u64) {
    let until = Instant::now() + Duration::from_secs(5);
    while open_to(info, name) != want {
        assert!(
            Instant::now() < until,
            "{name}: {} open, expected {want}",
            open_to(info, name)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sends a GET for `path` and reads until the head has arrived; returns the stream and the head.
fn head_of(base: &str, path: &str, auth: &str) -> (TcpStream, String) {
    let mut s = connect(base).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    let mut b = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut b).unwrap();
        assert!(n > 0, "closed before the head");
        buf.extend_from_slice(&b[..n]);
    }
    (s, String::from_utf8_lossy(&buf).into_owned())
}

#[test]
fn redirect_points_at_the_trap_which_logs_what_reaches_it() {
    let (_emu, info) = start();
    fault(
        &info,
        json!({"target": "region:yto-01", "kind": "redirect", "status": 308}),
    );
    let r = get(
        &edge(&info),
        "/v1/models?x=1",
        &[("authorization", &key(&info))],
    );
    assert_eq!(r.status, 308);
    let location = r.header("location").unwrap().to_string();
    assert!(location.ends_with("/v1/models?x=1"), "{location}");
    let trap = location.trim_end_matches("/v1/models?x=1");
    assert_ne!(trap, edge(&info));
    // One redirect only (count 1): the next answer is the real one.
    let again = get(
        &edge(&info),
        "/v1/models",
        &[("authorization", &key(&info))],
    );
    assert_eq!(again.status, 200);
    let log = get(&info.admin, "/admin/log?role=trap", &[]).json();
    assert_eq!(log["entries"].as_array().unwrap().len(), 0);
    assert_eq!(get(trap, "/v1/models", &[]).status, 200);
    let log = get(&info.admin, "/admin/log", &[]).json();
    let roles: Vec<(&str, u64)> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["role"].as_str().unwrap(), e["status"].as_u64().unwrap()))
        .collect();
    assert_eq!(roles, [("edge", 308), ("edge", 200), ("trap", 200)]);
}

#[test]
fn blackholed_listener_never_completes_a_connection_until_up() {
    let (_emu, info) = start();
    fault(
        &info,
        json!({"target": "region:yto-01", "kind": "blackhole"}),
    );
    let a = addr(&edge(&info));
    let e = TcpStream::connect_timeout(&a, Duration::from_millis(300)).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock),
        "{e:?}"
    );
    fault(&info, json!({"target": "region:yto-01", "kind": "up"}));
    assert_eq!(
        get(
            &edge(&info),
            "/v1/models",
            &[("authorization", &key(&info))]
        )
        .status,
        200
    );
}

#[test]
fn stalled_body_holds_the_connection_until_the_client_closes_it() {
    let (_emu, info) = start();
    fault(&info, json!({"target": "region:yto-01", "kind": "stall"}));
    let (mut s, head) = head_of(&edge(&info), "/v1/models", &key(&info));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("content-length: 1000"), "{head}");
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut b = [0u8; 16];
    let e = s.read(&mut b).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{e:?}"
    );
    assert_eq!(open_to(&info, "region:yto-01"), 1);
    drop(s);
    wait_open(&info, "region:yto-01", 0);
}

#[test]
fn trickle_sends_the_head_then_one_byte_at_a_time() {
    let (_emu, info) = start();
    fault(
        &info,
        json!({"target": "region:yto-01", "kind": "trickle", "status": 500, "byte_ms": 10}),
    );
    let (mut s, head) = head_of(&edge(&info), "/v1/models", &key(&info));
    assert!(head.starts_with("HTTP/1.1 500"), "{head}");
    let body_start = head.find("\r\n\r\n").unwrap() + 4;
    let mut got = head.len() - body_start;
    let mut b = [0u8; 64];
    while got < 3 {
        got += s.read(&mut b).unwrap();
    }
    drop(s);
    wait_open(&info, "region:yto-01", 0);
}

#[test]
fn slow_stream_delivers_every_event_of_the_stream() {
    let (_emu, info) = start();
    fault(
        &info,
        json!({"target": "region:yto-01", "kind": "slow_stream", "chunk_delay_ms": 5}),
    );
    let body = json!({"model": "llama-3.1-8b", "messages": [{"role": "user", "content": "hi"}], "stream": true});
    let r = post_json(
        &edge(&info),
        "/v1/chat/completions",
        &[("authorization", &key(&info))],
        &body,
    );
    assert_eq!(r.status, 200);
    assert!(
        r.text().trim_end().ends_with("data: [DONE]"),
        "{}",
        r.text()
    );
}

#[test]
fn bad_header_and_huge_head_are_written_raw() {
    let (_emu, info) = start();
    for (value, want) in [
        ("cr", &b"x-pg-fault: a\rb\r\n"[..]),
        ("nul", &b"x-pg-fault: a\0b\r\n"[..]),
    ] {
        fault(
            &info,
            json!({"target": "region:yto-01", "kind": "bad_header", "value": value}),
        );
        let raw = support::raw(
            &edge(&info),
            format!(
                "GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\r\n",
                key(&info)
            )
            .as_bytes(),
        )
        .unwrap();
        assert!(raw.windows(want.len()).any(|w| w == want), "{value}");
    }
    fault(
        &info,
        json!({"target": "region:yto-01", "kind": "huge_head"}),
    );
    let raw = support::raw(
        &edge(&info),
        format!(
            "GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\r\n",
            key(&info)
        )
        .as_bytes(),
    )
    .unwrap();
    let head_len = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    assert!(head_len > 64 * 1024, "{head_len}");
    assert_eq!(parse(&raw).status, 200);
}

#[test]
fn reset_after_head_resets_the_connection() {
    let (_emu, info) = start();
    fault(
        &info,
        json!({"target": "region:yto-01", "kind": "reset_after_head"}),
    );
    let (mut s, head) = head_of(&edge(&info), "/v1/models", &key(&info));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let mut rest = Vec::new();
    let e = s.read_to_end(&mut rest).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e:?}");
}

#[test]
fn unknown_wire_target_is_refused_and_clear_removes_wire_faults() {
    let (_emu, info) = start();
    let r = post_json(
        &info.admin,
        "/admin/fault",
        &[],
        &json!({"target": "region:zz-99", "kind": "blackhole"}),
    );
    assert_eq!(r.status, 400);
    fault(
        &info,
        json!({"target": "region:yto-01", "kind": "redirect", "forever": true}),
    );
    fault(&info, json!({"target": "region:yto-01", "kind": "clear"}));
    assert_eq!(
        get(
            &edge(&info),
            "/v1/models",
            &[("authorization", &key(&info))]
        )
        .status,
        200
    );
}

#[test]
fn a_tls_client_hello_gets_a_plain_400_at_once() {
    let (_emu, info) = start();
    // The first bytes of a ClientHello: no head end for the server to wait for.
    let raw = support::raw(
        &edge(&info),
        &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc],
    )
    .unwrap();
    assert!(
        raw.starts_with(b"HTTP/1.1 400"),
        "{}",
        String::from_utf8_lossy(&raw)
    );
}
