//! Bad input: malformed keys and URLs, hostile headers, JSON bombs, truncated and
//! ill-typed answers, JWTs dated in the past or in year 9999, extreme settings and
//! clocks. Each gives a typed error or a sane fallback, never a panic, and never drops
//! a session whose JWT is still valid. Crashes found by fuzzing are kept here as
//! regression tests (named after the bug).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use core::time::Duration;

use base64::Engine as _;
use polargrid_core::{
    read_claims, CallSpec, Client, Config, ConfigError, Endpoints, ErrorKind, HttpRequest,
    HttpResponse, Method, MisuseError, Purpose, RetryPolicy, SessionSnapshot, SessionStatus,
    Timeouts, Timestamp, TransportErrorKind,
};
use support::*;

// ----- helpers -----

/// Every setting at the largest value its type allows.
fn max_tuning(mut c: Config) -> Config {
    c.retry = RetryPolicy {
        max_attempts: 20,
        base_backoff: Duration::MAX,
        max_backoff: Duration::MAX,
        max_retry_after: Duration::MAX,
        budget_capacity: u32::MAX,
        budget_refill_tenths: u32::MAX,
    };
    c.timeouts = Timeouts {
        auth: Duration::MAX,
        discovery: Duration::MAX,
        call: Duration::MAX,
        connect: Duration::MAX,
        call_deadline: Some(Duration::MAX),
    };
    c.failures_before_down = u32::MAX;
    c.region_cooldown = Duration::MAX;
    c.discovery_retry = Duration::MAX;
    c.handoff_wait = Duration::MAX;
    c
}

/// Moves to 2 minutes before the JWT expires (inside the refresh window, JWT still
/// valid) and returns the refresh request.
fn into_refresh_window(h: &mut Harness) -> HttpRequest {
    h.advance(HOUR - 2 * 60_000);
    h.take(is_refresh)
}

fn bomb(depth: usize) -> String {
    let mut s = "[".repeat(depth);
    s.push_str(&"]".repeat(depth));
    s
}

/// An object whose field holds a bomb: `{"session_token": [[[…]]]}`.
fn bomb_in(field: &str, depth: usize) -> String {
    format!("{{\"{field}\": {}}}", bomb(depth))
}

/// Answers a refresh with `bad` while the JWT is valid: the session must be kept as is,
/// and calls still go out with the same JWT.
fn assert_bad_refresh_keeps_session(bad: HttpResponse, what: &str) {
    assert_bad_refresh_keeps_session_then(bad, what, true);
}

/// The same; `call_after` also checks a call still goes out with the old JWT (not when
/// the answer's `Date` claims the server's clock is past the JWT's expiry).
fn assert_bad_refresh_keeps_session_then(bad: HttpResponse, what: &str, call_after: bool) {
    let mut h = warmed_up(session_config(), HOUR);
    let before = h.client.session_snapshot().unwrap();
    let rf = into_refresh_window(&mut h);
    h.respond(rf.id, bad);
    // The same session (the clock-skew estimate may have moved: a Date header says so).
    let after = h.client.session_snapshot().expect(what);
    assert_eq!(
        after.session_token, before.session_token,
        "{what}: session changed"
    );
    assert_eq!(
        after.refresh_token, before.refresh_token,
        "{what}: refresh token changed"
    );
    assert_eq!(after.expires_at, before.expires_at, "{what}");
    assert!(
        matches!(
            h.client.session_status(),
            SessionStatus::Active(_) | SessionStatus::Refreshing(_)
        ),
        "{what}: {:?}",
        h.client.session_status()
    );
    if !call_after {
        return;
    }
    let call = h.get_models();
    let c = h.take(is_call);
    let jwt = format!("Bearer {}", before.session_token.expose());
    assert_eq!(c.header("authorization"), Some(jwt.as_str()), "{what}");
    h.respond(c.id, HttpResponse::new(200));
    assert!(h.ready(call), "{what}");
}

// ----- regressions found by fuzzing -----

