//! Structure-aware: a configuration and a sequence of driver operations (start, cancel,
//! answer, transport error, clock steps backwards and forwards by any amount, wake-ups,
//! hand-over, restore, logout) fed to a `Client`. After every operation the driver
//! checks the core's invariants (see `polargrid_core_fuzz::Driver`): no panic, every
//! call ends at most once, at most one exchange/refresh outstanding, no credential to
//! the autorouter, no plain http off loopback, no secret in a URL or in any output.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use polargrid_core::{
    CallSpec, HttpResponse, Method, SessionSnapshot, Timestamp, TransportErrorKind,
};
use polargrid_core_fuzz::{http_date, json_bomb, Driver, Setup, DAY, HOUR, KEY};

const MAX_OPS: usize = 48;

#[derive(Arbitrary, Debug)]
enum PathChoice {
    Models,
    Chat,
    Tokens,
    Speech,
    WithQuery,
    Custom(String),
}

#[derive(Arbitrary, Debug)]
enum ModelChoice {
    Llama,
    Whisper,
    Custom(String),
}

#[derive(Arbitrary, Debug)]
enum StatusChoice {
    Ok,
    NoContent,
    Redirect,
    BadRequest,
    Unauthorized,
    Payment,
    Forbidden,
    NotFound,
    RequestTimeout,
    Unprocessable,
    TooMany,
    ServerError,
    NotImplemented,
    BadGateway,
    Unavailable,
    GatewayTimeout,
    Any(u16),
}

