//! Exchange, refresh rotation, reuse detection, expiry, revocation.
use serde_json::json;

use super::*;

#[test]
fn exchange_with_valid_key_answers_session_shape_with_hs256_jwt() {
    let mut h = harness();
    let key = h.rw_key();
    let r = h.exchange_raw(&key);
    assert_eq!(r.status, 200);
    let v = body_json(&r);
    assert_eq!(v["expires_in"], 86_400);
    assert_eq!(v["refresh_expires_in"], 30 * 86_400);
    assert!(v["refresh_token"].as_str().unwrap().starts_with("rt_"));
    let sid = v["session_id"].as_str().unwrap();
    let c = claims(&h.m, v["session_token"].as_str().unwrap());
    assert_eq!(c["sid"], sid);
    assert_eq!(c["scope"], "read-write");
    assert_eq!(c["iat"], T0 / 1000);
    assert_eq!(c["exp"], T0 / 1000 + 86_400);
    let sub = c["sub"].as_str().unwrap();
    assert_eq!(Some(sub.to_string()), h.m.key_id(&key));
    assert!(!sub.contains(&key));
}

#[test]
fn exchange_scope_claim_follows_key_permission() {
    let mut h = harness();
    let keys = h.m.keys();
    for (key, scope) in [(keys.read_only, "read-only"), (keys.admin, "admin")] {
        let s = h.exchange(&key);
        assert_eq!(claims(&h.m, &s.jwt)["scope"], scope);
    }
}

#[test]
fn exchange_without_body_is_accepted() {
    let mut h = harness();
    let req = Request::new("POST", "/v1/auth/session").with_bearer(&h.rw_key());
    assert_eq!(h.send(&Role::Auth, req).status, 200);
}

#[test]
fn exchange_with_bad_credentials_is_401_invalid_api_key() {
    let mut h = harness();
    let keys = h.m.keys();
    for key in [
        keys.revoked.as_str(),
        "pg_unknown",
        "eyJhbGciOiJIUzI1NiJ9.e30.x",
    ] {
        let r = h.exchange_raw(key);
        assert_eq!(r.status, 401, "{key}");
        assert_eq!(body_json(&r), json!({"message": "Invalid API key"}));
    }
}

#[test]
fn exchange_with_missing_or_malformed_authorization_is_401() {
    let mut h = harness();
    let key = h.rw_key();
    let no_header = Request::new("POST", "/v1/auth/session");
    let basic = Request::new("POST", "/v1/auth/session")
        .with_header("authorization", &format!("Basic {key}"));
    let empty = Request::new("POST", "/v1/auth/session").with_header("authorization", "Bearer ");
    for req in [no_header, basic, empty] {
        assert_eq!(h.send(&Role::Auth, req).status, 401);
    }
}

#[test]
fn exchange_with_junk_json_is_400_invalid_request() {
    let mut h = harness();
    let req = Request::new("POST", "/v1/auth/session")
        .with_bearer(&h.rw_key())
        .with_body("{not json");
    let r = h.send(&Role::Auth, req);
    assert_eq!(r.status, 400);
    assert_eq!(body_json(&r)["code"], "invalid_request");
    assert!(body_json(&r)["message"].is_string());
}

#[test]
fn legacy_flag_answers_token_instead_of_session_token() {
    let mut h = harness();
    h.m.set_legacy_token_field(true);
    let key = h.rw_key();
    let v = body_json(&h.exchange_raw(&key));
    assert!(v["token"].is_string());
    assert!(v.get("session_token").is_none());
}

#[test]
fn refresh_rotates_refresh_token_and_issues_new_jwt() {
    let mut h = harness();
    let key = h.rw_key();
    let s = h.exchange(&key);
    h.advance_s(60);
    let r = h.refresh_raw(&s.refresh);
    assert_eq!(r.status, 200);
    let v = body_json(&r);
    let new_rt = v["refresh_token"].as_str().unwrap();
    let new_jwt = v["session_token"].as_str().unwrap();
    assert_ne!(new_rt, s.refresh);
    assert_ne!(new_jwt, s.jwt);
    assert_eq!(v["session_id"], s.sid.as_str());
    assert_eq!(claims(&h.m, new_jwt)["iat"], T0 / 1000 + 60);
    assert_eq!(h.chat("yto-01", new_jwt).status, 200);
    // The rotated token works once more.
    assert_eq!(h.refresh_raw(new_rt).status, 200);
}

