//! The edge role: OpenAI-compatible inference endpoints of one region.

use serde_json::{json, Map, Value};

use super::auth::{Denied, Scope};
use super::{error_json, json_response, parse_body, Body, Model, Request, Response};

const KNOWN_PATHS: [&str; 6] = [
    "/v1/models",
    "/v1/chat/completions",
    "/v1/completions",
    "/v1/audio/speech",
    "/v1/audio/transcriptions",
    "/v1/tokens",
];

/// Serves one edge request for `region`.
pub(crate) fn handle(m: &mut Model, now_ms: u64, region: &str, req: &Request) -> Response {
    let principal = match m.auth.authenticate(now_ms, req) {
        Ok(p) => p,
        Err(Denied::Cdn) => return m.cdn_forbidden(),
        Err(Denied::InvalidKey) => {
            return json_response(401, &json!({"message": "Invalid API key"}))
        }
        Err(Denied::InvalidToken) => return error_json(401, "Invalid token", "invalid_token"),
        Err(Denied::TokenExpired) => return error_json(401, "Token expired", "token_expired"),
    };
    let inference = matches!(
        req.path.as_str(),
        "/v1/chat/completions"
            | "/v1/completions"
            | "/v1/audio/speech"
            | "/v1/audio/transcriptions"
    );
    if !KNOWN_PATHS.contains(&req.path.as_str()) {
        return error_json(404, "Not found", "not_found");
    }
    let expected = if req.path == "/v1/models" {
        "GET"
    } else {
        "POST"
    };
    if req.method != expected {
        return error_json(405, "Method not allowed", "method_not_allowed");
    }
    if inference && !principal.credits {
        return error_json(402, "Insufficient credits", "insufficient_credits");
    }
    let ctx = Ctx { m, now_ms, region };
    match req.path.as_str() {
        "/v1/models" => ctx.models(),
        "/v1/chat/completions" => ctx.completion(req, true),
        "/v1/completions" => ctx.completion(req, false),
        "/v1/audio/speech" => ctx.speech(req),
        "/v1/audio/transcriptions" => {
            json_response(200, &json!({"text": "Hello from the PolarGrid emulator."}))
        }
        _ if principal.scope != Scope::Admin => error_json(
            403,
            "Insufficient permissions: admin required",
            "insufficient_scope",
        ),
        _ => ctx.tokens(req),
    }
}

struct Ctx<'a> {
    m: &'a mut Model,
    now_ms: u64,
    region: &'a str,
}

/// A JSON object body, or the error answer: `400` junk, `422` not an object.
fn object_body(req: &Request) -> Result<Map<String, Value>, Response> {
    match parse_body(&req.body)? {
        Some(Value::Object(map)) => Ok(map),
        None => Err(error_json(
            400,
            "A JSON body is required",
            "invalid_request",
        )),
        Some(_) => Err(json_response(
            422,
            &json!({"detail": "Body must be a JSON object"}),
        )),
    }
}

fn missing(field: &str) -> Response {
    json_response(422, &json!({"detail": format!("Field required: {field}")}))
}

/// Text of an OpenAI message `content` (string, or array of `{type: text, text}` parts).
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// At most `max` characters of `s`, on a char boundary.
fn snippet(s: &str, max: usize) -> String {
    let s = s.trim();
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", s.get(..i).unwrap_or("")),
        None => s.to_string(),
    }
}

fn word_count(s: &str) -> usize {
    s.split_whitespace().count()
}

