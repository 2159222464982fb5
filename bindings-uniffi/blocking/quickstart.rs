//! The quickstart: three lines to an authenticated, routed call — then the things that
//! break SDKs (expiry, a region outage, a misused base URL), shown working.
//!
//! Without `POLARGRID_API_KEY` it starts the bundled emulator in-process (no account
//! needed); with it, it runs the same against the real service and skips the steps that
//! need the emulator's fault injection.

use std::io::{BufRead, BufReader};
use std::time::Instant;

use polargrid_blocking::{PolarGrid, Request};
use polargrid_core::{
    classify_response, Config, Credential, Event, HttpResponse, Stage, Timestamp,
};
use polargrid_emulator::model::{Credential as LogCredential, LogRole, Target};
use polargrid_emulator::{Emulator, EmulatorConfig};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

struct Trace(Instant);

impl Trace {
    fn step(&self, title: &str) {
        println!("\n[{:>6.3}s] ▶ {title}", self.0.elapsed().as_secs_f64());
    }
    fn say(&self, line: &str) {
        println!("          {line}");
    }
    fn events(&self, pg: &PolarGrid) {
        for e in pg.take_events() {
            match e {
                Event::RegionChanged {
                    region,
                    endpoint,
                    reason,
                } => self.say(&format!("region → {region} ({reason:?}) at {endpoint}")),
                Event::SessionChanged {
                    reason,
                    info: Some(i),
                    ..
                } => {
                    let (now, skew) = pg.with_core(|c, now| (now, c.clock_skew_ms()));
                    self.say(&format!(
                        "session {reason:?}: id {}, JWT valid for {}, background refresh in {}",
                        i.session_id.as_deref().unwrap_or("?"),
                        span(i.expires_at.diff_millis(now.offset(skew))),
                        i.refresh_at
                            .map(|r| span(r.diff_millis(now)))
                            .unwrap_or_else(|| "—".into()),
                    ))
                }
                Event::SessionChanged {
                    reason, info: None, ..
                } => self.say(&format!("session {reason:?}")),
                Event::SessionEnded { error } => self.say(&format!("session ended: {error}")),
                _ => {}
            }
        }
    }
}

fn span(ms: i64) -> String {
    let m = ms.max(0) / 60_000;
    format!("{}h{:02}m", m / 60, m % 60)
}

fn main() -> Res<()> {
    let trace = Trace(Instant::now());
    match std::env::var("POLARGRID_API_KEY") {
        Ok(key) if !key.is_empty() => real(&trace, key),
        _ => emulated(&trace),
    }
}

fn real(trace: &Trace, key: String) -> Res<()> {
    trace.step("POLARGRID_API_KEY is set: talking to the real PolarGrid");
    let pg = PolarGrid::new(Config::new(key))?;
    basics(trace, &pg, "llama-3.1-8b")?;
    trace.say("(clock, outage and 403 demonstrations need the emulator: unset POLARGRID_API_KEY to see them)");
    Ok(())
}

fn basics(trace: &Trace, pg: &PolarGrid, model: &str) -> Res<()> {
    trace.step("GET /v1/models — the first call discovers a region and mints a session");
    let models = pg.call(Request::get("/v1/models"))?;
    let region = models.region.clone().unwrap_or_default();
    let body: serde_json::Value = serde_json::from_str(&models.text()?)?;
    trace.events(pg);
    let names: Vec<&str> = body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["id"].as_str())
        .collect();
    trace.say(&format!("{} answered: {}", region, names.join(", ")));

    trace.step("POST /v1/chat/completions with \"stream\": true — tokens as they arrive");
    let req = serde_json::json!({
        "model": model,
        "stream": true,
        "messages": [{"role": "user", "content": "Say hello from the edge."}],
    });
    let mut resp = pg.call(Request::post_json("/v1/chat/completions", &req))?;
    let mut text = String::new();
    let mut chunks = 0;
    for line in BufReader::new(resp.reader()).lines() {
        let line = line?;
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        if data == "[DONE]" {
            break;
        }
        let v: serde_json::Value = serde_json::from_str(data)?;
        if let Some(piece) = v["choices"][0]["delta"]["content"].as_str() {
            text.push_str(piece);
            chunks += 1;
        }
    }
    trace.say(&format!("{chunks} chunks: {text:?}"));
    Ok(())
}

