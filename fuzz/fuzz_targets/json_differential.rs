//! The core's own JSON reader (core/src/json.rs) against serde_json on the same bytes,
//! through every public parser of JSON: the model hint, JWT claims, the session
//! snapshot, the endpoints option, the hand-over grant, and the error body's message;
//! and the JWT's base64url decoder (core/src/jwt.rs) against the base64 crate.
//! Each reference below is what the core did with serde_json before it had its own
//! reader; the two must agree, except where core/src/json.rs documents a difference:
//! a top-level array is never read as a struct, and an `f64` may differ in its last bits
//! (times are compared within a few milliseconds).
#![no_main]

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use polargrid_core::{
    classify_response, model_hint, read_claims, Client, Config, Credential, Endpoints,
    HttpResponse, JwtError, SessionSnapshot, Stage, Timestamp,
};
use serde::Deserialize;
use serde_json::Value;

fn close(a: u64, b: u64) -> bool {
    a.abs_diff(b) <= 2 + a.max(b) / (1 << 48)
}

fn ref_hint(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Shape {
        #[serde(default)]
        model: Option<Value>,
    }
    if body.len() > polargrid_core::MAX_CORE_BODY {
        return None;
    }
    if *body.iter().find(|b| !b.is_ascii_whitespace())? != b'{' {
        return None;
    }
    match serde_json::from_slice::<Shape>(body).ok()?.model? {
        Value::String(m) if !m.is_empty() && m.len() <= 256 => Some(m),
        _ => None,
    }
}

/// Claims as the core read them with serde: (exp ms, iat ms, scope words).
type RefClaims = (u64, Option<u64>, Option<Vec<String>>);

fn ref_claims(payload: &[u8]) -> Option<RefClaims> {
    #[derive(Deserialize)]
    struct Raw {
        exp: Option<Value>,
        iat: Option<Value>,
        scope: Option<Value>,
        permissions: Option<Value>,
        scp: Option<Value>,
    }
    let raw: Raw = serde_json::from_slice(payload).ok()?;
    let secs = |v: &Value| {
        let f = v.as_f64()?;
        (0.0..=1.0e13).contains(&f).then(|| (f * 1000.0) as u64)
    };
    let exp = raw.exp.as_ref().and_then(secs)?;
    let iat = raw.iat.as_ref().and_then(secs);
    let scope = [raw.scope, raw.permissions, raw.scp]
        .into_iter()
        .flatten()
        .find_map(|v| match v {
            Value::String(s) => Some(
                s.split(|c: char| c.is_whitespace() || c == ',')
                    .filter(|w| !w.is_empty())
                    .map(str::to_ascii_lowercase)
                    .collect(),
            ),
            Value::Array(a) => Some(
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_ascii_lowercase)
                    .collect(),
            ),
            _ => None,
        });
    Some((exp, iat, scope))
}

/// The snapshot as the core read it with serde, `None` for an error.
fn ref_snapshot(
    json: &str,
) -> Option<(
    String,
    Option<String>,
    Option<String>,
    u64,
    Option<u64>,
    Option<i64>,
)> {
    #[derive(Deserialize)]
    struct Version {
        schema_version: Option<Value>,
    }
    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct V1 {
        schema_version: u32,
        session_token: String,
        refresh_token: Option<String>,
        session_id: Option<String>,
        expires_at_ms: u64,
        refresh_expires_at_ms: Option<u64>,
        #[serde(default)]
        clock_skew_ms: Option<i64>,
    }
    if json.len() > 64 * 1024 {
        return None;
    }
    let v: Version = serde_json::from_str(json).ok()?;
    if v.schema_version.as_ref().and_then(Value::as_u64) != Some(1) {
        return None;
    }
    let s: V1 = serde_json::from_str(json).ok()?;
    let ok = !s.session_token.is_empty()
        && s.session_token.len() <= 16 * 1024
        && s.session_token.bytes().all(|b| (0x21..0x7f).contains(&b));
    ok.then(|| {
        (
            s.session_token,
            s.refresh_token.filter(|r| !r.is_empty()),
            s.session_id,
            s.expires_at_ms,
            s.refresh_expires_at_ms,
            s.clock_skew_ms,
        )
    })
}

