//! The edge role: OpenAI-compatible inference endpoints of one region.

use serde_json::{json, Map, Value};

use super::auth::{Denied, Scope};
use super::{error_json, json_response, parse_body, Body, Model, Request, Response};

const KNOWN_PATHS: [&str; 7] = [
    "/v1/models",
    "/v1/chat/completions",
    "/v1/completions",
    "/v1/completions/stream",
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
            | "/v1/completions/stream"
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
        "/v1/chat/completions" => ctx.completion(req, true, false),
        "/v1/completions" => ctx.completion(req, false, false),
        // PolarGrid's own streaming completions endpoint (polargrid-sdk's `completion_stream`).
        "/v1/completions/stream" => ctx.completion(req, false, true),
        "/v1/audio/speech" => ctx.speech(req),
        "/v1/audio/transcriptions" => transcription(req),
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

    /// PolarGrid's `ModelInfo`: the OpenAI model object plus `root`/`parent`/`permission`
    /// (required by polargrid-sdk) and the `pg_*` extensions.
    fn models(&self) -> Response {
        let data: Vec<Value> = self
            .served()
            .iter()
            .map(|id| {
                json!({
                    "id": id, "object": "model", "created": MODELS_CREATED, "owned_by": "polargrid",
                    "permission": [], "root": id, "parent": null,
                    "pg_model_type": "chat", "pg_regions": [self.region],
                })
            })
            .collect();
        json_response(200, &json!({"object": "list", "data": data}))
    }

    /// `/v1/chat/completions` (`chat`) or `/v1/completions` (`/v1/completions/stream`:
    /// `force_stream`).
    fn completion(self, req: &Request, chat: bool, force_stream: bool) -> Response {
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
        let stream = force_stream || body.get("stream").and_then(Value::as_bool).unwrap_or(false);
        let (p, c) = (word_count(&input), word_count(&reply));
        let usage = json!({"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c});
        let include_usage = body
            .get("stream_options")
            .and_then(|o| o.get("include_usage"))
            .and_then(Value::as_bool)
            == Some(true);
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
                include_usage.then_some(usage),
            );
        }
        let mut out = base(if chat {
            "chat.completion"
        } else {
            "text_completion"
        });
        let choice = if chat {
            json!({"index": 0, "message": {"role": "assistant", "content": reply, "refusal": null},
                   "logprobs": null, "finish_reason": "stop"})
        } else {
            json!({"index": 0, "text": reply, "logprobs": null, "finish_reason": "stop"})
        };
        if let Value::Object(map) = &mut out {
            map.insert("choices".to_string(), json!([choice]));
            map.insert("usage".to_string(), usage);
            map.insert(
                "pg_metadata".to_string(),
                json!({"region": self.region, "latency_ms": 0, "model_load_time_ms": 0,
                       "queue_time_ms": 0, "inference_time_ms": 0}),
            );
        }
        json_response(200, &out)
    }

    fn stream(&self, chat: bool, reply: &str, base: Value, usage: Option<Value>) -> Response {
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
                json!({"index": 0, "delta": {"content": piece}, "logprobs": null, "finish_reason": null})
            } else {
                json!({"index": 0, "text": piece, "logprobs": null, "finish_reason": null})
            }));
        }
        events.push(chunk(if chat {
            json!({"index": 0, "delta": {}, "logprobs": null, "finish_reason": "stop"})
        } else {
            json!({"index": 0, "text": "", "logprobs": null, "finish_reason": "stop"})
        }));
        if let Some(usage) = usage {
            // OpenAI's `stream_options.include_usage`: a last chunk with no choices.
            let mut v = base.clone();
            if let Value::Object(map) = &mut v {
                map.insert("choices".to_string(), json!([]));
                map.insert("usage".to_string(), usage);
            }
            events.push(v.to_string());
        }
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

/// `created` of every model (a fixed Unix time: the models do not change).
const MODELS_CREATED: u64 = 1_735_689_600;

const TRANSCRIPT: &str = "Hello from the PolarGrid emulator.";

/// `/v1/audio/transcriptions`: `{"text"}`; `response_format` (query or form field)
/// `verbose_json` adds the segment list, `text` answers plain text; `stream=true` answers
/// PolarGrid's SSE (`transcript.text.delta` events, then one `transcript.text.done`).
fn transcription(req: &Request) -> Response {
    let param = |name: &str| {
        req.query
            .as_deref()
            .and_then(|q| {
                q.split('&')
                    .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            })
            .map(str::to_string)
            .or_else(|| form_field(&req.body, name))
            .unwrap_or_default()
    };
    let format = param("response_format");
    if param("stream") == "true" && !matches!(format.as_str(), "verbose_json" | "srt" | "vtt") {
        let mut events: Vec<String> = TRANSCRIPT
            .split_inclusive(' ')
            .map(|w| json!({"type": "transcript.text.delta", "delta": w}).to_string())
            .collect();
        events.push(
            json!({"type": "transcript.text.done", "text": TRANSCRIPT, "duration": 0.25, "language": "en"})
                .to_string(),
        );
        return Response {
            status: 200,
            headers: vec![
                ("content-type".to_string(), "text/event-stream".to_string()),
                ("cache-control".to_string(), "no-cache".to_string()),
            ],
            body: Body::Sse(events),
        };
    }
    match format.as_str() {
        "verbose_json" => json_response(
            200,
            &json!({
                "task": "transcribe", "language": "english", "duration": 0.25, "text": TRANSCRIPT,
                "segments": [{"id": 0, "seek": 0, "start": 0.0, "end": 0.25, "text": TRANSCRIPT,
                              "tokens": [], "temperature": 0.0, "avg_logprob": 0.0,
                              "compression_ratio": 1.0, "no_speech_prob": 0.0}],
            }),
        ),
        "text" => Response {
            status: 200,
            headers: vec![(
                "content-type".to_string(),
                "text/plain; charset=utf-8".to_string(),
            )],
            body: Body::Bytes(TRANSCRIPT.as_bytes().to_vec()),
        },
        _ => json_response(200, &json!({"text": TRANSCRIPT})),
    }
}

/// The value of a `multipart/form-data` text field `name` (first match), if any.
fn form_field(body: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let marker = format!("name=\"{name}\"");
    let at = text.find(&marker)? + marker.len();
    let rest = text.get(at..)?;
    let start = rest.find("\r\n\r\n")? + 4;
    let value = rest.get(start..)?;
    let end = value.find("\r\n").unwrap_or(value.len());
    Some(value.get(..end)?.trim().to_string())
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