impl StatusChoice {
    fn code(&self) -> u16 {
        match self {
            StatusChoice::Ok => 200,
            StatusChoice::NoContent => 204,
            StatusChoice::Redirect => 302,
            StatusChoice::BadRequest => 400,
            StatusChoice::Unauthorized => 401,
            StatusChoice::Payment => 402,
            StatusChoice::Forbidden => 403,
            StatusChoice::NotFound => 404,
            StatusChoice::RequestTimeout => 408,
            StatusChoice::Unprocessable => 422,
            StatusChoice::TooMany => 429,
            StatusChoice::ServerError => 500,
            StatusChoice::NotImplemented => 501,
            StatusChoice::BadGateway => 502,
            StatusChoice::Unavailable => 503,
            StatusChoice::GatewayTimeout => 504,
            StatusChoice::Any(c) => *c,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum HeaderChoice {
    /// `Date` at driver time plus this many seconds (server clock skew).
    Date(i32),
    DateFarFuture,
    DateEpoch,
    DateJunk(String),
    RetryAfterSecs(u16),
    RetryAfterHuge,
    /// `Retry-After` as a date, driver time plus this many seconds.
    RetryAfterDate(i32),
    CloudFront,
    AmzCfId,
    ContentTypeJson,
    /// Many junk headers.
    Many(u8),
    ControlChars,
    Other(String, String),
}

/// When the JWT of a session answer expires, relative to the driver's clock.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Ttl {
    Seconds(u16),
    Hours(u8),
    Day,
    /// Already expired this many seconds ago.
    Expired(u16),
    Year9999,
    /// `exp` before `iat`.
    ExpBeforeIat,
    /// No `exp` claim (only `expires_in` can date it).
    NoExp,
    /// Not a JWT at all (opaque token; only `expires_in` can date it).
    Opaque,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum ExpiresIn {
    Absent,
    Matching,
    Zero,
    Negative,
    Huge,
    Float,
    Text,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum RefreshChoice {
    New,
    Absent,
    Empty,
    Null,
    /// A refresh token already handed out (a server that re-sends it).
    Previous,
}

#[derive(Arbitrary, Debug)]
enum EndpointChoice {
    Matching,
    OtherRegion,
    UnknownRegionEdge,
    PlainHttp,
    Evil,
    SuffixTrick,
    UserInfo,
    FragmentTrick,
    Autorouter,
    Loopback,
    Huge,
    NotAString,
    Custom(String),
}

#[derive(Arbitrary, Debug)]
enum RegionChoice {
    Yto,
    Nyc,
    Yul,
    Unknown,
    Alias,
    Malformed,
    Missing,
    Custom(String),
}

#[derive(Arbitrary, Debug)]
enum MessageChoice {
    Plain,
    EchoKey,
    EchoJwt,
    EchoRefresh,
    CdnNull,
    Html,
    Forbidden,
    Nested,
    Code,
}

#[derive(Arbitrary, Debug)]
enum BodyChoice {
    Session {
        ttl: Ttl,
        expires_in: ExpiresIn,
        refresh: RefreshChoice,
        refresh_expires_in: Option<i32>,
        legacy_field: bool,
        admin: Option<bool>,
        session_id_number: bool,
    },
    /// A valid session answer cut short.
    TruncatedSession(u8),
    Route {
        region: RegionChoice,
        endpoint: EndpointChoice,
        ttl: Option<i32>,
    },
    Error(MessageChoice),
    Empty,
    Bomb(u16),
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum ClockStep {
    Millis(u16),
    Seconds(u16),
    Hours(u8),
    Days(u8),
    BackSeconds(u16),
    BackDays(u8),
    /// Any amount forwards (saturating): a driver with a broken clock.
    Forward(u64),
    /// Any instant at all.
    Set(u64),
}

#[derive(Arbitrary, Debug)]
enum RestoreChoice {
    /// The last snapshot the client emitted.
    Last,
    Crafted {
        ttl: Ttl,
        refresh: bool,
        refresh_expired: bool,
    },
    Json(String),
}

#[derive(Arbitrary, Debug)]
enum TransportChoice {
    Dns,
    Connect,
    Tls,
    ConnectTimeout,
    Timeout,
    Aborted,
    Protocol,
    Opaque,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Start {
        method: u8,
        path: PathChoice,
        model: Option<ModelChoice>,
        idempotent: Option<bool>,
        timeout_secs: Option<u16>,
    },
    Cancel(u8),
    /// Answers the k-th outstanding request.
    Answer {
        k: u8,
        status: StatusChoice,
        headers: Vec<HeaderChoice>,
        body: BodyChoice,
    },
    /// Answers the k-th request ever sent (answered, aborted or not): late/duplicate answers.
    AnswerAgain {
        k: u8,
        status: u16,
    },
    /// Answers an id the core never emitted.
    AnswerUnknown(u64),
    Fail {
        k: u8,
        kind: TransportChoice,
    },
    Advance(ClockStep),
    HandleTimeout,
    /// Jumps to the core's next wake-up and handles it.
    WakeUp,
    HandOver(BodyChoice),
    Restore(RestoreChoice),
    Logout,
}

#[derive(Arbitrary, Debug)]
struct Input {
    setup: Setup,
    ops: Vec<Op>,
}

fn exp_of(d: &Driver, ttl: Ttl) -> (u64, Option<u64>) {
    let now = d.now / 1000;
    match ttl {
        Ttl::Seconds(s) => (now, Some(now.saturating_add(u64::from(s)))),
        Ttl::Hours(h) => (now, Some(now.saturating_add(u64::from(h) * 3600))),
        Ttl::Day => (now, Some(now.saturating_add(86_400))),
        Ttl::Expired(s) => (
            now.saturating_sub(3600),
            Some(now.saturating_sub(u64::from(s))),
        ),
        Ttl::Year9999 => (now, Some(253_402_300_799)),
        Ttl::ExpBeforeIat => (now, Some(now.saturating_sub(60))),
        Ttl::NoExp | Ttl::Opaque => (now, None),
    }
}

fn token(d: &mut Driver, ttl: Ttl, admin: Option<bool>) -> String {
    let (iat, exp) = exp_of(d, ttl);
    if let Ttl::Opaque = ttl {
        d.minted += 1;
        return format!("opaque_session_{:06}_abcdef", d.minted);
    }
    let mut claims = serde_json::json!({"sub": "key_1", "iat": iat});
    if let Some(e) = exp {
        claims["exp"] = e.into();
    }
    if let Some(a) = admin {
        claims["scope"] = if a { "admin" } else { "read-write" }.into();
    }
    d.mint_jwt(&claims)
}

fn body(d: &mut Driver, choice: &BodyChoice) -> Vec<u8> {
    match choice {
        BodyChoice::Session {
            ttl,
            expires_in,
            refresh,
            refresh_expires_in,
            legacy_field,
            admin,
            session_id_number,
        } => {
            let t = token(d, *ttl, *admin);
            let mut v = serde_json::Map::new();
            v.insert(
                (if *legacy_field {
                    "token"
                } else {
                    "session_token"
                })
                .into(),
                t.into(),
            );
            match refresh {
                RefreshChoice::New => {
                    let r = d.mint_refresh();
                    v.insert("refresh_token".into(), r.into());
                }
                RefreshChoice::Absent => {}
                RefreshChoice::Empty => {
                    v.insert("refresh_token".into(), "".into());
                }
                RefreshChoice::Null => {
                    v.insert("refresh_token".into(), serde_json::Value::Null);
                }
                RefreshChoice::Previous => {
                    if let Some(r) = d.secrets.iter().rev().find(|s| s.starts_with("rt_")) {
                        v.insert("refresh_token".into(), r.clone().into());
                    }
                }
            }
            let life = match exp_of(d, *ttl) {
                (i, Some(e)) => e.saturating_sub(i),
                _ => 3600,
            };
            let ei: Option<serde_json::Value> = match expires_in {
                ExpiresIn::Absent => None,
                ExpiresIn::Matching => Some(life.into()),
                ExpiresIn::Zero => Some(0.into()),
                ExpiresIn::Negative => Some((-3600).into()),
                ExpiresIn::Huge => Some(serde_json::json!(1.0e300)),
                ExpiresIn::Float => Some(serde_json::json!(3599.75)),
                ExpiresIn::Text => Some("3600".into()),
            };
            if let Some(ei) = ei {
                v.insert("expires_in".into(), ei);
            }
            if let Some(r) = refresh_expires_in {
                v.insert("refresh_expires_in".into(), (*r).into());
            }
            v.insert(
                "session_id".into(),
                if *session_id_number {
                    12345.into()
                } else {
                    "sess_fuzz".into()
                },
            );
            serde_json::Value::Object(v).to_string().into_bytes()
        }
        BodyChoice::TruncatedSession(cut) => {
            let t = token(d, Ttl::Day, None);
            let r = d.mint_refresh();
            let s =
                serde_json::json!({"session_token": t, "refresh_token": r, "expires_in": 86400})
                    .to_string();
            let n = usize::from(*cut).min(s.len());
            s.as_bytes()[..n].to_vec()
        }
        BodyChoice::Route {
            region,
            endpoint,
            ttl,
        } => {
            let region: Option<serde_json::Value> = match region {
                RegionChoice::Yto => Some("yto-01".into()),
                RegionChoice::Nyc => Some("nyc-01".into()),
                RegionChoice::Yul => Some("yul-01".into()),
                RegionChoice::Unknown => Some("zzz-99".into()),
                RegionChoice::Alias => Some("Toronto".into()),
                RegionChoice::Malformed => Some("-bad region-".into()),
                RegionChoice::Missing => None,
                RegionChoice::Custom(s) => Some(s.clone().into()),
            };
            let rid = region
                .as_ref()
                .and_then(|r| r.as_str())
                .unwrap_or("yto-01")
                .to_string();
            let endpoint: serde_json::Value = match endpoint {
                EndpointChoice::Matching => format!("https://api.{rid}.edge.polargrid.ai").into(),
                EndpointChoice::OtherRegion => "https://api.nyc-01.edge.polargrid.ai".into(),
                EndpointChoice::UnknownRegionEdge => "https://api.zzz-99.edge.polargrid.ai".into(),
                EndpointChoice::PlainHttp => "http://api.yto-01.edge.polargrid.ai".into(),
                EndpointChoice::Evil => "https://evil.example".into(),
                EndpointChoice::SuffixTrick => {
                    "https://api.yto-01.edge.polargrid.ai.evil.example".into()
                }
                EndpointChoice::UserInfo => "https://u:p@api.yto-01.edge.polargrid.ai".into(),
                EndpointChoice::FragmentTrick => "https://evil.example#.edge.polargrid.ai".into(),
                EndpointChoice::Autorouter => "https://autorouter.polargrid.ai".into(),
                EndpointChoice::Loopback => "http://127.0.0.1:9102".into(),
                EndpointChoice::Huge => {
                    format!("https://{}.edge.polargrid.ai", "a".repeat(10_000)).into()
                }
                EndpointChoice::NotAString => {
                    serde_json::json!(["https://api.yto-01.edge.polargrid.ai"])
                }
                EndpointChoice::Custom(s) => s.clone().into(),
            };
            let mut v = serde_json::json!({"endpoint": endpoint, "name": "Somewhere"});
            if let Some(r) = region {
                v["region"] = r;
            }
            if let Some(t) = ttl {
                v["ttl"] = (*t).into();
            }
            v.to_string().into_bytes()
        }
        BodyChoice::Error(m) => {
            let jwt = d
                .secrets
                .iter()
                .rev()
                .find(|s| s.starts_with("eyJ"))
                .cloned()
                .unwrap_or_default();
            let rt = d
                .secrets
                .iter()
                .rev()
                .find(|s| s.starts_with("rt_"))
                .cloned()
                .unwrap_or_default();
            match m {
                MessageChoice::Plain => br#"{"message":"Invalid API key"}"#.to_vec(),
                MessageChoice::EchoKey => serde_json::json!({"message": format!("bad key {KEY}")})
                    .to_string()
                    .into_bytes(),
                MessageChoice::EchoJwt => {
                    serde_json::json!({"detail": format!("token {jwt} expired")})
                        .to_string()
                        .into_bytes()
                }
                MessageChoice::EchoRefresh => {
                    format!("refresh token {rt} already used").into_bytes()
                }
                MessageChoice::CdnNull => br#"{"Message": null}"#.to_vec(),
                MessageChoice::Html => b"<html><body><h1>403 Forbidden</h1></body></html>".to_vec(),
                MessageChoice::Forbidden => b"Forbidden".to_vec(),
                MessageChoice::Nested => {
                    serde_json::json!({"error": {"message": format!("{KEY} / {rt}")}})
                        .to_string()
                        .into_bytes()
                }
                MessageChoice::Code => br#"{"code":"insufficient_scope","details":{}}"#.to_vec(),
            }
        }
        BodyChoice::Empty => Vec::new(),
        BodyChoice::Bomb(depth) => json_bomb(usize::from(*depth % 4096)),
        BodyChoice::Raw(b) => b.clone(),
    }
}

fn headers(d: &Driver, choices: &[HeaderChoice]) -> Vec<(String, String)> {
    let mut h = Vec::new();
    let shifted = |s: i32| d.now.saturating_add_signed(i64::from(s) * 1000);
    for c in choices.iter().take(8) {
        match c {
            HeaderChoice::Date(s) => h.push(("Date".into(), http_date(shifted(*s)))),
            HeaderChoice::DateFarFuture => {
                h.push(("Date".into(), "Fri, 31 Dec 9999 23:59:59 GMT".into()))
            }
            HeaderChoice::DateEpoch => {
                h.push(("Date".into(), "Thu, 01 Jan 1970 00:00:00 GMT".into()))
            }
            HeaderChoice::DateJunk(s) => h.push(("Date".into(), s.clone())),
            HeaderChoice::RetryAfterSecs(s) => h.push(("Retry-After".into(), s.to_string())),
            HeaderChoice::RetryAfterHuge => {
                h.push(("Retry-After".into(), "99999999999999999999999".into()))
            }
            HeaderChoice::RetryAfterDate(s) => {
                h.push(("Retry-After".into(), http_date(shifted(*s))))
            }
            HeaderChoice::CloudFront => {
                h.push(("Via".into(), "1.1 abc.cloudfront.net (CloudFront)".into()))
            }
            HeaderChoice::AmzCfId => h.push(("X-Amz-Cf-Id".into(), "abc==".into())),
            HeaderChoice::ContentTypeJson => {
                h.push(("Content-Type".into(), "application/json".into()))
            }
            HeaderChoice::Many(n) => {
                for i in 0..usize::from(*n) * 8 {
                    h.push((format!("x-junk-{i}"), "v".repeat(i % 64)));
                }
            }
            HeaderChoice::ControlChars => {
                h.push(("Date".into(), "\u{0}\u{7}\r\n\t\u{1b}[31m".into()))
            }
            HeaderChoice::Other(k, v) => h.push((k.clone(), v.clone())),
        }
    }
    h
}

fn run(input: Input) {
    let Some(mut d) = Driver::new(input.setup) else {
        return;
    };
    for op in input.ops.into_iter().take(MAX_OPS) {
        match op {
            Op::Start {
                method,
                path,
                model,
                idempotent,
                timeout_secs,
            } => {
                let method = [
                    Method::Get,
                    Method::Post,
                    Method::Put,
                    Method::Delete,
                    Method::Patch,
                    Method::Head,
                ][usize::from(method % 6)];
                let path = match path {
                    PathChoice::Models => "/v1/models".to_string(),
                    PathChoice::Chat => "/v1/chat/completions".to_string(),
                    PathChoice::Tokens => "/v1/tokens".to_string(),
                    PathChoice::Speech => "/v1/audio/speech".to_string(),
                    PathChoice::WithQuery => "/v1/models?limit=5".to_string(),
                    PathChoice::Custom(s) => s,
                };
                let mut spec = CallSpec::new(method, &path);
                spec.model = model.map(|m| match m {
                    ModelChoice::Llama => "llama-3.1-8b".to_string(),
                    ModelChoice::Whisper => "whisper-large-v3".to_string(),
                    ModelChoice::Custom(s) => s,
                });
                spec.idempotent = idempotent;
                spec.timeout = timeout_secs.map(|s| std::time::Duration::from_secs(u64::from(s)));
                d.start(spec);
            }
            Op::Cancel(k) => {
                let ids: Vec<_> = d.started.iter().copied().collect();
                if let Some(id) = ids.get(usize::from(k) % ids.len().max(1)) {
                    let ended_before = d.ended.contains(id);
                    let cancelled = d.client.cancel_call(d.t(), *id);
                    assert!(
                        !(cancelled && ended_before),
                        "cancel_call succeeded on an ended call"
                    );
                    d.pump();
                }
            }
            Op::Answer {
                k,
                status,
                headers: hs,
                body: b,
            } => {
                let Some(id) = d.outstanding_nth(usize::from(k)) else {
                    continue;
                };
                let resp = HttpResponse {
                    status: status.code(),
                    headers: headers(&d, &hs),
                    body: body(&mut d, &b),
                };
                d.respond(id, resp);
            }
            Op::AnswerAgain { k, status } => {
                let ids: Vec<_> = d.sent.keys().copied().collect();
                if let Some(id) = ids.get(usize::from(k) % ids.len().max(1)) {
                    d.respond(*id, HttpResponse::new(status));
                }
            }
            Op::AnswerUnknown(id) => {
                let id = polargrid_core::RequestId(id.saturating_add(1_000_000));
                if !d.sent.contains_key(&id) {
                    let before = d.client.session_snapshot();
                    let r = d.client.handle_response(d.t(), id, HttpResponse::new(200));
                    assert!(r.is_err(), "an id never emitted was accepted");
                    assert_eq!(d.client.session_snapshot(), before);
                    d.pump();
                }
            }
            Op::Fail { k, kind } => {
                let Some(id) = d.outstanding_nth(usize::from(k)) else {
                    continue;
                };
                let kind = match kind {
                    TransportChoice::Dns => TransportErrorKind::Dns,
                    TransportChoice::Connect => TransportErrorKind::Connect,
                    TransportChoice::Tls => TransportErrorKind::Tls,
                    TransportChoice::Timeout => TransportErrorKind::Timeout,
                    TransportChoice::Aborted => TransportErrorKind::Aborted,
                    TransportChoice::ConnectTimeout => TransportErrorKind::ConnectTimeout,
                    TransportChoice::Protocol => TransportErrorKind::Protocol,
                    TransportChoice::Opaque => TransportErrorKind::Opaque,
                };
                d.fail(id, kind);
            }
            Op::Advance(step) => {
                d.now = match step {
                    ClockStep::Millis(ms) => d.now.saturating_add(u64::from(ms)),
                    ClockStep::Seconds(s) => d.now.saturating_add(u64::from(s) * 1000),
                    ClockStep::Hours(h) => d.now.saturating_add(u64::from(h) * HOUR),
                    ClockStep::Days(n) => d.now.saturating_add(u64::from(n) * DAY),
                    ClockStep::BackSeconds(s) => d.now.saturating_sub(u64::from(s) * 1000),
                    ClockStep::BackDays(n) => d.now.saturating_sub(u64::from(n) * DAY),
                    ClockStep::Forward(ms) => d.now.saturating_add(ms),
                    ClockStep::Set(ms) => ms,
                };
            }
            Op::HandleTimeout => d.timeout(),
            Op::WakeUp => {
                if let Some(at) = d.client.poll_timeout() {
                    d.now = d.now.max(at.as_millis());
                    d.timeout();
                }
            }
            Op::HandOver(b) => {
                let json = body(&mut d, &b);
                let r = d.client.hand_over(d.t(), &String::from_utf8_lossy(&json));
                if let Err(e) = r {
                    d.assert_no_secret("MisuseError", &format!("{e} {e:?}"));
                }
                d.pump();
            }
            Op::Restore(choice) => {
                let snap = match choice {
                    RestoreChoice::Last => d.last_snapshot.clone(),
                    RestoreChoice::Crafted {
                        ttl,
                        refresh,
                        refresh_expired,
                    } => {
                        let jwt = token(&mut d, ttl, None);
                        let (_, exp) = exp_of(&d, ttl);
                        let refresh_token =
                            refresh.then(|| polargrid_core::Secret::new(d.mint_refresh()));
                        let refresh_expires_at = refresh.then(|| {
                            if refresh_expired {
                                Timestamp(d.now.saturating_sub(DAY))
                            } else {
                                Timestamp(d.now.saturating_add(30 * DAY))
                            }
                        });
                        Some(SessionSnapshot {
                            session_token: polargrid_core::Secret::new(jwt),
                            refresh_token,
                            session_id: Some("sess_restored".to_string()),
                            expires_at: Timestamp(exp.unwrap_or(d.now / 1000).saturating_mul(1000)),
                            refresh_expires_at,
                            clock_skew_ms: None,
                        })
                    }
                    RestoreChoice::Json(s) => SessionSnapshot::from_json(&s).ok(),
                };
                if let Some(s) = snap {
                    let shown = format!("{s:?}");
                    d.assert_no_secret("SessionSnapshot Debug", &shown);
                    let _ = d.client.restore(d.t(), &s);
                    d.pump();
                }
            }
            Op::Logout => {
                // Logout forgets the session's tokens (they are zeroed): from now on the
                // client cannot recognise them in server text, and they are no longer its
                // secrets to keep.
                d.secrets.retain(|s| s == KEY);
                d.client.logout(d.t());
                d.pump();
                assert_eq!(
                    d.client.session_snapshot(),
                    None,
                    "a session survived logout"
                );
            }
        }
    }
    // Every call still open ends once the clock runs on long enough and nothing answers.
    for _ in 0..64 {
        if d.client.open_calls() == 0 {
            break;
        }
        let Some(at) = d.client.poll_timeout() else {
            break;
        };
        d.now = d.now.max(at.as_millis());
        d.timeout();
    }
}

fuzz_target!(|input: Input| run(input));