/// fuzz client_sequence: with `handoff_wait = Duration::MAX` a waiting call's deadline
/// saturates to `u64::MAX`; a driver that sleeps until then and calls `handle_timeout`
/// overflowed `now + 1000` in the backward-jump check.
#[test]
fn clock_at_u64_max_after_saturated_deadline_does_not_overflow() {
    let cfg = max_tuning(Config::handoff().with_endpoints(endpoints()));
    let mut h = Harness::new(cfg);
    h.get_models();
    let at = h
        .client
        .poll_timeout()
        .expect("a waiting call has a deadline");
    assert_eq!(at, Timestamp(u64::MAX));
    h.set_clock(u64::MAX);
    h.set_clock(0);
    h.set_clock(u64::MAX);
}

/// fuzz route_answer: a model hint equal to the key put the key into the discovery URL
/// (`/v1/route?model=pg_…`), i.e. sent it to the autorouter; a path could carry it into
/// edge access logs. Both are refused before anything is sent.
#[test]
fn key_in_model_hint_or_path_is_refused_before_any_request() {
    for mode in [Config::new(KEY), Config::direct(KEY)] {
        let mut h = Harness::new(mode.with_endpoints(endpoints()));
        let by_model =
            CallSpec::new(Method::Post, "/v1/chat/completions").with_model(&format!("x{KEY}x"));
        let by_path = CallSpec::new(Method::Get, &format!("/v1/models?k={KEY}"));
        for spec in [by_model, by_path] {
            let r = h.client.start_call(h.t(), spec);
            assert!(matches!(r, Err(MisuseError::BadCall(_))), "{r:?}");
            assert!(!format!("{r:?}").contains(KEY));
        }
        h.pump();
        assert!(h.sent.is_empty(), "{:?}", h.sent);
        assert_eq!(h.client.open_calls(), 0);
    }
}

/// fuzz client_sequence: `budget_refill_tenths = u32::MAX` overflowed the retry budget
/// on the first successful call.
#[test]
fn huge_budget_refill_on_success_does_not_overflow() {
    let cfg = max_tuning(
        Config::direct(KEY)
            .with_endpoints(endpoints())
            .with_region("yto-01"),
    );
    let mut h = Harness::new(cfg);
    let call = h.get_models();
    assert_eq!(h.finish_call(), call);
    assert!(h.client.retry_budget() > 0);
}

/// fuzz route_answer: a positive `ttl` below a millisecond (`2.9e-322`) made a route that
/// expired the instant it arrived: the call was never sent and discovery ran again.
#[test]
fn tiny_positive_route_ttl_still_routes_the_call() {
    for ttl in ["2.9e-322", "0.0001", "0.5"] {
        let mut h = Harness::new(Config::direct(KEY).with_endpoints(endpoints()));
        h.get_models();
        let d = h.take(is_discover);
        let body = format!(
            r#"{{"region":"nyc-01","endpoint":"https://api.nyc-01.edge.polargrid.ai","ttl":{ttl}}}"#
        );
        h.respond(d.id, json(200, &body));
        let c = h.take(is_call);
        assert_eq!(
            c.url, "https://api.nyc-01.edge.polargrid.ai/v1/models",
            "ttl {ttl}"
        );
        assert!(!h.has(is_discover), "ttl {ttl}: discovered again at once");
    }
}

/// fuzz client_sequence: a driver clock near `u64::MAX` and an answer dated 1970 gave a
/// skew of `i64::MIN`; `(skew - old).abs()` and `-skew` overflowed.
#[test]
fn epoch_date_header_with_clock_at_u64_max_does_not_overflow_skew() {
    let mut h = Harness::new(session_config());
    h.now = u64::MAX - 5;
    h.get_models();
    let ex = h.take(is_exchange);
    let body = serde_json::json!({
        "session_token": jwt(0, HOUR, None),
        "refresh_token": "rt_1",
        "expires_in": 3600,
    });
    let resp = json(200, &body.to_string()).with_header("Date", "Thu, 01 Jan 1970 00:00:00 GMT");
    h.respond(ex.id, resp);
    assert_eq!(h.client.clock_skew_ms(), i64::MIN);
    let _ = h.client.session_status();
    let _ = h.client.poll_timeout();
    h.advance(1);
    h.set_clock(T0);
}

