//! `classify_response` over arbitrary status, headers and body, for every stage and
//! credential: never a panic, always a classified error, and neither its `Display` nor
//! its `Debug` shows the secrets passed in, however the body echoes them.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use polargrid_core::{classify_response, Credential, HttpResponse, Secret, Stage, Timestamp};
use polargrid_core_fuzz::jwt;

#[derive(Arbitrary, Debug)]
enum StageChoice {
    Exchange,
    Refresh,
    Discover,
    Call,
}

#[derive(Arbitrary, Debug)]
enum CredentialChoice {
    None,
    Key,
    Jwt,
    RefreshToken,
}

/// A piece of the body: server text that may echo the secrets, raw or JSON-escaped.
#[derive(Arbitrary, Debug)]
enum Piece {
    Bytes(Vec<u8>),
    Text(String),
    Key,
    Jwt,
    Refresh,
    /// A secret written with JSON `\u` escapes (decoded by the JSON reader).
    EscapedKey,
    /// A secret with a control character in the middle (dropped before scrubbing).
    KeyWithControl(u8),
    JsonMessageOpen,
    JsonDetailOpen,
    JsonCodeOpen,
    JsonNestedMessageOpen,
    Quote,
    Close,
    CdnNull,
    Html,
    Newline,
    Filler(u8),
}

#[derive(Arbitrary, Debug)]
enum HeaderChoice {
    RetryAfterSecs(u32),
    RetryAfterText(String),
    Date(u64),
    Via(String),
    AmzCfId,
    XCache(String),
    Other(String, String),
}

#[derive(Arbitrary, Debug)]
struct Input {
    stage: StageChoice,
    credential: CredentialChoice,
    status: u16,
    headers: Vec<HeaderChoice>,
    body: Vec<Piece>,
    server_now: u64,
    /// Secret material (kept realistic: known prefixes, token characters).
    key_tail: String,
    refresh_tail: String,
    jwt_exp: u32,
}

fn token_chars(s: &str, min: usize) -> String {
    let mut t: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .take(64)
        .collect();
    while t.len() < min {
        t.push('x');
    }
    t
}

fuzz_target!(|input: Input| {
    let key = format!("pg_{}", token_chars(&input.key_tail, 8));
    let refresh = format!("rt_{}", token_chars(&input.refresh_tail, 13));
    let token = jwt(
        &serde_json::json!({"exp": input.jwt_exp, "sub": key}),
        u64::from(input.jwt_exp),
    );
    let mut body = Vec::new();
    for p in &input.body {
        match p {
            Piece::Bytes(b) => body.extend_from_slice(b),
            Piece::Text(s) => body.extend_from_slice(s.as_bytes()),
            Piece::Key => body.extend_from_slice(key.as_bytes()),
            Piece::Jwt => body.extend_from_slice(token.as_bytes()),
            Piece::Refresh => body.extend_from_slice(refresh.as_bytes()),
            Piece::EscapedKey => {
                for c in key.chars() {
                    body.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
                }
            }
            Piece::KeyWithControl(c) => {
                let (a, b) = key.split_at(key.len() / 2);
                body.extend_from_slice(a.as_bytes());
                body.extend_from_slice(format!("\\u{:04x}", c % 32).as_bytes());
                body.extend_from_slice(b.as_bytes());
            }
            Piece::JsonMessageOpen => body.extend_from_slice(br#"{"message":""#),
            Piece::JsonDetailOpen => body.extend_from_slice(br#"{"detail":""#),
            Piece::JsonCodeOpen => body.extend_from_slice(br#"{"code":""#),
            Piece::JsonNestedMessageOpen => body.extend_from_slice(br#"{"error":{"message":""#),
            Piece::Quote => body.push(b'"'),
            Piece::Close => body.push(b'}'),
            Piece::CdnNull => body.extend_from_slice(br#"{"Message": null}"#),
            Piece::Html => body.extend_from_slice(b"<html><body>403 Forbidden</body></html>"),
            Piece::Newline => body.push(b'\n'),
            Piece::Filler(n) => body.extend(std::iter::repeat_n(b'a', usize::from(*n))),
        }
    }
    let mut resp = HttpResponse::new(input.status).with_body(body);
    for h in &input.headers {
        resp = match h {
            HeaderChoice::RetryAfterSecs(s) => resp.with_header("Retry-After", &s.to_string()),
            HeaderChoice::RetryAfterText(s) => resp.with_header("Retry-After", s),
            HeaderChoice::Date(ms) => {
                resp.with_header("Date", &polargrid_core_fuzz::http_date(*ms))
            }
            HeaderChoice::Via(s) => resp.with_header("Via", s),
            HeaderChoice::AmzCfId => resp.with_header("x-amz-cf-id", "abc=="),
            HeaderChoice::XCache(s) => resp.with_header("X-Cache", s),
            HeaderChoice::Other(k, v) => resp.with_header(k, v),
        };
    }
    let stage = match input.stage {
        StageChoice::Exchange => Stage::Exchange,
        StageChoice::Refresh => Stage::Refresh,
        StageChoice::Discover => Stage::Discover,
        StageChoice::Call => Stage::Call,
    };
    let credential = match input.credential {
        CredentialChoice::None => Credential::None,
        CredentialChoice::Key => Credential::Key,
        CredentialChoice::Jwt => Credential::Jwt,
        CredentialChoice::RefreshToken => Credential::RefreshToken,
    };
    let secrets = [
        Secret::new(key.clone()),
        Secret::new(token.clone()),
        Secret::new(refresh.clone()),
    ];
    let refs: Vec<&Secret> = secrets.iter().collect();
    let err = classify_response(stage, credential, &resp, Timestamp(input.server_now), &refs);
    assert_eq!(err.status, Some(input.status));
    let shown = format!("{err}\n{err:?}\n{}\n{:?}", err.kind, err.kind.as_str());
    for s in [&key, &token, &refresh] {
        assert!(
            !shown.contains(s.as_str()),
            "secret shown in a classified error: {shown}"
        );
    }
    if let Some(m) = &err.server_message {
        assert!(
            m.chars().count() <= 201,
            "server message not bounded: {} chars",
            m.chars().count()
        );
        assert!(
            !m.chars().any(char::is_control),
            "control character in server message: {m:?}"
        );
    }
});
