//! Route rules, autorouter CDN answers, fault injection, the request log.
use serde_json::json;

use super::*;

fn route(h: &mut Harness, target: &str) -> Response {
    h.send(
        &Role::Autorouter,
        Request::new("GET", target).with_header("accept", "application/json"),
    )
}

#[test]
fn route_without_query_answers_first_region() {
    let mut h = harness();
    let r = route(&mut h, "/v1/route");
    assert_eq!(r.status, 200);
    assert_eq!(
        body_json(&r),
        json!({"region": "yto-01", "endpoint": "https://api.yto-01.edge.polargrid.test", "name": "Toronto", "ttl": 86_400})
    );
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
}

#[test]
fn route_with_model_picks_first_region_serving_it() {
    let mut h = harness();
    h.m.set_region_models("nyc-01", vec!["special".to_string()])
        .unwrap();
    let v = body_json(&route(&mut h, "/v1/route?model=special&scope=global"));
    assert_eq!(v["region"], "nyc-01");
    assert_eq!(v["name"], "New York");
}

#[test]
fn route_with_unserved_model_is_404() {
    let mut h = harness();
    let r = route(&mut h, "/v1/route?model=nobody-serves-this");
    assert_eq!(r.status, 404);
    assert_eq!(body_json(&r)["code"], "model_not_found");
}

#[test]
fn route_with_global_scope_answers_like_default() {
    let mut h = harness();
    for q in [
        "/v1/route?scope=global",
        "/v1/route?scope=%20Global",
        "/v1/route?scope=country",
        "/v1/route?",
    ] {
        assert_eq!(body_json(&route(&mut h, q))["region"], "yto-01", "{q}");
    }
}

#[test]
fn route_skips_down_regions_and_is_503_when_all_down() {
    let mut h = harness();
    h.m.set_down(&Target::Region("yto-01".to_string()), true)
        .unwrap();
    assert_eq!(body_json(&route(&mut h, "/v1/route"))["region"], "yul-01");
    h.m.set_down(&Target::Region("yul-01".to_string()), true)
        .unwrap();
    h.m.set_down(&Target::Region("nyc-01".to_string()), true)
        .unwrap();
    assert_eq!(route(&mut h, "/v1/route").status, 503);
    h.m.set_down(&Target::Region("yto-01".to_string()), false)
        .unwrap();
    assert_eq!(body_json(&route(&mut h, "/v1/route"))["region"], "yto-01");
}

#[test]
fn route_ttl_is_configurable() {
    let mut h = harness();
    h.m.set_ttls(None, None, Some(60));
    assert_eq!(body_json(&route(&mut h, "/v1/route"))["ttl"], 60);
}

#[test]
fn autorouter_rejects_other_paths_and_methods_like_the_cdn() {
    let mut h = harness();
    let key = h.rw_key();
    let reqs = [
        Request::new("POST", "/v1/chat/completions")
            .with_bearer(&key)
            .with_json(&chat_body()),
        Request::new("POST", "/v1/route"),
        Request::new("GET", "/"),
        Request::new("OPTIONS", "/v1/chat/completions"),
    ];
    for req in reqs {
        let r = h.send(&Role::Autorouter, req);
        assert_eq!(r.status, 403);
        assert_eq!(r.body_bytes(), br#"{"Message": null}"#);
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("via"), Some("1.1 abc.cloudfront.net (CloudFront)"));
        assert_eq!(r.header("x-cache"), Some("Error from cloudfront"));
        assert!(r.header("x-amz-cf-id").is_some_and(|id| id.len() > 20));
        assert!(r.header("date").is_some());
        assert_eq!(r.header("access-control-allow-origin"), None);
    }
    let preflight = h.send(&Role::Autorouter, Request::new("OPTIONS", "/v1/route"));
    assert_eq!(preflight.status, 204);
}