impl Ctx<'_> {
    fn region_name(&self) -> String {
        self.m
            .region(self.region)
            .map(|r| r.name.clone())
            .unwrap_or_else(|| self.region.to_string())
    }

    fn served(&self) -> Vec<String> {
        self.m
            .region_models(self.region)
            .map(<[String]>::to_vec)
            .unwrap_or_default()
    }

    fn fingerprint(&self) -> String {
        format!("polargrid-emulator/{}", self.region)
    }

    fn models(&self) -> Response {
        let data: Vec<Value> = self
            .served()
            .iter()
            .map(|id| json!({"id": id, "object": "model", "created": 0, "owned_by": "polargrid"}))
            .collect();
        json_response(200, &json!({"object": "list", "data": data}))
    }

    /// `/v1/chat/completions` (`chat`) or `/v1/completions`.
    fn completion(self, req: &Request, chat: bool) -> Response {
        let body = match object_body(req) {
            Ok(b) => b,
            Err(resp) => return resp,
        };
        let Some(model) = body
            .get("model")
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            return missing("model");
        };
        let input = if chat {
            match body.get("messages").and_then(Value::as_array) {
                Some(msgs) if !msgs.is_empty() => msgs
                    .last()
                    .and_then(|msg| msg.get("content"))
                    .map(content_text)
                    .unwrap_or_default(),
                _ => return missing("messages"),
            }
        } else {
            match body.get("prompt") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(items)) => content_text(&Value::Array(
                    items
                        .iter()
                        .map(|i| json!({"text": i.as_str().unwrap_or("")}))
                        .collect(),
                )),
                _ => return missing("prompt"),
            }
        };
        if !self.served().contains(&model) {
            return error_json(
                404,
                &format!("Model {model:?} is not available in region {}", self.region),
                "model_not_found",
            );
        }
        let reply = if input.trim().is_empty() {
            format!("Hello from {} ({}).", self.region_name(), self.region)
        } else {
            format!(
                "Hello from {} ({}). You said: {}",
                self.region_name(),
                self.region,
                snippet(&input, 80)
            )
        };
        let prefix = if chat { "chatcmpl" } else { "cmpl" };
        let id = format!("{prefix}-{}", self.m.rng.alnum(24));
        let created = self.now_ms / 1000;
        let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
        let base = |object: &str| {
            json!({
                "id": id,
                "object": object,
                "created": created,
                "model": model,
                "system_fingerprint": self.fingerprint(),
            })
        };
        if stream {
            return self.stream(
                chat,
                &reply,
                base(if chat {
                    "chat.completion.chunk"
                } else {
                    "text_completion"
                }),
            );
        }
        let mut out = base(if chat {
            "chat.completion"
        } else {
            "text_completion"
        });
        let choice = if chat {
            json!({"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"})
        } else {
            json!({"index": 0, "text": reply, "logprobs": null, "finish_reason": "stop"})
        };
        let (p, c) = (word_count(&input), word_count(&reply));
        if let Value::Object(map) = &mut out {
            map.insert("choices".to_string(), json!([choice]));
            map.insert(
                "usage".to_string(),
                json!({"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}),
            );
        }
        json_response(200, &out)
    }

    fn stream(&self, chat: bool, reply: &str, base: Value) -> Response {
        let chunk = |choice: Value| {
            let mut v = base.clone();
            if let Value::Object(map) = &mut v {
                map.insert("choices".to_string(), json!([choice]));
            }
            v.to_string()
        };
        let mut events = Vec::new();
        if chat {
            events.push(chunk(json!({"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null})));
        }
        for piece in reply.split_inclusive(' ') {
            events.push(chunk(if chat {
                json!({"index": 0, "delta": {"content": piece}, "finish_reason": null})
            } else {
                json!({"index": 0, "text": piece, "logprobs": null, "finish_reason": null})
            }));
        }
        events.push(chunk(if chat {
            json!({"index": 0, "delta": {}, "finish_reason": "stop"})
        } else {
            json!({"index": 0, "text": "", "logprobs": null, "finish_reason": "stop"})
        }));
        events.push("[DONE]".to_string());
        Response {
            status: 200,
            headers: vec![
                ("content-type".to_string(), "text/event-stream".to_string()),
                ("cache-control".to_string(), "no-cache".to_string()),
            ],
            body: Body::Sse(events),
        }
    }

    fn speech(&self, req: &Request) -> Response {
        let body = match object_body(req) {
            Ok(b) => b,
            Err(resp) => return resp,
        };
        if !body.get("input").is_some_and(Value::is_string) {
            return missing("input");
        }
        Response {
            status: 200,
            headers: vec![("content-type".to_string(), "audio/wav".to_string())],
            body: Body::Bytes(silent_wav(16_000, 4_000)),
        }
    }

    fn tokens(self, req: &Request) -> Response {
        let body = match object_body(req) {
            Ok(b) => b,
            Err(resp) => return resp,
        };
        let Some(room) = body.get("room").and_then(Value::as_str) else {
            return missing("room");
        };
        let Some(identity) = body.get("identity").and_then(Value::as_str) else {
            return missing("identity");
        };
        let ttl = match body.get("ttl") {
            None | Some(Value::Null) => 3600,
            Some(v) => match v.as_u64().filter(|t| *t > 0) {
                Some(t) => t,
                None => {
                    return json_response(422, &json!({"detail": "ttl must be a positive integer"}))
                }
            },
        };
        match self.m.auth.livekit_token(self.now_ms, room, identity, ttl) {
            Some(token) => json_response(
                200,
                &json!({"token": token, "url": format!("wss://{}.livekit.polargrid.test", self.region)}),
            ),
            None => error_json(500, "Could not sign token", "internal_error"),
        }
    }
}

/// A mono 16-bit PCM WAV file of `samples` zero samples at `rate` Hz.
pub(crate) fn silent_wav(rate: u32, samples: u32) -> Vec<u8> {
    let data_len = samples * 2;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes()); // byte rate
    out.extend_from_slice(&2u16.to_le_bytes()); // block align
    out.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    out.resize(44 + data_len as usize, 0);
    out
}
