//! Reading a session grant (an exchange/refresh answer, a hand-over, a snapshot) into
//! [`Tokens`]: what is malformed, what is cleaned before anyone sees it.

#[allow(unused_imports)]
use crate::prelude::*;
use core::time::Duration;

use crate::classify::printable;
use crate::http::{HttpResponse, MAX_CORE_BODY};
use crate::json::{Any, Reader};
use crate::jwt::{read_claims, Scope};
use crate::secret::Secret;
use crate::skew::GrantTimes;
use crate::snapshot::SessionSnapshot;
use crate::time::Timestamp;

/// Refresh-token lifetime when the answer does not say (`PROTOCOL.md`: 30 days).
const DEFAULT_REFRESH_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// Longest token the core accepts.
const MAX_TOKEN: usize = 16 * 1024;
/// Longest `session_id` kept.
const MAX_SESSION_ID: usize = 256;

/// A live session's credentials and timing.
#[derive(Clone, Debug)]
pub(crate) struct Tokens {
    pub(crate) jwt: Secret,
    pub(crate) refresh: Option<Secret>,
    /// Shown to humans (events, `SessionInfo`, logs): never holds control characters.
    pub(crate) session_id: Option<String>,
    /// JWT expiry, server clock.
    pub(crate) exp: Timestamp,
    /// JWT issue time, server clock, when the JWT says.
    pub(crate) iat: Option<Timestamp>,
    /// Refresh-token expiry, server clock.
    pub(crate) refresh_exp: Option<Timestamp>,
    /// JWT lifetime, for margins.
    pub(crate) lifetime: Duration,
    pub(crate) scope: Option<Scope>,
    /// Bumped for every new JWT, so an edge's 401 can be matched to the JWT it judged.
    pub(crate) generation: u64,
    /// What the grant says about the issuer's clock (see [`crate::skew`]).
    pub(crate) times: GrantTimes,
}

impl Tokens {
    /// Refresh this long before expiry (before jitter): a tenth of the lifetime, 1 s–5 min.
    pub(crate) fn margin(&self) -> Duration {
        (self.lifetime / 10).clamp(Duration::from_secs(1), Duration::from_secs(300))
    }

    /// A call does not take a JWT with less validity left than this.
    pub(crate) fn min_validity(&self) -> Duration {
        (self.lifetime / 20).clamp(Duration::from_millis(250), Duration::from_secs(30))
    }
}

/// Whether a session token can go into an `Authorization: Bearer` header as is: visible
/// ASCII only (RFC 6750 `b64token` is narrower still). A token with CR/LF, spaces or
/// other control characters cannot be sent, so a grant carrying one is malformed.
pub(crate) fn header_safe_token(t: &str) -> bool {
    !t.is_empty() && t.len() <= MAX_TOKEN && t.bytes().all(|b| (0x21..0x7f).contains(&b))
}

#[derive(Default)]
struct Answer {
    session_token: Option<String>,
    token: Option<String>,
    refresh_token: Option<String>,
    session_id: Option<Any>,
    expires_in: Option<Any>,
    refresh_expires_in: Option<Any>,
}

impl Answer {
    /// The answer's fields, typed as serde's derive would read them (a string field
    /// holding anything but a string or `null` makes the answer malformed).
    fn read(body: &[u8]) -> Option<Answer> {
        const NAMES: [&str; 6] = [
            "session_token",
            "token",
            "refresh_token",
            "session_id",
            "expires_in",
            "refresh_expires_in",
        ];
        let mut a = Answer::default();
        Reader::document(body, false, |r| {
            r.fields(&NAMES, &mut |i, r| {
                match i {
                    0 => a.session_token = r.opt(Reader::string)?,
                    1 => a.token = r.opt(Reader::string)?,
                    2 => a.refresh_token = r.opt(Reader::string)?,
                    3 => {
                        r.peek();
                        let from = r.pos();
                        a.session_id = r.any()?.map(|v| match v {
                            // A number stays as the server wrote it.
                            Any::Num(_) => Any::Str(
                                String::from_utf8_lossy(r.source(from, r.pos())).into_owned(),
                            ),
                            v => v,
                        });
                    }
                    4 => a.expires_in = r.any()?,
                    _ => a.refresh_expires_in = r.any()?,
                }
                Some(())
            })
        })?;
        Some(a)
    }
}

/// Reads an exchange/refresh answer (or a hand-over of one). `server_now` anchors the
/// relative lifetimes. Accepts `session_token` or the older `token`.
pub(crate) fn parse_answer(resp: &HttpResponse, server_now: Timestamp) -> Result<Tokens, ()> {
    if resp.body.len() > MAX_CORE_BODY {
        return Err(());
    }
    let mut t = parse_grant(&resp.body, server_now)?;
    t.times.date = resp
        .header("date")
        .and_then(crate::httpdate::parse_http_date);
    Ok(t)
}

