//! The conformance runner: reads a scenario (JSON), starts an emulator, sets it up through
//! its admin HTTP API (the same way every binding's runner does), drives calls through
//! `polargrid-core` with the blocking driver over real HTTP, and checks outcomes and the
//! emulator's request log.
//!
//! The format is documented in `tests/conformance/README.md`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::collections::BTreeMap;
use std::time::Duration;

use polargrid_blocking::{Error, PolarGrid, Request};
use polargrid_core::{CallSpec, Config, DiscoveryScope, Method, Mode, SessionStatus};
use polargrid_emulator::{Emulator, EmulatorConfig, StartupInfo};
use serde::Deserialize;
use serde_json::Value;

/// One scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Name (the file's stem).
    pub name: String,
    /// What it shows.
    pub description: String,
    /// Emulator set-up.
    #[serde(default)]
    pub emulator: EmulatorSetup,
    /// Client configuration.
    #[serde(default)]
    pub client: ClientSetup,
    /// What happens, in order.
    pub steps: Vec<Step>,
}

/// Emulator set-up: `POST /admin/config` then each `POST /admin/fault`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmulatorSetup {
    /// Body for `POST /admin/config` (`jwt_ttl_s`, `refresh_ttl_s`, `route_ttl_s`, `legacy_token_field`).
    #[serde(default)]
    pub config: Option<Value>,
    /// Bodies for `POST /admin/fault`.
    #[serde(default)]
    pub faults: Vec<Value>,
}

/// Client configuration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSetup {
    /// `session` (default), `direct` or `handoff`.
    #[serde(default = "default_mode")]
    pub mode: String,
    /// Which emulator key: `read_write` (default), `read_only`, `admin`, `revoked`, `no_credits`.
    #[serde(default = "default_key")]
    pub key: String,
    /// `auto` (default), `region:<id or alias>`, `base_url:autorouter`, `base_url:region:<id>`.
    #[serde(default = "default_routing")]
    pub routing: String,
    /// `country` (default) or `global`.
    #[serde(default)]
    pub scope: Option<String>,
    /// Let a pinned region fail over.
    #[serde(default)]
    pub failover_pinned: bool,
    /// Attempts per call.
    #[serde(default)]
    pub max_attempts: Option<u32>,
}

impl Default for ClientSetup {
    fn default() -> Self {
        ClientSetup {
            mode: default_mode(),
            key: default_key(),
            routing: default_routing(),
            scope: None,
            failover_pinned: false,
            max_attempts: None,
        }
    }
}

fn default_mode() -> String {
    "session".into()
}
fn default_key() -> String {
    "read_write".into()
}
fn default_routing() -> String {
    "auto".into()
}

/// One step.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Make `count` identical calls concurrently (default 1) and check each outcome.
    Call {
        /// `GET` or `POST`.
        method: String,
        /// Path like `/v1/models`.
        path: String,
        /// JSON body (its `model` is used as the routing hint).
        #[serde(default)]
        body: Option<Value>,
        /// Concurrent copies.
        #[serde(default)]
        count: Option<usize>,
        /// Expected outcome of each.
        expect: Expect,
    },
    /// Move both clocks (client and emulator) forward.
    AdvanceMs(i64),
    /// Move only the client's clock (skew, device clock corrections).
    ClientClockMs(i64),
    /// Move only the emulator's clock.
    ServerClockMs(i64),
    /// `POST /admin/fault` with this body.
    Fault(Value),
    /// `POST /admin/revoke` with this body.
    Revoke(Value),
    /// `POST /admin/log/clear`.
    ClearLog,
    /// Check the emulator's request log.
    ExpectLog(Vec<LogExpect>),
    /// Check the client's session status: `none`, `active`, `ended`, `direct`.
    ExpectSession(String),
    /// The app's backend exchanges the key itself and hands the answer over.
    HandOver,
    /// Persist the session snapshot, drop the client, start a new one and restore it.
    Restart,
    /// Log out.
    Logout,
}

