//! Secret hygiene: after scripted runs that exchange, refresh, rotate, fail in every
//! class and meet server error bodies echoing the key, the JWT and the refresh token,
//! no key, JWT or refresh token used in the run shows up in the `Debug`/`Display` of
//! any public type. The only places they may appear are `SessionSnapshot::to_json()`
//! and the header/body values of the requests the driver must send. And the key (or
//! the JWT) never reaches a host the autorouter names unless it is an allowed edge.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::fmt::{Debug, Display};

use polargrid_core::{
    CallSpec, Client, Config, Endpoints, Event, HttpRequest, HttpResponse, Method, Purpose,
    RegionInfo, RequestId, Secret, SessionSnapshot, TransportErrorKind,
};
use support::*;

/// Everything formatted during a run, labelled by what it was.
#[derive(Default)]
struct Shown {
    texts: Vec<(String, String)>,
    /// Secrets used in the run.
    secrets: Vec<String>,
}

impl Shown {
    fn debug(&mut self, what: &str, v: &impl Debug) {
        self.texts
            .push((format!("{what} (Debug)"), format!("{v:?}")));
        self.texts
            .push((format!("{what} (pretty Debug)"), format!("{v:#?}")));
    }

    fn both(&mut self, what: &str, v: &(impl Debug + Display)) {
        self.debug(what, v);
        self.texts
            .push((format!("{what} (Display)"), format!("{v}")));
    }

    fn secret(&mut self, s: &str) {
        assert!(
            s.len() >= 8,
            "test secrets are long enough not to match by chance"
        );
        if !self.secrets.iter().any(|x| x == s) {
            self.secrets.push(s.to_string());
        }
    }

    /// Records what the harness saw: every request, event and error, and the client.
    fn harness(&mut self, h: &Harness) {
        for r in &h.sent {
            self.debug("HttpRequest", r);
        }
        for e in &h.events {
            self.debug("Event", e);
            match e {
                Event::CallFailed { error, .. } | Event::SessionEnded { error } => {
                    self.both("CallError", error);
                    self.both("ErrorKind", &error.kind);
                }
                Event::SessionChanged {
                    snapshot: Some(s),
                    info,
                    ..
                } => {
                    self.secret(s.session_token.expose());
                    if let Some(r) = &s.refresh_token {
                        self.secret(r.expose());
                    }
                    self.debug("SessionSnapshot", s);
                    self.debug("SessionInfo", info);
                }
                _ => {}
            }
        }
        self.client(&h.client);
    }

    fn client(&mut self, c: &Client) {
        self.debug("Client", c);
        self.debug("SessionStatus", &c.session_status());
        if let Some(s) = c.session_snapshot() {
            self.debug("SessionSnapshot", &s);
        }
    }

    fn assert_clean(&self, at_least: usize) {
        assert!(
            self.secrets.len() >= at_least,
            "the run used {} secrets",
            self.secrets.len()
        );
        for (what, text) in &self.texts {
            for s in &self.secrets {
                assert!(
                    !text.contains(s.as_str()),
                    "a secret shows in {what}: {text}"
                );
            }
        }
    }
}

/// A server error body that echoes every secret it knows, in JSON.
fn echo_json(status: u16, shown: &Shown) -> HttpResponse {
    let all = shown.secrets.join(" ");
    json(
        status,
        &serde_json::json!({"message": format!("rejected: {all}"), "code": "echo"}).to_string(),
    )
}

/// The same as plain text (the non-JSON path of the classifier).
fn echo_text(status: u16, shown: &Shown) -> HttpResponse {
    HttpResponse::new(status).with_body(format!("error {}\nmore", shown.secrets.join(",")))
}

fn token_of(resp: &HttpResponse) -> String {
    let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    v["session_token"].as_str().unwrap().to_string()
}

/// Answers a session request and records its secrets.
fn answer_session(h: &mut Harness, s: &mut Shown, id: RequestId, refresh: &str) {
    answer_session_for(h, s, id, refresh, HOUR);
}

fn answer_session_for(h: &mut Harness, s: &mut Shown, id: RequestId, refresh: &str, ttl: u64) {
    let now = h.server_now();
    let resp = session_answer(now, ttl, refresh, Some("read-write"));
    s.secret(&token_of(&resp));
    s.secret(refresh);
    h.respond(id, resp);
}

