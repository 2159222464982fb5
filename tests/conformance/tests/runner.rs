//! The runner and the Rust adapter themselves: bad input gets error lines (never a hang),
//! a wrong expectation fails, a misbehaving adapter fails fast.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Duration;

use polargrid_conformance::{load_dir, run, run_all, Adapter, AdapterCommand};
use serde_json::{json, Value};

const T: Duration = Duration::from_secs(20);

fn rust_adapter() -> AdapterCommand {
    AdapterCommand::new(env!("CARGO_BIN_EXE_adapter-rust"))
}

fn error_of(answer: &Value) -> &str {
    assert_eq!(answer["ok"], json!(false), "{answer}");
    answer["error"].as_str().unwrap()
}

#[test]
fn malformed_and_unknown_commands_get_error_lines_and_the_adapter_keeps_reading() {
    let mut a = Adapter::spawn(&rust_adapter()).unwrap();
    let not_json = a.exchange("this is not json", T).unwrap();
    assert!(error_of(&not_json).contains("not JSON"));
    assert_eq!(not_json["id"], Value::Null);
    let unknown = a.exchange(r#"{"id":5,"cmd":"frobnicate"}"#, T).unwrap();
    assert_eq!(unknown["id"], json!(5));
    assert!(error_of(&unknown).contains("frobnicate"));
    let no_cmd = a.exchange(r#"{"id":6}"#, T).unwrap();
    assert!(error_of(&no_cmd).contains("cmd"));
    let not_object = a.exchange("[1,2]", T).unwrap();
    error_of(&not_object);
    let unconfigured = a.exchange(r#"{"id":7,"cmd":"session"}"#, T).unwrap();
    assert!(error_of(&unconfigured).contains("not configured"));
    let bad_type = a
        .exchange(r#"{"id":8,"cmd":"clock","advance_ms":"soon"}"#, T)
        .unwrap();
    assert!(error_of(&bad_type).contains("invalid type"));
    let zero = a
        .exchange(
            r#"{"id":11,"cmd":"call","method":"GET","path":"/v1/models","body":null,"count":0}"#,
            T,
        )
        .unwrap();
    error_of(&zero);
    let no_endpoints = a
        .exchange(r#"{"id":9,"cmd":"configure","mode":"session"}"#, T)
        .unwrap();
    assert!(error_of(&no_endpoints).contains("endpoints"));
    let closed = a.exchange(r#"{"id":10,"cmd":"close"}"#, T).unwrap();
    assert_eq!(closed, json!({"id": 10, "ok": true}));
    assert!(a.exited_within(T), "the adapter exits after close");
}

#[test]
fn adapter_exits_when_its_stdin_closes() {
    let mut a = Adapter::spawn(&rust_adapter()).unwrap();
    assert!(a.exited_within(T));
}

#[test]
fn scenarios_with_wrong_expectations_fail_with_the_reason() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/should_fail");
    let scenarios = load_dir(&dir).unwrap();
    // Each file name says what must appear in the failure.
    let want = [
        ("call_timeout_reports_adapter_timeout", "adapter_timeout"),
        (
            "configure_refused_but_accepted",
            "accepted, expected refused (invalid_config)",
        ),
        (
            "configure_refused_with_another_kind",
            "kind Some(\"invalid_config\") (expected key_in_browser)",
        ),
        ("expected_200_gets_404", "expected ready"),
        ("log_count_is_off_by_one", "expected 2"),
        ("name_differs_from_file", "differs from the file name"),
        (
            "open_connections_expected_one",
            "0 connections to auth open after 300 ms, expected 1",
        ),
        ("redirect_cause_and_trap_count_wrong", "does not contain"),
        (
            "retry_after_ms_differs",
            "retry_after_ms Some(2000) (expected 1000)",
        ),
        ("session_expected_ended", "expected ended"),
        ("slow_stream_expected_a_retry", "1 requests, expected 2"),
        (
            "transport_connect_expected_timeout",
            "transport Some(\"connect\") (expected timeout)",
        ),
        ("trap_expected_one_request", "0 requests, expected 1"),
        (
            "unobserved_alternative_is_not_for_every_adapter",
            "transport Some(\"connect\") (expected timeout)",
        ),
    ];
    assert_eq!(scenarios.len(), want.len());
    let mut seen = Vec::new();
    let (passed, failed) = run_all(&scenarios, &rust_adapter(), 4, |name, r| {
        seen.push((name.to_string(), r.clone()))
    });
    assert_eq!((passed, failed), (0, want.len()), "{seen:?}");
    for ((name, r), (want_name, reason)) in seen.iter().zip(want) {
        assert_eq!(name, want_name);
        let e = r.as_ref().unwrap_err();
        assert!(e.contains(reason), "{name}: {e}");
    }
}

#[test]
fn adapter_that_exits_at_once_fails_the_scenario_without_hanging() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let (_, sc) = load_dir(&dir)
        .unwrap()
        .into_iter()
        .find(|(n, _)| n == "unknown_path_404_not_found")
        .unwrap();
    let e = run(&sc.unwrap(), &AdapterCommand::new("/bin/true")).unwrap_err();
    assert!(e.contains("configure"), "{e}");
    // An adapter that echoes its input back breaks the protocol (no "ok").
    let (_, sc) = load_dir(&dir)
        .unwrap()
        .into_iter()
        .find(|(n, _)| n == "unknown_path_404_not_found")
        .unwrap();
    let e = run(&sc.unwrap(), &AdapterCommand::new("/bin/cat")).unwrap_err();
    assert!(e.contains("without a boolean ok"), "{e}");
}

#[test]
fn adapter_that_never_answers_a_call_is_killed_and_fails_the_scenario() {
    let sc: polargrid_conformance::Scenario = serde_json::from_value(json!({
        "name": "hang", "description": "the adapter never answers the call",
        "call_timeout_ms": 100,
        "steps": [{"call": {"method": "GET", "path": "/v1/models", "expect": {"outcome": "ready"}}}]
    }))
    .unwrap();
    let hang = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/adapters/hangs_on_call");
    let e = run(&sc, &AdapterCommand::new(hang)).unwrap_err();
    assert!(e.contains("did not answer within 5100 ms (killed)"), "{e}");
}