/// Expected outcome of a call.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// `ready` or `error`.
    pub outcome: String,
    /// Error kind (`ErrorKind::as_str`) when `error`.
    #[serde(default)]
    pub kind: Option<String>,
    /// HTTP status of the answer (ready) or the error.
    #[serde(default)]
    pub status: Option<u16>,
    /// The region that answered (ready).
    #[serde(default)]
    pub region: Option<String>,
    /// A region that must NOT have answered.
    #[serde(default)]
    pub region_not: Option<String>,
    /// For streams: the body ends with `data: [DONE]`.
    #[serde(default)]
    pub stream_done: bool,
    /// Error is retryable.
    #[serde(default)]
    pub retryable: Option<bool>,
}

/// A count over the emulator's request log.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogExpect {
    /// `autorouter`, `auth` or `edge`.
    #[serde(default)]
    pub role: Option<String>,
    /// Exact path.
    #[serde(default)]
    pub path: Option<String>,
    /// Region (edges).
    #[serde(default)]
    pub region: Option<String>,
    /// `none`, `key`, `jwt`, `refresh_token`, `other`; `any_secret` = anything but none.
    #[serde(default)]
    pub credential: Option<String>,
    /// Answer status, or `refused`.
    #[serde(default)]
    pub status: Option<Value>,
    /// Exact query string.
    #[serde(default)]
    pub query: Option<String>,
    /// `true`: the request had no query string.
    #[serde(default)]
    pub no_query: bool,
    /// Exactly this many.
    #[serde(default)]
    pub count: Option<usize>,
    /// At least.
    #[serde(default)]
    pub min: Option<usize>,
    /// At most.
    #[serde(default)]
    pub max: Option<usize>,
}

/// Runs one scenario; `Err` says which step failed and why.
pub fn run(s: &Scenario) -> Result<(), String> {
    let emu = Emulator::start(EmulatorConfig::default()).map_err(|e| format!("emulator: {e}"))?;
    let info = emu.info();
    let admin = |path: &str, body: &Value| admin_post(&info.admin, path, body);
    if let Some(c) = &s.emulator.config {
        admin("/admin/config", c)?;
    }
    for f in &s.emulator.faults {
        admin("/admin/fault", f)?;
    }
    let config = client_config(&s.client, &info)?;
    let mut pg = PolarGrid::with_seed(config.clone(), 1).map_err(|e| e.to_string())?;
    for (i, step) in s.steps.iter().enumerate() {
        let at = format!("step {} ({})", i + 1, step_name(step));
        match step {
            Step::Call {
                method,
                path,
                body,
                count,
                expect,
            } => {
                let n = count.unwrap_or(1);
                let outcomes: Vec<Result<polargrid_blocking::Response, Error>> =
                    std::thread::scope(|sc| {
                        let handles: Vec<_> = (0..n)
                            .map(|_| sc.spawn(|| pg.call(request(method, path, body.as_ref()))))
                            .collect();
                        handles
                            .into_iter()
                            .map(|h| h.join().unwrap_or(Err(Error::Cancelled)))
                            .collect()
                    });
                for (k, o) in outcomes.into_iter().enumerate() {
                    check_outcome(o, expect).map_err(|e| format!("{at}, call {}: {e}", k + 1))?;
                }
            }
            Step::AdvanceMs(ms) => {
                admin("/admin/clock", &serde_json::json!({"advance_ms": ms}))?;
                pg.advance_clock(*ms);
            }
            Step::ClientClockMs(ms) => pg.advance_clock(*ms),
            Step::ServerClockMs(ms) => {
                admin("/admin/clock", &serde_json::json!({"advance_ms": ms}))?;
            }
            Step::Fault(f) => {
                admin("/admin/fault", f)?;
            }
            Step::Revoke(r) => {
                admin("/admin/revoke", r)?;
            }
            Step::ClearLog => {
                admin("/admin/log/clear", &serde_json::json!({}))?;
            }
            Step::ExpectLog(exps) => {
                let log = admin_get(&info.admin, "/admin/log")?;
                for e in exps {
                    check_log(&log, e).map_err(|m| format!("{at}: {m}"))?;
                }
            }
            Step::ExpectSession(want) => {
                let got = pg.with_core(|c, _| c.session_status());
                let name = match got {
                    SessionStatus::Direct => "direct",
                    SessionStatus::None => "none",
                    SessionStatus::Exchanging => "exchanging",
                    SessionStatus::Active(_) | SessionStatus::Refreshing(_) => "active",
                    SessionStatus::Ended => "ended",
                    _ => "other",
                };
                if name != want {
                    return Err(format!("{at}: session is {name}, expected {want}"));
                }
            }
            Step::HandOver => {
                let key = key_of(&info, "read_write")?;
                let grant = mint(&info.auth, &key)?;
                pg.with_core(|c, now| c.hand_over(now, &grant))
                    .map_err(|e| format!("{at}: {e}"))?;
            }
            Step::Restart => {
                let snap = pg
                    .with_core(|c, _| c.session_snapshot())
                    .map(|s| s.to_json());
                let offset = pg.clock_offset_ms();
                drop(pg);
                pg = PolarGrid::with_seed(config.clone(), 2).map_err(|e| e.to_string())?;
                pg.advance_clock(offset);
                if let Some(json) = snap {
                    let s = polargrid_core::SessionSnapshot::from_json(&json)
                        .map_err(|e| e.to_string())?;
                    pg.with_core(|c, now| c.restore(now, &s))
                        .map_err(|e| format!("{at}: {e}"))?;
                }
            }
            Step::Logout => pg.with_core(|c, now| c.logout(now)),
        }
    }
    Ok(())
}