#[test]
fn refresh_with_rotated_token_revokes_family() {
    let mut h = harness();
    let key = h.rw_key();
    let s = h.exchange(&key);
    let v = body_json(&h.refresh_raw(&s.refresh));
    let rt2 = v["refresh_token"].as_str().unwrap().to_string();
    let jwt2 = v["session_token"].as_str().unwrap().to_string();
    let other = h.exchange(&key);

    let reuse = h.refresh_raw(&s.refresh);
    assert_eq!(reuse.status, 401);
    assert_eq!(
        body_json(&reuse),
        json!({"message": "Refresh token reuse detected", "code": "refresh_token_reused"})
    );
    // Every token of the family is dead now.
    assert_eq!(h.refresh_raw(&rt2).status, 401);
    for jwt in [&s.jwt, &jwt2] {
        let r = h.chat("yto-01", jwt);
        assert_eq!(r.status, 401);
        assert_eq!(body_json(&r)["message"], "Invalid token");
    }
    // Another session of the same key is unaffected.
    assert_eq!(h.chat("yto-01", &other.jwt).status, 200);
    assert_eq!(h.refresh_raw(&other.refresh).status, 200);
}

#[test]
fn refresh_token_expires_after_refresh_ttl() {
    let mut h = harness();
    h.m.set_ttls(None, Some(100), None);
    let key = h.rw_key();
    let s = h.exchange(&key);
    h.advance_s(100);
    let r = h.refresh_raw(&s.refresh);
    assert_eq!(r.status, 401);
    assert_eq!(body_json(&r)["code"], "refresh_token_expired");
}

#[test]
fn refresh_with_unknown_token_is_401_and_junk_is_400() {
    let mut h = harness();
    assert_eq!(h.refresh_raw("rt_nope").status, 401);
    let junk = Request::new("POST", "/v1/auth/refresh").with_body("][");
    let r = h.send(&Role::Auth, junk);
    assert_eq!(
        (r.status, body_json(&r)["code"].clone()),
        (400, json!("invalid_request"))
    );
    let missing = Request::new("POST", "/v1/auth/refresh").with_json(&json!({}));
    assert_eq!(h.send(&Role::Auth, missing).status, 400);
}

#[test]
fn refresh_of_revoked_session_is_401() {
    let mut h = harness();
    let key = h.rw_key();
    let s = h.exchange(&key);
    assert!(h.m.revoke_session(&s.sid));
    let r = h.refresh_raw(&s.refresh);
    assert_eq!(
        (r.status, body_json(&r)["code"].clone()),
        (401, json!("session_revoked"))
    );
}

#[test]
fn jwt_is_accepted_until_exp_then_token_expired() {
    let mut h = harness();
    h.m.set_ttls(Some(30), None, None);
    let key = h.rw_key();
    let s = h.exchange(&key);
    h.advance_s(29);
    assert_eq!(h.chat("yto-01", &s.jwt).status, 200);
    h.advance_s(1);
    let r = h.chat("yto-01", &s.jwt);
    assert_eq!(r.status, 401);
    assert_eq!(
        body_json(&r),
        json!({"message": "Token expired", "code": "token_expired"})
    );
}

#[test]
fn clock_offset_moves_expiry_like_time_passing() {
    let mut h = harness();
    h.m.set_ttls(Some(30), None, None);
    let key = h.rw_key();
    let s = h.exchange(&key);
    h.m.advance_clock_ms(31_000);
    let now = h.m.server_time(T0);
    let req = Request::new("GET", "/v1/models").with_bearer(&s.jwt);
    let r =
        h.m.handle(now, &edge("yto-01"), &req)
            .into_response()
            .unwrap();
    assert_eq!(body_json(&r)["code"], "token_expired");
}

