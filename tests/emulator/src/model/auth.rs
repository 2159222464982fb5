//! API keys, sessions (key → JWT → refresh with rotation), and the auth service role.

use std::collections::BTreeMap;
use std::fmt;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::rng::SplitMix64;
use super::{
    bearer_token, error_json, json_response, parse_body, Model, Request, Response, TestKeys,
};

/// Permission level of an API key (and of the sessions minted from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scope {
    /// `read-write` (the default for new keys).
    #[serde(rename = "read-write")]
    ReadWrite,
    /// `read-only`: may not mint room tokens.
    #[serde(rename = "read-only")]
    ReadOnly,
    /// `admin`: may mint room tokens (`/v1/tokens`).
    #[serde(rename = "admin")]
    Admin,
}

impl Scope {
    /// The wire name (`read-write`, `read-only`, `admin`).
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ReadWrite => "read-write",
            Scope::ReadOnly => "read-only",
            Scope::Admin => "admin",
        }
    }
}

#[derive(Clone)]
pub(crate) struct KeyRecord {
    pub(crate) id: String,
    pub(crate) secret: String,
    pub(crate) scope: Scope,
    pub(crate) revoked: bool,
    pub(crate) credits: bool,
}

#[derive(Debug, Clone)]
struct Session {
    key_id: String,
    scope: Scope,
    revoked: bool,
}

#[derive(Debug, Clone)]
struct RefreshRecord {
    sid: String,
    expires_ms: u64,
    used: bool,
}

/// Session JWT claims.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    sid: String,
    scope: String,
    iat: u64,
    exp: u64,
    jti: String,
}

/// Who an edge request is from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Principal {
    pub(crate) scope: Scope,
    pub(crate) credits: bool,
}

/// Why an edge request is not authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Denied {
    /// No usable `Authorization: Bearer …` header: the CDN rejects it.
    Cdn,
    /// Unknown or revoked `pg_` key.
    InvalidKey,
    /// Bad signature, malformed, unknown or revoked session.
    InvalidToken,
    /// Valid but past `exp`.
    TokenExpired,
}

/// Keys, sessions and refresh tokens.
#[derive(Clone)]
pub(crate) struct AuthState {
    keys: Vec<KeyRecord>,
    sessions: BTreeMap<String, Session>,
    session_order: Vec<String>,
    refresh: BTreeMap<String, RefreshRecord>,
    jwt_secret: Vec<u8>,
    livekit_secret: Vec<u8>,
    rng: SplitMix64,
}

impl fmt::Debug for AuthState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthState")
            .field("keys", &self.keys.len())
            .field("sessions", &self.sessions.len())
            .field("refresh_tokens", &self.refresh.len())
            .finish_non_exhaustive()
    }
}

/// Order of the test keys in `AuthState::keys`.
const KEY_KINDS: [(&str, Scope, bool, bool); 5] = [
    ("read_write", Scope::ReadWrite, false, true),
    ("read_only", Scope::ReadOnly, false, true),
    ("admin", Scope::Admin, false, true),
    ("revoked", Scope::ReadWrite, true, true),
    ("no_credits", Scope::ReadWrite, false, false),
];

impl AuthState {
    /// Keys derive from `seed` only; session ids and tokens also from `generation`
    /// (bumped on reset so old tokens never collide with new ones).
    pub(crate) fn new(seed: u64, generation: u64) -> AuthState {
        let mut krng = SplitMix64::for_purpose(seed, "keys");
        let keys = KEY_KINDS
            .iter()
            .map(|(_, scope, revoked, credits)| KeyRecord {
                id: format!("key_{}", krng.alnum(12)),
                secret: format!("pg_{}", krng.alnum(32)),
                scope: *scope,
                revoked: *revoked,
                credits: *credits,
            })
            .collect();
        AuthState {
            keys,
            sessions: BTreeMap::new(),
            session_order: Vec::new(),
            refresh: BTreeMap::new(),
            jwt_secret: SplitMix64::for_purpose(seed, "jwt-secret").bytes(32),
            livekit_secret: SplitMix64::for_purpose(seed, "livekit-secret").bytes(32),
            rng: SplitMix64::for_purpose(seed ^ generation.rotate_left(32), "sessions"),
        }
    }

    /// The HS256 secret (tests verify signatures with it).
    #[cfg(test)]
    pub(crate) fn jwt_secret(&self) -> &[u8] {
        &self.jwt_secret
    }

    fn secret_of(&self, index: usize) -> String {
        self.keys
            .get(index)
            .map(|k| k.secret.clone())
            .unwrap_or_default()
    }

    pub(crate) fn test_keys(&self) -> TestKeys {
        TestKeys {
            read_write: self.secret_of(0),
            read_only: self.secret_of(1),
            admin: self.secret_of(2),
            revoked: self.secret_of(3),
            no_credits: self.secret_of(4),
        }
    }