fn step_name(s: &Step) -> String {
    match s {
        Step::Call { method, path, .. } => format!("{method} {path}"),
        Step::AdvanceMs(ms) => format!("advance {ms} ms"),
        Step::ClientClockMs(ms) => format!("client clock {ms} ms"),
        Step::ServerClockMs(ms) => format!("server clock {ms} ms"),
        Step::Fault(f) => format!("fault {f}"),
        Step::Revoke(r) => format!("revoke {r}"),
        Step::ClearLog => "clear log".into(),
        Step::ExpectLog(_) => "expect log".into(),
        Step::ExpectSession(s) => format!("expect session {s}"),
        Step::HandOver => "hand over".into(),
        Step::Restart => "restart".into(),
        Step::Logout => "logout".into(),
    }
}

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

fn client_config(c: &ClientSetup, info: &StartupInfo) -> Result<Config, String> {
    let endpoints = polargrid_blocking::emulator_endpoints(info);
    let key = key_of(info, &c.key)?;
    let mut cfg = match c.mode.as_str() {
        "session" => Config::new(key),
        "direct" => Config::direct(key),
        "handoff" => Config::handoff(),
        m => return Err(format!("unknown mode {m:?}")),
    }
    .with_endpoints(endpoints);
    debug_assert!(matches!(
        cfg.mode,
        Mode::Session | Mode::Direct | Mode::Handoff
    ));
    let routing = c.routing.as_str();
    if let Some(region) = routing.strip_prefix("region:") {
        cfg = cfg.with_region(region);
    } else if routing == "base_url:autorouter" {
        cfg = cfg.with_base_url(&info.autorouter);
    } else if let Some(id) = routing.strip_prefix("base_url:region:") {
        let url = info
            .regions
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.url.clone());
        cfg = cfg.with_base_url(&url.ok_or_else(|| format!("no region {id}"))?);
    } else if routing != "auto" {
        return Err(format!("unknown routing {routing:?}"));
    }
    if let Some(s) = &c.scope {
        cfg.scope = DiscoveryScope::parse(s);
    }
    cfg.failover_pinned = c.failover_pinned;
    if let Some(n) = c.max_attempts {
        cfg.retry.max_attempts = n;
    }
    // Conformance runs in real time: keep discovery patient but backoffs short.
    cfg.retry.base_backoff = Duration::from_millis(50);
    cfg.retry.max_backoff = Duration::from_millis(400);
    Ok(cfg)
}

fn request(method: &str, path: &str, body: Option<&Value>) -> Request {
    match body {
        Some(b) => {
            let mut r = Request::post_json(path, b);
            r.spec.method = Method::parse(method).unwrap_or(Method::Post);
            r
        }
        None => Request {
            spec: CallSpec::new(Method::parse(method).unwrap_or(Method::Get), path),
            body: None,
            content_type: None,
        },
    }
}

