//! What `start_call` refuses before anything goes out: a path that is not a plain
//! absolute path on the edge (a scheme-relative `//host` would send the credential to
//! another host), an overlong path, characters that must be percent-encoded, and a model
//! hint the autorouter cannot take. A refused call is a typed error and sends nothing.
//! And the one limit on a started call's retries that sits on a boundary: the longest
//! `Retry-After` the client waits out.

use crate::support::*;
use polargrid_core::{CallSpec, Method, MisuseError};

/// Starts `spec` on a fresh session-mode client: the error, and how many requests went out.
fn try_start(spec: CallSpec) -> (Result<(), MisuseError>, usize) {
    let mut h = Harness::new(session_config());
    let r = h.client.start_call(h.t(), spec).map(|_| ());
    h.pump();
    (r, h.sent.len())
}

fn assert_refused(spec: CallSpec, why: &str) {
    let shown = format!("{spec:?}");
    let (r, sent) = try_start(spec);
    match r {
        Err(MisuseError::BadCall(msg)) => assert!(!msg.is_empty(), "{why}"),
        other => panic!("{why}: {shown} gave {other:?}"),
    }
    assert_eq!(sent, 0, "{why}: a refused call sends nothing");
}

fn assert_accepted(spec: CallSpec, why: &str) {
    let shown = format!("{spec:?}");
    let (r, sent) = try_start(spec);
    assert_eq!(r, Ok(()), "{why}: {shown}");
    assert!(sent > 0, "{why}: an accepted call starts the exchange");
}

#[test]
fn path_without_a_leading_slash_is_refused() {
    for p in [
        "v1/models",
        "",
        "https://api.yto-01.edge.polargrid.ai/v1/models",
        "?x=1",
    ] {
        assert_refused(CallSpec::new(Method::Get, p), "no leading slash");
    }
}

#[test]
fn scheme_relative_path_is_refused_so_no_other_host_gets_the_credential() {
    assert_refused(
        CallSpec::new(Method::Get, "//evil.example.com/v1/models"),
        "//host",
    );
    assert_refused(CallSpec::new(Method::Get, "//"), "bare //");
}

#[test]
fn path_of_4096_characters_is_accepted_and_one_more_is_refused() {
    let at_limit = format!("/{}", "a".repeat(4095));
    assert_eq!(at_limit.len(), 4096);
    assert_accepted(CallSpec::new(Method::Get, &at_limit), "4096 chars");
    let over = format!("/{}", "a".repeat(4096));
    assert_refused(CallSpec::new(Method::Get, &over), "4097 chars");
}

#[test]
fn path_with_whitespace_control_characters_hash_or_backslash_is_refused() {
    for p in [
        "/v1/chat completions",
        "/v1/models\t",
        "/v1/models\n",
        "/v1/models\u{a0}",
        "/v1/mo\u{0}dels",
        "/v1/mo\u{7f}dels",
        "/v1/mo\u{1b}[31mdels",
        "/v1/models#frag",
        "/v1\\models",
        "/\\\\evil.example.com",
    ] {
        assert_refused(CallSpec::new(Method::Get, p), "bad character");
    }
}

#[test]
fn ordinary_paths_with_queries_and_percent_encoding_are_accepted() {
    for p in [
        "/",
        "/v1/models",
        "/v1/chat/completions",
        "/v1/models?limit=5&order=asc",
        "/v1/files/a%20b",
        "/v1/models/llama-3.1:8b",
    ] {
        assert_accepted(CallSpec::new(Method::Get, p), "plain path");
    }
}

#[test]
fn model_hint_of_1_to_256_characters_is_accepted_and_empty_or_longer_is_refused() {
    let spec = |m: &str| CallSpec::new(Method::Post, "/v1/chat/completions").with_model(m);
    assert_accepted(spec("m"), "1 char");
    assert_accepted(spec(&"m".repeat(256)), "256 chars");
    assert_refused(spec(""), "empty model hint");
    assert_refused(spec(&"m".repeat(257)), "257 chars");
}

#[test]
fn refused_call_leaves_the_client_usable() {
    let mut h = Harness::new(session_config());
    assert!(h
        .client
        .start_call(h.t(), CallSpec::new(Method::Get, "//x"))
        .is_err());
    assert_eq!(h.client.open_calls(), 0);
    let call = h.get_models();
    h.run(20, healthy(HOUR));
    assert!(h.ready(call));
}

#[test]
fn retry_after_of_exactly_the_cap_is_waited_out() {
    // The cap (60 s by default) is the longest wait the client takes on: 60 s is waited
    // out, 61 s fails at once (calls.rs).
    let mut h = Harness::new(
        polargrid_core::Config::direct(KEY)
            .with_endpoints(endpoints())
            .with_region("yto-01"),
    );
    let call = h.get_models();
    let c = h.take(is_call);
    h.respond(
        c.id,
        polargrid_core::HttpResponse::new(429).with_header("Retry-After", "60"),
    );
    assert!(h.failure(call).is_none(), "waits");
    assert_eq!(h.client.poll_timeout().unwrap().as_millis(), T0 + 60_000);
    assert!(h.next_wakeup());
    let c = h.take(is_call);
    h.respond(c.id, polargrid_core::HttpResponse::new(200));
    assert!(h.ready(call));
}
