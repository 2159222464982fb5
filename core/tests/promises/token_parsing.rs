//! Reading exchange, refresh and hand-over answers: which tokens are taken, what their
//! expiries are, and the size caps that keep a hostile answer from filling memory or
//! logs (a session token or refresh token of at most 16 KiB, a session id of at most 256
//! characters, an answer of at most 64 KiB); the JWT claims the core reads (times and
//! permission words); and the snapshot an app persists.

use crate::support::*;
use polargrid_core::{
    read_claims, Config, ErrorKind, JwtError, Secret, SessionInfo, SessionSnapshot, SessionStatus,
    Timestamp,
};

const SEC: u64 = 1000;

fn info(h: &Harness) -> SessionInfo {
    match h.client.session_status() {
        SessionStatus::Active(i) | SessionStatus::Refreshing(i) => i,
        other => panic!("no session: {other:?}"),
    }
}

/// A session-mode client whose first exchange was answered (at T0) with `body`.
fn exchanged_with(body: &str) -> Harness {
    let mut h = Harness::new(session_config());
    h.get_models();
    let ex = h.take(is_exchange);
    let resp = json(200, body).with_header("Date", &http_date(h.server_now()));
    h.respond(ex.id, resp);
    h
}

/// Whether the exchange answer was taken (a session is held).
fn taken(h: &Harness) -> bool {
    matches!(h.client.session_status(), SessionStatus::Active(_))
}

fn warm(refresh: &str) -> Harness {
    let mut h = Harness::new(session_config());
    let call = h.get_models();
    let ex = h.take(is_exchange);
    h.respond(ex.id, session_answer(h.server_now(), HOUR, refresh, None));
    assert_eq!(h.route_and_finish_call(3600), call);
    h
}

#[test]
fn refresh_answer_without_a_new_refresh_token_keeps_the_old_one() {
    let mut h = warm("rt_1");
    assert!(h.next_wakeup());
    let r = h.take(is_refresh);
    let now = h.server_now();
    let body = serde_json::json!({
        "session_token": jwt(now, now + HOUR, None),
        "expires_in": 3600,
    });
    h.respond(r.id, json(200, &body.to_string()));
    let snap = h.client.session_snapshot().unwrap();
    assert_eq!(
        snap.refresh_token.as_ref().map(|s| s.expose()),
        Some("rt_1")
    );
    // The next refresh sends the kept token.
    assert!(h.next_wakeup());
    let r = h.take(is_refresh);
    assert_eq!(body_json(&r), serde_json::json!({"refresh_token": "rt_1"}));
}

#[test]
fn rotated_refresh_token_comes_with_its_own_expiry() {
    let mut h = warm("rt_1");
    assert!(h.next_wakeup());
    let r = h.take(is_refresh);
    h.advance(1000);
    let now = h.server_now();
    let body = serde_json::json!({
        "session_token": jwt(now, now + HOUR, None),
        "refresh_token": "rt_2",
        "expires_in": 3600,
        "refresh_expires_in": 7200,
    });
    h.respond(r.id, json(200, &body.to_string()));
    let snap = h.client.session_snapshot().unwrap();
    assert_eq!(
        snap.refresh_token.as_ref().map(|s| s.expose()),
        Some("rt_2")
    );
    assert_eq!(snap.refresh_expires_at, Some(Timestamp(now + 2 * HOUR)));
}

#[test]
fn opaque_session_token_with_expires_in_is_sent_as_the_bearer() {
    let mut h = exchanged_with(
        r#"{"session_token":"opaque.session-token_42","refresh_token":"rt_1","expires_in":3600}"#,
    );
    assert!(taken(&h));
    assert_eq!(info(&h).expires_at, Timestamp(T0 + HOUR));
    h.routed(3600);
    let c = h.take(is_call);
    assert_eq!(
        c.header("authorization"),
        Some("Bearer opaque.session-token_42")
    );
}