#[test]
fn status_fault_answers_for_count_requests_then_normal() {
    let mut h = harness();
    h.m.inject(
        &Target::Auth,
        Fault::Status {
            status: 503,
            count: Some(2),
        },
    )
    .unwrap();
    let key = h.rw_key();
    for _ in 0..2 {
        let r = h.exchange_raw(&key);
        assert_eq!(
            (r.status, body_json(&r)["code"].clone()),
            (503, json!("injected_fault"))
        );
        assert!(r.header("date").is_some());
    }
    assert_eq!(h.exchange_raw(&key).status, 200);
    assert!(h.m.faults().is_empty());
}

#[test]
fn faults_apply_only_to_their_target() {
    let mut h = harness();
    h.m.inject(
        &Target::Region("yul-01".to_string()),
        Fault::Status {
            status: 502,
            count: None,
        },
    )
    .unwrap();
    let key = h.rw_key();
    assert_eq!(h.chat("yto-01", &key).status, 200);
    assert_eq!(h.chat("yul-01", &key).status, 502);
    assert_eq!(h.chat("yul-01", &key).status, 502);
    assert_eq!(route(&mut h, "/v1/route").status, 200);
    h.m.inject(&Target::Region("yul-01".to_string()), Fault::Clear)
        .unwrap();
    assert_eq!(h.chat("yul-01", &key).status, 200);
}

#[test]
fn rate_limit_fault_answers_429_with_retry_after() {
    let mut h = harness();
    h.m.inject(
        &Target::Autorouter,
        Fault::RateLimit {
            retry_after: RetryAfter::Seconds(2),
            count: Some(1),
        },
    )
    .unwrap();
    let r = route(&mut h, "/v1/route");
    assert_eq!((r.status, r.header("retry-after")), (429, Some("2")));
    assert_eq!(
        r.header("access-control-expose-headers")
            .map(|v| v.contains("retry-after")),
        Some(true)
    );
    assert_eq!(route(&mut h, "/v1/route").status, 200);
}

#[test]
fn slow_fault_delays_count_answers() {
    let mut h = harness();
    h.m.inject(
        &Target::Autorouter,
        Fault::Slow {
            delay_ms: 2500,
            count: Some(1),
        },
    )
    .unwrap();
    let req = Request::new("GET", "/v1/route");
    match h.outcome(&Role::Autorouter, &req) {
        Outcome::Delay(2500, r) => assert_eq!(r.status, 200),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        h.outcome(&Role::Autorouter, &req),
        Outcome::Respond(_)
    ));
    assert_eq!(h.m.log().entries().next().unwrap().delay_ms, Some(2500));
}

#[test]
fn down_target_refuses_and_logs_refused() {
    let mut h = harness();
    h.m.set_down(&Target::Auth, true).unwrap();
    let key = h.rw_key();
    let req = Request::new("POST", "/v1/auth/session").with_bearer(&key);
    assert_eq!(h.outcome(&Role::Auth, &req), Outcome::Refuse);
    assert_eq!(
        h.m.log().entries().last().unwrap().status,
        LogStatus::Refused
    );
    assert_eq!(h.m.down_targets(), vec![Target::Auth]);
    h.m.set_down(&Target::Auth, false).unwrap();
    assert!(matches!(h.outcome(&Role::Auth, &req), Outcome::Respond(_)));
}

#[test]
fn unknown_region_is_refused_and_fault_on_it_is_an_error() {
    let mut h = harness();
    assert_eq!(
        h.outcome(&edge("mars-01"), &Request::new("GET", "/v1/models")),
        Outcome::Refuse
    );
    let err =
        h.m.inject(&Target::Region("mars-01".to_string()), Fault::Down);
    assert_eq!(err, Err(ModelError::UnknownRegion("mars-01".to_string())));
    let bad = h.m.inject(
        &Target::Auth,
        Fault::Status {
            status: 1000,
            count: Some(1),
        },
    );
    assert!(matches!(bad, Err(ModelError::Invalid(_))));
}

