//! The emulator over real HTTP on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod support;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use polargrid_emulator::model::{Credential, Fault, LogRole, Target};
use polargrid_emulator::{Emulator, EmulatorConfig, Role, StartupInfo};
use serde_json::{json, Value};
use support::{get, parse, post_json, raw, request};

fn start() -> Emulator {
    Emulator::start(EmulatorConfig::default()).expect("emulator starts")
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn region_url(info: &StartupInfo, id: &str) -> String {
    info.regions
        .iter()
        .find(|r| r.id == id)
        .unwrap()
        .url
        .clone()
}

fn exchange(info: &StartupInfo, key: &str) -> Value {
    let auth = bearer(key);
    let r = post_json(
        &info.auth,
        "/v1/auth/session",
        &[("authorization", &auth)],
        &json!({"user_agent": "test/1"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn chat_body(stream: bool) -> Value {
    json!({"model": "llama-3.1-8b", "messages": [{"role": "user", "content": "hello"}], "stream": stream})
}

#[test]
fn startup_info_lists_distinct_local_listeners_regions_and_keys() {
    let emu = start();
    let info = emu.info();
    let mut urls = vec![
        info.autorouter.clone(),
        info.auth.clone(),
        info.admin.clone(),
    ];
    urls.extend(info.regions.iter().map(|r| r.url.clone()));
    for u in &urls {
        assert!(u.starts_with("http://127.0.0.1:"), "{u}");
    }
    let mut dedup = urls.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), urls.len());
    let regions: Vec<(&str, &str, &str)> = info
        .regions
        .iter()
        .map(|r| (r.id.as_str(), r.name.as_str(), r.country.as_str()))
        .collect();
    assert_eq!(
        regions,
        vec![
            ("yto-01", "Toronto", "CA"),
            ("yul-01", "Montreal", "CA"),
            ("nyc-01", "New York", "US")
        ]
    );
    assert!(info.keys.read_write.starts_with("pg_"));
    assert_eq!((info.jwt_ttl_s, info.refresh_ttl_s), (86_400, 2_592_000));
    let v = serde_json::to_value(&info).unwrap();
    let fields: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        fields,
        vec![
            "admin",
            "auth",
            "autorouter",
            "jwt_ttl_s",
            "keys",
            "refresh_ttl_s",
            "regions"
        ]
    );
}

#[test]
fn unknown_region_gets_its_id_as_name_and_zz_country() {
    let cfg = EmulatorConfig {
        regions: vec!["xyz-09".to_string()],
        ..EmulatorConfig::default()
    };
    let info = Emulator::start(cfg).unwrap().info();
    assert_eq!(
        (
            info.regions[0].name.as_str(),
            info.regions[0].country.as_str()
        ),
        ("xyz-09", "ZZ")
    );
}

#[test]
fn route_answers_endpoint_of_a_live_region_listener() {
    let emu = start();
    let info = emu.info();
    let r = get(
        &info.autorouter,
        "/v1/route",
        &[("accept", "application/json")],
    );
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["region"], "yto-01");
    assert_eq!(v["endpoint"], region_url(&info, "yto-01"));
    assert!(r.header("date").unwrap().ends_with(" GMT"));
    assert_eq!(
        get(&info.autorouter, "/v1/route?model=nope", &[]).status,
        404
    );
}

#[test]
fn autorouter_answers_chat_with_cdn_403() {
    let emu = start();
    let info = emu.info();
    let auth = bearer(&info.keys.read_write);
    let r = post_json(
        &info.autorouter,
        "/v1/chat/completions",
        &[("authorization", &auth)],
        &chat_body(false),
    );
    assert_eq!(r.status, 403);
    assert_eq!(r.body, br#"{"Message": null}"#);
    assert_eq!(r.header("x-cache"), Some("Error from cloudfront"));
    assert_eq!(r.header("access-control-allow-origin"), None);
    assert_eq!(
        emu.with_model(|m| m
            .log()
            .count_credential(LogRole::Autorouter, Credential::Key)),
        1
    );
}

#[test]
fn exchange_then_edge_call_with_jwt_succeeds() {
    let emu = start();
    let info = emu.info();
    let session = exchange(&info, &info.keys.read_write);
    let jwt = session["session_token"].as_str().unwrap();
    let auth = bearer(jwt);
    let edge = region_url(&info, "yul-01");
    let r = post_json(
        &edge,
        "/v1/chat/completions",
        &[("authorization", &auth), ("x-request-id", "abc-1")],
        &chat_body(false),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-polargrid-region"), Some("yul-01"));
    assert_eq!(r.header("x-request-id"), Some("abc-1"));
    assert_eq!(r.json()["system_fingerprint"], "polargrid-emulator/yul-01");
    assert_eq!(emu.count(&Role::Auth, "/v1/auth/session"), 1);
    assert_eq!(
        emu.count(&Role::Edge("yul-01".to_string()), "/v1/chat/completions"),
        1
    );
    let refresh = post_json(
        &info.auth,
        "/v1/auth/refresh",
        &[],
        &json!({"refresh_token": session["refresh_token"]}),
    );
    assert_eq!(refresh.status, 200);
    let log = emu.log();
    assert_eq!(log.last().unwrap().credential, Credential::RefreshToken);
}

#[test]
fn sse_stream_ends_with_done() {
    let emu = start();
    let info = emu.info();
    let auth = bearer(&info.keys.read_write);
    let r = post_json(
        &region_url(&info, "yto-01"),
        "/v1/chat/completions",
        &[("authorization", &auth)],
        &chat_body(true),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    assert_eq!(r.header("content-length"), None);
    let text = r.text();
    assert!(text.starts_with("data: {"));
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    assert!(text.matches("data: ").count() >= 4);
}

#[test]
fn downed_region_refuses_connections_and_comes_back_on_same_port() {
    let emu = start();
    let info = emu.info();
    let edge = region_url(&info, "nyc-01");
    let target = Target::Region("nyc-01".to_string());
    let auth = bearer(&info.keys.read_write);
    // A served connection first, so the port has a closed connection (TIME_WAIT) on it.
    assert_eq!(
        get(&edge, "/v1/models", &[("authorization", &auth)]).status,
        200
    );
    emu.set_down(&target, true).unwrap();
    let err = TcpStream::connect(support::addr(&edge)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    // Other regions still serve.
    assert_eq!(
        get(
            &region_url(&info, "yto-01"),
            "/v1/models",
            &[("authorization", &auth)]
        )
        .status,
        200
    );
    emu.set_down(&target, false).unwrap();
    assert_eq!(emu.info().regions[2].url, edge);
    let r = get(&edge, "/v1/models", &[("authorization", &auth)]);
    assert_eq!(
        (r.status, r.header("x-polargrid-region")),
        (200, Some("nyc-01"))
    );
}

#[test]
fn admin_down_fault_closes_listener_before_answering() {
    let emu = start();
    let info = emu.info();
    let r = post_json(
        &info.admin,
        "/admin/fault",
        &[],
        &json!({"target": "auth", "kind": "down"}),
    );
    assert_eq!(r.status, 200);
    let err = TcpStream::connect(support::addr(&info.auth)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    let r = post_json(
        &info.admin,
        "/admin/fault",
        &[],
        &json!({"target": "auth", "kind": "up"}),
    );
    assert_eq!(r.status, 200);
    let auth = bearer(&info.keys.read_write);
    let r = post_json(
        &info.auth,
        "/v1/auth/session",
        &[("authorization", &auth)],
        &json!({}),
    );
    assert_eq!(r.status, 200);
}

#[test]
fn admin_endpoints_drive_faults_clock_log_and_reset() {
    let emu = start();
    let info = emu.info();
    let admin = &info.admin;
    assert_eq!(
        get(admin, "/admin/info", &[]).json(),
        serde_json::to_value(&info).unwrap()
    );
    // Short-lived JWT, then advance the clock past it.
    post_json(admin, "/admin/config", &[], &json!({"jwt_ttl_s": 60}));
    let jwt = exchange(&info, &info.keys.read_write)["session_token"]
        .as_str()
        .unwrap()
        .to_string();
    let edge = region_url(&info, "yto-01");
    let auth = bearer(&jwt);
    assert_eq!(
        get(&edge, "/v1/models", &[("authorization", &auth)]).status,
        200
    );
    let clock = post_json(admin, "/admin/clock", &[], &json!({"advance_ms": 61_000}));
    assert_eq!(clock.json()["offset_ms"], 61_000);
    let r = get(&edge, "/v1/models", &[("authorization", &auth)]);
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (401, json!("token_expired"))
    );
    // Status fault for two requests.
    post_json(
        admin,
        "/admin/fault",
        &[],
        &json!({"target": "autorouter", "kind": "status", "status": 502, "count": 2}),
    );
    assert_eq!(get(&info.autorouter, "/v1/route", &[]).status, 502);
    assert_eq!(get(&info.autorouter, "/v1/route", &[]).status, 502);
    assert_eq!(get(&info.autorouter, "/v1/route", &[]).status, 200);
    // Rate limit with Retry-After.
    post_json(
        admin,
        "/admin/fault",
        &[],
        &json!({"target": "region:yto-01", "kind": "rate_limit", "retry_after": "3"}),
    );
    let key_auth = bearer(&info.keys.read_write);
    let r = get(&edge, "/v1/models", &[("authorization", &key_auth)]);
    assert_eq!((r.status, r.header("retry-after")), (429, Some("3")));
    // The log over HTTP.
    let log = get(admin, "/admin/log?role=autorouter", &[]).json();
    let statuses: Vec<Value> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!(502), json!(502), json!(200)]);
    assert_eq!(
        post_json(admin, "/admin/log/clear", &[], &json!({})).status,
        200
    );
    assert!(emu.log().is_empty());
    // Revoke, models, reset, unknown path.
    assert_eq!(
        post_json(admin, "/admin/revoke", &[], &json!({"all": true})).json(),
        json!({"revoked": 1})
    );
    let m = post_json(
        admin,
        "/admin/models",
        &[],
        &json!({"region": "yto-01", "models": ["x"]}),
    );
    assert_eq!(m.status, 200);
    assert_eq!(
        post_json(admin, "/admin/reset", &[], &json!({})).json(),
        json!({"ok": true})
    );
    assert_eq!(emu.with_model(|m| m.clock_offset_ms()), 0);
    assert_eq!(get(admin, "/admin/nope", &[]).status, 404);
}

#[test]
fn slow_fault_delays_the_answer() {
    let emu = start();
    let info = emu.info();
    emu.inject(
        &Target::Autorouter,
        Fault::Slow {
            delay_ms: 300,
            count: Some(1),
        },
    )
    .unwrap();
    let t = Instant::now();
    assert_eq!(get(&info.autorouter, "/v1/route", &[]).status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert_eq!(emu.log()[0].delay_ms, Some(300));
}

#[test]
fn preflight_answers_204_with_cors_on_autorouter_auth_and_edges() {
    let emu = start();
    let info = emu.info();
    let targets = [
        (info.autorouter.clone(), "/v1/route", "GET"),
        (info.auth.clone(), "/v1/auth/session", "POST"),
        (info.auth.clone(), "/v1/auth/refresh", "POST"),
        (region_url(&info, "yto-01"), "/v1/chat/completions", "POST"),
        (region_url(&info, "yul-01"), "/v1/models", "GET"),
    ];
    for (base, path, method) in targets {
        let r = request(
            &base,
            "OPTIONS",
            path,
            &[
                ("origin", "http://127.0.0.1:9"),
                ("access-control-request-method", method),
                (
                    "access-control-request-headers",
                    "authorization, content-type, x-request-id",
                ),
            ],
            None,
        )
        .unwrap();
        assert_eq!(r.status, 204, "{base}{path}");
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        assert_eq!(
            r.header("access-control-allow-headers"),
            Some("authorization, content-type, x-request-id")
        );
        let methods = r.header("access-control-allow-methods").unwrap();
        assert!(methods.contains(method), "{methods}");
        let exposed = r.header("access-control-expose-headers").unwrap();
        for h in ["retry-after", "x-request-id", "date"] {
            assert!(exposed.contains(h), "{exposed}");
        }
        assert_eq!(r.header("content-length"), None);
    }
    // Real answers carry them too, so a page can read the body and the exposed headers.
    let r = get(
        &info.autorouter,
        "/v1/route",
        &[("origin", "http://127.0.0.1:9")],
    );
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
}

#[test]
fn junk_json_is_400_and_huge_body_is_413() {
    let emu = start();
    let info = emu.info();
    let auth = bearer(&info.keys.read_write);
    let r = request(
        &info.auth,
        "POST",
        "/v1/auth/session",
        &[("authorization", &auth)],
        Some(b"{nope"),
    )
    .unwrap();
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (400, json!("invalid_request"))
    );
    // Declares 2 MiB but sends only 64 KiB: answered 413 without reading it all.
    let mut msg =
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 2097152\r\n\r\n"
            .to_vec();
    msg.extend(vec![b'a'; 64 * 1024]);
    let r = parse(&raw(&region_url(&info, "yto-01"), &msg).unwrap());
    assert_eq!(r.status, 413);
    assert_eq!(r.header("x-polargrid-region"), Some("yto-01"));
    assert!(r.header("date").is_some());
    // Still serving afterwards.
    assert_eq!(get(&info.autorouter, "/v1/route", &[]).status, 200);
}

#[test]
fn malformed_requests_get_400_and_never_crash_the_server() {
    let emu = start();
    let info = emu.info();
    for bad in [
        &b"NOT HTTP AT ALL\r\n\r\n"[..],
        b"GET /v1/route HTTP/9\r\n\r\n",
        b"GET /v1/route HTTP/1.1\r\nX-Bin: \xff\xfe\r\n\r\n",
        b"GET /v1/route HTTP/1.1\r\nbroken header\r\n\r\n",
    ] {
        let r = parse(&raw(&info.autorouter, bad).unwrap());
        assert_eq!(r.status, 400, "{:?}", String::from_utf8_lossy(bad));
    }
    // Truncated: the client gives up half-way; the server just closes.
    {
        let mut s = support::connect(&info.auth).unwrap();
        s.write_all(b"POST /v1/auth/session HTTP/1.1\r\ncontent-length: 50\r\n\r\n{\"us")
            .unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        assert!(out.is_empty());
    }
    // Random bytes.
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let _ = raw(&info.auth, &noise);
    assert_eq!(get(&info.autorouter, "/v1/route", &[]).status, 200);
    // Malformed requests are not logged (no method/path to log).
    assert_eq!(emu.log().len(), 1);
}

#[test]
fn concurrent_clients_are_all_served() {
    let emu = start();
    let info = emu.info();
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let url = info.autorouter.clone();
            std::thread::spawn(move || get(&url, "/v1/route", &[]).status)
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 200);
    }
    assert_eq!(emu.count(&Role::Autorouter, "/v1/route"), 16);
}

#[test]
fn dropping_the_emulator_closes_every_listener() {
    let emu = start();
    let info = emu.info();
    drop(emu);
    for url in [
        &info.autorouter,
        &info.auth,
        &info.admin,
        &info.regions[0].url,
    ] {
        let err = TcpStream::connect(support::addr(url)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{url}");
    }
}

#[test]
fn idle_connection_is_closed_unread_when_its_target_goes_down() {
    let emu = start();
    let info = emu.info();
    // A (kept-alive) connection accepted before the target went down is closed by it:
    // what the client then sends is never read, so never logged.
    let mut s = support::connect(&info.auth).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while emu.open_connections() == 0 {
        assert!(Instant::now() < deadline, "connection never accepted");
        std::thread::yield_now();
    }
    emu.set_down(&Target::Auth, true).unwrap();
    s.write_all(b"POST /v1/auth/session HTTP/1.1\r\ncontent-length: 0\r\n\r\n")
        .unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    assert!(out.is_empty());
    assert!(emu.log().is_empty(), "{:?}", emu.log());
}

#[test]
fn keep_alive_connection_serves_many_requests_until_the_client_closes() {
    let emu = start();
    let info = emu.info();
    let key = info.keys.read_write.clone();
    let mut s = support::connect(&info.regions[0].url).unwrap();
    let req = format!("GET /v1/models HTTP/1.1\r\nauthorization: Bearer {key}\r\n\r\n");
    for _ in 0..3 {
        s.write_all(req.as_bytes()).unwrap();
        let head = read_head(&mut s);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(head.contains("connection: keep-alive"), "{head}");
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let mut body = vec![0u8; len];
        s.read_exact(&mut body).unwrap();
    }
    assert_eq!(emu.open_connections(), 1);
    assert_eq!(emu.count(&Role::Edge("yto-01".into()), "/v1/models"), 3);
    // `Connection: close` is honoured.
    s.write_all(
        format!(
            "GET /v1/models HTTP/1.1\r\nconnection: close\r\nauthorization: Bearer {key}\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    let text = String::from_utf8_lossy(&rest);
    assert!(text.contains("connection: close"), "{text}");
}

/// Reads a response head (up to the blank line) byte by byte.
fn read_head(s: &mut std::net::TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

#[test]
fn binary_prints_startup_json_and_exits_when_stdin_closes() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_polargrid-emulator"))
        .args([
            "--regions",
            "yto-01,sfo-01",
            "--jwt-ttl",
            "30s",
            "--seed",
            "7",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: StartupInfo = serde_json::from_str(&line).unwrap();
    assert_eq!(info.jwt_ttl_s, 30);
    assert_eq!(info.regions[1].name, "San Francisco");
    let same_seed = Emulator::start(EmulatorConfig {
        seed: 7,
        ..EmulatorConfig::default()
    })
    .unwrap();
    assert_eq!(same_seed.info().keys, info.keys);
    assert_eq!(
        get(&info.autorouter, "/v1/route", &[]).json()["region"],
        "yto-01"
    );
    drop(child.stdin.take()); // EOF
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success());
            break;
        }
        assert!(
            Instant::now() < deadline,
            "emulator did not exit on stdin EOF"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
