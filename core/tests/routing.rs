//! Routing scenarios: the discovery request, the cache and its ttl, fallback on every
//! kind of discovery failure, hostile answers, pinned/fixed routing, failover and
//! cooldown.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod scripted;
mod support;

use polargrid_core::{
    CallSpec, Config, DiscoveryScope, HttpRequest, HttpResponse, Method, Purpose, RegionReason,
    TransportErrorKind,
};
use scripted::*;
use support::*;

fn model_call(h: &mut Harness, model: &str) -> polargrid_core::CallId {
    h.start(CallSpec::new(Method::Post, "/v1/chat/completions").with_model(model))
}

// ----- the discovery request -----

#[test]
fn default_discovery_is_a_bare_get_with_no_query_and_no_credentials() {
    for cfg in [direct(), session_config()] {
        let mut h = Harness::new(cfg);
        h.get_models();
        if h.has(is_exchange) {
            h.exchanged(HOUR, "rt_1");
        }
        let d = h.take(is_discover);
        assert_eq!(d.method, Method::Get);
        assert_eq!(d.url, "https://autorouter.polargrid.ai/v1/route");
        assert_eq!(d.header("accept"), Some("application/json"));
        assert_eq!(d.body, None);
        let jwt = h
            .client
            .session_snapshot()
            .map(|s| s.session_token.expose().to_string());
        for (name, value) in &d.headers {
            let n = name.to_ascii_lowercase();
            assert!(
                ![
                    "authorization",
                    "cookie",
                    "x-api-key",
                    "proxy-authorization"
                ]
                .contains(&n.as_str()),
                "credential header {name} on discovery"
            );
            assert!(
                !value.contains(KEY) && !value.contains("pg_"),
                "{name}: key on discovery"
            );
            if let Some(j) = &jwt {
                assert!(!value.contains(j.as_str()), "{name}: jwt on discovery");
            }
        }
    }
}

#[test]
fn model_hint_is_percent_encoded_in_the_query() {
    let mut h = Harness::new(direct());
    model_call(&mut h, "llama-3.1 8b/instruct+q4&x=y");
    let d = h.take(is_discover);
    assert_eq!(
        d.url,
        "https://autorouter.polargrid.ai/v1/route?model=llama-3.1%208b%2Finstruct%2Bq4%26x%3Dy"
    );
}

#[test]
fn global_scope_adds_scope_global_after_the_model() {
    let mut cfg = direct();
    cfg.scope = DiscoveryScope::Global;
    let mut h = Harness::new(cfg.clone());
    h.get_models();
    assert_eq!(
        h.take(is_discover).url,
        "https://autorouter.polargrid.ai/v1/route?scope=global"
    );
    let mut h = Harness::new(cfg);
    model_call(&mut h, "llama-3.1-8b");
    assert_eq!(
        h.take(is_discover).url,
        "https://autorouter.polargrid.ai/v1/route?model=llama-3.1-8b&scope=global"
    );
}

#[test]
fn scope_input_is_trimmed_and_case_insensitive() {
    assert_eq!(DiscoveryScope::parse(" GLOBAL "), DiscoveryScope::Global);
    assert_eq!(DiscoveryScope::parse("global"), DiscoveryScope::Global);
    for s in ["", "country", "world", "globally"] {
        assert_eq!(DiscoveryScope::parse(s), DiscoveryScope::Country, "{s:?}");
    }
}

// ----- cache and ttl -----

#[test]
fn second_call_within_ttl_makes_no_discovery_and_after_ttl_rediscovers() {
    let mut h = Harness::new(direct());
    h.get_models();
    routed_to(&mut h, "nyc-01", 60);
    ok_call(&mut h);
    h.now += 59_000;
    h.get_models();
    assert_eq!(ok_call(&mut h).url, format!("{}/v1/models", edge("nyc-01")));
    assert_eq!(discoveries(&h).len(), 1);
    h.now += 2_000; // 61 s after the answer
    h.get_models();
    assert!(!h.has(is_call), "waits for the new answer");
    routed_to(&mut h, "yul-01", 60);
    assert_eq!(ok_call(&mut h).url, format!("{}/v1/models", edge("yul-01")));
    assert_eq!(discoveries(&h).len(), 2);
}