#[test]
fn log_records_credential_kinds_never_secrets() {
    let mut h = harness();
    let key = h.rw_key();
    route(&mut h, "/v1/route?model=llama-3.1-8b");
    let s = h.exchange(&key);
    let v = body_json(&h.refresh_raw(&s.refresh));
    let rt2 = v["refresh_token"].as_str().unwrap().to_string();
    h.chat("yto-01", &s.jwt);
    h.chat("yto-01", &key);
    h.send(
        &Role::Autorouter,
        Request::new("POST", "/v1/chat/completions").with_bearer(&key),
    );
    h.send(
        &edge("yto-01"),
        Request::new("GET", "/v1/models").with_header("x-request-id", "r1"),
    );
    let kinds: Vec<(LogRole, Credential)> =
        h.m.log()
            .entries()
            .map(|e| (e.role, e.credential))
            .collect();
    assert_eq!(
        kinds,
        vec![
            (LogRole::Autorouter, Credential::None),
            (LogRole::Auth, Credential::Key),
            (LogRole::Auth, Credential::RefreshToken),
            (LogRole::Edge, Credential::Jwt),
            (LogRole::Edge, Credential::Key),
            (LogRole::Autorouter, Credential::Key),
            (LogRole::Edge, Credential::None),
        ]
    );
    let dump = serde_json::to_string(&h.m.log().to_vec()).unwrap();
    for secret in [&key, &s.jwt, &s.refresh, &rt2] {
        assert!(!dump.contains(secret.as_str()));
    }
    let first = h.m.log().entries().next().unwrap().clone();
    assert_eq!(
        (first.seq, first.time_ms, first.method.as_str()),
        (0, T0, "GET")
    );
    assert_eq!(first.query.as_deref(), Some("model=llama-3.1-8b"));
    assert_eq!(first.status, LogStatus::Status(200));
    let last = h.m.log().entries().last().unwrap().clone();
    assert_eq!(
        (last.region.as_deref(), last.request_id.as_deref()),
        (Some("yto-01"), Some("r1"))
    );
    assert_eq!(last.status, LogStatus::Status(403));
}

#[test]
fn log_counts_by_role_and_path_and_clears() {
    let mut h = harness();
    let key = h.rw_key();
    let s = h.exchange(&key);
    h.refresh_raw(&s.refresh);
    h.chat("yto-01", &s.jwt);
    h.chat("yul-01", &s.jwt);
    h.send(
        &edge("yto-01"),
        Request::new("OPTIONS", "/v1/chat/completions"),
    );
    assert_eq!(h.m.log().count(&Role::Auth, "/v1/auth/refresh"), 1);
    assert_eq!(h.m.log().count(&edge("yto-01"), "/v1/chat/completions"), 1);
    assert_eq!(
        h.m.log().count_kind(LogRole::Edge, "/v1/chat/completions"),
        2
    );
    assert_eq!(
        h.m.log()
            .count_credential(LogRole::Autorouter, Credential::Key),
        0
    );
    assert_eq!(h.m.log().len(), 5);
    h.m.clear_log();
    assert!(h.m.log().is_empty());
    h.exchange(&key);
    assert_eq!(h.m.log().entries().next().unwrap().seq, 5);
}

#[test]
fn admin_requests_are_not_logged_or_faulted() {
    let mut h = harness();
    h.send(&Role::Admin, Request::new("GET", "/admin/info"));
    assert!(h.m.log().is_empty());
}

#[test]
fn role_for_url_maps_configured_bases() {
    let h = harness();
    assert_eq!(
        h.m.role_for_url("https://autorouter.polargrid.test/v1/route?x"),
        Some(Role::Autorouter)
    );
    assert_eq!(
        h.m.role_for_url("https://auth.polargrid.test/v1/auth/session"),
        Some(Role::Auth)
    );
    assert_eq!(
        h.m.role_for_url("https://api.yul-01.edge.polargrid.test/v1/models"),
        Some(edge("yul-01"))
    );
    assert_eq!(h.m.role_for_url("https://auth.polargrid.test.evil/x"), None);
}
