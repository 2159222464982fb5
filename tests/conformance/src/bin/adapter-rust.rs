//! The conformance adapter for the Rust blocking driver (`polargrid-blocking`): the worked
//! example of `tests/conformance/PROTOCOL.md`. JSON lines in on stdin, JSON lines out on stdout.
#![forbid(unsafe_code)]

use std::io::{BufRead, Write};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use polargrid_blocking::{Error, PolarGrid, Request};
use polargrid_core::{CallSpec, Config, DiscoveryScope, Endpoints, Method, SessionSnapshot};
use serde_json::{json, Value};

type Res<T> = Result<T, String>;

struct Adapter {
    config: Option<(Config, u64)>,
    pg: Option<Arc<PolarGrid>>,
}

fn field<'a>(cmd: &'a Value, name: &str) -> Res<&'a Value> {
    cmd.get(name)
        .ok_or_else(|| format!("missing field {name:?}"))
}
fn str_of<'a>(cmd: &'a Value, name: &str) -> Res<&'a str> {
    field(cmd, name)?
        .as_str()
        .ok_or_else(|| format!("{name:?} must be a string"))
}
fn opt_str<'a>(cmd: &'a Value, name: &str) -> Option<&'a str> {
    cmd.get(name).and_then(Value::as_str)
}
fn int_of(cmd: &Value, name: &str) -> Res<i64> {
    field(cmd, name)?
        .as_i64()
        .ok_or_else(|| format!("{name:?} must be an integer"))
}

fn configure(cmd: &Value) -> Res<(Config, u64)> {
    let endpoints = Endpoints::from_json(&field(cmd, "endpoints")?.to_string())
        .map_err(|e| format!("endpoints: {e}"))?;
    let key = opt_str(cmd, "api_key").unwrap_or_default();
    let mut cfg = match str_of(cmd, "mode")? {
        "session" => Config::new(key),
        "direct" => Config::direct(key),
        "handoff" => Config::handoff(),
        m => return Err(format!("unknown mode {m:?}")),
    }
    .with_endpoints(endpoints);
    if let Some(r) = opt_str(cmd, "region") {
        cfg = cfg.with_region(r);
    }
    if let Some(u) = opt_str(cmd, "base_url") {
        cfg = cfg.with_base_url(u);
    }
    if let Some(s) = opt_str(cmd, "scope") {
        cfg.scope = DiscoveryScope::parse(s);
    }
    cfg.failover_pinned = cmd
        .get("failover_pinned")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if let Some(n) = cmd.get("max_attempts").and_then(Value::as_u64) {
        cfg.retry.max_attempts = u32::try_from(n).map_err(|_| "max_attempts too large")?;
    }
    if let Some(b) = cmd.get("backoff_ms") {
        cfg.retry.base_backoff = Duration::from_millis(int_of(b, "base")?.max(0) as u64);
        cfg.retry.max_backoff = Duration::from_millis(int_of(b, "max")?.max(0) as u64);
    }
    let seed = cmd.get("seed").and_then(Value::as_u64).unwrap_or(1);
    Ok((cfg, seed))
}

/// One call to its protocol outcome; a successful body is read to the end.
fn outcome(result: Result<polargrid_blocking::Response, Error>) -> Value {
    match result {
        Ok(resp) => {
            let (status, region) = (resp.status, resp.region.clone());
            match resp.text() {
                Ok(text) => json!({"outcome": "ready", "status": status, "region": region,
                    "stream_done": text.trim_end().ends_with("data: [DONE]")}),
                Err(e) => {
                    json!({"outcome": "error", "kind": "network", "message": format!("reading body: {e}")})
                }
            }
        }
        Err(Error::Call(e)) => {
            json!({"outcome": "error", "kind": e.kind.as_str(), "status": e.status,
            "retryable": e.retryable, "retry_after_ms": e.retry_after.map(|d| d.as_millis() as u64),
            "request_id": e.request_id, "message": e.to_string()})
        }
        Err(e) => json!({"outcome": "error", "kind": "driver", "message": e.to_string()}),
    }
}

impl Adapter {
    fn pg(&self) -> Res<&Arc<PolarGrid>> {
        self.pg.as_ref().ok_or_else(|| "not configured".to_string())
    }