type RefRegion = (String, String, String, Option<String>);

fn ref_endpoints(
    json: &str,
) -> Option<(
    Option<String>,
    Option<String>,
    Option<String>,
    Option<Vec<RefRegion>>,
)> {
    #[derive(Deserialize)]
    struct Region {
        id: String,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        country: Option<String>,
        #[serde(default)]
        url: Option<String>,
    }
    #[derive(Deserialize)]
    struct Shape {
        #[serde(default)]
        autorouter: Option<String>,
        #[serde(default)]
        auth: Option<String>,
        #[serde(default)]
        edge_template: Option<String>,
        #[serde(default)]
        regions: Option<Vec<Region>>,
    }
    if json.len() > 64 * 1024 || !json.trim_start().starts_with('{') {
        return None;
    }
    let s: Shape = serde_json::from_str(json).ok()?;
    let regions = s.regions.map(|rs| {
        rs.into_iter()
            .map(|r| {
                let name = r.name.unwrap_or_else(|| r.id.clone());
                (r.id, name, r.country.unwrap_or_default(), r.url)
            })
            .collect::<Vec<_>>()
    });
    if regions.as_ref().is_some_and(Vec::is_empty) {
        return None;
    }
    Some((s.autorouter, s.auth, s.edge_template, regions))
}

/// An error body's message as the core built it with serde (before bounding and
/// cleaning), and whether the body was a JSON object at all; `None` for the message
/// when it came from a number, array or boolean (serde prints those its own way).
fn ref_error_body(body: &[u8]) -> (bool, Option<Option<String>>) {
    fn text(v: &Value) -> Option<Option<String>> {
        match v {
            Value::String(s) => Some(Some(s.clone())),
            Value::Null => Some(None),
            Value::Object(o) => match o.get("message") {
                Some(m) => text(m),
                None => Some(None),
            },
            _ => None,
        }
    }
    let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body) else {
        return (false, None);
    };
    let mut msg = None;
    for k in ["message", "detail", "error", "Message"] {
        if let Some(v) = obj.get(k) {
            match text(v) {
                Some(Some(t)) => {
                    msg = Some(t);
                    break;
                }
                Some(None) => {}
                None => return (true, None),
            }
        }
    }
    let code = obj.get("code").and_then(Value::as_str);
    let m = match (msg, code) {
        (Some(m), Some(c)) => Some(format!("{m} ({c})")),
        (Some(m), None) => Some(m),
        (None, Some(c)) => Some(c.to_string()),
        (None, None) => None,
    };
    (true, Some(m))
}