#[test]
fn missing_zero_negative_or_non_numeric_ttl_means_24_hours() {
    let answers = [
        r#"{"region":"nyc-01","endpoint":"https://api.nyc-01.edge.polargrid.ai"}"#,
        r#"{"region":"nyc-01","endpoint":"https://api.nyc-01.edge.polargrid.ai","ttl":0}"#,
        r#"{"region":"nyc-01","endpoint":"https://api.nyc-01.edge.polargrid.ai","ttl":-5}"#,
        r#"{"region":"nyc-01","endpoint":"https://api.nyc-01.edge.polargrid.ai","ttl":"3600"}"#,
        r#"{"region":"nyc-01","endpoint":"https://api.nyc-01.edge.polargrid.ai","ttl":null}"#,
        r#"{"region":"nyc-01","endpoint":"https://api.nyc-01.edge.polargrid.ai","ttl":{"s":1}}"#,
    ];
    for body in answers {
        let mut h = Harness::new(direct());
        h.get_models();
        let d = h.take(is_discover);
        h.respond(d.id, json(200, body));
        assert_eq!(
            ok_call(&mut h).url,
            format!("{}/v1/models", edge("nyc-01")),
            "{body}"
        );
        h.now = T0 + DAY - 60_000;
        h.get_models();
        ok_call(&mut h);
        assert_eq!(discoveries(&h).len(), 1, "{body}: cached for 24 h");
        h.now = T0 + DAY + 1;
        h.get_models();
        assert!(h.has(is_discover), "{body}: rediscovers after 24 h");
    }
}

#[test]
fn cache_is_per_model_and_one_discovery_serves_all_waiting_calls() {
    let mut h = Harness::new(direct());
    let a1 = model_call(&mut h, "model-a");
    let a2 = model_call(&mut h, "model-a");
    let b = model_call(&mut h, "model-b");
    let none = h.get_models();
    let urls: Vec<String> = discoveries(&h).iter().map(|r| r.url.clone()).collect();
    assert_eq!(
        urls,
        [
            "https://autorouter.polargrid.ai/v1/route?model=model-a",
            "https://autorouter.polargrid.ai/v1/route?model=model-b",
            "https://autorouter.polargrid.ai/v1/route",
        ]
    );
    serve(&mut h, 50, |_, r| match (r.purpose, r.url.as_str()) {
        (Purpose::Discover, u) if u.ends_with("model-a") => {
            Reply::Respond(route_answer("nyc-01", &edge("nyc-01"), 600))
        }
        (Purpose::Discover, u) if u.ends_with("model-b") => {
            Reply::Respond(route_answer("yul-01", &edge("yul-01"), 600))
        }
        (Purpose::Discover, _) => Reply::Respond(route_answer("yto-01", &edge("yto-01"), 600)),
        _ => Reply::Respond(HttpResponse::new(200)),
    });
    for c in [a1, a2, b, none] {
        assert!(h.ready(c));
    }
    let hosts: Vec<&str> = calls_sent(&h).iter().map(|r| host(&r.url)).collect();
    assert_eq!(
        hosts,
        [
            "api.nyc-01.edge.polargrid.ai",
            "api.nyc-01.edge.polargrid.ai",
            "api.yul-01.edge.polargrid.ai",
            "api.yto-01.edge.polargrid.ai"
        ]
    );
    // Cached per model: more calls, no more discovery.
    model_call(&mut h, "model-b");
    model_call(&mut h, "model-a");
    h.get_models();
    assert_eq!(discoveries(&h).len(), 3);
}

// ----- fallback -----

/// Every way discovery can fail, driven to the point where the call is sent.
/// A way of making one discovery request fail.
type DiscoveryFault = Box<dyn Fn(&mut Harness, HttpRequest)>;