    fn build(&mut self, seed: u64, offset_ms: i64) -> Res<()> {
        let (cfg, _) = self.config.as_ref().ok_or("not configured")?;
        let pg = PolarGrid::with_seed(cfg.clone(), seed).map_err(|e| e.to_string())?;
        pg.advance_clock(offset_ms);
        self.pg = Some(Arc::new(pg));
        Ok(())
    }

    fn handle(&mut self, cmd: &Value) -> Res<Value> {
        match str_of(cmd, "cmd")? {
            "configure" => {
                let (cfg, seed) = configure(cmd)?;
                self.config = Some((cfg, seed));
                self.build(seed, 0)?;
            }
            "call" => {
                let (method, path) = (str_of(cmd, "method")?, str_of(cmd, "path")?);
                let method =
                    Method::parse(method).ok_or_else(|| format!("bad method {method:?}"))?;
                let count = int_of(cmd, "count")?;
                if count < 1 {
                    return Err("count must be ≥ 1".into());
                }
                let mut req = match cmd.get("body").filter(|b| !b.is_null()) {
                    Some(b) => Request::post_json(path, b),
                    None => Request {
                        spec: CallSpec::new(method, path),
                        body: None,
                        content_type: None,
                    },
                };
                req.spec.method = method;
                let timeout = cmd
                    .get("timeout_ms")
                    .and_then(Value::as_u64)
                    .unwrap_or(30_000);
                let (tx, rx) = mpsc::channel();
                for _ in 0..count {
                    let (pg, req, tx) = (Arc::clone(self.pg()?), req.clone(), tx.clone());
                    std::thread::spawn(move || tx.send(outcome(pg.call(req))));
                }
                let deadline = std::time::Instant::now() + Duration::from_millis(timeout);
                let outcomes: Vec<Value> = (0..count)
                    .map(|_| {
                        let left = deadline.saturating_duration_since(std::time::Instant::now());
                        rx.recv_timeout(left).unwrap_or_else(
                            |_| json!({"outcome": "error", "kind": "adapter_timeout"}),
                        )
                    })
                    .collect();
                return Ok(json!({"outcomes": outcomes}));
            }
            "clock" => {
                let ms = int_of(cmd, "advance_ms")?;
                self.pg()?.advance_clock(ms);
            }
            "hand_over" => {
                let grant = str_of(cmd, "grant")?;
                self.pg()?
                    .with_core(|c, now| c.hand_over(now, grant))
                    .map_err(|e| e.to_string())?;
            }
            "restart" => {
                let pg = self.pg()?;
                let snap = pg
                    .with_core(|c, _| c.session_snapshot())
                    .map(|s| s.to_json());
                let offset = pg.clock_offset_ms();
                self.pg = None;
                self.build(2, offset)?;
                if let Some(json) = snap {
                    let s = SessionSnapshot::from_json(&json).map_err(|e| e.to_string())?;
                    self.pg()?
                        .with_core(|c, now| c.restore(now, &s))
                        .map_err(|e| e.to_string())?;
                }
            }
            "logout" => self.pg()?.with_core(|c, now| c.logout(now)),
            "session" => {
                use polargrid_core::SessionStatus as S;
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
            "close" => {}
            other => return Err(format!("unknown cmd {other:?}")),
        }
        Ok(json!({}))
    }
}

fn main() {
    let mut adapter = Adapter {
        config: None,
        pg: None,
    };
    let mut out = std::io::stdout().lock();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let (id, closing, answer) = match serde_json::from_str::<Value>(&line) {
            Ok(cmd) => (
                cmd.get("id").cloned().unwrap_or(Value::Null),
                cmd.get("cmd") == Some(&json!("close")),
                adapter.handle(&cmd),
            ),
            Err(e) => (Value::Null, false, Err(format!("not JSON: {e}"))),
        };
        let mut reply = match answer {
            Ok(Value::Object(mut fields)) => {
                fields.insert("ok".into(), json!(true));
                Value::Object(fields)
            }
            Ok(_) => json!({"ok": true}),
            Err(error) => json!({"ok": false, "error": error}),
        };
        reply["id"] = id;
        if writeln!(out, "{reply}").and_then(|()| out.flush()).is_err() || closing {
            break;
        }
    }
}
