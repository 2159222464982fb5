//! Server text with control characters (issue 7, item 5): identifiers shown to humans
//! carry none, and a grant whose token cannot go in an HTTP header is malformed — the
//! old valid session is kept, nothing is installed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use polargrid_core::{
    Config, ErrorKind, Event, HttpResponse, SessionSnapshot, SessionStatus, TransportErrorKind,
};
use support::*;

const FORGED_ID: &str = "sess_1\n2027-01-15 INFO login ok user=admin\u{1b}[31m\r\u{202e}x";

/// A grant's JSON (the JWT carries the times).
fn grant(token: &str, session_id: &str) -> serde_json::Value {
    serde_json::json!({
        "session_token": token,
        "refresh_token": "rt_2",
        "session_id": session_id,
        "expires_in": 3600,
    })
}

fn no_control(s: &str) -> bool {
    !s.chars().any(|c| c.is_control() || c == '\u{202e}')
}

fn session_ids(h: &Harness) -> Vec<String> {
    let mut ids: Vec<String> = h
        .events
        .iter()
        .filter_map(|e| match e {
            Event::SessionChanged {
                info: Some(info), ..
            } => info.session_id.clone(),
            _ => None,
        })
        .collect();
    if let SessionStatus::Active(i) | SessionStatus::Refreshing(i) = h.client.session_status() {
        ids.extend(i.session_id);
    }
    ids
}

#[test]
fn session_id_with_newlines_and_ansi_escapes_reaches_no_event_or_info_with_them() {
    let mut h = Harness::new(session_config());
    h.get_models();
    let ex = h.take(is_exchange);
    let now = h.server_now();
    let body = grant(&jwt(now, now + HOUR, None), FORGED_ID);
    h.respond(ex.id, json(200, &body.to_string()));
    let ids = session_ids(&h);
    assert!(!ids.is_empty(), "the session id is still shown");
    for id in &ids {
        assert!(no_control(id), "{id:?}");
        assert!(id.starts_with("sess_1"), "{id:?}");
    }
    let snap = h.client.session_snapshot().unwrap();
    assert!(no_control(snap.session_id.as_deref().unwrap()));
}

#[test]
fn handed_over_and_restored_session_ids_are_cleaned_too() {
    let mut h = Harness::new(Config::handoff().with_endpoints(endpoints()));
    let now = h.server_now();
    let body = grant(&jwt(now, now + HOUR, None), FORGED_ID);
    h.client.hand_over(h.t(), &body.to_string()).unwrap();
    h.pump();
    assert!(session_ids(&h).iter().all(|id| no_control(id)));
    let mut snap = h.client.session_snapshot().unwrap();
    snap.session_id = Some(FORGED_ID.to_string());
    let mut h = Harness::new(Config::handoff().with_endpoints(endpoints()));
    h.client.restore(h.t(), &snap).unwrap();
    h.pump();
    let ids = session_ids(&h);
    assert!(!ids.is_empty());
    assert!(ids.iter().all(|id| no_control(id)), "{ids:?}");
}

#[test]
fn refresh_grant_with_crlf_in_its_token_is_malformed_and_the_old_session_is_kept() {
    for bad in [
        "abc\r\nX-Injected: 1",
        "a b",
        "tab\there",
        "nul\u{0}",
        "del\u{7f}",
    ] {
        let mut h = Harness::new(session_config());
        let call = h.get_models();
        h.exchanged(HOUR, "rt_1");
        assert_eq!(h.route_and_finish_call(86_400), call);
        let before = h.client.session_snapshot().unwrap();
        assert!(h.next_wakeup());
        let r = h.take(is_refresh);
        let now = h.server_now();
        let token = format!("{}{bad}", jwt(now, now + HOUR, None));
        let body = grant(&token, "sess_2");
        h.respond(
            r.id,
            json(200, &body.to_string()).with_header("Date", &http_date(now)),
        );
        let after = h.client.session_snapshot().expect("session kept");
        assert_eq!(after.session_token, before.session_token, "{bad:?}");
        // The answer's refresh token replaced the one sent (rotation): it is the one kept.
        assert_eq!(
            after.refresh_token.as_ref().map(|r| r.expose()),
            Some("rt_2")
        );
        // Calls still go out with the old, valid JWT.
        let call = h.get_models();
        let c = h.take(is_call);
        let auth = format!("Bearer {}", before.session_token.expose());
        assert_eq!(c.header("authorization"), Some(auth.as_str()), "{bad:?}");
        h.respond(c.id, HttpResponse::new(200));
        assert!(h.ready(call));
    }
}

