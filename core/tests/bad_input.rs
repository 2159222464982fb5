//! Bad input: malformed keys and URLs, hostile headers, JSON bombs, truncated and
//! ill-typed answers, JWTs dated in the past or in year 9999, extreme settings and
//! clocks. Each gives a typed error or a sane fallback, never a panic, and never drops
//! a session whose JWT is still valid. Crashes found by fuzzing are kept here as
//! regression tests (named after the bug).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use core::time::Duration;

use polargrid_core::{
    CallSpec, Client, Config, ConfigError, Endpoints, HttpResponse, Method, MisuseError,
    RetryPolicy, Timeouts, Timestamp,
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
    };
    c.failures_before_down = u32::MAX;
    c.region_cooldown = Duration::MAX;
    c.discovery_retry = Duration::MAX;
    c.handoff_wait = Duration::MAX;
    c
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
    let c = h.take(is_call);
    h.respond(c.id, HttpResponse::new(200));
    assert!(h.ready(call));
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
        let ex = h.take(is_exchange);
        let now = h.server_now();
        h.respond(ex.id, session_answer(now, HOUR, "rt_1", None));
        let d = h.take(is_discover);
        h.respond(d.id, route_answer("nyc-01", endpoint, 3600));
        let c = h.take(is_call);
        assert_eq!(
            c.url, "https://api.yto-01.edge.polargrid.ai/v1/models",
            "{endpoint}"
        );
    }
}
