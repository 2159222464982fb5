//! The conformance runner. It owns everything about a scenario: it starts an emulator,
//! sets it up through its admin HTTP API, moves the server clock, injects faults, mints
//! hand-over grants (playing the app's backend), and checks outcomes and the emulator's
//! request log. The *client under test* is a separate process, an adapter, driven over
//! JSON lines (`tests/conformance/PROTOCOL.md`); every binding brings its own adapter and
//! all of them are judged by this one runner.
//!
//! The scenario format is documented in `tests/conformance/README.md`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod adapter;
mod check;
pub mod scenario;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex, PoisonError};
use std::time::Duration;

use polargrid_emulator::{Emulator, EmulatorConfig, StartupInfo};
use serde_json::{json, Value};

pub use adapter::{Adapter, AdapterCommand};
pub use check::*;
pub use scenario::{
    Alternative, ClientSetup, ConnExpect, EmulatorSetup, Expect, LogAlternative, LogExpect,
    LogUnobserved, Scenario, Step, Unobserved, DEFAULT_CALL_TIMEOUT_MS,
};

/// How long the adapter may take to answer `configure` (it may be starting a runtime).
const CONFIGURE_TIMEOUT: Duration = Duration::from_secs(120);
/// How long any other non-call command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// What the runner adds to a call's `timeout_ms` before it gives up on the adapter itself.
const CALL_GRACE: Duration = Duration::from_secs(5);
/// The client's retry backoff in scenarios (real time: retries take well under a second).
const BACKOFF_MS: (u64, u64) = (50, 400);

/// A scenario file: its name (the file stem) and the scenario, or why it is unreadable.
pub type Loaded = (String, Result<Scenario, String>);

/// Reads every `*.json` scenario in `dir`, sorted by file name; an unreadable file, or one
/// whose `name` differs from its file name, is an `Err` under its file name.
pub fn load_dir(dir: &Path) -> Result<Vec<Loaded>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    Ok(files
        .iter()
        .map(|f| {
            let name = f
                .file_stem()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let parsed = std::fs::read_to_string(f)
                .map_err(|e| e.to_string())
                .and_then(|t| {
                    serde_json::from_str::<Scenario>(&t)
                        .map_err(|e| format!("unreadable scenario: {e}"))
                })
                .and_then(|s| {
                    if s.name == name {
                        Ok(s)
                    } else {
                        Err(format!("name {:?} differs from the file name", s.name))
                    }
                });
            (name, parsed)
        })
        .collect())
}

/// A scenario's result: `Ok` with the steps that passed under a declared alternative
/// (`unobserved`, one line each, for the report), or `Err` saying which step failed and why.
pub type Ran = Result<Vec<String>, String>;

/// Runs `scenarios` through `adapter`, `jobs` at a time (each its own emulator and adapter
/// process), and calls `report` for each result in the given order, as soon as it and
/// every scenario before it have finished. Returns (passed, failed).
pub fn run_all(
    scenarios: &[Loaded],
    adapter: &AdapterCommand,
    jobs: usize,
    mut report: impl FnMut(&str, &Ran),
) -> (usize, usize) {
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, Ran)>();
    let tx = Mutex::new(tx);
    let mut results: Vec<Option<Ran>> = scenarios.iter().map(|_| None).collect();
    let (mut passed, mut failed, mut printed) = (0, 0, 0);
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, scenarios.len().max(1)) {
            let tx = tx.lock().unwrap_or_else(PoisonError::into_inner).clone();
            let next = &next;
            s.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some((_, sc)) = scenarios.get(i) else {
                    return;
                };
                let r = match sc {
                    Ok(sc) => run(sc, adapter),
                    Err(e) => Err(e.clone()),
                };
                if tx.send((i, r)).is_err() {
                    return;
                }
            });
        }
        drop(tx);
        for (i, r) in rx {
            if let Some(slot) = results.get_mut(i) {
                *slot = Some(r);
            }
            while let Some(Some(r)) = results.get(printed) {
                if r.is_ok() {
                    passed += 1;
                } else {
                    failed += 1;
                }
                if let Some((name, _)) = scenarios.get(printed) {
                    report(name, r);
                }
                printed += 1;
            }
        }
    });
    (passed, failed)
}