fn emulated(trace: &Trace) -> Res<()> {
    trace.step("no POLARGRID_API_KEY: starting the bundled emulator on 127.0.0.1");
    let emu = Emulator::start(EmulatorConfig::default())?;
    let info = emu.info();
    trace.say(&format!(
        "autorouter {}  auth {}",
        info.autorouter, info.auth
    ));
    for r in &info.regions {
        trace.say(&format!(
            "edge {} ({}, {}) {}",
            r.id, r.name, r.country, r.url
        ));
    }
    // The same start-up JSON every binding's `endpoints` option takes.
    let endpoints = polargrid_core::Endpoints::from_json(&serde_json::to_string(&info)?)?;

    // The three lines.
    let config = Config::new(info.keys.read_write.clone()).with_endpoints(endpoints.clone());
    let pg = PolarGrid::new(config)?;
    basics(trace, &pg, "llama-3.1-8b")?;

    trace.step("23h56m pass (both clocks jump): the session refreshes in the background");
    let jump = (info.jwt_ttl_s as i64 - 4 * 60) * 1000;
    emu.advance_clock_ms(jump);
    pg.advance_clock(jump);
    let resp = pg.call(Request::get("/v1/models"))?;
    trace.say(&format!(
        "a call right after the jump: HTTP {} from {}",
        resp.status,
        resp.region.unwrap_or_default()
    ));
    // Let the background refresh land (it is in flight beside the call).
    for _ in 0..200 {
        if emu.count(&polargrid_emulator::Role::Auth, "/v1/auth/refresh") > 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::thread::sleep(std::time::Duration::from_millis(50));
    trace.events(&pg);
    trace.say(&format!(
        "auth service saw {} exchange(s) and {} refresh(es) so far",
        emu.count(&polargrid_emulator::Role::Auth, "/v1/auth/session"),
        emu.count(&polargrid_emulator::Role::Auth, "/v1/auth/refresh"),
    ));

    let first = info
        .regions
        .first()
        .map(|r| r.id.clone())
        .unwrap_or_default();
    trace.step(&format!(
        "region {first} goes down (connections refused): the call fails over"
    ));
    emu.set_down(&Target::Region(first.clone()), true)?;
    let resp = pg.call(Request::post_json(
        "/v1/chat/completions",
        &serde_json::json!({"model": "llama-3.1-8b", "messages": [{"role": "user", "content": "still there?"}]}),
    ))?;
    trace.events(&pg);
    let region = resp.region.clone().unwrap_or_default();
    let answer: serde_json::Value = serde_json::from_str(&resp.text()?)?;
    trace.say(&format!(
        "answered by {region}: {}",
        answer["choices"][0]["message"]["content"]
    ));
    emu.set_down(&Target::Region(first), false)?;

    trace.step("the autorouter used as a base URL, as PolarGrid's own README suggests");
    let naive = ureq::post(&format!("{}/v1/chat/completions", info.autorouter))
        .config()
        .http_status_as_error(false)
        .build()
        .header("Authorization", &format!("Bearer {}", info.keys.read_write))
        .send(r#"{"model":"llama-3.1-8b","messages":[]}"#)?;
    let status = naive.status().as_u16();
    let headers: Vec<(String, String)> = naive
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = naive.into_body().read_to_vec()?;
    trace.say(&format!(
        "a naive client POSTing there gets HTTP {status}: {}",
        String::from_utf8_lossy(&body)
    ));
    let resp = HttpResponse {
        status,
        headers,
        body,
    };
    let e = classify_response(Stage::Call, Credential::Key, &resp, Timestamp(0), &[]);
    trace.say(&format!("classified: {}", e.kind));
    trace.say(&format!("cause: {}", e.cause));
    trace.say(&format!("fix:   {}", e.fix));
    let auto = Config::new(info.keys.read_write.clone())
        .with_endpoints(endpoints)
        .with_base_url(&info.autorouter);
    let pg2 = PolarGrid::new(auto)?;
    let resp = pg2.call(Request::get("/v1/models"))?;
    trace.say(&format!(
        "polargrid-core given that base URL auto-routes instead: HTTP {} from {}",
        resp.status,
        resp.region.unwrap_or_default()
    ));
    let with_credential = emu
        .log()
        .iter()
        .filter(|l| l.role == LogRole::Autorouter && l.credential != LogCredential::None)
        .count();
    trace.say(&format!(
        "autorouter requests that carried a credential: {with_credential} (the naive one; polargrid-core sends none there)"
    ));

    trace.step("done");
    Ok(())
}