fn check_outcome(o: Result<polargrid_blocking::Response, Error>, e: &Expect) -> Result<(), String> {
    match (o, e.outcome.as_str()) {
        (Ok(resp), "ready") => {
            if let Some(s) = e.status {
                if resp.status != s {
                    return Err(format!("status {} (expected {s})", resp.status));
                }
            }
            let region = resp.region.clone().unwrap_or_default();
            if let Some(r) = &e.region {
                if &region != r {
                    return Err(format!("answered by {region} (expected {r})"));
                }
            }
            if e.region_not.as_deref() == Some(region.as_str()) {
                return Err(format!(
                    "answered by {region}, which should have been avoided"
                ));
            }
            if e.stream_done {
                let text = resp.text().map_err(|x| format!("reading stream: {x}"))?;
                if !text.trim_end().ends_with("data: [DONE]") {
                    return Err("stream did not end with data: [DONE]".into());
                }
            }
            Ok(())
        }
        (Err(Error::Call(err)), "error") => {
            if let Some(k) = &e.kind {
                if err.kind.as_str() != k {
                    return Err(format!(
                        "error kind {} (expected {k}): {err}",
                        err.kind.as_str()
                    ));
                }
            }
            if let Some(s) = e.status {
                if err.status != Some(s) {
                    return Err(format!(
                        "error status {:?} (expected {s}): {err}",
                        err.status
                    ));
                }
            }
            if let Some(r) = e.retryable {
                if err.retryable != r {
                    return Err(format!("retryable {} (expected {r})", err.retryable));
                }
            }
            Ok(())
        }
        (Ok(resp), want) => Err(format!(
            "call was ready (HTTP {}), expected {want}",
            resp.status
        )),
        (Err(err), want) => Err(format!("call failed ({err}), expected {want}")),
    }
}

fn check_log(log: &Value, e: &LogExpect) -> Result<(), String> {
    let entries = log
        .get("entries")
        .and_then(Value::as_array)
        .or_else(|| log.as_array());
    let entries = entries.ok_or("admin log answer has no entries")?;
    let n = entries
        .iter()
        .filter(|x| {
            let s = |k: &str| x.get(k).and_then(Value::as_str).map(str::to_string);
            e.role
                .as_ref()
                .is_none_or(|r| s("role").as_ref() == Some(r))
                && e.path
                    .as_ref()
                    .is_none_or(|p| s("path").as_ref() == Some(p))
                && e.region
                    .as_ref()
                    .is_none_or(|r| s("region").as_ref() == Some(r))
                && e.query
                    .as_ref()
                    .is_none_or(|q| s("query").as_ref() == Some(q))
                && (!e.no_query || s("query").is_none_or(|q| q.is_empty()))
                && e.credential.as_ref().is_none_or(|c| {
                    let got = s("credential").unwrap_or_default();
                    if c == "any_secret" {
                        got != "none"
                    } else {
                        &got == c
                    }
                })
                && e.status
                    .as_ref()
                    .is_none_or(|st| x.get("status") == Some(st))
        })
        .count();
    let what = serde_json::to_string(&filter_desc(e)).unwrap_or_default();
    if let Some(c) = e.count {
        if n != c {
            return Err(format!("log {what}: {n} requests, expected {c}"));
        }
    }
    if e.min.is_some_and(|m| n < m) || e.max.is_some_and(|m| n > m) {
        return Err(format!(
            "log {what}: {n} requests, expected {:?}..={:?}",
            e.min, e.max
        ));
    }
    Ok(())
}

fn filter_desc(e: &LogExpect) -> BTreeMap<&'static str, String> {
    let mut m = BTreeMap::new();
    let mut put = |k: &'static str, v: &Option<String>| {
        if let Some(v) = v {
            m.insert(k, v.clone());
        }
    };
    put("role", &e.role);
    put("path", &e.path);
    put("region", &e.region);
    put("credential", &e.credential);
    put("query", &e.query);
    if let Some(s) = &e.status {
        m.insert("status", s.to_string());
    }
    m
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