/// Malformed URLs in the configuration are typed errors, never a panic; none is echoed
/// with a secret.
#[test]
fn malformed_urls_are_config_errors() {
    let long = format!("https://{}.example", "a".repeat(5000));
    for bad in [
        "",
        "https:/é",
        "http:/é",
        "httpsé://x",
        "é",
        "https://",
        "https://é.example",
        "https://[",
        "https://[::1",
        "https://a:b:c",
        "https://host:",
        "https://host:-1",
        "https://u:p@host",
        "https://.edge.polargrid.ai",
        "https://a..b",
        "https://example.com.",
        "https://h#f",
        "https://h?q",
        "https://h\u{0}",
        "https://h\u{202e}x",
        long.as_str(),
        "http://10.0.0.1",
        "ftp://x",
        "https://exa mple",
    ] {
        let cfg = Config::new(KEY).with_base_url(bad);
        match Client::new(cfg, 1) {
            Err(e @ ConfigError::BadUrl { .. }) => assert!(!e.to_string().contains(KEY)),
            other => panic!("{bad:?}: {other:?}"),
        }
        let e = Endpoints {
            auth: bad.to_string(),
            ..Endpoints::default()
        };
        assert!(
            Client::new(Config::new(KEY).with_endpoints(e), 1).is_err(),
            "{bad:?}"
        );
    }
}

/// A URL cut inside a multi-byte character (`https:/é…`) panicked the URL reader; from a
/// discovery answer that crashed the client. Now the endpoint is refused and the call
/// falls back to the default region.
#[test]
fn route_endpoint_cut_inside_a_multibyte_char_falls_back() {
    for endpoint in [
        "https:/é.edge.polargrid.ai",
        "http:/é",
        "httpsé",
        "ééééééééé",
    ] {
        let mut h = Harness::new(Config::direct(KEY).with_endpoints(endpoints()));
        h.get_models();
        let d = h.take(is_discover);
        h.respond(d.id, route_answer("nyc-01", endpoint, 3600));
        let c = h.take(is_call);
        assert_eq!(
            c.url, "https://api.yto-01.edge.polargrid.ai/v1/models",
            "{endpoint}"
        );
    }
}

/// fuzz route_answer: an endpoint host with empty labels
/// (`https://.edge.polargrid.ai.edge.polargrid.ai`) ends with the edge suffix and was taken
/// as an edge, so the credential went to a malformed host. Now it falls back.
#[test]
fn route_endpoint_with_empty_host_label_falls_back() {
    for endpoint in [
        "https://.edge.polargrid.ai.edge.polargrid.ai",
        "https://api..edge.polargrid.ai",
        "https://api.yto-01.edge.polargrid.ai.",
    ] {
        let mut h = Harness::new(session_config());
        h.get_models();
        h.exchanged(HOUR, "rt_1");
        let d = h.take(is_discover);
        h.respond(d.id, route_answer("nyc-01", endpoint, 3600));
        let c = h.take(is_call);
        assert_eq!(
            c.url, "https://api.yto-01.edge.polargrid.ai/v1/models",
            "{endpoint}"
        );
    }
}

// ----- malformed keys -----

#[test]
fn malformed_keys_are_typed_config_errors() {
    let long = format!("pg_{}", "a".repeat(1024 * 1024));
    for key in [
        "",
        " ",
        "pg_",
        "pg_abc",
        "PG_0123456789",
        "sk-0123456789abcdef",
        "pg_0123456789\u{0}",
        "pg_0123456789\r\nX-Evil: 1",
        "pg_01234567é89",
        "pg_0123 456789",
        "\u{feff}pg_0123456789",
        long.as_str(),
    ] {
        for cfg in [Config::new(key), Config::direct(key)] {
            match Client::new(cfg, 1) {
                Err(e @ ConfigError::MalformedApiKey { .. }) => {
                    assert!(key.len() < 8 || !e.to_string().contains(key))
                }
                other => panic!("{key:?}: {:?}", other.map(|_| ())),
            }
        }
    }
    // Handoff never takes a key; session and direct must have one.
    assert!(matches!(
        Client::new(
            Config {
                api_key: None,
                ..Config::new(KEY)
            },
            1
        ),
        Err(ConfigError::MissingApiKey { .. })
    ));
}

// ----- hostile headers -----