/// Runs one scenario with a fresh emulator and a fresh adapter process; `Ok` lists the
/// steps that passed under a declared alternative, `Err` says which step failed and why.
pub fn run(s: &Scenario, adapter: &AdapterCommand) -> Ran {
    let emu = Emulator::start(EmulatorConfig::default()).map_err(|e| format!("emulator: {e}"))?;
    let info = emu.info();
    let admin = |path: &str, body: &Value| admin_post(&info.admin, path, body);
    if let Some(c) = &s.emulator.config {
        admin("/admin/config", c)?;
    }
    for f in &s.emulator.faults {
        admin("/admin/fault", f)?;
    }
    let call_timeout = s.call_timeout_ms.unwrap_or(DEFAULT_CALL_TIMEOUT_MS);
    let mut client = Adapter::spawn(adapter)?;
    let configure = configure_command(&s.client, &info)?;
    if let Some(want) = &s.configure_refused {
        let mut cmd = configure;
        cmd["id"] = json!(1);
        let answer = client.exchange(&cmd.to_string(), CONFIGURE_TIMEOUT)?;
        let got = answer.get("kind").and_then(Value::as_str);
        return match answer.get("ok") {
            Some(Value::Bool(false)) if got == Some(want.as_str()) => client
                .close(COMMAND_TIMEOUT)
                .map(|()| Vec::new())
                .map_err(|e| format!("close: {e}")),
            Some(Value::Bool(false)) => Err(format!(
                "configure refused with kind {got:?} (expected {want}): {}",
                answer.get("error").and_then(Value::as_str).unwrap_or("")
            )),
            _ => Err(format!("configure was accepted, expected refused ({want})")),
        };
    }
    let configured = client
        .request(configure, CONFIGURE_TIMEOUT)
        .map_err(|e| format!("configure: {e}"))?;
    // A platform that cannot tell (some) transport failures apart says so.
    let opaque = opaque_kinds(&configured);
    // And what it cannot observe at all (a scenario may declare what happens there instead).
    let observes = Observes::from_configured(&configured);
    let mut alternatives = Vec::new();
    for (i, step) in s.steps.iter().enumerate() {
        let at = format!("step {} ({})", i + 1, step_name(step));
        let mut cmd = |c: Value| {
            client
                .request(c, COMMAND_TIMEOUT)
                .map_err(|e| format!("{at}: {e}"))
        };
        match step {
            Step::Call {
                method,
                path,
                body,
                count,
                expect,
                unobserved,
            } => {
                let n = count.unwrap_or(1);
                let (expect, note) = expectation(expect, unobserved.as_deref(), observes);
                let answer = client
                    .request(
                        json!({"cmd": "call", "method": method, "path": path, "body": body,
                               "count": n, "timeout_ms": call_timeout}),
                        Duration::from_millis(call_timeout) + CALL_GRACE,
                    )
                    .map_err(|e| format!("{at}: {e}"))?;
                let outcomes = answer
                    .get("outcomes")
                    .and_then(Value::as_array)
                    .ok_or_else(|| format!("{at}: the answer has no outcomes array"))?;
                if outcomes.len() != n {
                    return Err(format!("{at}: {} outcomes for {n} calls", outcomes.len()));
                }
                for (k, o) in outcomes.iter().enumerate() {
                    check_outcome_on(o, expect, &opaque)
                        .map_err(|e| format!("{at}, call {}{note}: {e}", k + 1))?;
                }
                if !note.is_empty() {
                    alternatives.push(format!("{at}{note}"));
                }
            }
            Step::AdvanceMs(ms) => {
                admin("/admin/clock", &json!({"advance_ms": ms}))?;
                cmd(json!({"cmd": "clock", "advance_ms": ms}))?;
            }
            Step::ClientClockMs(ms) => {
                cmd(json!({"cmd": "clock", "advance_ms": ms}))?;
            }
            Step::ServerClockMs(ms) => {
                admin("/admin/clock", &json!({"advance_ms": ms}))?;
            }
            Step::Fault(f) => {
                admin("/admin/fault", f)?;
            }
            Step::Revoke(r) => {
                admin("/admin/revoke", r)?;
            }
            Step::Models(m) => {
                admin("/admin/models", m)?;
            }
            Step::ClearLog => {
                admin("/admin/log/clear", &json!({}))?;
            }
            Step::ExpectLog(exps) => {
                // A client may still be finishing background work (a proactive refresh
                // started beside the last call) when the step runs: the log converges, so
                // a failing check is re-read until it passes or LOG_SETTLE has gone by.
                let settle_until = std::time::Instant::now() + LOG_SETTLE;
                let note = if exps.iter().any(|e| log_alternative(e, observes).is_some()) {
                    " (the alternative for a platform that cannot observe connects)"
                } else {
                    ""
                };
                loop {
                    let log = admin_get(&info.admin, "/admin/log")?;
                    let check = |e| check_log_on(&log, e, observes);
                    match exps.iter().try_for_each(check) {
                        Ok(()) => break,
                        Err(_) if std::time::Instant::now() < settle_until => {
                            std::thread::sleep(std::time::Duration::from_millis(50));
                        }
                        Err(m) => {
                            return Err(format!("{at}{note}: {m} (log: {})", log_summary(&log)))
                        }
                    }
                }
                if !note.is_empty() {
                    alternatives.push(format!("{at}{note}"));
                }
            }
            Step::ExpectConnections(c) => {
                let within = Duration::from_millis(c.within_ms.unwrap_or(2000));
                let until = std::time::Instant::now() + within;
                loop {
                    let answer = admin_get(&info.admin, "/admin/connections")?;
                    let open = answer
                        .get("open")
                        .and_then(|o| o.get(&c.target))
                        .and_then(Value::as_u64)
                        .ok_or_else(|| {
                            format!("{at}: no open count for {:?}: {answer}", c.target)
                        })?;
                    if open == c.open as u64 {
                        break;
                    }
                    if std::time::Instant::now() >= until {
                        return Err(format!(
                            "{at}: {open} connections to {} open after {} ms, expected {}",
                            c.target,
                            within.as_millis(),
                            c.open
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            Step::ExpectSession(want) => {
                let answer = cmd(json!({"cmd": "session"}))?;
                let got = answer.get("status").and_then(Value::as_str).unwrap_or("?");
                if got != want {
                    return Err(format!("{at}: session is {got}, expected {want}"));
                }
            }
            Step::HandOver => {
                let key = key_of(&info, "read_write")?;
                let grant = mint(&info.auth, &key)?;
                cmd(json!({"cmd": "hand_over", "grant": grant}))?;
            }
            Step::Restart => {
                cmd(json!({"cmd": "restart"}))?;
            }
            Step::Logout => {
                cmd(json!({"cmd": "logout"}))?;
            }
        }
    }
    client
        .close(COMMAND_TIMEOUT)
        .map(|()| alternatives)
        .map_err(|e| format!("close: {e}"))
}

fn step_name(s: &Step) -> String {
    match s {
        Step::Call { method, path, .. } => format!("{method} {path}"),
        Step::AdvanceMs(ms) => format!("advance {ms} ms"),
        Step::ClientClockMs(ms) => format!("client clock {ms} ms"),
        Step::ServerClockMs(ms) => format!("server clock {ms} ms"),
        Step::Fault(f) => format!("fault {f}"),
        Step::Revoke(r) => format!("revoke {r}"),
        Step::Models(m) => format!("models {m}"),
        Step::ClearLog => "clear log".into(),
        Step::ExpectLog(_) => "expect log".into(),
        Step::ExpectSession(s) => format!("expect session {s}"),
        Step::ExpectConnections(c) => format!("expect {} open to {}", c.open, c.target),
        Step::HandOver => "hand over".into(),
        Step::Restart => "restart".into(),
        Step::Logout => "logout".into(),
    }
}

/// How long a failing `expect_log` is re-read before it counts as failed: background
/// requests a client started before the step (a proactive refresh) land within it. Under a
/// load average of ~28 on 2 cores the Rust adapter's took up to 1 s; the JVM and Swift
/// runtimes are slower to schedule a background thread, and a check that passes is never
/// re-read, so only a failing run pays for the margin.
const LOG_SETTLE: std::time::Duration = std::time::Duration::from_secs(10);

fn key_of(info: &StartupInfo, which: &str) -> Result<String, String> {
    let k = &info.keys;
    Ok(match which {
        "read_write" => k.read_write.clone(),
        "read_only" => k.read_only.clone(),
        "admin" => k.admin.clone(),
        "revoked" => k.revoked.clone(),
        "no_credits" => k.no_credits.clone(),
        other => return Err(format!("unknown key {other:?}")),
    })
}

/// The `configure` command for `c`: key name → key, routing → `region`/`base_url`, the
/// emulator's start-up JSON as `endpoints`.
fn configure_command(c: &ClientSetup, info: &StartupInfo) -> Result<Value, String> {
    let mut endpoints = serde_json::to_value(info).map_err(|e| e.to_string())?;
    for id in &c.tls_regions {
        let region = endpoints
            .get_mut("regions")
            .and_then(Value::as_array_mut)
            .and_then(|rs| rs.iter_mut().find(|r| r.get("id") == Some(&json!(id))))
            .ok_or_else(|| format!("tls_regions: no region {id}"))?;
        let url = region.get("url").and_then(Value::as_str).unwrap_or("");
        let tls = url.replacen("http://", "https://", 1);
        region["url"] = json!(tls);
    }
    let key = key_of(info, &c.key)?;
    let api_key = match c.mode.as_str() {
        "session" | "direct" => Some(key),
        "handoff" => None,
        m => return Err(format!("unknown mode {m:?}")),
    };
    let routing = c.routing.as_str();
    let (mut region, mut base_url) = (None, None);
    if let Some(r) = routing.strip_prefix("region:") {
        region = Some(r.to_string());
    } else if routing == "base_url:autorouter" {
        base_url = Some(info.autorouter.clone());
    } else if let Some(id) = routing.strip_prefix("base_url:region:") {
        let url = info
            .regions
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.url.clone());
        base_url = Some(url.ok_or_else(|| format!("no region {id}"))?);
    } else if routing != "auto" {
        return Err(format!("unknown routing {routing:?}"));
    }
    let mut cmd = json!({
        "cmd": "configure",
        "endpoints": endpoints,
        "mode": c.mode,
        "api_key": api_key,
        "region": region,
        "base_url": base_url,
        "scope": c.scope.as_deref().unwrap_or("country"),
        "failover_pinned": c.failover_pinned,
        "max_attempts": c.max_attempts,
        "backoff_ms": {"base": BACKOFF_MS.0, "max": BACKOFF_MS.1},
        "seed": 1,
    });
    // Sent only when set: an adapter that predates them still runs every other scenario.
    for (field, v) in [
        ("request_timeout_ms", c.request_timeout_ms),
        ("connect_timeout_ms", c.connect_timeout_ms),
        ("call_deadline_ms", c.call_deadline_ms),
        ("auth_timeout_ms", c.auth_timeout_ms),
    ] {
        if let Some(ms) = v {
            cmd[field] = json!(ms);
        }
    }
    Ok(cmd)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn admin_post(admin: &str, path: &str, body: &Value) -> Result<Value, String> {
    let mut resp = agent()
        .post(&format!("{admin}{path}"))
        .header("Content-Type", "application/json")
        .send(body.to_string())
        .map_err(|e| format!("admin {path}: {e}"))?;
    let status = resp.status().as_u16();
    let text = resp
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("admin {path} answered {status}: {text}"));
    }
    serde_json::from_str(&text).map_err(|e| format!("admin {path}: {e}"))
}

fn admin_get(admin: &str, path: &str) -> Result<Value, String> {
    let mut resp = agent()
        .get(&format!("{admin}{path}"))
        .call()
        .map_err(|e| format!("admin {path}: {e}"))?;
    let text = resp
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| format!("admin {path}: {e}"))
}

/// What the app's backend does in handoff mode: exchange the key, pass the answer on.
fn mint(auth: &str, key: &str) -> Result<String, String> {
    let mut resp = agent()
        .post(&format!("{auth}/v1/auth/session"))
        .header("Authorization", &format!("Bearer {key}"))
        .header("Content-Type", "application/json")
        .send(r#"{"user_agent":"conformance-backend/1"}"#)
        .map_err(|e| format!("backend exchange: {e}"))?;
    resp.body_mut().read_to_string().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_counts_ignore_cors_preflights() {
        let log = json!({"entries": [
            {"role": "edge", "method": "OPTIONS", "path": "/v1/models", "status": 204},
            {"role": "edge", "method": "GET", "path": "/v1/models", "status": 200},
        ]});
        let e: LogExpect =
            serde_json::from_value(json!({"role": "edge", "path": "/v1/models", "count": 1}))
                .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(check_log(&log, &e), Ok(()));
        let two: LogExpect = serde_json::from_value(json!({"role": "edge", "count": 2}))
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert!(check_log(&log, &two).is_err());
    }

    #[test]
    fn a_failed_log_check_shows_each_entry_with_its_server_time_from_the_first() {
        let log = json!({"entries": [
            {"seq": 0, "time_ms": 1000, "role": "auth", "method": "POST",
             "path": "/v1/auth/session", "credential": "key", "status": 200},
            {"seq": 1, "time_ms": 3_361_000, "role": "edge", "region": "yto-01", "method": "GET",
             "path": "/v1/models", "credential": "jwt", "status": "refused"},
        ]});
        assert_eq!(
            log_summary(&log),
            "#0 +0ms auth POST /v1/auth/session key 200; \
             #1 +3360000ms edge:yto-01 GET /v1/models jwt refused"
        );
        let many: Vec<Value> = (0..LOG_SUMMARY_ENTRIES + 2)
            .map(|i| json!({"seq": i, "time_ms": i, "role": "edge"}))
            .collect();
        let shown = log_summary(&json!({ "entries": many }));
        assert!(
            shown.starts_with("(2 earlier entries); #2 +2ms edge"),
            "{shown}"
        );
        assert_eq!(log_summary(&json!({})), "no entries");
    }

    #[test]
    fn an_opaque_platform_is_expected_to_say_opaque_except_for_the_core_deadline() {
        let e: Expect = serde_json::from_value(
            json!({"outcome": "error", "kind": "network", "transport": "connect_timeout"}),
        )
        .unwrap_or_else(|e| unreachable!("{e}"));
        let opaque = json!({"outcome": "error", "kind": "network", "transport": "opaque"});
        let exact = json!({"outcome": "error", "kind": "network", "transport": "connect_timeout"});
        let all = opaque_kinds(&json!({"opaque_transport": true}));
        let none = Opaque::default();
        assert_eq!(check_outcome_on(&opaque, &e, &all), Ok(()));
        assert!(check_outcome_on(&opaque, &e, &none).is_err());
        assert_eq!(check_outcome_on(&exact, &e, &none), Ok(()));
        assert!(check_outcome_on(&exact, &e, &all).is_err());
        assert!(transport_matches("timeout", "timeout", &all));
        assert!(!transport_matches("timeout", "opaque", &all));
    }

    #[test]
    fn a_log_count_alternative_applies_only_where_the_adapter_cannot_observe_connects() {
        let e: LogExpect = serde_json::from_value(json!({
            "role": "edge", "region": "yto-01", "count": 2,
            "unobserved": {"connect": {"why": "moved on", "count": 1}}
        }))
        .unwrap_or_else(|e| unreachable!("{e}"));
        let log = json!({"entries": [{"role": "edge", "region": "yto-01"}]});
        let all = Observes::from_configured(&json!({"ok": true}));
        let page = Observes::from_configured(&json!({"observes_connect": false}));
        let headless = Observes::from_configured(&json!({"observes_head": false}));
        assert!(check_log_on(&log, &e, all).is_err());
        assert!(check_log_on(&log, &e, headless).is_err());
        assert_eq!(check_log_on(&log, &e, page), Ok(()));
        assert!(log_alternative(&e, all).is_none());
        let no_why = serde_json::from_value::<LogExpect>(
            json!({"count": 1, "unobserved": {"connect": {"count": 2}}}),
        );
        assert!(
            no_why.is_err(),
            "an alternative without its reason is refused"
        );
    }

    #[test]
    fn a_declared_alternative_applies_only_where_the_adapter_declares_the_limit() {
        let expect: Expect =
            serde_json::from_value(json!({"outcome": "error", "transport": "connect_timeout"}))
                .unwrap_or_else(|e| unreachable!("{e}"));
        let u: Unobserved = serde_json::from_value(json!({
            "connect": {"why": "no connect phase", "expect": {"outcome": "error", "transport": "timeout"}}
        }))
        .unwrap_or_else(|e| unreachable!("{e}"));
        let all = Observes::from_configured(&json!({"ok": true}));
        let page =
            Observes::from_configured(&json!({"observes_connect": false, "observes_head": false}));
        let headless = Observes::from_configured(&json!({"observes_head": false}));
        assert_eq!(
            all,
            Observes {
                connect: true,
                head: true
            }
        );
        assert_eq!(
            expectation(&expect, Some(&u), all).0.transport.as_deref(),
            Some("connect_timeout")
        );
        assert_eq!(
            expectation(&expect, Some(&u), page).0.transport.as_deref(),
            Some("timeout")
        );
        // A limit the scenario declares no alternative for changes nothing.
        assert_eq!(
            expectation(&expect, Some(&u), headless)
                .0
                .transport
                .as_deref(),
            Some("connect_timeout")
        );
        assert_eq!(
            expectation(&expect, None, page).0.transport.as_deref(),
            Some("connect_timeout")
        );
        let no_why =
            serde_json::from_value::<Unobserved>(json!({"head": {"expect": {"outcome": "ready"}}}));
        assert!(
            no_why.is_err(),
            "an alternative without its reason is refused"
        );
    }

    #[test]
    fn listed_opaque_kinds_may_be_opaque_and_only_those() {
        let some = opaque_kinds(&json!({"opaque_kinds": ["tls", "protocol", "nonsense"]}));
        assert_eq!(some.sometimes, vec!["tls", "protocol"]);
        assert!(transport_matches("tls", "opaque", &some));
        assert!(transport_matches("tls", "tls", &some));
        assert!(!transport_matches("tls", "connect", &some));
        assert!(!transport_matches("connect", "opaque", &some));
        assert_eq!(opaque_kinds(&json!({})), Opaque::default());
    }
}
