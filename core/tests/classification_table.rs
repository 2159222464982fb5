//! Classification as a table: (stage, credential, status, headers, body) → kind,
//! retryable, retry_after; then the explanation and the scrubbing of server text.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use core::time::Duration;

use polargrid_core::{
    classify_response, classify_transport, CallError, Config, Credential, ErrorKind, HttpResponse,
    Purpose, Secret, Stage, Timestamp, TransportErrorKind,
};
use support::*;

/// The server's clock when the answer came (anchors HTTP-date `Retry-After`).
const NOW: u64 = T0;

const CF: [(&str, &str); 3] = [
    ("x-amz-cf-id", "AbC123xyz_cf-request-id=="),
    ("via", "1.1 x.cloudfront.net (CloudFront)"),
    ("x-cache", "Error from cloudfront"),
];
const JSON: [(&str, &str); 1] = [("Content-Type", "application/json")];
const NONE: [(&str, &str); 0] = [];

const SCOPE_BODY: &str =
    r#"{"message":"Insufficient permissions: admin required","code":"insufficient_scope"}"#;
const HTML_403: &str = "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\">\n<HTML><HEAD><TITLE>ERROR: The request could not be satisfied</TITLE></HEAD><BODY><H1>403 ERROR</H1></BODY></HTML>";

struct Row {
    name: &'static str,
    stage: Stage,
    credential: Credential,
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: &'static str,
    kind: ErrorKind,
    retryable: bool,
    retry_after: Option<Duration>,
}

