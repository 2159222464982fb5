//! The admin API, driven through `Model::handle(Role::Admin)`.
use serde_json::json;

use super::*;

fn admin(h: &mut Harness, method: &str, path: &str, body: Option<Value>) -> Response {
    let mut req = Request::new(method, path);
    if let Some(b) = body {
        req = req.with_json(&b);
    }
    h.send(&Role::Admin, req)
}

#[test]
fn admin_info_is_the_startup_json() {
    let mut h = harness();
    let v = body_json(&admin(&mut h, "GET", "/admin/info", None));
    assert_eq!(v, serde_json::to_value(h.m.info()).unwrap());
    assert_eq!(
        v["regions"][1],
        json!({"id": "yul-01", "name": "Montreal", "country": "CA", "url": "https://api.yul-01.edge.polargrid.test"})
    );
    assert_eq!(v["jwt_ttl_s"], 86_400);
    assert_eq!(v["refresh_ttl_s"], 2_592_000);
    let keys: Vec<&str> = v["keys"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 5);
}

#[test]
fn admin_fault_status_then_faults_listing() {
    let mut h = harness();
    let r = admin(
        &mut h,
        "POST",
        "/admin/fault",
        Some(json!({"target": "region:yto-01", "kind": "status", "status": 504, "count": 3})),
    );
    assert_eq!(r.status, 200, "{:?}", body_json(&r));
    let faults = body_json(&admin(&mut h, "GET", "/admin/faults", None));
    assert_eq!(
        faults["faults"]["region:yto-01"]["answers"][0]["remaining"],
        3
    );
    let key = h.rw_key();
    assert_eq!(h.chat("yto-01", &key).status, 504);
}

#[test]
fn admin_fault_rate_limit_variants() {
    let mut h = harness();
    admin(
        &mut h,
        "POST",
        "/admin/fault",
        Some(json!({"target": "auth", "kind": "rate_limit", "retry_after": "7", "count": 1})),
    );
    admin(
        &mut h,
        "POST",
        "/admin/fault",
        Some(json!({"target": "auth", "kind": "rate_limit", "retry_after_date_s": 10})),
    );
    admin(
        &mut h,
        "POST",
        "/admin/fault",
        Some(json!({"target": "auth", "kind": "rate_limit", "retry_after": null})),
    );
    let key = h.rw_key();
    assert_eq!(h.exchange_raw(&key).header("retry-after"), Some("7"));
    assert_eq!(
        h.exchange_raw(&key).header("retry-after"),
        Some("Tue, 14 Nov 2023 22:13:30 GMT")
    );
    let r = h.exchange_raw(&key);
    assert_eq!((r.status, r.header("retry-after")), (429, None));
}

#[test]
fn admin_fault_rejects_bad_requests() {
    let mut h = harness();
    for body in [
        json!({"target": "moon", "kind": "down"}),
        json!({"target": "auth", "kind": "explode"}),
        json!({"target": "auth", "kind": "status"}),
        json!({"target": "auth", "kind": "status", "status": 99}),
        json!({"target": "auth", "kind": "slow"}),
        json!({"target": "auth", "kind": "status", "status": 500, "count": -1}),
    ] {
        assert_eq!(
            admin(&mut h, "POST", "/admin/fault", Some(body.clone())).status,
            400,
            "{body}"
        );
    }
    let unknown = admin(
        &mut h,
        "POST",
        "/admin/fault",
        Some(json!({"target": "region:mars-01", "kind": "down"})),
    );
    assert_eq!(unknown.status, 404);
    let junk = h.send(
        &Role::Admin,
        Request::new("POST", "/admin/fault").with_body("nope"),
    );
    assert_eq!(junk.status, 400);
}

#[test]
fn admin_down_and_up_toggle_target() {
    let mut h = harness();
    admin(
        &mut h,
        "POST",
        "/admin/fault",
        Some(json!({"target": "region:nyc-01", "kind": "down"})),
    );
    assert!(h.m.is_down(&Target::Region("nyc-01".to_string())));
    admin(
        &mut h,
        "POST",
        "/admin/fault",
        Some(json!({"target": "region:nyc-01", "kind": "up"})),
    );
    assert!(h.m.down_targets().is_empty());
}

#[test]
fn admin_clock_advance_and_offset() {
    let mut h = harness();
    let v = body_json(&admin(
        &mut h,
        "POST",
        "/admin/clock",
        Some(json!({"advance_ms": 5000})),
    ));
    assert_eq!(v, json!({"offset_ms": 5000, "now_ms": T0 + 5000}));
    // The harness passes the real clock as `now`; the offset is now included by server_time.
    let v = body_json(&admin(
        &mut h,
        "POST",
        "/admin/clock",
        Some(json!({"offset_ms": -1000})),
    ));
    assert_eq!(v["offset_ms"], -1000);
    assert_eq!(h.m.server_time(T0), T0 - 1000);
    assert_eq!(
        admin(
            &mut h,
            "POST",
            "/admin/clock",
            Some(json!({"advance_ms": "x"}))
        )
        .status,
        400
    );
}