    pub(crate) fn key_secrets(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.secret.clone()).collect()
    }

    pub(crate) fn key_by_secret(&self, secret: &str) -> Option<&KeyRecord> {
        self.keys.iter().find(|k| k.secret == secret)
    }

    fn valid_key(&self, secret: &str) -> Option<&KeyRecord> {
        self.key_by_secret(secret).filter(|k| !k.revoked)
    }

    pub(crate) fn revoke_session(&mut self, sid: &str) -> bool {
        match self.sessions.get_mut(sid) {
            Some(s) => {
                s.revoked = true;
                true
            }
            None => false,
        }
    }

    pub(crate) fn revoke_all(&mut self) -> usize {
        let mut n = 0;
        for s in self.sessions.values_mut().filter(|s| !s.revoked) {
            s.revoked = true;
            n += 1;
        }
        n
    }

    pub(crate) fn revoke_key(&mut self, secret: &str) -> bool {
        let Some(key) = self.keys.iter_mut().find(|k| k.secret == secret) else {
            return false;
        };
        key.revoked = true;
        let key_id = key.id.clone();
        for s in self.sessions.values_mut().filter(|s| s.key_id == key_id) {
            s.revoked = true;
        }
        true
    }

    /// Whether `token` would be accepted by `/v1/auth/refresh` at `now_ms`: known,
    /// never used, not expired, its session and key not revoked. Read-only.
    pub(crate) fn refresh_token_live(&self, token: &str, now_ms: u64) -> bool {
        let Some(r) = self.refresh.get(token) else {
            return false;
        };
        let session_live = self.sessions.get(&r.sid).is_some_and(|s| {
            !s.revoked && self.keys.iter().any(|k| k.id == s.key_id && !k.revoked)
        });
        !r.used && now_ms < r.expires_ms && session_live
    }

    pub(crate) fn active_sessions(&self) -> Vec<String> {
        self.session_order
            .iter()
            .filter(|sid| self.sessions.get(*sid).is_some_and(|s| !s.revoked))
            .cloned()
            .collect()
    }

    fn sign<T: Serialize>(secret: &[u8], claims: &T) -> Option<String> {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(secret),
        )
        .ok()
    }

    /// A new JWT and a new refresh token for session `sid`.
    fn issue(
        &mut self,
        now_ms: u64,
        sid: &str,
        jwt_ttl_s: u64,
        refresh_ttl_s: u64,
    ) -> Option<(String, String)> {
        let session = self.sessions.get(sid)?;
        let iat = now_ms / 1000;
        let claims = Claims {
            sub: session.key_id.clone(),
            sid: sid.to_string(),
            scope: session.scope.as_str().to_string(),
            iat,
            exp: iat.saturating_add(jwt_ttl_s),
            jti: self.rng.alnum(16),
        };
        let jwt = Self::sign(&self.jwt_secret, &claims)?;
        let refresh = format!("rt_{}", self.rng.alnum(40));
        self.refresh.insert(
            refresh.clone(),
            RefreshRecord {
                sid: sid.to_string(),
                expires_ms: now_ms.saturating_add(refresh_ttl_s.saturating_mul(1000)),
                used: false,
            },
        );
        Some((jwt, refresh))
    }

    /// Authenticates an edge request (JWT or `pg_` key).
    pub(crate) fn authenticate(&self, now_ms: u64, req: &Request) -> Result<Principal, Denied> {
        let token = req
            .header("authorization")
            .and_then(bearer_token)
            .ok_or(Denied::Cdn)?;
        if token.starts_with("pg_") {
            let key = self.valid_key(token).ok_or(Denied::InvalidKey)?;
            return Ok(Principal {
                scope: key.scope,
                credits: key.credits,
            });
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<Claims>(
            token,
            &DecodingKey::from_secret(&self.jwt_secret),
            &validation,
        )
        .map_err(|_| Denied::InvalidToken)?;
        let claims = data.claims;
        let session = self
            .sessions
            .get(&claims.sid)
            .filter(|s| !s.revoked)
            .ok_or(Denied::InvalidToken)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.id == session.key_id && k.id == claims.sub)
            .ok_or(Denied::InvalidToken)?;
        if now_ms >= claims.exp.saturating_mul(1000) {
            return Err(Denied::TokenExpired);
        }
        Ok(Principal {
            scope: session.scope,
            credits: key.credits,
        })
    }

    /// A LiveKit-style room token (signed with a different secret).
    pub(crate) fn livekit_token(
        &self,
        now_ms: u64,
        room: &str,
        identity: &str,
        ttl_s: u64,
    ) -> Option<String> {
        let iat = now_ms / 1000;
        let claims = json!({
            "iss": "polargrid-emulator",
            "sub": identity,
            "name": identity,
            "nbf": iat,
            "iat": iat,
            "exp": iat.saturating_add(ttl_s),
            "video": {"room": room, "roomJoin": true},
        });
        Self::sign(&self.livekit_secret, &claims)
    }
}