fn discovery_failures() -> Vec<(&'static str, DiscoveryFault)> {
    let respond = |resp: HttpResponse| -> DiscoveryFault {
        Box::new(move |h, d| h.respond(d.id, resp.clone()))
    };
    vec![
        (
            "404",
            respond(json(404, r#"{"message":"no edge serves model"}"#)),
        ),
        ("500", respond(json(500, r#"{"message":"boom"}"#))),
        (
            "503",
            respond(HttpResponse::new(503).with_header("Retry-After", "1")),
        ),
        ("403 CDN", respond(json(403, r#"{"Message": null}"#))),
        (
            "non-JSON 200",
            respond(HttpResponse::new(200).with_body("<html>hi</html>")),
        ),
        ("JSON array 200", respond(json(200, "[]"))),
        (
            "missing region",
            respond(json(
                200,
                r#"{"endpoint":"https://api.nyc-01.edge.polargrid.ai","ttl":60}"#,
            )),
        ),
        (
            "missing endpoint",
            respond(json(200, r#"{"region":"nyc-01","ttl":60}"#)),
        ),
        (
            "region not a string",
            respond(json(
                200,
                r#"{"region":7,"endpoint":"https://api.nyc-01.edge.polargrid.ai"}"#,
            )),
        ),
        (
            "malformed region",
            respond(json(
                200,
                r#"{"region":"../evil","endpoint":"https://api.nyc-01.edge.polargrid.ai"}"#,
            )),
        ),
        (
            "connect error",
            Box::new(|h: &mut Harness, d: HttpRequest| h.fail(d.id, TransportErrorKind::Connect)),
        ),
        (
            "dns error",
            Box::new(|h: &mut Harness, d: HttpRequest| h.fail(d.id, TransportErrorKind::Dns)),
        ),
        (
            "tls error",
            Box::new(|h: &mut Harness, d: HttpRequest| h.fail(d.id, TransportErrorKind::Tls)),
        ),
        (
            "reported timeout",
            Box::new(|h: &mut Harness, d: HttpRequest| h.fail(d.id, TransportErrorKind::Timeout)),
        ),
        (
            "no answer before the 2 s deadline",
            Box::new(|h: &mut Harness, d: HttpRequest| {
                let start = h.now;
                assert_eq!(
                    h.client.poll_timeout().map(|t| t.as_millis()),
                    Some(start + 2_000)
                );
                h.advance(1_999);
                assert!(!h.has(is_call), "still waiting at 1.999 s");
                assert!(h.next_wakeup());
                assert_eq!(h.now, start + 2_000);
                assert!(aborted(h).contains(&d.id), "discovery aborted");
                // Its late answer is accepted and changes nothing.
                h.respond(d.id, route_answer("nyc-01", &edge("nyc-01"), 600));
            }),
        ),
    ]
}

#[test]
fn every_discovery_failure_falls_back_to_the_default_region() {
    for (name, fail) in discovery_failures() {
        for model in [None, Some("llama-3.1-8b")] {
            let mut h = Harness::new(direct());
            let call = match model {
                Some(m) => model_call(&mut h, m),
                None => h.get_models(),
            };
            let d = h.take(is_discover);
            fail(&mut h, d);
            let c = h.take(is_call);
            assert_eq!(host(&c.url), "api.yto-01.edge.polargrid.ai", "{name}");
            assert_eq!(
                c.header("authorization"),
                Some(format!("Bearer {KEY}").as_str())
            );
            h.respond(c.id, HttpResponse::new(200));
            assert!(h.ready(call), "{name}");
            assert_eq!(h.endings(call), 1, "{name}");
            assert_eq!(
                region_changes(&h),
                [("yto-01".to_string(), RegionReason::Fallback)],
                "{name}"
            );
        }
    }
}

#[test]
fn a_failed_discovery_is_retried_after_discovery_retry_not_after_the_ttl() {
    for (name, fail) in discovery_failures() {
        let mut h = Harness::new(direct());
        model_call(&mut h, "m");
        let d = h.take(is_discover);
        let failed_at = h.now;
        fail(&mut h, d);
        let failed_at = failed_at.max(h.now);
        ok_call(&mut h);
        // Within the 30 s the fallback is used without asking again…
        h.now = failed_at + 29_000;
        model_call(&mut h, "m");
        assert_eq!(
            host(&ok_call(&mut h).url),
            "api.yto-01.edge.polargrid.ai",
            "{name}"
        );
        assert_eq!(
            discoveries(&h).len(),
            1,
            "{name}: no discovery within discovery_retry"
        );
        // …and after it, the autorouter is asked again (not 24 h later).
        h.now = failed_at + 30_001;
        model_call(&mut h, "m");
        let d = h.take(is_discover);
        assert_eq!(
            d.url, "https://autorouter.polargrid.ai/v1/route?model=m",
            "{name}"
        );
        h.respond(d.id, route_answer("nyc-01", &edge("nyc-01"), 600));
        assert_eq!(
            host(&ok_call(&mut h).url),
            "api.nyc-01.edge.polargrid.ai",
            "{name}"
        );
    }
}

#[test]
fn a_failed_model_discovery_leaves_other_cache_entries_alone() {
    let mut h = Harness::new(direct());
    h.get_models();
    routed_to(&mut h, "nyc-01", 3600);
    ok_call(&mut h);
    model_call(&mut h, "unknown-model");
    let d = h.take(is_discover);
    h.respond(d.id, json(404, "{}"));
    assert_eq!(host(&ok_call(&mut h).url), "api.yto-01.edge.polargrid.ai");
    h.get_models();
    assert_eq!(host(&ok_call(&mut h).url), "api.nyc-01.edge.polargrid.ai");
    assert_eq!(discoveries(&h).len(), 2);
}

// ----- hostile answers -----

#[test]
fn hostile_endpoints_are_never_sent_a_credential() {
    let hostile = [
        "http://api.nyc-01.edge.polargrid.ai",
        "https://evil.example",
        "https://evil.example/api.nyc-01.edge.polargrid.ai",
        "https://api.nyc-01.edge.polargrid.ai.evil.example",
        "https://u:p@api.x.edge.polargrid.ai",
        "https://api.x.edge.polargrid.ai@evil.example",
        "https://edge.polargrid.ai",
        "https://autorouter.polargrid.ai",
        "https://auth.polargrid.ai",
        "http://127.0.0.1:9101",
        "//evil.example",
        "javascript:alert(1)",
        "",
    ];
    for endpoint in hostile {
        for cfg in [direct(), session_config()] {
            let mut h = Harness::new(cfg);
            let call = h.get_models();
            serve(&mut h, 50, |h, r| match r.purpose {
                Purpose::Exchange | Purpose::Refresh => {
                    Reply::Respond(session_answer(h.server_now(), HOUR, "rt", None))
                }
                Purpose::Discover => Reply::Respond(json(
                    200,
                    &serde_json::json!({"region": "nyc-01", "endpoint": endpoint, "ttl": 600})
                        .to_string(),
                )),
                Purpose::Call(_) => Reply::Respond(HttpResponse::new(200)),
            });
            assert!(h.ready(call), "{endpoint}");
            let secrets: Vec<String> = std::iter::once(KEY.to_string())
                .chain(
                    h.client
                        .session_snapshot()
                        .map(|s| s.session_token.expose().to_string()),
                )
                .collect();
            for r in &h.sent {
                let carries = r
                    .headers
                    .iter()
                    .any(|(_, v)| secrets.iter().any(|s| v.contains(s.as_str())));
                let h_ = host(&r.url);
                if carries {
                    assert!(
                        h_ == "auth.polargrid.ai"
                            || (r.url.starts_with("https://")
                                && h_.ends_with(".edge.polargrid.ai")
                                && h_ != "api.x.edge.polargrid.ai"),
                        "{endpoint}: credential sent to {}",
                        r.url
                    );
                }
                assert!(!r.url.contains("evil"), "{endpoint}: {}", r.url);
            }
            let c = calls_sent(&h);
            assert_eq!(
                host(&c[0].url),
                "api.yto-01.edge.polargrid.ai",
                "{endpoint}: fallback"
            );
        }
    }
}

#[test]
fn an_endpoint_under_the_edge_domain_for_another_region_is_used() {
    let mut h = Harness::new(direct());
    h.get_models();
    let d = h.take(is_discover);
    h.respond(
        d.id,
        route_answer("sea-01", "https://api.sea-01.edge.polargrid.ai/", 600),
    );
    let c = h.take(is_call);
    assert_eq!(c.url, "https://api.sea-01.edge.polargrid.ai/v1/models");
    assert_eq!(
        region_changes(&h),
        [("sea-01".to_string(), RegionReason::Discovered)]
    );
}

// ----- pinned and fixed routing -----

#[test]
fn pinned_region_and_fixed_base_url_never_discover() {
    let cfgs = [
        direct().with_region("nyc-01"),
        direct().with_region("montreal"),
        direct().with_base_url("https://api.nyc-01.edge.polargrid.ai"),
        session_config().with_region("nyc"),
    ];
    for cfg in cfgs {
        let mut h = Harness::new(cfg);
        let calls: Vec<_> = (0..3).map(|_| h.get_models()).collect();
        let m = model_call(&mut h, "llama");
        serve(&mut h, 100, |h, r| match r.purpose {
            Purpose::Exchange | Purpose::Refresh => {
                Reply::Respond(session_answer(h.server_now(), HOUR, "rt", None))
            }
            _ => Reply::Respond(HttpResponse::new(200)),
        });
        for c in calls.into_iter().chain([m]) {
            assert!(h.ready(c));
        }
        // A day later, after edge failures, still no discovery.
        h.now += DAY;
        let c = h.get_models();
        serve(&mut h, 100, |h, r| match r.purpose {
            Purpose::Exchange | Purpose::Refresh => {
                Reply::Respond(session_answer(h.server_now(), HOUR, "rt", None))
            }
            _ => Reply::Fail(TransportErrorKind::Connect),
        });
        assert!(h.failure(c).is_some());
        assert_eq!(discoveries(&h).len(), 0);
        let configured = region_changes(&h);
        assert_eq!(configured.len(), 1, "{configured:?}");
        assert_eq!(configured[0].1, RegionReason::Configured);
    }
}

#[test]
fn service_urls_written_with_v1_are_not_doubled() {
    let mut e = endpoints();
    e.autorouter = "https://autorouter.polargrid.ai/v1".to_string();
    e.auth = "https://auth.polargrid.ai/v1/".to_string();
    let mut h = Harness::new(Config::new(KEY).with_endpoints(e));
    h.get_models();
    assert_eq!(
        h.take(is_discover).url,
        "https://autorouter.polargrid.ai/v1/route"
    );
    assert_eq!(
        h.take(is_exchange).url,
        "https://auth.polargrid.ai/v1/auth/session"
    );
}