fn hostile_header_sets() -> Vec<Vec<(String, String)>> {
    let mb = "x".repeat(1024 * 1024);
    vec![
        vec![
            ("Date".into(), mb.clone()),
            ("Retry-After".into(), mb.clone()),
        ],
        vec![(
            "Date".into(),
            "\u{0}\u{7}\r\n\t\u{1b}[31m Fri, 15 Jan 2027 08:00:00 GMT".into(),
        )],
        vec![
            ("Retry-After".into(), "\u{0}1".into()),
            ("Via".into(), mb.clone()),
        ],
        vec![("Retry-After".into(), "9".repeat(100_000))],
        vec![("Retry-After".into(), "Fri, 31 Dec 9999 23:59:59 GMT".into())],
        vec![("Date".into(), "Fri, 31 Dec 9999 23:59:59 GMT".into())],
        vec![("Date".into(), "Thu, 01 Jan 1970 00:00:00 GMT".into())],
        (0..5000)
            .map(|i| (format!("x-h-{i}"), format!("v{i}")))
            .collect(),
        (0..5000)
            .map(|_| ("Date".to_string(), "garbage".to_string()))
            .collect(),
        vec![(mb.clone(), mb)],
        vec![("".into(), "".into()), ("\u{0}".into(), "\u{0}".into())],
    ]
}

fn with_headers(mut r: HttpResponse, hs: &[(String, String)]) -> HttpResponse {
    r.headers.extend(hs.iter().cloned());
    r
}