/// Forgets requests the client aborted, and answers the outstanding exchange, refresh
/// and discovery requests the healthy way (rotating the refresh token).
fn serve_aux(h: &mut Harness, s: &mut Shown) {
    h.pump();
    let aborted: Vec<RequestId> = h
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Abort { request } => Some(*request),
            _ => None,
        })
        .collect();
    h.outstanding.retain(|r| !aborted.contains(&r.id));
    while let Some(i) = h.outstanding.iter().position(|r| !is_call(&r.purpose)) {
        let r = h.outstanding.remove(i).unwrap();
        match r.purpose {
            Purpose::Discover => h.respond(
                r.id,
                route_answer("yto-01", "https://api.yto-01.edge.polargrid.ai", 3600),
            ),
            _ => {
                let refresh = format!("rt_secret_rotated_{:04}", h.sent.len());
                answer_session_for(h, s, r.id, &refresh, DAY);
            }
        }
    }
}

/// Answers every call with `resp` until the call ends (retries included).
fn answer_calls_until_done(
    h: &mut Harness,
    s: &mut Shown,
    call: polargrid_core::CallId,
    resp: &HttpResponse,
) {
    for _ in 0..40 {
        serve_aux(h, s);
        if h.endings(call) > 0 {
            return;
        }
        if h.has(is_call) {
            let c = h.take(is_call);
            h.respond(c.id, resp.clone());
        } else if !h.next_wakeup() {
            return;
        }
    }
}

fn post(path: &str) -> CallSpec {
    CallSpec::new(Method::Post, path).with_idempotent(false)
}