#[test]
fn tampered_or_foreign_jwt_is_invalid_token() {
    let mut h = harness();
    let key = h.rw_key();
    let s = h.exchange(&key);
    let mut tampered = s.jwt.clone();
    tampered.pop();
    tampered.push(if s.jwt.ends_with('A') { 'B' } else { 'A' });
    let other_model = Model::new(ModelConfig {
        seed: 99,
        ..ModelConfig::default()
    });
    let mut h2 = Harness {
        m: other_model,
        now: T0,
    };
    let foreign = h2.exchange(&h2.rw_key()).jwt;
    for token in [tampered.as_str(), "garbage", foreign.as_str()] {
        let r = h.chat("yto-01", token);
        assert_eq!(
            body_json(&r),
            json!({"message": "Invalid token", "code": "invalid_token"}),
            "{token}"
        );
    }
}

#[test]
fn direct_key_is_accepted_and_revoked_or_unknown_key_is_401() {
    let mut h = harness();
    let keys = h.m.keys();
    assert_eq!(h.chat("yul-01", &keys.read_write).status, 200);
    for key in [keys.revoked.as_str(), "pg_nope"] {
        let r = h.chat("yul-01", key);
        assert_eq!(
            (r.status, body_json(&r)),
            (401, json!({"message": "Invalid API key"}))
        );
    }
}

#[test]
fn revoking_a_key_kills_its_sessions_and_direct_use() {
    let mut h = harness();
    let key = h.rw_key();
    let s = h.exchange(&key);
    assert!(h.m.revoke_key(&key));
    assert_eq!(h.chat("yto-01", &s.jwt).status, 401);
    assert_eq!(h.chat("yto-01", &key).status, 401);
    assert_eq!(h.exchange_raw(&key).status, 401);
    assert_eq!(h.refresh_raw(&s.refresh).status, 401);
    assert!(!h.m.revoke_key("pg_unknown"));
}

#[test]
fn revoke_all_sessions_counts_active_ones() {
    let mut h = harness();
    let key = h.rw_key();
    let a = h.exchange(&key);
    let _b = h.exchange(&key);
    assert_eq!(h.m.active_sessions().len(), 2);
    assert!(h.m.revoke_session(&a.sid));
    assert_eq!(h.m.revoke_all_sessions(), 1);
    assert!(h.m.active_sessions().is_empty());
}

#[test]
fn same_seed_gives_same_keys_and_tokens_other_seed_differs() {
    let mut a = harness();
    let mut b = harness();
    assert_eq!(a.m.keys(), b.m.keys());
    let ka = a.rw_key();
    assert_eq!(a.exchange(&ka).jwt, b.exchange(&ka).jwt);
    let c = Model::new(ModelConfig {
        seed: 1,
        ..ModelConfig::default()
    });
    assert_ne!(c.keys().read_write, ka);
    let k = a.m.keys();
    for key in [k.read_write, k.read_only, k.admin, k.revoked, k.no_credits] {
        assert!(key.starts_with("pg_") && key[3..].chars().all(|ch| ch.is_ascii_alphanumeric()));
    }
}

#[test]
fn reset_keeps_keys_and_forgets_sessions() {
    let mut h = harness();
    let key = h.rw_key();
    let s = h.exchange(&key);
    h.m.reset();
    assert_eq!(h.rw_key(), key);
    assert_eq!(h.chat("yto-01", &s.jwt).status, 401);
    assert_eq!(h.refresh_raw(&s.refresh).status, 401);
    let s2 = h.exchange(&key);
    assert_ne!(s2.sid, s.sid);
    assert_ne!(s2.refresh, s.refresh);
}

#[test]
fn refresh_token_live_follows_use_expiry_and_revocation_without_changing_anything() {
    let mut h = harness();
    let key = h.rw_key();
    let s = h.exchange(&key);
    assert!(h.m.refresh_token_live(&s.refresh, h.now));
    assert!(h.m.refresh_token_live(&s.refresh, h.now)); // asking twice changes nothing
    assert!(!h.m.refresh_token_live("rt_unknown", h.now));
    let ttl_ms = h.m.config().refresh_ttl_s * 1000;
    assert!(!h.m.refresh_token_live(&s.refresh, h.now + ttl_ms));
    let r = h.refresh_raw(&s.refresh);
    assert_eq!(r.status, 200);
    let rotated = body_json(&r)["refresh_token"].as_str().unwrap().to_string();
    assert!(!h.m.refresh_token_live(&s.refresh, h.now), "used");
    assert!(h.m.refresh_token_live(&rotated, h.now));
    h.m.revoke_session(&s.sid);
    assert!(!h.m.refresh_token_live(&rotated, h.now), "revoked");
}
