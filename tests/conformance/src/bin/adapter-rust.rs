//! The conformance adapter for the Rust blocking driver (`polargrid-blocking`): the worked
//! example of `tests/conformance/PROTOCOL.md`. JSON lines in on stdin, JSON lines out on stdout.
#![forbid(unsafe_code)]

use std::io::{BufRead, Write};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use polargrid_blocking::{Error, PolarGrid, Request};
use polargrid_core::SessionStatus as S;
use polargrid_core::{CallSpec, Config, DiscoveryScope, Endpoints, Method, SessionSnapshot};
use serde::Deserialize;
use serde_json::{json, Value};

/// One command line (`cmd` picks the variant; a missing or ill-typed field is an error).
#[derive(Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
enum Cmd {
    Configure(Configure),
    Call {
        method: String,
        path: String,
        body: Option<Value>,
        count: usize,
        timeout_ms: Option<u64>,
    },
    Clock {
        advance_ms: i64,
    },
    HandOver {
        grant: String,
    },
    Restart,
    Logout,
    Session,
    Close,
}

#[derive(Deserialize)]
struct Configure {
    endpoints: Value,
    mode: String,
    api_key: Option<String>,
    region: Option<String>,
    base_url: Option<String>,
    scope: Option<String>,
    #[serde(default)]
    failover_pinned: bool,
    max_attempts: Option<u32>,
    backoff_ms: Option<Backoff>,
    seed: Option<u64>,
    request_timeout_ms: Option<u64>,
    connect_timeout_ms: Option<u64>,
    call_deadline_ms: Option<u64>,
    auth_timeout_ms: Option<u64>,
}

#[derive(Deserialize)]
struct Backoff {
    base: u64,
    max: u64,
}

/// A refused command: the message, and the `ConfigError` kind when `configure` was refused.
struct Fail {
    error: String,
    kind: Option<&'static str>,
}

impl From<String> for Fail {
    fn from(error: String) -> Fail {
        Fail { error, kind: None }
    }
}

impl From<&str> for Fail {
    fn from(error: &str) -> Fail {
        error.to_string().into()
    }
}

#[derive(Default)]
struct Adapter {
    config: Option<Config>,
    pg: Option<Arc<PolarGrid>>,
}

/// One call's protocol outcome; a successful body is read to the end.
fn outcome(result: Result<polargrid_blocking::Response, Error>) -> Value {
    match result {
        Ok(resp) => {
            let (status, region) = (resp.status, resp.region.clone());
            match resp.text() {
                Ok(t) => json!({"outcome": "ready", "status": status, "region": region,
                                "stream_done": t.trim_end().ends_with("data: [DONE]")}),
                Err(e) => json!({"outcome": "error", "kind": "network", "message": e.to_string()}),
            }
        }
        Err(Error::Call(e)) => json!({"outcome": "error", "kind": e.kind.as_str(),
            "transport": e.kind.transport().map(|t| t.as_str()), "cause": e.cause,
            "status": e.status, "retryable": e.retryable, "request_id": e.request_id,
            "retry_after_ms": e.retry_after.map(|d| d.as_millis() as u64), "message": e.to_string()}),
        Err(e) => json!({"outcome": "error", "kind": "driver", "message": e.to_string()}),
    }
}

impl Adapter {
    fn pg(&self) -> Result<Arc<PolarGrid>, String> {
        self.pg.clone().ok_or_else(|| "not configured".to_string())
    }

    fn build(&mut self, seed: u64, offset_ms: i64) -> Result<(), Fail> {
        let cfg = self.config.clone().ok_or("not configured")?;
        let pg = PolarGrid::with_seed(cfg, seed).map_err(|e| match e {
            Error::Config(c) => Fail {
                error: c.to_string(),
                kind: Some(c.kind().as_str()),
            },
            e => e.to_string().into(),
        })?;
        pg.advance_clock(offset_ms);
        self.pg = Some(Arc::new(pg));
        Ok(())
    }

