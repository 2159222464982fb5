//! The admin API (`/admin/*`): JSON in, JSON out. Documented in the crate docs.

use serde_json::{json, Map, Value};

use super::faults::{Fault, RetryAfter, Target};
use super::log::LogRole;
use super::route::percent_decode;
use super::{error_json, json_response, parse_body, Model, ModelError, Request, Response};

const PATHS: [&str; 11] = [
    "/admin/info",
    "/admin/log",
    "/admin/log/clear",
    "/admin/faults",
    "/admin/fault",
    "/admin/clock",
    "/admin/revoke",
    "/admin/models",
    "/admin/config",
    "/admin/reset",
    "/admin/sessions",
];

/// Serves one admin request.
pub(crate) fn handle(m: &mut Model, now_ms: u64, req: &Request) -> Response {
    let result = match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/admin/info") => Ok(json!(m.info())),
        ("GET", "/admin/log") => Ok(log(m, req)),
        ("POST", "/admin/log/clear") => {
            let n = m.log.len();
            m.clear_log();
            Ok(json!({"cleared": n}))
        }
        ("GET", "/admin/faults") => {
            Ok(json!({"faults": m.faults(), "clock_offset_ms": m.clock_offset_ms}))
        }
        ("POST", "/admin/fault") => object(req).and_then(|b| fault(m, &b)),
        ("GET", "/admin/clock") => Ok(clock_answer(m, now_ms, m.clock_offset_ms)),
        ("POST", "/admin/clock") => object(req).and_then(|b| clock(m, now_ms, &b)),
        ("POST", "/admin/revoke") => object(req).and_then(|b| revoke(m, &b)),
        ("POST", "/admin/models") => object(req).and_then(|b| models(m, &b)),
        ("POST", "/admin/config") => object(req).and_then(|b| config(m, &b)),
        ("POST", "/admin/reset") => {
            m.reset();
            Ok(json!({"ok": true}))
        }
        ("GET", "/admin/sessions") => Ok(json!({"active": m.active_sessions()})),
        (_, path) if PATHS.contains(&path) => {
            Err(error_json(405, "Method not allowed", "method_not_allowed"))
        }
        _ => Err(error_json(404, "Unknown admin endpoint", "not_found")),
    };
    match result {
        Ok(body) => json_response(200, &body),
        Err(resp) => resp,
    }
}

fn bad(message: &str) -> Response {
    error_json(400, message, "invalid_request")
}

fn model_error(e: &ModelError) -> Response {
    match e {
        ModelError::UnknownRegion(_) => error_json(404, &e.to_string(), "unknown_region"),
        ModelError::Invalid(_) => bad(&e.to_string()),
    }
}

fn object(req: &Request) -> Result<Map<String, Value>, Response> {
    match parse_body(&req.body)? {
        Some(Value::Object(map)) => Ok(map),
        None => Ok(Map::new()),
        Some(_) => Err(bad("Body must be a JSON object")),
    }
}

fn log(m: &Model, req: &Request) -> Value {
    let mut role = None;
    let mut region = None;
    let mut path = None;
    for pair in req.query.as_deref().unwrap_or("").split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_decode(v);
        match k {
            "role" => role = Some(v),
            "region" => region = Some(v),
            "path" => path = Some(v),
            _ => {}
        }
    }
    let role_name = |r: LogRole| match r {
        LogRole::Autorouter => "autorouter",
        LogRole::Auth => "auth",
        LogRole::Edge => "edge",
        LogRole::Trap => "trap",
    };
    let entries: Vec<_> = m
        .log
        .entries()
        .filter(|e| role.is_none() || role.as_deref() == Some(role_name(e.role)))
        .filter(|e| region.is_none() || e.region == region)
        .filter(|e| path.is_none() || path.as_deref() == Some(e.path.as_str()))
        .collect();
    json!({"entries": entries})
}

fn count_of(body: &Map<String, Value>) -> Result<Option<u32>, Response> {
    if body.get("forever").and_then(Value::as_bool) == Some(true) {
        return Ok(None);
    }
    match body.get("count") {
        None | Some(Value::Null) => Ok(Some(1)),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| bad("count must be a non-negative integer")),
    }
}

fn retry_after_of(body: &Map<String, Value>) -> Result<RetryAfter, Response> {
    if let Some(v) = body.get("retry_after_date_s") {
        return v
            .as_u64()
            .map(RetryAfter::DateAfter)
            .ok_or_else(|| bad("retry_after_date_s must be a non-negative integer"));
    }
    match body.get("retry_after") {
        None => Ok(RetryAfter::Seconds(1)),
        Some(Value::Null) => Ok(RetryAfter::Absent),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(RetryAfter::Seconds)
            .ok_or_else(|| bad("retry_after must be a non-negative integer")),
        Some(Value::String(s)) => Ok(match s.trim().parse::<u64>() {
            Ok(secs) => RetryAfter::Seconds(secs),
            Err(_) => RetryAfter::Raw(s.clone()),
        }),
        Some(_) => Err(bad("retry_after must be a string or a number")),
    }
}