#[allow(clippy::too_many_arguments)]
fn row(
    name: &'static str,
    stage: Stage,
    credential: Credential,
    status: u16,
    headers: &[(&'static str, &str)],
    body: &'static str,
    kind: ErrorKind,
    retryable: bool,
    retry_after: Option<u64>,
) -> Row {
    Row {
        name,
        stage,
        credential,
        status,
        headers: headers.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        body,
        kind,
        retryable,
        retry_after: retry_after.map(Duration::from_millis),
    }
}

fn response(r: &Row) -> HttpResponse {
    let mut resp = HttpResponse::new(r.status).with_body(r.body);
    for (k, v) in &r.headers {
        resp = resp.with_header(k, v);
    }
    resp
}

#[rustfmt::skip]
fn table() -> Vec<Row> {
    use Credential::{Jwt, Key, None as NoCred, RefreshToken};
    use ErrorKind::*;
    use Stage::{Call, Discover, Exchange, Refresh};
    let cf_json: Vec<(&'static str, &str)> = CF.iter().copied().chain(JSON).collect();
    let date_in_30s = http_date(NOW + 30_000);
    let date_past = http_date(NOW - 60_000);
    let ra_date: [(&'static str, &str); 1] = [("Retry-After", date_in_30s.as_str())];
    let ra_past: [(&'static str, &str); 1] = [("Retry-After", date_past.as_str())];
    let invalid_key = r#"{"message":"Invalid API key"}"#;
    vec![
        // 401: who was rejected depends on the stage and on the credential carried.
        row("401 on exchange", Exchange, Key, 401, &JSON, invalid_key, InvalidApiKey, false, None),
        row("401 on direct-mode call with the key", Call, Key, 401, &JSON, invalid_key, InvalidApiKey, false, None),
        row("401 on call with a JWT", Call, Jwt, 401, &JSON, r#"{"message":"Token expired"}"#, SessionExpired, true, None),
        row("401 on refresh", Refresh, RefreshToken, 401, &JSON, r#"{"message":"Refresh token reuse detected"}"#, SessionExpired, false, None),
        row("400 on refresh", Refresh, RefreshToken, 400, &JSON, r#"{"detail":"invalid refresh token"}"#, SessionExpired, false, None),
        row("401 on discovery", Discover, NoCred, 401, &NONE, "", UnexpectedStatus, false, None),
        // 403 from the CDN, in every shape it comes in.
        row("403 CDN {Message:null}", Call, Jwt, 403, &JSON, r#"{"Message": null}"#, CdnBlocked, false, None),
        row("403 CDN {Message:null} with key", Call, Key, 403, &JSON, r#"{"Message":null}"#, CdnBlocked, false, None),
        row("403 CDN on exchange", Exchange, Key, 403, &JSON, r#"{"Message": null}"#, CdnBlocked, false, None),
        row("403 CDN Forbidden text", Call, Jwt, 403, &[("Content-Type", "text/plain")], "Forbidden", CdnBlocked, false, None),
        row("403 CDN Forbidden text with newline", Call, Key, 403, &NONE, "Forbidden\n", CdnBlocked, false, None),
        row("403 CDN HTML page", Call, Jwt, 403, &[("Content-Type", "text/html")], HTML_403, CdnBlocked, false, None),
        row("403 CDN empty body with CloudFront headers", Call, Jwt, 403, &CF, "", CdnBlocked, false, None),
        row("403 CDN empty body with only x-amz-cf-id", Call, Key, 403, &CF[..1], "", CdnBlocked, false, None),
        row("403 CDN empty body with only via", Call, Key, 403, &CF[1..2], "", CdnBlocked, false, None),
        row("403 CDN empty body with only x-cache", Call, Key, 403, &CF[2..], "  ", CdnBlocked, false, None),
        row("403 empty body, no CDN headers (not service-shaped)", Call, Jwt, 403, &NONE, "", CdnBlocked, false, None),
        row("403 JSON without the service's fields", Call, Jwt, 403, &JSON, r#"{"ok": false}"#, CdnBlocked, false, None),
        row("403 CDN {Message:null} with CloudFront headers", Call, Jwt, 403, &cf_json, r#"{"Message": null}"#, CdnBlocked, false, None),
        // 403 from the service itself: insufficient scope, even through CloudFront.
        row("403 scope", Call, Jwt, 403, &JSON, SCOPE_BODY, InsufficientScope, false, None),
        row("403 scope through CloudFront", Call, Jwt, 403, &cf_json, SCOPE_BODY, InsufficientScope, false, None),
        row("403 scope with key", Call, Key, 403, &cf_json, SCOPE_BODY, InsufficientScope, false, None),
        row("403 scope detail only", Call, Jwt, 403, &JSON, r#"{"detail":"admin required"}"#, InsufficientScope, false, None),
        row("403 scope code only", Call, Jwt, 403, &JSON, r#"{"code":"insufficient_scope"}"#, InsufficientScope, false, None),
        // Billing, validation, not found.
        row("402 billing", Call, Jwt, 402, &JSON, r#"{"message":"No credits remaining","code":"payment_required"}"#, Billing, false, None),
        row("402 billing on exchange", Exchange, Key, 402, &JSON, r#"{"message":"No payment method"}"#, Billing, false, None),
        row("400 validation", Call, Jwt, 400, &JSON, r#"{"message":"messages is required","code":"invalid_request"}"#, Validation, false, None),
        row("400 validation on exchange", Exchange, Key, 400, &JSON, r#"{"message":"bad body"}"#, Validation, false, None),
        row("422 validation", Call, Key, 422, &JSON, r#"{"detail":[{"loc":["body","model"],"msg":"field required"}]}"#, Validation, false, None),
        row("404 not found", Call, Jwt, 404, &JSON, r#"{"message":"model not found"}"#, NotFound, false, None),
        row("404 on discovery", Discover, NoCred, 404, &JSON, r#"{"message":"no edge serves model"}"#, NotFound, false, None),
        // 429: Retry-After in seconds, as an HTTP date, in the past, absent.
        row("429 Retry-After seconds", Call, Jwt, 429, &[("Retry-After", "2")], "", RateLimited, true, Some(2_000)),
        row("429 Retry-After HTTP date", Call, Jwt, 429, &ra_date, "", RateLimited, true, Some(30_000)),
        row("429 Retry-After date in the past", Call, Key, 429, &ra_past, "", RateLimited, true, Some(0)),
        row("429 Retry-After junk", Call, Key, 429, &[("Retry-After", "soon")], "", RateLimited, true, None),
        row("429 without Retry-After", Call, Jwt, 429, &JSON, r#"{"message":"slow down"}"#, RateLimited, true, None),
        row("429 on exchange", Exchange, Key, 429, &[("retry-after", "5")], "", RateLimited, true, Some(5_000)),
        // 5xx: retryable except 501 (and 505): the server says it never will.
        row("500", Call, Jwt, 500, &JSON, r#"{"message":"internal"}"#, Server, true, None),
        row("500 ignores Retry-After", Call, Jwt, 500, &[("Retry-After", "9")], "", Server, true, None),
        row("502", Call, Jwt, 502, &NONE, "Bad Gateway", Server, true, None),
        row("503", Call, Key, 503, &NONE, "", Server, true, None),
        row("503 with Retry-After", Call, Key, 503, &[("Retry-After", "7")], "", Server, true, Some(7_000)),
        row("504", Call, Jwt, 504, &CF, "", Server, true, None),
        row("501", Call, Jwt, 501, &NONE, "", Server, false, None),
        row("505", Call, Jwt, 505, &NONE, "", Server, false, None),
        row("500 on refresh", Refresh, RefreshToken, 500, &NONE, "", Server, true, None),
        // Statuses the protocol does not use.
        row("301", Call, Jwt, 301, &[("Location", "https://evil.example/")], "", UnexpectedStatus, false, None),
        row("302", Call, Key, 302, &NONE, "", UnexpectedStatus, false, None),
        row("304", Call, Key, 304, &NONE, "", UnexpectedStatus, false, None),
        row("418", Call, Jwt, 418, &NONE, "I'm a teapot", UnexpectedStatus, false, None),
        row("405", Call, Jwt, 405, &NONE, "", UnexpectedStatus, false, None),
        row("408 is a timeout", Call, Jwt, 408, &NONE, "", Network(TransportErrorKind::Timeout), true, None),
    ]
}

#[test]
fn response_table_gives_expected_kind_retryable_and_retry_after() {
    let mut failures = Vec::new();
    for r in table() {
        let e = classify_response(r.stage, r.credential, &response(&r), Timestamp(NOW), &[]);
        let got = (e.kind, e.retryable, e.retry_after);
        let want = (r.kind, r.retryable, r.retry_after);
        if got != want {
            failures.push(format!("{}: got {got:?}, want {want:?}", r.name));
        }
        assert_eq!(e.status, Some(r.status), "{}", r.name);
        assert_eq!(e.request_id, None, "{}", r.name);
        assert_eq!(e.attempts, 0, "{}", r.name);
    }
    assert!(failures.is_empty(), "mismatches:\n{}", failures.join("\n"));
}

#[test]
fn header_names_are_case_insensitive_for_cdn_and_retry_after() {
    let resp = HttpResponse::new(403).with_header("X-Amz-Cf-Id", "abc");
    let e = classify_response(Stage::Call, Credential::Jwt, &resp, Timestamp(NOW), &[]);
    assert_eq!(e.kind, ErrorKind::CdnBlocked);
    let resp = HttpResponse::new(429).with_header("RETRY-AFTER", "3");
    let e = classify_response(Stage::Call, Credential::Jwt, &resp, Timestamp(NOW), &[]);
    assert_eq!(e.retry_after, Some(Duration::from_secs(3)));
}

#[test]
fn cdn_block_is_explained_as_wrong_endpoint_not_bad_key() {
    let resp = json(403, r#"{"Message": null}"#);
    let e = classify_response(Stage::Call, Credential::Key, &resp, Timestamp(NOW), &[]);
    assert_eq!(e.kind, ErrorKind::CdnBlocked);
    assert!(e.cause.contains("not a bad key"), "{}", e.cause);
    assert!(e.fix.contains("edge URL"), "{}", e.fix);
    assert_eq!(e.server_message, None, "a null Message is no message");
    let scope = classify_response(
        Stage::Call,
        Credential::Jwt,
        &json(403, SCOPE_BODY),
        Timestamp(NOW),
        &[],
    );
    assert!(scope.fix.contains("admin"), "{}", scope.fix);
}

#[test]
fn every_transport_kind_is_network_and_retryable_with_no_status() {
    let kinds = [
        TransportErrorKind::Dns,
        TransportErrorKind::Connect,
        TransportErrorKind::Tls,
        TransportErrorKind::Timeout,
        TransportErrorKind::Aborted,
    ];
    for stage in [
        Stage::Exchange,
        Stage::Refresh,
        Stage::Discover,
        Stage::Call,
    ] {
        for k in kinds {
            let e = classify_transport(stage, k);
            assert_eq!(e.kind, ErrorKind::Network(k), "{stage:?} {k:?}");
            assert!(e.retryable, "{stage:?} {k:?}");
            assert_eq!(e.status, None);
            assert_eq!(e.retry_after, None);
            assert_eq!(e.server_message, None);
            assert!(format!("{e}").contains(k.as_str()), "{e}");
        }
    }
    // Only failures that certainly never reached the server count as never sent.
    let never: Vec<_> = kinds.iter().filter(|k| k.never_sent()).collect();
    assert_eq!(
        never,
        [
            &TransportErrorKind::Dns,
            &TransportErrorKind::Connect,
            &TransportErrorKind::Tls
        ]
    );
}

fn assert_explained(e: &CallError, what: &str) {
    for (label, line) in [("cause", e.cause), ("fix", e.fix)] {
        assert!(!line.trim().is_empty(), "{what}: empty {label}");
        assert!(
            !line.contains('\n') && !line.contains('\r'),
            "{what}: {label} is not one line"
        );
        assert!(line.len() < 200, "{what}: {label} too long for one line");
    }
    let shown = format!("{e}");
    assert!(
        shown.contains(e.cause) && shown.contains(e.fix),
        "{what}: {shown}"
    );
    assert!(
        !shown.contains('\n'),
        "{what}: display is one line: {shown}"
    );
}

#[test]
fn every_classified_kind_has_a_one_line_cause_and_fix() {
    for r in table() {
        let e = classify_response(r.stage, r.credential, &response(&r), Timestamp(NOW), &[]);
        assert_explained(&e, r.name);
    }
    for stage in [
        Stage::Exchange,
        Stage::Refresh,
        Stage::Discover,
        Stage::Call,
    ] {
        for k in [
            TransportErrorKind::Dns,
            TransportErrorKind::Connect,
            TransportErrorKind::Tls,
            TransportErrorKind::Timeout,
            TransportErrorKind::Aborted,
        ] {
            assert_explained(&classify_transport(stage, k), k.as_str());
        }
    }
}

#[test]
fn kinds_raised_by_the_client_itself_are_explained_too() {
    // NoSession: handoff mode with nothing handed over.
    let mut h = Harness::new(Config::handoff().with_endpoints(endpoints()));
    let call = h.get_models();
    // Discovery runs meanwhile (and times out here, unanswered); then the wait ends.
    while h.failure(call).is_none() {
        assert!(h.next_wakeup());
    }
    let e = h.failure(call).expect("no session");
    assert_eq!(e.kind, ErrorKind::NoSession);
    assert_explained(&e, "no_session");
    // MalformedResponse: the auth service answers 200 with junk until the call gives up.
    let mut h = Harness::new(session_config());
    let call = h.get_models();
    h.run(100, |_, r| match r.purpose {
        Purpose::Exchange => Reply::Respond(json(200, "<html>captive portal</html>")),
        _ => Reply::Respond(HttpResponse::new(200)),
    });
    let e = h.failure(call).expect("malformed");
    assert_eq!(e.kind, ErrorKind::MalformedResponse);
    assert_explained(&e, "malformed_response");
    assert_eq!(h.endings(call), 1);
}

fn message(body: &str) -> Option<String> {
    let resp = json(400, body);
    classify_response(Stage::Call, Credential::Jwt, &resp, Timestamp(NOW), &[]).server_message
}

#[test]
fn server_message_comes_from_message_detail_or_code() {
    assert_eq!(
        message(r#"{"message":"model is required"}"#).as_deref(),
        Some("model is required")
    );
    assert_eq!(
        message(r#"{"detail":"temperature too high"}"#).as_deref(),
        Some("temperature too high")
    );
    assert_eq!(
        message(r#"{"code":"invalid_request"}"#).as_deref(),
        Some("invalid_request")
    );
    let both =
        message(r#"{"message":"bad model","code":"model_not_found","details":{"x":1}}"#).unwrap();
    assert!(
        both.contains("bad model") && both.contains("model_not_found"),
        "{both}"
    );
    assert_eq!(message(r#"{"unrelated":"x"}"#), None);
    assert_eq!(message("[1,2,3]"), Some("[1,2,3]".to_string()));
    assert_eq!(message(""), None);
    // Non-JSON: the first line only; HTML pages are not a message.
    assert_eq!(
        message("upstream broke\nsecond line").as_deref(),
        Some("upstream broke")
    );
    assert_eq!(message(HTML_403), None);
}

#[test]
fn openai_style_error_object_gives_its_message_not_its_json() {
    // `{"error": {"type": …, "message": …}}`: the message, whatever stands beside it.
    assert_eq!(
        message(
            r#"{"error":{"type":"invalid_request_error","message":"model not found","param":null}}"#
        )
        .as_deref(),
        Some("model not found")
    );
    assert_eq!(
        message(r#"{"error":{"message":"quota exceeded","code":"over_quota"}}"#).as_deref(),
        Some("quota exceeded")
    );
}

#[test]
fn server_message_is_bounded_and_free_of_control_characters() {
    let long = format!(r#"{{"message":"{}"}}"#, "é".repeat(3000));
    let m = message(&long).unwrap();
    assert!(m.chars().count() <= 201, "{} chars", m.chars().count());
    assert!(m.len() <= 210, "{} bytes", m.len());
    let m = message(r#"{"message":"line one\nline two\u0007\r\u001b[31m"}"#).unwrap();
    assert!(!m.chars().any(char::is_control), "{m:?}");
    let m = message(&format!(r#"{{"code":"{}"}}"#, "c".repeat(5000))).unwrap();
    assert!(m.chars().count() <= 201);
    // A prefix longer than MAX_ERROR_BODY is only read up to it, and does not panic.
    let huge = HttpResponse::new(500).with_body("x".repeat(100_000));
    let e = classify_response(Stage::Call, Credential::Jwt, &huge, Timestamp(NOW), &[]);
    assert!(e.server_message.unwrap().chars().count() <= 201);
}

const REFRESH: &str = "rt_opaque_refresh_value_42";
const A_JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJrZXlfMSIsImV4cCI6MTgwMDAwMDAwMH0.c2lnbmF0dXJl";

fn leaks(e: &CallError, secrets: &[&str]) -> Vec<String> {
    let shown = [format!("{e}"), format!("{e:?}")];
    let mut found = Vec::new();
    for s in secrets {
        // The whole secret, and any 12-character piece of it.
        let pieces: Vec<&str> = (0..=s.len().saturating_sub(12))
            .map(|i| &s[i..i + 12.min(s.len())])
            .collect();
        for text in &shown {
            if let Some(p) = pieces.iter().find(|p| text.contains(**p)) {
                found.push(format!("{p:?} in {text}"));
            }
        }
    }
    found
}

#[test]
fn secrets_echoed_by_the_server_never_reach_the_error() {
    let key = Secret::new(KEY);
    let refresh = Secret::new(REFRESH);
    let jwt_secret = Secret::new(A_JWT);
    let known = [&key, &refresh, &jwt_secret];
    let other_jwt = jwt(NOW, NOW + HOUR, Some("admin"));
    let other_key = "pg_live_SomeoneElsesKey_123456";
    let bodies = [
        format!(r#"{{"message":"Invalid API key: {KEY}"}}"#),
        format!(r#"{{"detail":"Bearer {KEY} rejected"}}"#),
        format!(r#"{{"message":"token {A_JWT} expired"}}"#),
        format!(r#"{{"message":"token {other_jwt}."}}"#),
        format!(r#"{{"message":"refresh token {REFRESH} was already used"}}"#),
        format!(r#"{{"message":"bad","code":"{REFRESH}"}}"#),
        format!(r#"{{"error":{{"message":"key={other_key}"}}}}"#),
        format!(r#"{{"message":"{}{KEY}"}}"#, "x".repeat(190)),
        format!(r#"{{"message":"{}{A_JWT}"}}"#, "y ".repeat(95)),
        format!(r#"{{"message":"split {}\u0000{}"}}"#, &KEY[..8], &KEY[8..]),
        format!("Unauthorized: {KEY} / {A_JWT} / {REFRESH}"),
        format!("Forbidden {other_key}\n<html>{KEY}</html>"),
        format!(r#"{{"details":{{"key":"{KEY}"}},"message":"see details"}}"#),
    ];
    let mut problems = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        for status in [400u16, 401, 403, 429, 500] {
            let resp = HttpResponse::new(status)
                .with_header("Retry-After", "1")
                .with_body(body.clone());
            for (stage, cred) in [
                (Stage::Call, Credential::Jwt),
                (Stage::Call, Credential::Key),
                (Stage::Exchange, Credential::Key),
                (Stage::Refresh, Credential::RefreshToken),
            ] {
                let e = classify_response(stage, cred, &resp, Timestamp(NOW), &known);
                for leak in leaks(&e, &[KEY, REFRESH, A_JWT, &other_jwt, other_key]) {
                    problems.push(format!("body #{i}, {status}, {stage:?}: {leak}"));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "secrets leaked:\n{}",
        problems.join("\n")
    );
}

#[test]
fn scrubbing_keeps_the_rest_of_the_message() {
    let key = Secret::new(KEY);
    let body = format!(r#"{{"message":"Invalid API key {KEY} for org acme"}}"#);
    let e = classify_response(
        Stage::Exchange,
        Credential::Key,
        &json(401, &body),
        Timestamp(NOW),
        &[&key],
    );
    let m = e.server_message.unwrap();
    assert!(
        m.starts_with("Invalid API key ") && m.ends_with(" for org acme"),
        "{m}"
    );
    assert!(!m.contains(KEY));
}

#[test]
fn secrets_in_call_errors_from_the_client_are_scrubbed_end_to_end() {
    // Direct mode: the edge echoes the key in a 401; the CallFailed event holds no key.
    let mut h = Harness::new(
        Config::direct(KEY)
            .with_endpoints(endpoints())
            .with_region("yto-01"),
    );
    let call = h.get_models();
    let c = h.take(is_call);
    let body = format!(r#"{{"message":"Invalid API key {KEY}","code":"{KEY}"}}"#);
    h.respond(c.id, json(401, &body));
    let e = h.failure(call).unwrap();
    assert_eq!(e.kind, ErrorKind::InvalidApiKey);
    assert!(leaks(&e, &[KEY]).is_empty(), "{e:?}");
    let all_events = format!("{:?}", h.events);
    assert!(!all_events.contains(KEY), "{all_events}");
}