/// The core's cleaning of server text (control and bidi characters out, 200 bytes).
fn shown(text: &str) -> Option<String> {
    let mut t: String = text
        .chars()
        .filter(|c| {
            !c.is_control()
                && !matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect();
    if t.len() > 200 {
        let mut cut = 200;
        while !t.is_char_boundary(cut) {
            cut -= 1;
        }
        t.truncate(cut);
        t.push('…');
    }
    (!t.is_empty()).then_some(t)
}

fuzz_target!(|data: &[u8]| {
    // A top-level array fills a serde struct's fields in order; the core refuses it.
    let array = data.iter().find(|b| !b" \t\n\r".contains(b)) == Some(&b'[');

    assert_eq!(model_hint(data), ref_hint(data), "model hint");

    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let jwt = format!("e30.{}.c2ln", e.encode(data));
    if !array && jwt.len() <= 16 * 1024 {
        let ours = read_claims(&jwt).ok();
        let theirs = ref_claims(data);
        match (&ours, &theirs) {
            (Some(o), Some((exp, iat, scope))) => {
                assert!(close(o.exp.as_millis(), *exp), "exp {o:?} vs {theirs:?}");
                assert_eq!(o.iat.is_some(), iat.is_some(), "iat {o:?} vs {theirs:?}");
                if let (Some(a), Some(b)) = (o.iat, iat) {
                    assert!(close(a.as_millis(), *b), "iat {o:?} vs {theirs:?}");
                }
                assert_eq!(o.scope.as_ref().map(|s| &s.words), scope.as_ref(), "scope");
            }
            (None, None) => {}
            _ => panic!("claims: ours {ours:?}, serde {theirs:?}"),
        }
    }

    // A 403 is the CDN's when the body is not the service's JSON: that, and the message.
    let resp = HttpResponse::new(403).with_body(data.to_vec());
    let err = classify_response(Stage::Call, Credential::Jwt, &resp, Timestamp(0), &[]);
    if data.len() <= polargrid_core::MAX_ERROR_BODY {
        let (object, message) = ref_error_body(data);
        if object {
            if let Some(m) = message {
                assert_eq!(
                    err.server_message,
                    m.as_deref().and_then(shown),
                    "error message"
                );
            }
        }
    }

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    // The JWT payload's base64url: the core's own decoder refuses what the base64 crate
    // (its reader before) refuses.
    if !text.contains('.') && text.len() <= 8 * 1024 {
        let refused = matches!(
            read_claims(&format!("e30.{text}.c2ln")),
            Err(JwtError::Base64)
        );
        assert_eq!(
            refused,
            e.decode(text.trim_end_matches('=')).is_err(),
            "base64url"
        );
    }

    if array {
        return;
    }

    let ours = SessionSnapshot::from_json(text).ok().map(|s| {
        (
            s.session_token.expose().to_string(),
            s.refresh_token.map(|r| r.expose().to_string()),
            s.session_id,
            s.expires_at.as_millis(),
            s.refresh_expires_at.map(Timestamp::as_millis),
            s.clock_skew_ms,
        )
    });
    assert_eq!(ours, ref_snapshot(text), "snapshot");

    let ours = Endpoints::from_json(text).ok().map(|e| {
        let regions: Vec<RefRegion> = e
            .regions
            .into_iter()
            .map(|r| (r.id, r.name, r.country, r.url))
            .collect();
        (e.autorouter, e.auth, e.edge_template, regions)
    });
    let theirs = ref_endpoints(text).map(|(a, b, t, r)| {
        let d = Endpoints::default();
        let regions: Vec<RefRegion> = r.unwrap_or_else(|| {
            d.regions
                .iter()
                .map(|r| {
                    (
                        r.id.clone(),
                        r.name.clone(),
                        r.country.clone(),
                        r.url.clone(),
                    )
                })
                .collect()
        });
        (
            a.unwrap_or(d.autorouter.clone()),
            b.unwrap_or(d.auth.clone()),
            t.unwrap_or(d.edge_template.clone()),
            regions,
        )
    });
    assert_eq!(ours, theirs, "endpoints");

    // The grant: accepted or refused alike (its fields are checked by session_answer).
    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Answer {
        session_token: Option<String>,
        token: Option<String>,
        refresh_token: Option<String>,
        session_id: Option<Value>,
        expires_in: Option<Value>,
        refresh_expires_in: Option<Value>,
    }
    let theirs = serde_json::from_str::<Answer>(text).ok();
    if let Ok(mut c) = Client::new(Config::handoff(), 1) {
        let ours = c.hand_over(Timestamp(1_800_000_000_000), text).is_ok();
        if ours {
            assert!(theirs.is_some(), "grant accepted that serde refuses");
        }
        if let Some(a) = theirs {
            let token = a.session_token.or(a.token);
            let plain = token.is_some_and(|t| {
                !t.starts_with("pg_")
                    && !t.is_empty()
                    && t.len() <= 16 * 1024
                    && t.bytes().all(|b| (0x21..0x7f).contains(&b))
            });
            let expires = a
                .expires_in
                .as_ref()
                .and_then(Value::as_f64)
                .is_some_and(|s| s > 0.0 && s < 1.0e10);
            let clean_refresh = a
                .refresh_token
                .is_none_or(|r| !r.chars().any(char::is_control));
            if plain && expires && clean_refresh {
                assert!(ours, "grant serde reads refused");
            }
        }
    }
});
