//! Edge endpoints: auth outcomes, completions, streaming, audio, tokens, headers.
use serde_json::json;

use super::*;

fn post(path: &str, token: &str, body: &Value) -> Request {
    Request::new("POST", path)
        .with_bearer(token)
        .with_json(body)
}

#[test]
fn edge_without_bearer_gets_cdn_403_with_cors() {
    let mut h = harness();
    let key = h.rw_key();
    let none = Request::new("GET", "/v1/models");
    let basic =
        Request::new("GET", "/v1/models").with_header("authorization", &format!("Basic {key}"));
    let bare = Request::new("GET", "/v1/models").with_header("authorization", "Bearer");
    for req in [none, basic, bare] {
        let r = h.send(&edge("yto-01"), req);
        assert_eq!(r.status, 403);
        assert_eq!(r.body_bytes(), br#"{"Message": null}"#);
        assert_eq!(r.header("x-cache"), Some("Error from cloudfront"));
        assert!(r.header("via").unwrap().contains("(CloudFront)"));
        assert!(r.header("x-amz-cf-id").is_some());
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        assert_eq!(r.header("x-polargrid-region"), Some("yto-01"));
    }
}

#[test]
fn models_lists_region_models_in_polargrid_model_info_shape() {
    let mut h = harness();
    let key = h.rw_key();
    h.m.set_region_models("yul-01", vec!["only-this".to_string()])
        .unwrap();
    let r = h.send(
        &edge("yul-01"),
        Request::new("GET", "/v1/models").with_bearer(&key),
    );
    let v = body_json(&r);
    assert_eq!(v["object"], "list");
    assert_eq!(
        v["data"],
        json!([{"id": "only-this", "object": "model", "created": 1_735_689_600, "owned_by": "polargrid",
                "permission": [], "root": "only-this", "parent": null,
                "pg_model_type": "chat", "pg_regions": ["yul-01"]}])
    );
}

#[test]
fn completions_stream_endpoint_streams_chunks_then_done() {
    let mut h = harness();
    let key = h.rw_key();
    let r = h.send(
        &edge("yto-01"),
        Request::new("POST", "/v1/completions/stream")
            .with_bearer(&key)
            .with_body(br#"{"model":"llama-3.1-8b","prompt":"hi"}"#.to_vec()),
    );
    let Body::Sse(events) = &r.body else {
        panic!("not a stream: {r:?}")
    };
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let first: Value = serde_json::from_str(&events[0]).unwrap();
    assert_eq!(first["object"], "text_completion");
    assert!(first["choices"][0]["text"].is_string());
}

#[test]
fn chat_answer_carries_pg_metadata_and_stream_usage_when_asked() {
    let mut h = harness();
    let key = h.rw_key();
    let v = body_json(&h.chat("nyc-01", &key));
    assert_eq!(v["pg_metadata"]["region"], "nyc-01");
    assert_eq!(v["choices"][0]["logprobs"], Value::Null);
    let r = h.send(
        &edge("yto-01"),
        Request::new("POST", "/v1/chat/completions")
            .with_bearer(&key)
            .with_body(br#"{"model":"llama-3.1-8b","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}"#.to_vec()),
    );
    let Body::Sse(events) = &r.body else {
        panic!("not a stream: {r:?}")
    };
    let last: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
    assert_eq!(last["choices"], json!([]));
    assert!(last["usage"]["total_tokens"].as_u64().unwrap() > 0);
}

#[test]
fn transcription_stream_is_delta_events_then_done() {
    let mut h = harness();
    let key = h.rw_key();
    let r = h.send(
        &edge("yto-01"),
        Request::new("POST", "/v1/audio/transcriptions?stream=true&model=m").with_bearer(&key),
    );
    let Body::Sse(events) = &r.body else {
        panic!("not a stream: {r:?}")
    };
    let parsed: Vec<Value> = events
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    let text: String = parsed[..parsed.len() - 1]
        .iter()
        .map(|e| {
            assert_eq!(e["type"], "transcript.text.delta");
            e["delta"].as_str().unwrap().to_string()
        })
        .collect();
    let done = parsed.last().unwrap();
    assert_eq!(done["type"], "transcript.text.done");
    assert_eq!(done["text"], json!(text));
}

#[test]
fn transcription_verbose_json_has_segments() {
    let mut h = harness();
    let key = h.rw_key();
    let r = h.send(
        &edge("yto-01"),
        Request::new(
            "POST",
            "/v1/audio/transcriptions?response_format=verbose_json",
        )
        .with_bearer(&key),
    );
    let v = body_json(&r);
    assert_eq!(v["task"], "transcribe");
    assert_eq!(v["segments"][0]["text"], v["text"]);
}

#[test]
fn chat_completion_is_deterministic_and_names_region() {
    let mut a = harness();
    let mut b = harness();
    let key = a.rw_key();
    let ra = a.chat("nyc-01", &key);
    let rb = b.chat("nyc-01", &key);
    assert_eq!(ra, rb);
    let v = body_json(&ra);
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["system_fingerprint"], "polargrid-emulator/nyc-01");
    assert_eq!(v["choices"][0]["message"]["role"], "assistant");
    let text = v["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(
        text.contains("New York") && text.contains("hi there"),
        "{text}"
    );
    assert!(v["usage"]["total_tokens"].as_u64().unwrap() > 0);
    assert_eq!(ra.header("content-type"), Some("application/json"));
}

#[test]
fn streaming_chat_sends_chunks_ending_with_done() {
    let mut h = harness();
    let key = h.rw_key();
    let mut body = chat_body();
    body["stream"] = json!(true);
    let r = h.send(&edge("yto-01"), post("/v1/chat/completions", &key, &body));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    let Body::Sse(events) = &r.body else {
        panic!("not SSE")
    };
    assert!(events.len() >= 4);
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let text: String = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str::<Value>(e).unwrap())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert!(text.contains("hi there"));
    assert!(String::from_utf8(r.body_bytes())
        .unwrap()
        .ends_with("data: [DONE]\n\n"));
}

#[test]
fn completions_answer_text_and_stream() {
    let mut h = harness();
    let key = h.rw_key();
    let body = json!({"model": "qwen-2.5-7b", "prompt": "say hi"});
    let v = body_json(&h.send(&edge("yto-01"), post("/v1/completions", &key, &body)));
    assert_eq!(v["object"], "text_completion");
    assert!(v["choices"][0]["text"].as_str().unwrap().contains("say hi"));
    let stream = json!({"model": "qwen-2.5-7b", "prompt": ["a", "b"], "stream": true});
    let r = h.send(&edge("yto-01"), post("/v1/completions", &key, &stream));
    assert!(matches!(&r.body, Body::Sse(e) if e.last().map(String::as_str) == Some("[DONE]")));
}

#[test]
fn invalid_completion_bodies_give_400_or_422() {
    let mut h = harness();
    let key = h.rw_key();
    let junk = Request::new("POST", "/v1/chat/completions")
        .with_bearer(&key)
        .with_body("{{{");
    let r = h.send(&edge("yto-01"), junk);
    assert_eq!(
        (r.status, body_json(&r)["code"].clone()),
        (400, json!("invalid_request"))
    );
    let empty = Request::new("POST", "/v1/chat/completions").with_bearer(&key);
    assert_eq!(h.send(&edge("yto-01"), empty).status, 400);
    for body in [
        json!({"messages": [{"role": "user", "content": "x"}]}),
        json!({"model": "llama-3.1-8b"}),
        json!({"model": "llama-3.1-8b", "messages": []}),
        json!([1, 2]),
    ] {
        let r = h.send(&edge("yto-01"), post("/v1/chat/completions", &key, &body));
        assert_eq!(r.status, 422, "{body}");
        assert!(body_json(&r)["detail"].is_string());
    }
    let no_prompt = json!({"model": "llama-3.1-8b"});
    assert_eq!(
        h.send(&edge("yto-01"), post("/v1/completions", &key, &no_prompt))
            .status,
        422
    );
}

#[test]
fn unknown_model_in_region_is_404_model_not_found() {
    let mut h = harness();
    let key = h.rw_key();
    let body = json!({"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]});
    let r = h.send(&edge("yto-01"), post("/v1/chat/completions", &key, &body));
    assert_eq!(
        (r.status, body_json(&r)["code"].clone()),
        (404, json!("model_not_found"))
    );
}

#[test]
fn speech_answers_a_valid_silent_wav() {
    let mut h = harness();
    let key = h.rw_key();
    let body = json!({"model": "tts", "input": "hello", "voice": "a"});
    let r = h.send(&edge("yto-01"), post("/v1/audio/speech", &key, &body));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("audio/wav"));
    let wav = r.body_bytes();
    assert_eq!(&wav[..4], b"RIFF");
    assert_eq!(&wav[8..16], b"WAVEfmt ");
    let riff_len = u32::from_le_bytes([wav[4], wav[5], wav[6], wav[7]]) as usize;
    assert_eq!(riff_len + 8, wav.len());
    assert!(wav[44..].iter().all(|b| *b == 0));
    let missing = json!({"model": "tts"});
    assert_eq!(
        h.send(&edge("yto-01"), post("/v1/audio/speech", &key, &missing))
            .status,
        422
    );
}

#[test]
fn no_credits_key_exchanges_but_inference_is_402() {
    let mut h = harness();
    let key = h.m.keys().no_credits;
    let s = h.exchange(&key);
    for token in [&s.jwt, &key] {
        let r = h.chat("yto-01", token);
        assert_eq!(r.status, 402);
        assert_eq!(
            body_json(&r),
            json!({"message": "Insufficient credits", "code": "insufficient_credits"})
        );
        let models = Request::new("GET", "/v1/models").with_bearer(token);
        assert_eq!(h.send(&edge("yto-01"), models).status, 200);
    }
}

#[test]
fn tokens_need_admin_scope() {
    let mut h = harness();
    let keys = h.m.keys();
    let body = json!({"room": "r1", "identity": "alice", "ttl": 600});
    let rw_session = h.exchange(&keys.read_write);
    for token in [
        keys.read_write.as_str(),
        keys.read_only.as_str(),
        rw_session.jwt.as_str(),
    ] {
        let r = h.send(&edge("yto-01"), post("/v1/tokens", token, &body));
        assert_eq!(r.status, 403);
        assert_eq!(
            body_json(&r),
            json!({"message": "Insufficient permissions: admin required", "code": "insufficient_scope"})
        );
    }
    let admin_session = h.exchange(&keys.admin);
    for token in [keys.admin.as_str(), admin_session.jwt.as_str()] {
        let r = h.send(&edge("yto-01"), post("/v1/tokens", token, &body));
        assert_eq!(r.status, 200);
        let v = body_json(&r);
        assert_eq!(v["token"].as_str().unwrap().split('.').count(), 3);
        assert!(v["url"].as_str().unwrap().starts_with("wss://"));
    }
    let missing = json!({"room": "r1"});
    assert_eq!(
        h.send(&edge("yto-01"), post("/v1/tokens", &keys.admin, &missing))
            .status,
        422
    );
}

#[test]
fn unknown_edge_path_is_404_and_wrong_method_405() {
    let mut h = harness();
    let key = h.rw_key();
    let r = h.send(
        &edge("yto-01"),
        Request::new("GET", "/v1/nope").with_bearer(&key),
    );
    assert_eq!(
        (r.status, r.header("content-type")),
        (404, Some("application/json"))
    );
    let r = h.send(
        &edge("yto-01"),
        Request::new("GET", "/v1/chat/completions").with_bearer(&key),
    );
    assert_eq!(r.status, 405);
}

#[test]
fn every_edge_answer_has_date_region_cors_and_echoed_request_id() {
    let mut h = harness();
    let key = h.rw_key();
    let req = Request::new("GET", "/v1/models")
        .with_bearer(&key)
        .with_header("X-Request-ID", "req-123");
    let r = h.send(&edge("yul-01"), req);
    assert_eq!(r.header("date"), Some("Tue, 14 Nov 2023 22:13:20 GMT"));
    assert_eq!(r.header("x-polargrid-region"), Some("yul-01"));
    assert_eq!(r.header("x-request-id"), Some("req-123"));
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("authorization, content-type, x-request-id")
    );
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("GET, POST, OPTIONS")
    );
    assert_eq!(
        r.header("access-control-expose-headers"),
        Some("x-request-id, x-polargrid-region, retry-after, date")
    );
}

#[test]
fn request_id_with_control_characters_is_not_echoed() {
    let mut h = harness();
    let key = h.rw_key();
    let req = Request::new("GET", "/v1/models")
        .with_bearer(&key)
        .with_header("x-request-id", "a\r\nInjected: 1");
    let r = h.send(&edge("yto-01"), req);
    assert_eq!(r.header("x-request-id"), None);
}

#[test]
fn preflight_is_204_with_cors_and_consumes_no_fault() {
    let mut h = harness();
    let target = Target::Region("yto-01".to_string());
    h.m.inject(
        &target,
        Fault::Status {
            status: 503,
            count: Some(1),
        },
    )
    .unwrap();
    let r = h.send(
        &edge("yto-01"),
        Request::new("OPTIONS", "/v1/chat/completions"),
    );
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert!(r.header("content-type").is_some() && r.header("date").is_some());
    let key = h.rw_key();
    assert_eq!(h.chat("yto-01", &key).status, 503);
}