/// Reads the JSON of an exchange answer.
pub(crate) fn parse_grant(body: &[u8], server_now: Timestamp) -> Result<Tokens, ()> {
    let mut a = Answer::read(body).ok_or(())?;
    let jwt = a
        .session_token
        .take()
        .or(a.token.take())
        .filter(|t| header_safe_token(t))
        // An API key is not a session: a backend that hands its key over as one would put
        // the key on a device that must not hold it (handoff mode, browsers).
        .filter(|t| !t.starts_with("pg_"))
        .ok_or(())?;
    let expires_in = secs(&a.expires_in);
    let claims = read_claims(&jwt).ok();
    let exp = match (&claims, expires_in) {
        (Some(c), _) => c.exp,
        (None, Some(d)) => server_now.plus(d),
        (None, None) => return Err(()),
    };
    let iat = claims.as_ref().and_then(|c| c.iat);
    let lifetime = match (iat, expires_in) {
        (Some(i), _) if exp > i => exp.since(i),
        (_, Some(d)) => d,
        _ => exp.since(server_now),
    };
    let (refresh, refresh_exp) = read_refresh(&a, server_now)?;
    let session_id = match a.session_id {
        Some(Any::Str(s)) if s.len() <= MAX_SESSION_ID => Some(s),
        _ => None,
    };
    let claims_exp = claims.as_ref().map(|c| c.exp);
    let issued = iat.or_else(|| Some(claims_exp?.minus(expires_in?)));
    Ok(Tokens {
        jwt: Secret::new(jwt),
        refresh: refresh.map(Secret::new),
        session_id: clean_id(session_id),
        exp,
        iat,
        refresh_exp,
        lifetime,
        scope: claims.and_then(|c| c.scope),
        generation: 0,
        times: GrantTimes {
            date: None,
            issued,
            exp: claims_exp,
        },
    })
}

/// A lifetime in seconds (`expires_in`, `refresh_expires_in`): positive and sane, else none.
fn secs(v: &Option<Any>) -> Option<Duration> {
    v.as_ref()
        .and_then(Any::f64)
        .filter(|s| *s > 0.0 && *s < 1.0e10)
        .map(|s| Duration::from_millis((s * 1000.0) as u64))
}

/// The answer's refresh token and its expiry (server clock); `Err` for one with control
/// characters.
fn read_refresh(
    a: &Answer,
    server_now: Timestamp,
) -> Result<(Option<String>, Option<Timestamp>), ()> {
    let refresh = match &a.refresh_token {
        // A refresh token travels in a JSON body, but one with control characters is
        // not a token any server minted: the grant is malformed.
        Some(r) if r.chars().any(char::is_control) => return Err(()),
        r => r.clone().filter(|r| !r.is_empty() && r.len() <= MAX_TOKEN),
    };
    let ttl = secs(&a.refresh_expires_in).unwrap_or(DEFAULT_REFRESH_TTL);
    let refresh_exp = refresh.as_ref().map(|_| server_now.plus(ttl));
    Ok((refresh, refresh_exp))
}

/// What a 2xx refresh answer that cannot be installed (malformed, dead on arrival) still
/// says about the refresh token: the auth service answered it, so it has replaced the
/// token that was sent when the answer names a new one (PROTOCOL.md: rotation; the old
/// one is never sent again — a server that detects its reuse revokes the whole session).
#[derive(Debug)]
pub(crate) enum Rotation {
    /// The answer names no refresh token (or cannot be read): the old one stays.
    Kept,
    /// The new refresh token and its expiry (server clock): it replaces the old one.
    New(Secret, Timestamp),
    /// A refresh token no request may carry (control characters): the old one is
    /// replaced all the same, and nothing is left to refresh with.
    Unusable,
}

/// Reads the refresh token of a 2xx refresh answer that could not be installed.
pub(crate) fn rotation(resp: &HttpResponse, server_now: Timestamp) -> Rotation {
    let answer = (resp.body.len() <= MAX_CORE_BODY)
        .then(|| Answer::read(&resp.body))
        .flatten();
    let Some(a) = answer else {
        return Rotation::Kept;
    };
    match read_refresh(&a, server_now) {
        Ok((Some(r), Some(exp))) => Rotation::New(Secret::new(r), exp),
        Ok(_) => Rotation::Kept,
        Err(()) => Rotation::Unusable,
    }
}

/// A session id as shown to humans: no control or bidi-override characters, `None`
/// when nothing printable is left.
fn clean_id(id: Option<String>) -> Option<String> {
    id.map(|s| printable(&s)).filter(|s| !s.is_empty())
}

/// Tokens from a persisted snapshot.
pub(crate) fn from_snapshot(s: &SessionSnapshot) -> Tokens {
    let claims = read_claims(s.session_token.expose()).ok();
    let iat = claims.as_ref().and_then(|c| c.iat);
    let lifetime = match iat {
        Some(i) if s.expires_at > i => s.expires_at.since(i),
        _ => Duration::from_secs(24 * 3600),
    };
    Tokens {
        jwt: s.session_token.clone(),
        refresh: s.refresh_token.clone(),
        session_id: clean_id(s.session_id.clone()),
        exp: s.expires_at,
        iat,
        refresh_exp: s.refresh_expires_at,
        lifetime,
        scope: claims.and_then(|c| c.scope),
        generation: 0,
        times: GrantTimes::default(),
    }
}