/// The auth service role.
pub(crate) fn handle(m: &mut Model, now_ms: u64, req: &Request) -> Response {
    match (req.method.as_str(), req.path.as_str()) {
        ("POST", "/v1/auth/session") => exchange(m, now_ms, req),
        ("POST", "/v1/auth/refresh") => refresh(m, now_ms, req),
        (_, "/v1/auth/session" | "/v1/auth/refresh") => {
            error_json(405, "Method not allowed", "method_not_allowed")
        }
        _ => error_json(404, "Not found", "not_found"),
    }
}

fn invalid_key() -> Response {
    json_response(401, &json!({"message": "Invalid API key"}))
}

fn session_answer(m: &Model, jwt: String, refresh: String, sid: &str) -> Response {
    let field = if m.cfg.legacy_token_field {
        "token"
    } else {
        "session_token"
    };
    let mut body = serde_json::Map::new();
    body.insert(field.to_string(), Value::String(jwt));
    body.insert("refresh_token".to_string(), Value::String(refresh));
    body.insert("session_id".to_string(), Value::String(sid.to_string()));
    body.insert("expires_in".to_string(), json!(m.cfg.jwt_ttl_s));
    body.insert("refresh_expires_in".to_string(), json!(m.cfg.refresh_ttl_s));
    json_response(200, &Value::Object(body))
}

fn internal_error() -> Response {
    error_json(500, "Could not sign token", "internal_error")
}

fn exchange(m: &mut Model, now_ms: u64, req: &Request) -> Response {
    let Some(token) = req.header("authorization").and_then(bearer_token) else {
        return error_json(
            401,
            "Missing or malformed Authorization header",
            "unauthorized",
        );
    };
    let Some(key) = m.auth.valid_key(token) else {
        return invalid_key();
    };
    let (key_id, scope) = (key.id.clone(), key.scope);
    match parse_body(&req.body) {
        Ok(None) | Ok(Some(Value::Object(_))) => {}
        Ok(Some(_)) => return error_json(400, "Body must be a JSON object", "invalid_request"),
        Err(resp) => return resp,
    }
    let sid = format!("ses_{}", m.auth.rng.alnum(20));
    m.auth.sessions.insert(
        sid.clone(),
        Session {
            key_id,
            scope,
            revoked: false,
        },
    );
    m.auth.session_order.push(sid.clone());
    let (jwt_ttl, refresh_ttl) = (m.cfg.jwt_ttl_s, m.cfg.refresh_ttl_s);
    match m.auth.issue(now_ms, &sid, jwt_ttl, refresh_ttl) {
        Some((jwt, refresh)) => session_answer(m, jwt, refresh, &sid),
        None => internal_error(),
    }
}

fn refresh(m: &mut Model, now_ms: u64, req: &Request) -> Response {
    let token = match parse_body(&req.body) {
        Ok(Some(Value::Object(map))) => match map.get("refresh_token") {
            Some(Value::String(t)) => t.clone(),
            _ => return error_json(400, "refresh_token is required", "invalid_request"),
        },
        Ok(_) => {
            return error_json(
                400,
                "Body must be a JSON object with refresh_token",
                "invalid_request",
            )
        }
        Err(resp) => return resp,
    };
    let Some(record) = m.auth.refresh.get(&token).cloned() else {
        return error_json(401, "Invalid refresh token", "invalid_refresh_token");
    };
    if record.used {
        m.auth.revoke_session(&record.sid);
        return error_json(401, "Refresh token reuse detected", "refresh_token_reused");
    }
    let live =
        m.auth.sessions.get(&record.sid).is_some_and(|s| {
            !s.revoked && m.auth.keys.iter().any(|k| k.id == s.key_id && !k.revoked)
        });
    if !live {
        return error_json(401, "Session revoked", "session_revoked");
    }
    if now_ms >= record.expires_ms {
        return error_json(401, "Refresh token expired", "refresh_token_expired");
    }
    if let Some(r) = m.auth.refresh.get_mut(&token) {
        r.used = true;
    }
    let (jwt_ttl, refresh_ttl) = (m.cfg.jwt_ttl_s, m.cfg.refresh_ttl_s);
    match m.auth.issue(now_ms, &record.sid, jwt_ttl, refresh_ttl) {
        Some((jwt, new_refresh)) => session_answer(m, jwt, new_refresh, &record.sid),
        None => internal_error(),
    }
}