#[test]
fn hostile_headers_on_every_answer_never_panic() {
    for hs in hostile_header_sets() {
        let mut h = Harness::new(session_config());
        let call = h.get_models();
        let ex = h.take(is_exchange);
        let now = h.server_now();
        h.respond(
            ex.id,
            with_headers(session_answer(now, HOUR, "rt_1", None), &hs),
        );
        let d = h.take(is_discover);
        let route = route_answer("yto-01", "https://api.yto-01.edge.polargrid.ai", 3600);
        h.respond(d.id, with_headers(route, &hs));
        // Whatever the headers did to the clock estimate, the call gets sent or fails.
        h.run(50, |h, r| match r.purpose {
            Purpose::Call(_) => {
                Reply::Respond(with_headers(json(429, r#"{"message":"slow"}"#), &hs))
            }
            _ => Reply::Respond(session_answer(h.server_now(), HOUR, "rt_2", None)),
        });
        assert_eq!(h.endings(call), 1);
        let err = h.failure(call).expect("429 every time fails the call");
        // A head that is not valid HTTP (CR, LF or NUL in a value, over 64 KiB) is a
        // protocol failure whichever platform parsed it; any other head is read as is.
        let size: usize = hs.iter().map(|(k, v)| k.len() + v.len() + 4).sum();
        let broken = size > 64 * 1024
            || hs
                .iter()
                .any(|(_, v)| v.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)));
        let expected = if broken {
            ErrorKind::Network(TransportErrorKind::Protocol)
        } else {
            ErrorKind::RateLimited
        };
        assert_eq!(err.kind, expected, "headers {:?}", hs.first());
        assert!(err.to_string().len() < 2000);
    }
}

#[test]
fn hostile_headers_on_a_refresh_answer_keep_a_valid_session() {
    for hs in hostile_header_sets() {
        assert_bad_refresh_keeps_session_then(
            with_headers(json(503, "{}"), &hs),
            "503 + hostile headers",
            false,
        );
    }
}

// ----- JSON bombs -----

#[test]
fn json_bombs_never_overflow_the_stack() {
    for depth in [100_000, 30_000, 200] {
        let b = bomb(depth);
        // Snapshot.
        assert!(SessionSnapshot::from_json(&b).is_err());
        assert!(SessionSnapshot::from_json(&bomb_in("schema_version", depth)).is_err());
        // Hand-over of a session answer.
        let mut h = Harness::new(Config::handoff().with_endpoints(endpoints()));
        for j in [
            b.clone(),
            bomb_in("session_token", depth),
            bomb_in("expires_in", depth),
        ] {
            assert!(matches!(
                h.client.hand_over(h.t(), &j),
                Err(MisuseError::BadSnapshot(_))
            ));
        }
        // A JWT whose payload is a bomb.
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let token = format!(
            "eyJhbGciOiJub25lIn0.{}.sig",
            e.encode(bomb(depth.min(12_000)))
        );
        assert!(read_claims(&token).is_err());
        // Exchange answer, route answer and call error body.
        let mut h = Harness::new(session_config());
        let call = h.get_models();
        let ex = h.take(is_exchange);
        h.respond(ex.id, json(200, &bomb_in("session_token", depth)));
        let d = h.take(is_discover);
        h.respond(d.id, json(200, &bomb_in("endpoint", depth)));
        h.run(50, |h, r| match r.purpose {
            Purpose::Call(_) => Reply::Respond(json(400, &bomb_in("message", depth))),
            Purpose::Discover => Reply::Respond(json(200, &b)),
            _ => Reply::Respond(session_answer(h.server_now(), HOUR, "rt_1", None)),
        });
        let err = h.failure(call).expect("the call fails on the 400");
        assert_eq!(err.kind, ErrorKind::Validation);
        assert!(err.server_message.is_none_or(|m| m.chars().count() <= 201));
        // A refresh answered with a bomb keeps the session.
        assert_bad_refresh_keeps_session(json(200, &bomb_in("session_token", depth)), "bomb");
    }
}

// ----- truncated and ill-typed answers -----

#[test]
fn truncated_refresh_answers_keep_a_valid_session() {
    let now = T0 + HOUR - 2 * 60_000;
    let full = session_answer(now, HOUR, "rt_new", None);
    let n = full.body.len();
    for cut in (0..n).step_by(7).chain([n - 1]) {
        let mut bad = full.clone();
        bad.body.truncate(cut);
        assert_bad_refresh_keeps_session(bad, &format!("cut at {cut}"));
    }
}

#[test]
fn ill_typed_refresh_answers_keep_a_valid_session() {
    let now = T0 + HOUR - 2 * 60_000;
    let good_jwt = jwt(now, now + HOUR, None);
    let expired = jwt(now - 2 * HOUR, now - HOUR, None);
    let opaque = serde_json::json!("opaque-session-token");
    for body in [
        serde_json::json!({"session_token": 5}),
        serde_json::json!({"session_token": ""}),
        serde_json::json!({"session_token": null, "token": null}),
        serde_json::json!({"session_token": [good_jwt]}),
        serde_json::json!({"session_token": good_jwt, "refresh_token": 5}),
        serde_json::json!({"session_token": "x".repeat(20_000), "expires_in": 3600}),
        serde_json::json!({"session_token": "é-not-ascii", "expires_in": 3600}),
        serde_json::json!({"session_token": opaque, "expires_in": -3600}),
        serde_json::json!({"session_token": opaque, "expires_in": 0}),
        serde_json::json!({"session_token": opaque, "expires_in": "3600"}),
        serde_json::json!({"session_token": opaque, "expires_in": 1.0e300}),
        serde_json::json!({"session_token": opaque}),
        // Dead on arrival. (One that also names a new refresh token rotates it: the
        // rotation tests in hostile_text.rs.)
        serde_json::json!({"session_token": expired}),
        serde_json::json!({"session_token": opaque, "expires_in": 0.0001}),
        serde_json::json!([1, 2, 3]),
        serde_json::json!("just a string"),
        serde_json::Value::Null,
    ] {
        let resp = json(200, &body.to_string()).with_header("Date", &http_date(now));
        assert_bad_refresh_keeps_session(resp, &body.to_string());
    }
    assert_bad_refresh_keeps_session(HttpResponse::new(200), "empty body");
    assert_bad_refresh_keeps_session(
        HttpResponse::new(200).with_body(vec![0xff, 0xfe, 0x00]),
        "binary",
    );
    let huge = format!("{{\"session_token\": \"{}\"}}", "a".repeat(100 * 1024));
    assert_bad_refresh_keeps_session(json(200, &huge), "100 KB body");
    for status in [500, 502, 503, 504, 429, 408, 302, 418] {
        assert_bad_refresh_keeps_session(
            json(status, r#"{"message":"nope"}"#),
            &status.to_string(),
        );
    }
}

#[test]
fn refresh_transport_failures_keep_a_valid_session() {
    use polargrid_core::TransportErrorKind::*;
    for kind in [Dns, Connect, Tls, Timeout, Aborted] {
        let mut h = warmed_up(session_config(), HOUR);
        let before = h.client.session_snapshot().unwrap();
        let rf = into_refresh_window(&mut h);
        h.fail(rf.id, kind);
        assert_eq!(h.client.session_snapshot(), Some(before), "{kind:?}");
    }
}

// ----- JWT dates -----

#[test]
fn exchange_answer_with_an_expired_jwt_is_not_used_for_calls() {
    let mut h = Harness::new(session_config());
    let call = h.get_models();
    let mut exchanges = 0;
    h.run(200, |h, r| match r.purpose {
        Purpose::Exchange | Purpose::Refresh => {
            exchanges += 1;
            let now = h.server_now();
            let body = serde_json::json!({
                "session_token": jwt(now - 2 * HOUR, now - HOUR, None),
                "refresh_token": "rt_x",
                "expires_in": 3600,
            });
            Reply::Respond(json(200, &body.to_string()).with_header("Date", &http_date(now)))
        }
        Purpose::Discover => Reply::Respond(route_answer(
            "yto-01",
            "https://api.yto-01.edge.polargrid.ai",
            60,
        )),
        Purpose::Call(_) => Reply::Respond(HttpResponse::new(200)),
    });
    // No call goes out with a dead JWT; the session is retried with backoff, not in a
    // tight loop, and the call ends with a typed error.
    assert_eq!(h.count_sent(is_call), 0);
    assert!(exchanges <= 10, "{exchanges} session requests for one call");
    let err = h.failure(call).expect("the call fails");
    assert_eq!(err.kind, ErrorKind::MalformedResponse);
}

#[test]
fn jwt_expiring_in_year_9999_is_used_and_scheduled_sanely() {
    let mut h = Harness::new(session_config());
    let call = h.get_models();
    let ex = h.take(is_exchange);
    let now = h.server_now();
    let far = 253_402_300_799_000; // 9999-12-31T23:59:59Z
    let body = serde_json::json!({"session_token": jwt(now, far, None), "refresh_token": "rt_1"});
    h.respond(ex.id, json(200, &body.to_string()));
    assert_eq!(h.route_and_finish_call(3600), call);
    let SessionStatus::Active(info) = h.client.session_status() else {
        panic!("{:?}", h.client.session_status());
    };
    assert_eq!(info.expires_at, Timestamp(far));
    // The refresh token (30 days) runs out long before: the session is renewed then.
    h.advance(31 * DAY);
    let call = h.get_models();
    h.run(20, |h, r| match r.purpose {
        Purpose::Call(_) => Reply::Respond(HttpResponse::new(200)),
        Purpose::Discover => Reply::Respond(route_answer(
            "yto-01",
            "https://api.yto-01.edge.polargrid.ai",
            3600,
        )),
        _ => Reply::Respond(session_answer(h.server_now(), HOUR, "rt_2", None)),
    });
    assert!(h.ready(call));
}

#[test]
fn restoring_an_expired_or_far_future_snapshot_is_sane() {
    for (exp, refresh_exp) in [
        (T0 - DAY, Some(T0 - HOUR)),
        (T0 - DAY, Some(T0 + DAY)),
        (T0 - DAY, None),
        (253_402_300_799_000, None),
        (u64::MAX, Some(u64::MAX)),
        (0, Some(0)),
    ] {
        let mut h = Harness::new(session_config());
        let snap = SessionSnapshot {
            session_token: polargrid_core::Secret::new(jwt(T0 - 2 * DAY, exp, None)),
            refresh_token: Some(polargrid_core::Secret::new("rt_restored")),
            session_id: None,
            expires_at: Timestamp(exp),
            refresh_expires_at: refresh_exp.map(Timestamp),
            clock_skew_ms: None,
        };
        h.client.restore(h.t(), &snap).unwrap();
        let call = h.get_models();
        h.run(50, |h, r| match r.purpose {
            Purpose::Call(_) => Reply::Respond(HttpResponse::new(200)),
            Purpose::Discover => Reply::Respond(route_answer(
                "yto-01",
                "https://api.yto-01.edge.polargrid.ai",
                3600,
            )),
            _ => Reply::Respond(session_answer(h.server_now(), HOUR, "rt_2", None)),
        });
        assert!(h.ready(call), "exp {exp}");
    }
}