#[test]
fn fractional_expires_in_is_kept_to_the_millisecond() {
    let h = exchanged_with(r#"{"session_token":"opaque","expires_in":3600.25}"#);
    assert_eq!(info(&h).expires_at, Timestamp(T0 + HOUR + 250));
}

#[test]
fn opaque_session_token_without_a_usable_expires_in_is_refused() {
    for body in [
        r#"{"session_token":"opaque","refresh_token":"rt"}"#,
        r#"{"session_token":"opaque","expires_in":0}"#,
        r#"{"session_token":"opaque","expires_in":-60}"#,
        r#"{"session_token":"opaque","expires_in":"3600"}"#,
        r#"{"session_token":"opaque","expires_in":1e10}"#,
        r#"{"session_token":"opaque","expires_in":null}"#,
    ] {
        let mut h = exchanged_with(body);
        assert!(!taken(&h), "{body}");
        assert!(h.client.session_snapshot().is_none(), "{body}");
        // Treated as a transient malformed answer: retried after a backoff.
        assert!(h.next_wakeup(), "{body}");
        assert!(h.has(is_exchange), "{body}: exchanged again");
    }
}

#[test]
fn expires_in_just_under_the_sanity_bound_is_accepted() {
    let h = exchanged_with(r#"{"session_token":"opaque","expires_in":9999999999}"#);
    assert!(taken(&h));
}

#[test]
fn empty_or_non_ascii_session_token_is_refused() {
    for body in [
        r#"{"session_token":"","expires_in":60}"#,
        r#"{"session_token":"tökén","expires_in":60}"#,
    ] {
        assert!(!taken(&exchanged_with(body)), "{body}");
    }
}

fn padded_token(len: usize) -> String {
    // A readable JWT padded in its signature (never decoded) to exactly `len` bytes.
    let base = jwt(T0, T0 + HOUR, None);
    let t = format!("{base}{}", "A".repeat(len - base.len()));
    assert_eq!(t.len(), len);
    t
}

#[test]
fn session_token_of_16_kib_is_taken_and_one_byte_more_is_refused() {
    let body = |t: &str| serde_json::json!({"session_token": t, "expires_in": 3600}).to_string();
    let h = exchanged_with(&body(&padded_token(16 * 1024)));
    assert!(taken(&h));
    let h = exchanged_with(&body(&padded_token(16 * 1024 + 1)));
    assert!(!taken(&h));
}

#[test]
fn claims_of_a_jwt_over_16_kib_are_not_read() {
    let c = read_claims(&padded_token(16 * 1024)).unwrap();
    assert_eq!(c.exp, Timestamp(T0 + HOUR));
    assert_eq!(
        read_claims(&padded_token(16 * 1024 + 1)),
        Err(JwtError::Shape)
    );
}

#[test]
fn refresh_token_of_16_kib_is_kept_and_a_longer_one_is_ignored() {
    let body = |r: &str| {
        serde_json::json!({
            "session_token": jwt(T0, T0 + HOUR, None),
            "refresh_token": r,
            "expires_in": 3600,
        })
        .to_string()
    };
    let at_cap = "r".repeat(16 * 1024);
    let h = exchanged_with(&body(&at_cap));
    let snap = h.client.session_snapshot().unwrap();
    assert_eq!(snap.refresh_token.unwrap().expose(), at_cap);
    let h = exchanged_with(&body(&"r".repeat(16 * 1024 + 1)));
    assert!(taken(&h), "the session is still taken");
    let snap = h.client.session_snapshot().unwrap();
    assert!(snap.refresh_token.is_none());
    assert!(snap.refresh_expires_at.is_none());
}

#[test]
fn session_id_of_256_characters_is_kept_and_a_longer_one_is_dropped() {
    let body = |sid: serde_json::Value| {
        serde_json::json!({
            "session_token": jwt(T0, T0 + HOUR, None),
            "refresh_token": "rt_1",
            "session_id": sid,
            "expires_in": 3600,
        })
        .to_string()
    };
    let sid = "s".repeat(256);
    let h = exchanged_with(&body(sid.clone().into()));
    assert_eq!(info(&h).session_id, Some(sid));
    let h = exchanged_with(&body("s".repeat(257).into()));
    assert!(taken(&h));
    assert_eq!(info(&h).session_id, None);
    let h = exchanged_with(&body(serde_json::json!(12345)));
    assert_eq!(info(&h).session_id.as_deref(), Some("12345"));
    let h = exchanged_with(&body(serde_json::json!({"id": "x"})));
    assert_eq!(info(&h).session_id, None);
}

#[test]
fn answer_over_64_kib_is_refused_and_one_of_64_kib_is_read() {
    let core = serde_json::json!({
        "session_token": jwt(T0, T0 + HOUR, None),
        "refresh_token": "rt_1",
        "expires_in": 3600,
    })
    .to_string();
    // JSON allows whitespace after the object: pad with it to an exact size.
    let sized = |n: usize| format!("{core}{}", " ".repeat(n - core.len()));
    let h = exchanged_with(&sized(64 * 1024));
    assert!(taken(&h));
    let mut h = exchanged_with(&sized(64 * 1024 + 1));
    assert!(!taken(&h));
    assert!(h.next_wakeup());
    assert!(h.has(is_exchange), "retried as a malformed answer");
}

#[test]
fn handed_over_grant_that_is_not_a_session_answer_is_a_typed_error() {
    let mut h = Harness::new(Config::handoff().with_endpoints(endpoints()));
    for g in [
        "not json",
        r#"{"session_token":"opaque"}"#,
        r#"{"expires_in":60}"#,
    ] {
        assert!(h.client.hand_over(h.t(), g).is_err(), "{g}");
    }
    assert!(matches!(h.client.session_status(), SessionStatus::Ended));
    let call = h.get_models();
    assert!(h.failure(call).is_none(), "waits for a hand-over");
    h.advance(30 * SEC);
    assert_eq!(h.failure(call).unwrap().kind, ErrorKind::NoSession);
}

#[test]
fn empty_refresh_token_counts_as_none() {
    let h = exchanged_with(&format!(
        r#"{{"session_token":"{}","refresh_token":"","expires_in":3600}}"#,
        jwt(T0, T0 + HOUR, None)
    ));
    assert!(taken(&h));
    let snap = h.client.session_snapshot().unwrap();
    assert!(snap.refresh_token.is_none());
    assert_eq!(info(&h).refresh_expires_at, None);
}

/// Found by `make mutants`: a refresh answer without a new refresh token kept the old token
/// but dropped its expiry, so the snapshot and `SessionInfo` said "no expiry" and the core
/// would send that token after it had expired.
#[test]
fn refresh_answer_without_rotation_keeps_the_refresh_tokens_expiry() {
    let mut h = warm("rt_1");
    let refresh_exp = Some(Timestamp(T0 + 30 * DAY));
    assert_eq!(info(&h).refresh_expires_at, refresh_exp);
    assert!(h.next_wakeup());
    let r = h.take(is_refresh);
    let now = h.server_now();
    let body = serde_json::json!({
        "session_token": jwt(now, now + HOUR, None),
        "expires_in": 3600,
    });
    h.respond(r.id, json(200, &body.to_string()));
    assert_eq!(info(&h).refresh_expires_at, refresh_exp);
    let snap = h.client.session_snapshot().unwrap();
    assert_eq!(snap.refresh_expires_at, refresh_exp);
    // Past that expiry (a second past, whatever the skew the JWT's iat taught) the key
    // is exchanged again instead of sending the dead token.
    h.now = T0 + 30 * DAY + 1000;
    h.get_models();
    assert!(h.has(is_exchange));
    assert!(!h.has(is_refresh));
}

#[test]
fn permission_words_are_read_from_scope_permissions_or_scp() {
    let admin = |claims: &str| {
        let t = format!(
            "eyJhbGciOiJIUzI1NiJ9.{}.c2ln",
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, claims)
        );
        read_claims(&t).unwrap().scope.map(|s| s.is_admin())
    };
    assert_eq!(admin(r#"{"exp":1,"scope":"read-write admin"}"#), Some(true));
    assert_eq!(admin(r#"{"exp":1,"scope":"read-write,admin"}"#), Some(true));
    assert_eq!(
        admin(r#"{"exp":1,"scope":"read-write,  ,admin"}"#),
        Some(true)
    );
    assert_eq!(admin(r#"{"exp":1,"scope":"ADMIN"}"#), Some(true));
    assert_eq!(admin(r#"{"exp":1,"scope":"org:admin"}"#), Some(true));
    assert_eq!(admin(r#"{"exp":1,"scope":"tokens:write"}"#), Some(true));
    assert_eq!(
        admin(r#"{"exp":1,"permissions":["Tokens:Write"]}"#),
        Some(true)
    );
    assert_eq!(
        admin(r#"{"exp":1,"scp":["read-write","admin"]}"#),
        Some(true)
    );
    for not_admin in [
        r#"{"exp":1,"scope":"read-write"}"#,
        r#"{"exp":1,"scope":"administrator"}"#,
        r#"{"exp":1,"scope":"admin-lite"}"#,
        r#"{"exp":1,"scope":"tokens:read"}"#,
        r#"{"exp":1,"scope":"admin:tokens"}"#,
        r#"{"exp":1,"scope":"read-write;admin"}"#,
    ] {
        assert_eq!(admin(not_admin), Some(false), "{not_admin}");
    }
    assert_eq!(admin(r#"{"exp":1,"scope":42}"#), None);
    assert_eq!(admin(r#"{"exp":1}"#), None);
    // The words themselves, lowercased and without empties.
    let t = jwt(T0, T0 + HOUR, Some(" Read-Write ,Admin  "));
    assert_eq!(
        read_claims(&t).unwrap().scope.unwrap().words,
        vec!["read-write".to_string(), "admin".to_string()]
    );
}

#[test]
fn claims_times_are_seconds_kept_to_the_millisecond() {
    let t = |claims: &str| {
        format!(
            "eyJhbGciOiJIUzI1NiJ9.{}.c2ln",
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, claims)
        )
    };
    let c = read_claims(&t(r#"{"exp":1800000000.25,"iat":1799996400}"#)).unwrap();
    assert_eq!(c.exp, Timestamp(1_800_000_000_250));
    assert_eq!(c.iat, Some(Timestamp(1_799_996_400_000)));
    assert_eq!(read_claims(&t(r#"{"exp":0}"#)).unwrap().exp, Timestamp(0));
    assert_eq!(
        read_claims(&t(r#"{"exp":1e13}"#)).unwrap().exp,
        Timestamp(10_000_000_000_000_000)
    );
    assert_eq!(read_claims(&t(r#"{"exp":1.1e13}"#)), Err(JwtError::Claims));
    assert_eq!(read_claims(&t(r#"{"exp":1,"iat":-1}"#)).unwrap().iat, None);
}

fn saved() -> SessionSnapshot {
    SessionSnapshot {
        session_token: Secret::new(jwt(T0, T0 + HOUR, None)),
        refresh_token: Some(Secret::new("rt_saved_secret")),
        session_id: Some("sess_saved".to_string()),
        expires_at: Timestamp(T0 + HOUR),
        refresh_expires_at: Some(Timestamp(T0 + DAY)),
        clock_skew_ms: Some(-1500),
    }
}

#[test]
fn snapshot_round_trips_through_json() {
    let s = saved();
    let json = s.to_json();
    assert_eq!(SessionSnapshot::from_json(&json).unwrap(), s);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["refresh_token"], "rt_saved_secret");
    assert_eq!(v["expires_at_ms"], T0 + HOUR);
}

#[test]
fn snapshot_debug_shows_its_facts_and_never_its_tokens() {
    let shown = format!("{:?}", saved());
    assert!(shown.contains("sess_saved"), "{shown}");
    assert!(shown.contains(&(T0 + HOUR).to_string()), "{shown}");
    assert!(shown.contains("-1500"), "{shown}");
    assert!(!shown.contains("rt_saved_secret"), "{shown}");
    assert!(!shown.contains(saved().session_token.expose()), "{shown}");
}

#[test]
fn snapshot_of_64_kib_is_read_and_one_byte_more_is_refused() {
    let json = saved().to_json();
    let sized = |n: usize| format!("{json}{}", " ".repeat(n - json.len()));
    assert_eq!(
        SessionSnapshot::from_json(&sized(64 * 1024)).unwrap(),
        saved()
    );
    assert!(SessionSnapshot::from_json(&sized(64 * 1024 + 1)).is_err());
}

#[test]
fn snapshot_with_an_empty_refresh_token_has_none() {
    let mut v: serde_json::Value = serde_json::from_str(&saved().to_json()).unwrap();
    v["refresh_token"] = "".into();
    let s = SessionSnapshot::from_json(&v.to_string()).unwrap();
    assert_eq!(s.refresh_token, None);
    v["session_token"] = "".into();
    assert!(SessionSnapshot::from_json(&v.to_string()).is_err());
}

#[test]
fn refresh_expires_in_of_zero_or_less_means_the_default_30_days() {
    for v in ["0", "-5", "\"7200\""] {
        let h = exchanged_with(&format!(
            r#"{{"session_token":"{}","refresh_token":"rt_1","expires_in":3600,"refresh_expires_in":{v}}}"#,
            jwt(T0, T0 + HOUR, None)
        ));
        assert_eq!(
            info(&h).refresh_expires_at,
            Some(Timestamp(T0 + 30 * DAY)),
            "{v}"
        );
    }
}

#[test]
fn refresh_token_with_control_characters_makes_the_grant_malformed() {
    let h = exchanged_with(&format!(
        r#"{{"session_token":"{}","refresh_token":"rt\n1","expires_in":3600}}"#,
        jwt(T0, T0 + HOUR, None)
    ));
    assert!(!taken(&h));
}