/// A session held since `T0` with refresh token `rt_1`, and its proactive refresh sent.
fn refreshing() -> (Harness, polargrid_core::HttpRequest) {
    let mut h = Harness::new(session_config());
    let call = h.get_models();
    h.exchanged(HOUR, "rt_1");
    assert_eq!(h.route_and_finish_call(86_400), call);
    assert!(h.next_wakeup());
    let r = h.take(is_refresh);
    assert_eq!(body_json(&r)["refresh_token"], "rt_1");
    (h, r)
}

/// Every refresh token the client sent, in order.
fn refresh_tokens_sent(h: &Harness) -> Vec<String> {
    h.sent
        .iter()
        .filter(|r| is_refresh(&r.purpose))
        .map(|r| {
            body_json(r)["refresh_token"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

#[test]
fn refresh_answer_with_a_crlf_jwt_still_rotates_the_refresh_token_so_the_retry_sends_the_new_one() {
    let (mut h, r) = refreshing();
    let now = h.server_now();
    let body = grant(
        &format!("{}\r\nX-Injected: 1", jwt(now, now + HOUR, None)),
        "s",
    );
    h.respond(r.id, json(200, &body.to_string()));
    // The app is told, so the snapshot it persists does not name the dead token.
    let persisted = h.events.iter().rev().find_map(|e| match e {
        Event::SessionChanged { snapshot, .. } => snapshot.clone(),
        _ => None,
    });
    let persisted = persisted.expect("a snapshot to persist");
    assert_eq!(
        persisted
            .refresh_token
            .map(|r| r.expose().to_string())
            .as_deref(),
        Some("rt_2")
    );
    // The retry (after its backoff) sends rt_2, and its good answer is installed.
    assert!(h.next_wakeup());
    let retry = h.take(is_refresh);
    let now = h.server_now();
    h.respond(retry.id, session_answer(now, HOUR, "rt_3", None));
    assert_eq!(refresh_tokens_sent(&h), ["rt_1", "rt_2"]);
    let snap = h.client.session_snapshot().expect("session");
    assert_eq!(
        snap.refresh_token
            .map(|r| r.expose().to_string())
            .as_deref(),
        Some("rt_3")
    );
    assert_eq!(h.count_sent(is_exchange), 1, "no new exchange");
}

#[test]
fn refresh_answer_dead_on_arrival_still_rotates_the_refresh_token() {
    let (mut h, r) = refreshing();
    let now = h.server_now();
    // Issued two hours ago: expired when it arrives (by its Date, which agrees with the
    // clock the client knows, so the grant is judged stale rather than moving the clock).
    let body = grant(&jwt(now - 2 * HOUR, now - HOUR, None), "s");
    let answer = json(200, &body.to_string()).with_header("Date", &http_date(now));
    h.respond(r.id, answer);
    let snap = h.client.session_snapshot().expect("the old JWT is kept");
    assert!(snap.expires_at.as_millis() > now, "not installed");
    assert!(h.next_wakeup());
    let retry = h.take(is_refresh);
    assert_eq!(body_json(&retry)["refresh_token"], "rt_2");
    assert_eq!(refresh_tokens_sent(&h), ["rt_1", "rt_2"]);
}

#[test]
fn refresh_answer_whose_own_refresh_token_has_crlf_leaves_none_so_the_key_is_exchanged_again() {
    let (mut h, r) = refreshing();
    let now = h.server_now();
    let mut body = grant(&jwt(now, now + HOUR, None), "s");
    body["refresh_token"] = "rt_2\r\nX-Injected: 1".into();
    h.respond(r.id, json(200, &body.to_string()));
    // rt_1 was replaced (the answer says so) and rt_2 cannot be sent: never send rt_1 again.
    let snap = h.client.session_snapshot().expect("the JWT is still held");
    assert!(snap.refresh_token.is_none());
    assert!(h.next_wakeup());
    let ex = h.take(is_exchange);
    assert_eq!(refresh_tokens_sent(&h), ["rt_1"]);
    let now = h.server_now();
    h.respond(ex.id, session_answer(now, HOUR, "rt_9", None));
    let snap = h.client.session_snapshot().expect("session");
    assert_eq!(
        snap.refresh_token
            .map(|r| r.expose().to_string())
            .as_deref(),
        Some("rt_9")
    );
}

#[test]
fn refresh_answer_that_is_not_json_keeps_the_refresh_token_it_sent() {
    let (mut h, r) = refreshing();
    h.respond(
        r.id,
        HttpResponse::new(200).with_body("<html>captive portal</html>"),
    );
    assert!(h.next_wakeup());
    let retry = h.take(is_refresh);
    assert_eq!(body_json(&retry)["refresh_token"], "rt_1");
}

#[test]
fn exchange_grant_with_crlf_in_its_token_is_never_installed_or_sent() {
    let mut h = Harness::new(session_config());
    let call = h.get_models();
    h.run(100, |h, r| match r.purpose {
        polargrid_core::Purpose::Exchange => {
            let now = h.server_now();
            let token = format!("{}\r\n", jwt(now, now + HOUR, None));
            Reply::Respond(json(200, &grant(&token, "s").to_string()))
        }
        polargrid_core::Purpose::Discover => Reply::Respond(route_answer(
            "yto-01",
            "https://api.yto-01.edge.polargrid.ai",
            3600,
        )),
        _ => Reply::Fail(TransportErrorKind::Connect),
    });
    assert_eq!(h.count_sent(is_call), 0, "no call with an unsendable token");
    let e = h.failure(call).expect("the call ends");
    assert_eq!(e.kind, ErrorKind::MalformedResponse);
    assert!(h.client.session_snapshot().is_none());
}

#[test]
fn hand_over_or_restore_of_a_token_with_crlf_is_refused_and_the_old_session_kept() {
    let mut h = Harness::new(Config::handoff().with_endpoints(endpoints()));
    let now = h.server_now();
    let good = grant(&jwt(now, now + HOUR, None), "s1");
    h.client.hand_over(h.t(), &good.to_string()).unwrap();
    let before = h.client.session_snapshot().unwrap();
    let bad_token = format!("{}\r\nX-Evil: 1", jwt(now, now + HOUR, None));
    let bad = grant(&bad_token, "s2");
    assert!(h.client.hand_over(h.t(), &bad.to_string()).is_err());
    assert_eq!(h.client.session_snapshot(), Some(before.clone()));
    let mut json_snap: serde_json::Value = serde_json::from_str(&before.to_json()).unwrap();
    json_snap["session_token"] = serde_json::Value::String(bad_token);
    assert!(SessionSnapshot::from_json(&json_snap.to_string()).is_err());
}

#[test]
fn server_messages_lose_control_and_bidi_characters() {
    let mut h = Harness::new(Config::direct(KEY).with_endpoints(endpoints()));
    let call = h.get_models();
    h.routed(3600);
    let c = h.take(is_call);
    let body = serde_json::json!({"message": "bad\n\u{1b}[2Jrequest\u{202e}txt.exe"});
    h.respond(c.id, json(400, &body.to_string()));
    let e = h.failure(call).unwrap();
    let msg = e.server_message.unwrap();
    assert!(no_control(&msg), "{msg:?}");
    assert!(msg.starts_with("bad"), "{msg:?}");
}