#[test]
fn admin_revoke_variants() {
    let mut h = harness();
    let key = h.rw_key();
    let a = h.exchange(&key);
    let b = h.exchange(&key);
    let r = admin(
        &mut h,
        "POST",
        "/admin/revoke",
        Some(json!({"session_id": a.sid})),
    );
    assert_eq!(body_json(&r), json!({"revoked": 1}));
    assert_eq!(
        admin(
            &mut h,
            "POST",
            "/admin/revoke",
            Some(json!({"session_id": "ses_nope"}))
        )
        .status,
        404
    );
    assert_eq!(
        body_json(&admin(
            &mut h,
            "POST",
            "/admin/revoke",
            Some(json!({"all": true}))
        )),
        json!({"revoked": 1})
    );
    assert_eq!(h.chat("yto-01", &b.jwt).status, 401);
    let ro = h.m.keys().read_only;
    assert_eq!(
        admin(&mut h, "POST", "/admin/revoke", Some(json!({"key": ro}))).status,
        200
    );
    assert_eq!(h.exchange_raw(&ro).status, 401);
    assert_eq!(
        admin(&mut h, "POST", "/admin/revoke", Some(json!({}))).status,
        400
    );
}

#[test]
fn admin_models_sets_region_models() {
    let mut h = harness();
    let r = admin(
        &mut h,
        "POST",
        "/admin/models",
        Some(json!({"region": "yul-01", "models": ["m1"]})),
    );
    assert_eq!(body_json(&r), json!({"region": "yul-01", "models": ["m1"]}));
    assert_eq!(h.m.region_models("yul-01"), Some(&["m1".to_string()][..]));
    assert_eq!(
        admin(
            &mut h,
            "POST",
            "/admin/models",
            Some(json!({"region": "zz-01", "models": []}))
        )
        .status,
        404
    );
    assert_eq!(
        admin(
            &mut h,
            "POST",
            "/admin/models",
            Some(json!({"region": "yul-01", "models": [1]}))
        )
        .status,
        400
    );
}

#[test]
fn admin_config_changes_lifetimes_and_legacy_field() {
    let mut h = harness();
    let r = admin(
        &mut h,
        "POST",
        "/admin/config",
        Some(json!({"jwt_ttl_s": 5, "legacy_token_field": true})),
    );
    assert_eq!(body_json(&r)["jwt_ttl_s"], 5);
    let key = h.rw_key();
    let v = body_json(&h.exchange_raw(&key));
    assert_eq!(
        (v["expires_in"].clone(), v["token"].is_string()),
        (json!(5), true)
    );
    assert_eq!(
        admin(
            &mut h,
            "POST",
            "/admin/config",
            Some(json!({"jwt_ttl_s": -5}))
        )
        .status,
        400
    );
}

#[test]
fn admin_log_filters_and_clear() {
    let mut h = harness();
    let key = h.rw_key();
    let s = h.exchange(&key);
    h.chat("yto-01", &s.jwt);
    h.chat("yul-01", &s.jwt);
    let all = body_json(&admin(&mut h, "GET", "/admin/log", None));
    assert_eq!(all["entries"].as_array().unwrap().len(), 3);
    let v = body_json(&admin(
        &mut h,
        "GET",
        "/admin/log?role=edge&region=yul-01",
        None,
    ));
    assert_eq!(v["entries"].as_array().unwrap().len(), 1);
    assert_eq!(v["entries"][0]["credential"], "jwt");
    let v = body_json(&admin(
        &mut h,
        "GET",
        "/admin/log?path=%2Fv1%2Fauth%2Fsession",
        None,
    ));
    assert_eq!(v["entries"][0]["credential"], "key");
    assert_eq!(
        body_json(&admin(&mut h, "POST", "/admin/log/clear", None)),
        json!({"cleared": 3})
    );
    assert!(h.m.log().is_empty());
}

#[test]
fn admin_reset_clears_faults_log_and_clock_but_keeps_keys() {
    let mut h = harness();
    let keys = h.m.keys();
    h.m.inject(&Target::Auth, Fault::Down).unwrap();
    h.m.advance_clock_ms(10_000);
    h.m.revoke_key(&keys.read_write);
    h.send(&Role::Autorouter, Request::new("GET", "/v1/route"));
    assert_eq!(
        body_json(&admin(&mut h, "POST", "/admin/reset", None)),
        json!({"ok": true})
    );
    assert_eq!(h.m.keys(), keys);
    assert!(h.m.faults().is_empty() && h.m.log().is_empty());
    assert_eq!(h.m.clock_offset_ms(), 0);
    assert_eq!(h.exchange_raw(&keys.read_write).status, 200);
}

#[test]
fn admin_unknown_path_is_404_and_wrong_method_405() {
    let mut h = harness();
    assert_eq!(admin(&mut h, "GET", "/admin/nope", None).status, 404);
    assert_eq!(admin(&mut h, "GET", "/v1/route", None).status, 404);
    assert_eq!(admin(&mut h, "GET", "/admin/reset", None).status, 405);
    let r = admin(&mut h, "GET", "/admin/sessions", None);
    assert_eq!(body_json(&r), json!({"active": []}));
}