    fn handle(&mut self, cmd: Cmd) -> Result<Value, Fail> {
        match cmd {
            Cmd::Configure(c) => {
                let endpoints =
                    Endpoints::from_json(&c.endpoints.to_string()).map_err(|e| Fail {
                        error: e.to_string(),
                        kind: Some(e.kind().as_str()),
                    })?;
                let key = c.api_key.unwrap_or_default();
                let mut cfg = match c.mode.as_str() {
                    "session" => Config::new(key),
                    "direct" => Config::direct(key),
                    "handoff" => Config::handoff(),
                    m => {
                        return Err(Fail {
                            error: format!("unknown mode {m:?}"),
                            kind: Some("invalid_config"),
                        })
                    }
                }
                .with_endpoints(endpoints);
                if let Some(r) = c.region {
                    cfg = cfg.with_region(&r);
                }
                if let Some(u) = c.base_url {
                    cfg = cfg.with_base_url(&u);
                }
                cfg.scope = DiscoveryScope::parse(c.scope.as_deref().unwrap_or("country"));
                cfg.failover_pinned = c.failover_pinned;
                cfg.retry.max_attempts = c.max_attempts.unwrap_or(cfg.retry.max_attempts);
                if let Some(b) = c.backoff_ms {
                    cfg.retry.base_backoff = Duration::from_millis(b.base);
                    cfg.retry.max_backoff = Duration::from_millis(b.max);
                }
                let ms = Duration::from_millis;
                let t = &mut cfg.timeouts;
                t.call = c.request_timeout_ms.map_or(t.call, ms);
                t.connect = c.connect_timeout_ms.map_or(t.connect, ms);
                t.auth = c.auth_timeout_ms.map_or(t.auth, ms);
                t.call_deadline = c.call_deadline_ms.map(ms).or(t.call_deadline);
                self.config = None;
                self.pg = None;
                self.config = Some(cfg);
                if let Err(e) = self.build(c.seed.unwrap_or(1), 0) {
                    self.config = None;
                    return Err(e);
                }
            }
            Cmd::Call {
                method,
                path,
                body,
                count,
                timeout_ms,
            } => {
                let method = Method::parse(&method).ok_or(format!("bad method {method:?}"))?;
                if count == 0 {
                    return Err("count must be at least 1".into());
                }
                let mut req = match body.filter(|b| !b.is_null()) {
                    Some(b) => Request::post_json(&path, &b),
                    None => Request {
                        spec: CallSpec::new(method, &path),
                        body: None,
                        content_type: None,
                    },
                };
                req.spec.method = method;
                let pg = self.pg()?;
                let (tx, rx) = mpsc::channel();
                for _ in 0..count {
                    let (pg, req, tx) = (Arc::clone(&pg), req.clone(), tx.clone());
                    std::thread::spawn(move || tx.send(outcome(pg.call(req))));
                }
                let deadline = Instant::now() + Duration::from_millis(timeout_ms.unwrap_or(30_000));
                let outcomes: Vec<Value> = (0..count)
                    .map(|_| rx.recv_timeout(deadline.saturating_duration_since(Instant::now())))
                    .map(|o| {
                        o.unwrap_or_else(|_| json!({"outcome": "error", "kind": "adapter_timeout"}))
                    })
                    .collect();
                return Ok(json!({"outcomes": outcomes}));
            }
            Cmd::Clock { advance_ms } => self.pg()?.advance_clock(advance_ms),
            Cmd::HandOver { grant } => self
                .pg()?
                .with_core(|c, now| c.hand_over(now, &grant))
                .map_err(|e| e.to_string())?,
            Cmd::Restart => {
                let pg = self.pg()?;
                let snap = pg
                    .with_core(|c, _| c.session_snapshot())
                    .map(|s| s.to_json());
                let offset = pg.clock_offset_ms();
                drop(pg);
                self.pg = None;
                self.build(2, offset)?;
                if let Some(json) = snap {
                    let s = SessionSnapshot::from_json(&json).map_err(|e| e.to_string())?;
                    self.pg()?
                        .with_core(|c, now| c.restore(now, &s))
                        .map_err(|e| e.to_string())?;
                }
            }
            Cmd::Logout => self.pg()?.with_core(|c, now| c.logout(now)),
            Cmd::Session => {
                let status = match self.pg()?.with_core(|c, _| c.session_status()) {
                    S::Direct => "direct",
                    S::None => "none",
                    S::Exchanging => "exchanging",
                    S::Active(_) | S::Refreshing(_) => "active",
                    S::Ended => "ended",
                    _ => "other",
                };
                return Ok(json!({"status": status}));
            }
            Cmd::Close => {}
        }
        Ok(json!({}))
    }
}

fn main() {
    let mut adapter = Adapter::default();
    let mut out = std::io::stdout().lock();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let value: Result<Value, String> =
            serde_json::from_str(&line).map_err(|e| format!("not JSON: {e}"));
        let id = value
            .as_ref()
            .ok()
            .and_then(|v| v.get("id").cloned())
            .unwrap_or(Value::Null);
        let cmd = value
            .and_then(|v| Cmd::deserialize(v).map_err(|e| format!("bad command: {e}")))
            .map_err(Fail::from);
        let closing = matches!(cmd, Ok(Cmd::Close));
        let mut reply = match cmd.and_then(|c| adapter.handle(c)) {
            Ok(fields) => fields,
            Err(Fail { error, kind }) => json!({"ok": false, "error": error, "kind": kind}),
        };
        reply["id"] = id;
        if reply.get("ok").is_none() {
            reply["ok"] = json!(true);
        }
        if writeln!(out, "{reply}").and_then(|()| out.flush()).is_err() || closing {
            break;
        }
    }
}