#[test]
fn session_run_shows_no_secret_anywhere() {
    let mut s = Shown::default();
    s.secret(KEY);
    let mut h = Harness::new(session_config());

    // Exchange, discovery, a call.
    let call = h.get_models();
    s.client(&h.client); // the exchange request (with the key) is still in the outbox
    let ex = h.take(is_exchange);
    assert_eq!(
        ex.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    answer_session(&mut h, &mut s, ex.id, "rt_secret_first_0001");
    h.routed(3600);
    let c = h.take(is_call);
    h.respond(c.id, HttpResponse::new(200));
    assert!(h.ready(call));

    // Proactive refresh with rotation; the refresh body holds the refresh token.
    h.advance(HOUR - 2 * 60_000);
    s.client(&h.client);
    let rf = h.take(is_refresh);
    assert!(String::from_utf8_lossy(rf.body.as_deref().unwrap()).contains("rt_secret_first_0001"));
    assert!(!format!("{rf:?}").contains("rt_secret_first_0001"));
    assert!(format!("{rf:?}").contains("[") && rf.header("authorization").is_none());
    assert!(
        format!("{c:?}").contains(r#"("Authorization", "[redacted]")"#),
        "{c:?}"
    );
    answer_session(&mut h, &mut s, rf.id, "rt_secret_second_0002");

    // Calls failing in every class, the server echoing every secret.
    for status in [
        400, 402, 403, 404, 409, 422, 429, 500, 501, 502, 503, 504, 302, 418,
    ] {
        let call = h.start(post("/v1/things"));
        let resp = echo_json(status, &s);
        answer_calls_until_done(&mut h, &mut s, call, &resp);
        let call = h.start(post("/v1/things"));
        let resp = echo_text(status, &s);
        answer_calls_until_done(&mut h, &mut s, call, &resp);
        let call = h.start(post("/v1/things"));
        let nested = serde_json::json!({"error": {"message": s.secrets.join(" ")}, "detail": null});
        answer_calls_until_done(&mut h, &mut s, call, &json(status, &nested.to_string()));
    }
    let cdn = HttpResponse::new(403)
        .with_header("Via", "1.1 x.cloudfront.net (CloudFront)")
        .with_body(r#"{"Message": null}"#);
    let call = h.start(post("/v1/things"));
    answer_calls_until_done(&mut h, &mut s, call, &cdn);
    for kind in [
        TransportErrorKind::Dns,
        TransportErrorKind::Connect,
        TransportErrorKind::Tls,
        TransportErrorKind::Timeout,
        TransportErrorKind::Aborted,
    ] {
        let call = h.start(post("/v1/things"));
        serve_aux(&mut h, &mut s);
        while h.endings(call) == 0 && h.has(is_call) {
            let c = h.take(is_call);
            h.fail(c.id, kind);
            h.next_wakeup();
            serve_aux(&mut h, &mut s);
        }
    }
    // A call timing out (Abort event), and a cancelled one.
    let call = h.start(post("/v1/things"));
    while h.endings(call) == 0 && h.next_wakeup() {
        serve_aux(&mut h, &mut s);
    }
    assert!(h.events.iter().any(|e| matches!(e, Event::Abort { .. })));
    let call = h.start(post("/v1/things"));
    assert!(h.client.cancel_call(h.t(), call));
    serve_aux(&mut h, &mut s);
    assert!(h.outstanding.is_empty(), "{:?}", h.outstanding);
    s.harness(&h);

    // 401 on a call: refresh; the refresh is rejected echoing the tokens; the key is
    // exchanged again and rejected echoing the key: every waiting call fails.
    let call = h.start(post("/v1/things"));
    let c = h.take(is_call);
    h.respond(c.id, echo_json(401, &s));
    let rf = h.take(is_refresh);
    h.respond(rf.id, echo_json(401, &s));
    let ex = h.take(is_exchange);
    h.respond(ex.id, echo_json(401, &s));
    assert!(h.failure(call).is_some());
    s.client(&h.client);
    // Exchange failing transiently (429 with Retry-After, 500, network), then working.
    h.advance(60_000);
    let call = h.start(post("/v1/things"));
    for resp in [
        echo_json(429, &s).with_header("Retry-After", "2"),
        echo_text(500, &s),
        echo_json(503, &s),
    ] {
        while !h.has(is_exchange) && h.next_wakeup() {}
        let ex = h.take(is_exchange);
        h.respond(ex.id, resp);
        s.client(&h.client);
    }
    while !h.has(is_exchange) && h.next_wakeup() {}
    if h.has(is_exchange) {
        let ex = h.take(is_exchange);
        answer_session(&mut h, &mut s, ex.id, "rt_secret_third_0003");
    }
    answer_calls_until_done(&mut h, &mut s, call, &HttpResponse::new(200));
    // A malformed 200 from the auth service.
    h.advance(HOUR - 2 * 60_000);
    if h.has(is_refresh) {
        let rf = h.take(is_refresh);
        h.respond(
            rf.id,
            json(
                200,
                &format!(
                    "{{\"session_token\": 5, \"echo\": \"{}\"}}",
                    s.secrets.join(" ")
                ),
            ),
        );
    }
    s.harness(&h);

    // Logout: the snapshot goes away, waiting calls fail.
    let _call = h.start(post("/v1/things"));
    h.client.logout(h.t());
    h.pump();
    s.harness(&h);

    // Every kind of misuse error.
    let unknown = h
        .client
        .handle_response(h.t(), RequestId(999_999), echo_json(200, &s));
    s.both("MisuseError", &unknown.unwrap_err());
    let bad = h.client.hand_over(
        h.t(),
        &format!("{{\"token\": 1, \"x\": \"{}\"}}", s.secrets.join(" ")),
    );
    s.both("MisuseError", &bad.unwrap_err());
    let bad = SessionSnapshot::from_json(&format!(
        "{{\"schema_version\": 1, \"session_token\": 7, \"r\": \"{KEY}\"}}"
    ));
    s.both("MisuseError", &bad.unwrap_err());
    let bad = h.client.start_call(
        h.t(),
        CallSpec::new(Method::Get, &format!("/v1/models?k={KEY}")),
    );
    s.both("MisuseError", &bad.unwrap_err());

    for resp in [
        echo_json(401, &s),
        echo_text(500, &s),
        session_answer(T0, HOUR, "rt_secret_first_0001", None),
    ] {
        s.debug("HttpResponse", &resp);
    }
    s.debug("Config", &session_config());
    s.debug("Secret", &Secret::new(KEY));
    s.both("Secret", &Secret::new(KEY));
    for r in &h.sent {
        s.debug("HttpRequest", r);
    }
    s.assert_clean(6);

    // The snapshot JSON is the one place the tokens are written out.
    let snap_json = h
        .events
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::SessionChanged {
                snapshot: Some(s), ..
            } => Some(s.to_json()),
            _ => None,
        })
        .unwrap();
    assert!(snap_json.contains("rt_secret_"), "{snap_json}");
}

#[test]
fn handoff_run_shows_no_secret_anywhere() {
    let mut s = Shown::default();
    let mut h = Harness::new(
        Config::handoff()
            .with_endpoints(endpoints())
            .with_region("yto-01"),
    );
    let call = h.get_models();
    // Hand over a session; use it; the refresh is rejected echoing it: the session ends.
    let now = h.server_now();
    let grant = session_answer(now, HOUR, "rt_handed_over_0004", None);
    s.secret(&token_of(&grant));
    s.secret("rt_handed_over_0004");
    h.client
        .hand_over(h.t(), std::str::from_utf8(&grant.body).unwrap())
        .unwrap();
    h.pump();
    assert_eq!(h.finish_call(), call);
    h.advance(HOUR - 2 * 60_000);
    let rf = h.take(is_refresh);
    assert!(
        rf.header("authorization").is_none(),
        "the refresh carries no credential header"
    );
    h.respond(rf.id, echo_json(401, &s));
    assert!(h
        .events
        .iter()
        .any(|e| matches!(e, Event::SessionEnded { .. })));
    // A call waits for a hand-over and gives up.
    let call = h.get_models();
    while h.endings(call) == 0 && h.next_wakeup() {}
    // Restore the snapshot the client emitted earlier.
    let snap = h
        .events
        .iter()
        .find_map(|e| match e {
            Event::SessionChanged {
                snapshot: Some(s), ..
            } => Some(s.clone()),
            _ => None,
        })
        .unwrap();
    h.client.restore(h.t(), &snap).unwrap();
    h.pump();
    s.harness(&h);
    s.debug("Config", &Config::handoff());
    s.assert_clean(2);
}

#[test]
fn direct_run_shows_no_secret_anywhere() {
    let mut s = Shown::default();
    s.secret(KEY);
    let mut h = Harness::new(Config::direct(KEY).with_endpoints(endpoints()));
    let call = h.get_models();
    let d = h.take(is_discover);
    assert!(d.header("authorization").is_none());
    h.respond(
        d.id,
        route_answer("nyc-01", "https://api.nyc-01.edge.polargrid.ai", 3600),
    );
    let c = h.take(is_call);
    assert_eq!(
        c.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    h.respond(c.id, echo_json(401, &s));
    let err = h.failure(call).unwrap();
    assert_eq!(err.kind, polargrid_core::ErrorKind::InvalidApiKey);
    for status in [400, 403, 429, 500] {
        let call = h.start(post("/v1/things"));
        let resp = echo_text(status, &s);
        answer_calls_until_done(&mut h, &mut s, call, &resp);
    }
    let misuse = h.client.hand_over(h.t(), "{}").unwrap_err();
    s.both("MisuseError", &misuse);
    s.harness(&h);
    s.debug("Config", &Config::direct(KEY));
    s.assert_clean(1);
}

#[test]
fn config_errors_never_echo_the_key() {
    let jwt = jwt(T0, T0 + HOUR, None);
    let keys = [
        format!(" {KEY}"),
        format!("{KEY}\n"),
        format!("Bearer {KEY}"),
        format!("bearer {KEY}"),
        format!("{KEY}!"),
        format!("{KEY}é"),
        format!("{KEY}{}", "x".repeat(600)),
        jwt.clone(),
        "pg_shrt".to_string(),
        "sk_live_0123456789abcdef".to_string(),
    ];
    for key in &keys {
        for cfg in [Config::new(key.as_str()), Config::direct(key.as_str())] {
            let shown = format!("{cfg:?}");
            assert!(!shown.contains(key.as_str()), "{shown}");
            let err = Client::new(cfg, 1).unwrap_err();
            let shown = format!("{err} {err:?}");
            assert!(
                !shown.contains(key.as_str()) && !shown.contains(KEY),
                "{shown}"
            );
        }
    }
    // The key pasted where a region or URL belongs.
    let mut e = endpoints();
    e.regions.push(RegionInfo::new(KEY, "oops", "CA"));
    let attempts = [
        Config::new(KEY).with_region(KEY),
        Config::new(KEY).with_region(&format!("{KEY}!")),
        Config::new(KEY).with_base_url(KEY),
        Config::new(KEY).with_base_url(&format!("https://{KEY}@api.yto-01.edge.polargrid.ai")),
        Config::new(KEY).with_endpoints(e),
        Config::new(KEY).with_endpoints(Endpoints {
            auth: format!("https://h/?k={KEY}"),
            ..endpoints()
        }),
    ];
    for cfg in attempts {
        let err = Client::new(cfg, 1).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(KEY), "{shown}");
    }
}

/// Endpoints a hostile or broken autorouter could name.
fn hostile_endpoints() -> Vec<serde_json::Value> {
    vec![
        "http://api.yto-01.edge.polargrid.ai".into(),
        "https://evil.example".into(),
        "https://api.yto-01.edge.polargrid.ai.evil.example".into(),
        "https://u:p@api.yto-01.edge.polargrid.ai".into(),
        "https://evil.example#.edge.polargrid.ai".into(),
        "https://evil.example/.edge.polargrid.ai".into(),
        "https://evil.example?.edge.polargrid.ai".into(),
        "https://evil.example:443.edge.polargrid.ai".into(),
        "https://autorouter.polargrid.ai".into(),
        "https://auth.polargrid.ai".into(),
        "https://edge.polargrid.ai".into(),
        "https://.edge.polargrid.ai".into(),
        "https://api.yto-01.edge.polargrid.ai\\@evil.example".into(),
        "https://api.yto-01.edge.polargrid.ai%2F@evil.example".into(),
        "//evil.example".into(),
        "javascript:alert(1)".into(),
        format!("https://{}.edge.polargrid.ai", "a".repeat(10 * 1024)).into(),
        format!(
            "https://api.yto-01.edge.polargrid.ai/{}",
            "a".repeat(10 * 1024)
        )
        .into(),
        serde_json::json!(42),
        serde_json::json!(["https://api.yto-01.edge.polargrid.ai"]),
        serde_json::json!({"url": "https://api.yto-01.edge.polargrid.ai"}),
        serde_json::Value::Null,
    ]
}

/// Where a request went: (scheme, host).
fn host_of(r: &HttpRequest) -> (String, String) {
    let (scheme, rest) = r.url.split_once("://").unwrap();
    let authority = rest.split(['/', '?', '#']).next().unwrap();
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    (scheme.to_string(), host.to_ascii_lowercase())
}

fn assert_credentials_only_to_allowed_hosts(h: &Harness, endpoint: &serde_json::Value) {
    for r in &h.sent {
        let (scheme, host) = host_of(r);
        let Some(auth) = r.header("authorization") else {
            continue;
        };
        assert_eq!(
            scheme, "https",
            "credential over plain http ({endpoint}): {}",
            r.url
        );
        match r.purpose {
            Purpose::Exchange => assert_eq!(host, "auth.polargrid.ai"),
            Purpose::Call(_) => {
                assert!(
                    host.ends_with(".edge.polargrid.ai") && !host.contains('@'),
                    "credential {} sent to {} for endpoint {endpoint}",
                    &auth[..12],
                    r.url
                );
                assert!(
                    [
                        "api.yto-01.edge.polargrid.ai",
                        "api.nyc-01.edge.polargrid.ai",
                        "api.yul-01.edge.polargrid.ai"
                    ]
                    .contains(&host.as_str()),
                    "unexpected edge {host} for endpoint {endpoint}"
                );
            }
            other => panic!("{other:?} carries a credential: {}", r.url),
        }
    }
}

#[test]
fn hostile_route_endpoint_never_gets_the_jwt_in_session_mode() {
    for endpoint in hostile_endpoints() {
        let mut h = Harness::new(session_config());
        let call = h.start(CallSpec::new(Method::Post, "/v1/chat/completions"));
        h.exchanged(HOUR, "rt_hostile_0001");
        let d = h.take(is_discover);
        let body = serde_json::json!({"region": "yto-01", "endpoint": endpoint, "ttl": 60});
        h.respond(d.id, json(200, &body.to_string()));
        let c = h.take(is_call);
        assert_eq!(
            c.url, "https://api.yto-01.edge.polargrid.ai/v1/chat/completions",
            "{endpoint}"
        );
        h.respond(c.id, HttpResponse::new(200));
        assert!(h.ready(call));
        assert_credentials_only_to_allowed_hosts(&h, &endpoint);
    }
}

#[test]
fn hostile_route_endpoint_never_gets_the_key_in_direct_mode() {
    for endpoint in hostile_endpoints() {
        for region in ["yto-01", "nyc-01", "evil", "api.evil.example"] {
            let mut h = Harness::new(Config::direct(KEY).with_endpoints(endpoints()));
            let call = h.start(CallSpec::new(Method::Post, "/v1/chat/completions").with_model("m"));
            let d = h.take(is_discover);
            let body = serde_json::json!({"region": region, "endpoint": endpoint});
            h.respond(d.id, json(200, &body.to_string()));
            let c = h.take(is_call);
            assert_eq!(
                c.header("authorization"),
                Some(format!("Bearer {KEY}").as_str())
            );
            assert_eq!(
                c.url, "https://api.yto-01.edge.polargrid.ai/v1/chat/completions",
                "{endpoint}"
            );
            // An edge failure and failover still never leave the allowed edges.
            h.respond(c.id, HttpResponse::new(503));
            h.run(20, |_, _| Reply::Respond(HttpResponse::new(503)));
            assert_eq!(h.endings(call), 1);
            assert_credentials_only_to_allowed_hosts(&h, &endpoint);
        }
    }
}

/// fuzz session_answer: an exchange answer whose `session_id` echoes the key (or the new
/// tokens) showed it in `SessionInfo`, every `SessionChanged` event and the snapshot's
/// `Debug`. The id is scrubbed like any server text.
#[test]
fn session_id_echoing_a_credential_is_scrubbed() {
    let mut h = Harness::new(session_config());
    h.get_models();
    let ex = h.take(is_exchange);
    let token = jwt(T0, T0 + HOUR, None);
    let body = serde_json::json!({
        "session_token": token,
        "refresh_token": "rt_echoed_in_id_0001",
        "session_id": format!("s{KEY}ess {token} rt_echoed_in_id_0001"),
        "expires_in": 3600,
    });
    h.respond(ex.id, json(200, &body.to_string()));
    let mut s = Shown::default();
    s.secret(KEY);
    s.harness(&h);
    s.assert_clean(3);
    let snap = h.client.session_snapshot().unwrap();
    assert!(snap.session_id.unwrap().contains("[redacted]"));
}

/// fuzz session_answer: a hand-over whose `session_token` was an API key was adopted, so a
/// handoff client (a browser, which must hold no key) sent the key to the edges. A
/// session answer carrying a `pg_` key as its token is refused.
#[test]
fn api_key_handed_over_as_a_session_token_is_refused() {
    let mut h = Harness::new(
        Config::handoff()
            .with_endpoints(endpoints())
            .with_region("yto-01"),
    );
    let call = h.get_models();
    for field in ["session_token", "token"] {
        let grant =
            serde_json::json!({field: KEY, "expires_in": 3600, "refresh_token": "rt_x_0001"});
        let err = h.client.hand_over(h.t(), &grant.to_string()).unwrap_err();
        assert!(!format!("{err} {err:?}").contains(KEY));
    }
    assert_eq!(h.client.session_snapshot(), None);
    while h.endings(call) == 0 && h.next_wakeup() {}
    assert!(
        h.sent.iter().all(|r| r.header("authorization").is_none()),
        "{:?}",
        h.sent
    );
    // The same from the auth service in session mode: treated as unreadable.
    let mut h = Harness::new(session_config().with_region("yto-01"));
    h.get_models();
    let ex = h.take(is_exchange);
    let body = serde_json::json!({"session_token": "pg_other_key_0123456789", "expires_in": 3600});
    h.respond(ex.id, json(200, &body.to_string()));
    assert_eq!(h.client.session_snapshot(), None);
    assert!(!h.has(is_call));
}