fn fault(m: &mut Model, body: &Map<String, Value>) -> Result<Value, Response> {
    let target = body
        .get("target")
        .and_then(Value::as_str)
        .and_then(Target::parse)
        .ok_or_else(|| bad("target must be \"autorouter\", \"auth\" or \"region:<id>\""))?;
    let kind = body.get("kind").and_then(Value::as_str).unwrap_or("");
    let fault =
        match kind {
            "down" => Fault::Down,
            "up" => Fault::Up,
            "clear" => Fault::Clear,
            "status" => {
                let status = body
                    .get("status")
                    .and_then(Value::as_u64)
                    .and_then(|s| u16::try_from(s).ok())
                    .ok_or_else(|| bad("status must be an HTTP status"))?;
                let count = count_of(body)?;
                if body.contains_key("retry_after") || body.contains_key("retry_after_date_s") {
                    Fault::StatusWithRetryAfter {
                        status,
                        retry_after: retry_after_of(body)?,
                        count,
                    }
                } else {
                    Fault::Status { status, count }
                }
            }
            "slow" => Fault::Slow {
                delay_ms: body
                    .get("delay_ms")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| bad("delay_ms must be a non-negative integer"))?,
                count: count_of(body)?,
            },
            "rate_limit" => Fault::RateLimit {
                retry_after: retry_after_of(body)?,
                count: count_of(body)?,
            },
            "date_offset" => Fault::DateOffset {
                offset_ms: body
                    .get("offset_ms")
                    .and_then(Value::as_i64)
                    .ok_or_else(|| bad("offset_ms must be an integer"))?,
            },
            "rewrite" => Fault::Rewrite {
                field: body
                    .get("field")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("field must be a string"))?
                    .to_string(),
                value: body
                    .get("value")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("value must be a string"))?
                    .to_string(),
                append: body.get("append").and_then(Value::as_bool).unwrap_or(false),
                count: count_of(body)?,
            },
            _ => return Err(bad(
                "kind must be down, up, status, slow, rate_limit, date_offset, rewrite or clear",
            )),
        };
    m.inject(&target, fault).map_err(|e| model_error(&e))?;
    Ok(json!({"ok": true, "faults": m.faults()}))
}

fn clock_answer(m: &Model, now_ms: u64, old_offset: i64) -> Value {
    let real = i128::from(now_ms) - i128::from(old_offset);
    let now = (real + i128::from(m.clock_offset_ms)).clamp(0, i128::from(u64::MAX)) as u64;
    json!({"offset_ms": m.clock_offset_ms, "now_ms": now})
}

fn clock(m: &mut Model, now_ms: u64, body: &Map<String, Value>) -> Result<Value, Response> {
    let old = m.clock_offset_ms;
    if let Some(v) = body.get("offset_ms") {
        m.set_clock_offset_ms(
            v.as_i64()
                .ok_or_else(|| bad("offset_ms must be an integer"))?,
        );
    }
    if let Some(v) = body.get("advance_ms") {
        m.advance_clock_ms(
            v.as_i64()
                .ok_or_else(|| bad("advance_ms must be an integer"))?,
        );
    }
    Ok(clock_answer(m, now_ms, old))
}

fn revoke(m: &mut Model, body: &Map<String, Value>) -> Result<Value, Response> {
    if body.get("all").and_then(Value::as_bool) == Some(true) {
        return Ok(json!({"revoked": m.revoke_all_sessions()}));
    }
    if let Some(sid) = body.get("session_id").and_then(Value::as_str) {
        return if m.revoke_session(sid) {
            Ok(json!({"revoked": 1}))
        } else {
            Err(error_json(404, "Unknown session", "not_found"))
        };
    }
    if let Some(key) = body.get("key").and_then(Value::as_str) {
        return if m.revoke_key(key) {
            Ok(json!({"revoked": 1}))
        } else {
            Err(error_json(404, "Unknown key", "not_found"))
        };
    }
    Err(bad("give session_id, key, or all: true"))
}

fn models(m: &mut Model, body: &Map<String, Value>) -> Result<Value, Response> {
    let region = body
        .get("region")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("region is required"))?
        .to_string();
    let models: Vec<String> = body
        .get("models")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().map(|v| v.as_str().map(str::to_string)).collect())
        .ok_or_else(|| bad("models must be an array of strings"))?;
    m.set_region_models(&region, models.clone())
        .map_err(|e| model_error(&e))?;
    Ok(json!({"region": region, "models": models}))
}

fn config(m: &mut Model, body: &Map<String, Value>) -> Result<Value, Response> {
    let ttl = |name: &str| -> Result<Option<u64>, Response> {
        match body.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| bad(&format!("{name} must be a non-negative integer"))),
        }
    };
    let (jwt, refresh, route) = (
        ttl("jwt_ttl_s")?,
        ttl("refresh_ttl_s")?,
        ttl("route_ttl_s")?,
    );
    let legacy = match body.get("legacy_token_field") {
        None => None,
        Some(v) => Some(
            v.as_bool()
                .ok_or_else(|| bad("legacy_token_field must be a boolean"))?,
        ),
    };
    m.set_ttls(jwt, refresh, route);
    if let Some(l) = legacy {
        m.set_legacy_token_field(l);
    }
    let c = m.config();
    Ok(json!({
        "jwt_ttl_s": c.jwt_ttl_s,
        "refresh_ttl_s": c.refresh_ttl_s,
        "route_ttl_s": c.route_ttl_s,
        "legacy_token_field": c.legacy_token_field,
    }))
}
