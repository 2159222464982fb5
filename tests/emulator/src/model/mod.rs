//! The pure service model: autorouter, auth service, edge regions, admin API,
//! faults and the request log, driven by an injected clock.
//!
//! No IO, no threads, no clock of its own: [`Model::handle`] takes the server
//! time (Unix ms) and a parsed [`Request`] and answers an [`Outcome`]. The HTTP
//! server in [`crate::server`] is a thin layer over it; a deterministic
//! simulator can step it directly with a simulated clock. All randomness comes
//! from [`ModelConfig::seed`].

mod admin;
mod auth;
mod config;
mod date;
mod edge;
mod faults;
mod log;
mod rng;
mod route;

#[cfg(test)]
mod tests;

use std::fmt;

use serde_json::Value;

pub use auth::Scope;
pub use config::{
    region_name_country, ModelConfig, RegionConfig, RegionInfo, StartupInfo, TestKeys,
    DEFAULT_MODELS, DEFAULT_REGIONS,
};
pub use date::http_date;
pub use faults::{
    Fault, PendingAnswer, PendingRewrite, PendingSlow, RetryAfter, Target, TargetFaults,
};
pub use log::{Credential, LogEntry, LogRole, LogStatus, RequestLog};
pub use rng::SplitMix64;

use faults::Faults;

/// Which service a request was sent to (in the HTTP server: which listener accepted it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// The autorouter (discovery: `GET /v1/route` only).
    Autorouter,
    /// The auth service (`/v1/auth/session`, `/v1/auth/refresh`).
    Auth,
    /// One edge region, by id.
    Edge(String),
    /// The admin API (`/admin/*`): never faulted, never logged.
    Admin,
    /// The trap a `redirect` wire fault points at: answers `200` to anything and logs it
    /// (role `trap`), so a test sees whether a client followed the redirect.
    Trap,
}

impl Role {
    /// The fault target of this role (`None` for the admin API).
    pub fn target(&self) -> Option<Target> {
        match self {
            Role::Autorouter => Some(Target::Autorouter),
            Role::Auth => Some(Target::Auth),
            Role::Edge(id) => Some(Target::Region(id.clone())),
            Role::Admin | Role::Trap => None,
        }
    }
}

/// A parsed HTTP request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// Method, e.g. `POST`.
    pub method: String,
    /// Path without the query, e.g. `/v1/route`.
    pub path: String,
    /// Query string without `?`, if the target had one.
    pub query: Option<String>,
    /// Header (name, value) pairs as received.
    pub headers: Vec<(String, String)>,
    /// Body bytes (empty when none).
    pub body: Vec<u8>,
}

impl Request {
    /// A request for `target` (`/path` or `/path?query`) with no headers and no body.
    pub fn new(method: &str, target: &str) -> Request {
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (target.to_string(), None),
        };
        Request {
            method: method.to_string(),
            path,
            query,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Adds `Authorization: Bearer <token>`.
    pub fn with_bearer(self, token: &str) -> Request {
        self.with_header("authorization", &format!("Bearer {token}"))
    }

    /// Sets the body.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = body.into();
        self
    }

    /// Sets a JSON body and `content-type: application/json`.
    pub fn with_json(self, value: &Value) -> Request {
        self.with_header("content-type", "application/json")
            .with_body(value.to_string())
    }

    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// Plain bytes, sent with `content-length`.
    Bytes(Vec<u8>),
    /// Server-sent events: each string is sent as `data: X\n\n`, then the connection closes.
    Sse(Vec<String>),
}

/// An HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header (name, value) pairs, names lower-case.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Body,
}

impl Response {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as it goes on the wire (SSE events framed as `data: X\n\n`).
    pub fn body_bytes(&self) -> Vec<u8> {
        match &self.body {
            Body::Bytes(b) => b.clone(),
            Body::Sse(events) => events
                .iter()
                .flat_map(|e| format!("data: {e}\n\n").into_bytes())
                .collect(),
        }
    }

    /// The body parsed as JSON, if it is JSON bytes.
    pub fn json(&self) -> Option<Value> {
        match &self.body {
            Body::Bytes(b) => serde_json::from_slice(b).ok(),
            Body::Sse(_) => None,
        }
    }

    fn set_header(&mut self, name: &str, value: String) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value));
    }
}

/// What the model does with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Refuse the connection (the target is down).
    Refuse,
    /// Answer now.
    Respond(Response),
    /// Answer after this many milliseconds (slow fault).
    Delay(u64, Response),
}

impl Outcome {
    /// The response, unless refused.
    pub fn response(&self) -> Option<&Response> {
        match self {
            Outcome::Refuse => None,
            Outcome::Respond(r) | Outcome::Delay(_, r) => Some(r),
        }
    }

    /// The response, unless refused.
    pub fn into_response(self) -> Option<Response> {
        match self {
            Outcome::Refuse => None,
            Outcome::Respond(r) | Outcome::Delay(_, r) => Some(r),
        }
    }
}

/// An error of a model control method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelError {
    /// No region with this id.
    UnknownRegion(String),
    /// An invalid argument (e.g. a status outside 100–599).
    Invalid(String),
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::UnknownRegion(id) => write!(f, "unknown region {id:?}"),
            ModelError::Invalid(why) => write!(f, "invalid argument: {why}"),
        }
    }
}

impl std::error::Error for ModelError {}

/// A response plus whether CORS headers go on it (the autorouter's CDN 403 has none).
pub(crate) struct Answer {
    resp: Response,
    cors: bool,
}

impl Answer {
    fn cors(resp: Response) -> Answer {
        Answer { resp, cors: true }
    }
}

/// `status` with a JSON body.
pub(crate) fn json_response(status: u16, body: &Value) -> Response {
    Response {
        status,
        headers: vec![("content-type".to_string(), "application/json".to_string())],
        body: Body::Bytes(body.to_string().into_bytes()),
    }
}

/// `status` with `{"message": message, "code": code}`.
pub(crate) fn error_json(status: u16, message: &str, code: &str) -> Response {
    json_response(
        status,
        &serde_json::json!({"message": message, "code": code}),
    )
}

/// Parses an optional JSON body: `Ok(None)` when empty (or whitespace), `400
/// invalid_request` when it is not JSON.
pub(crate) fn parse_body(body: &[u8]) -> Result<Option<Value>, Response> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|e| error_json(400, &format!("Invalid JSON body: {e}"), "invalid_request"))
}

/// The token of `Bearer <token>` (scheme case-insensitive, token non-empty, no spaces).
pub(crate) fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer")
        || token.is_empty()
        || token.contains(char::is_whitespace)
    {
        return None;
    }
    Some(token)
}

fn header_safe(value: &str) -> bool {
    value.len() <= 1024
        && value
            .bytes()
            .all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
}

const CORS_HEADERS: [(&str, &str); 4] = [
    ("access-control-allow-origin", "*"),
    (
        "access-control-allow-headers",
        "authorization, content-type, x-request-id",
    ),
    ("access-control-allow-methods", "GET, POST, OPTIONS"),
    (
        "access-control-expose-headers",
        "x-request-id, x-polargrid-region, retry-after, date",
    ),
];

/// The service model. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Model {
    initial: ModelConfig,
    cfg: ModelConfig,
    auth: auth::AuthState,
    faults: Faults,
    log: RequestLog,
    rng: SplitMix64,
    clock_offset_ms: i64,
    generation: u64,
}

impl Model {
    /// A model in its startup state.
    pub fn new(cfg: ModelConfig) -> Model {
        Model::with_generation(cfg, 0)
    }

    fn with_generation(cfg: ModelConfig, generation: u64) -> Model {
        Model {
            initial: cfg.clone(),
            auth: auth::AuthState::new(cfg.seed, generation),
            faults: Faults::default(),
            log: RequestLog::new(cfg.log_capacity),
            rng: SplitMix64::for_purpose(cfg.seed ^ generation.rotate_left(32), "requests"),
            clock_offset_ms: 0,
            generation,
            cfg,
        }
    }

    /// The current configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.cfg
    }

    /// The startup information (URLs, regions, keys, lifetimes).
    pub fn info(&self) -> StartupInfo {
        StartupInfo {
            autorouter: self.cfg.autorouter_url.clone(),
            auth: self.cfg.auth_url.clone(),
            admin: self.cfg.admin_url.clone(),
            regions: self
                .cfg
                .regions
                .iter()
                .map(|r| RegionInfo {
                    id: r.id.clone(),
                    name: r.name.clone(),
                    country: r.country.clone(),
                    url: r.url.clone(),
                })
                .collect(),
            keys: self.auth.test_keys(),
            jwt_ttl_s: self.cfg.jwt_ttl_s,
            refresh_ttl_s: self.cfg.refresh_ttl_s,
        }
    }

    /// The test keys.
    pub fn keys(&self) -> TestKeys {
        self.auth.test_keys()
    }

    /// The key id (the JWT `sub`) of a key secret.
    pub fn key_id(&self, secret: &str) -> Option<String> {
        self.auth.key_by_secret(secret).map(|k| k.id.clone())
    }

    /// Which role serves `url` (matched by the configured base URLs' prefix).
    pub fn role_for_url(&self, url: &str) -> Option<Role> {
        let matches = |base: &str| {
            let base = base.trim_end_matches('/');
            url.strip_prefix(base)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?']))
        };
        if matches(&self.cfg.autorouter_url) {
            return Some(Role::Autorouter);
        }
        if matches(&self.cfg.auth_url) {
            return Some(Role::Auth);
        }
        if matches(&self.cfg.admin_url) {
            return Some(Role::Admin);
        }
        self.cfg
            .regions
            .iter()
            .find(|r| matches(&r.url))
            .map(|r| Role::Edge(r.id.clone()))
    }

    // ----- clock -----

    /// Server time for a real (or simulated) clock reading: `real_ms + offset`.
    pub fn server_time(&self, real_ms: u64) -> u64 {
        let t = i128::from(real_ms) + i128::from(self.clock_offset_ms);
        t.clamp(0, i128::from(u64::MAX)) as u64
    }

    /// The clock offset, milliseconds.
    pub fn clock_offset_ms(&self) -> i64 {
        self.clock_offset_ms
    }

    /// Sets the clock offset, milliseconds.
    pub fn set_clock_offset_ms(&mut self, offset_ms: i64) {
        self.clock_offset_ms = offset_ms;
    }

    /// Moves the clock by `ms` (negative: backwards).
    pub fn advance_clock_ms(&mut self, ms: i64) {
        self.clock_offset_ms = self.clock_offset_ms.saturating_add(ms);
    }

    // ----- faults -----

    /// Injects `fault` into `target`.
    pub fn inject(&mut self, target: &Target, fault: Fault) -> Result<(), ModelError> {
        if let Target::Region(id) = target {
            if self.region(id).is_none() {
                return Err(ModelError::UnknownRegion(id.clone()));
            }
        }
        if let Fault::Status { status, .. } | Fault::StatusWithRetryAfter { status, .. } = fault {
            if !(100..=599).contains(&status) {
                return Err(ModelError::Invalid(format!(
                    "status {status} not in 100-599"
                )));
            }
        }
        self.faults.apply(target, fault);
        Ok(())
    }

    /// Marks `target` down (connections refused) or up.
    pub fn set_down(&mut self, target: &Target, down: bool) -> Result<(), ModelError> {
        self.inject(target, if down { Fault::Down } else { Fault::Up })
    }

    /// Whether `target` is down.
    pub fn is_down(&self, target: &Target) -> bool {
        self.faults.is_down(target)
    }

    /// Every target that is down.
    pub fn down_targets(&self) -> Vec<Target> {
        self.faults.down_targets()
    }

    /// Pending faults per target (`autorouter`, `auth`, `region:<id>`).
    pub fn faults(&self) -> std::collections::BTreeMap<String, TargetFaults> {
        self.faults.snapshot()
    }

    // ----- sessions and keys -----

    /// Revokes the session family `session_id`; whether it existed.
    pub fn revoke_session(&mut self, session_id: &str) -> bool {
        self.auth.revoke_session(session_id)
    }

    /// Revokes every session; how many were active.
    pub fn revoke_all_sessions(&mut self) -> usize {
        self.auth.revoke_all()
    }

    /// Revokes the key `secret` and every session minted from it; whether it existed.
    pub fn revoke_key(&mut self, secret: &str) -> bool {
        self.auth.revoke_key(secret)
    }

    /// Whether the refresh token `token` would be accepted at server time `now_ms`
    /// (known, unused, unexpired, session and key not revoked). Changes nothing: a
    /// simulator uses it to judge whether a client's session was really dead.
    pub fn refresh_token_live(&self, token: &str, now_ms: u64) -> bool {
        self.auth.refresh_token_live(token, now_ms)
    }

    /// Ids of the sessions not revoked, in creation order.
    pub fn active_sessions(&self) -> Vec<String> {
        self.auth.active_sessions()
    }

    // ----- regions -----

    fn region(&self, id: &str) -> Option<&RegionConfig> {
        self.cfg.regions.iter().find(|r| r.id == id)
    }

    /// Models `region` serves.
    pub fn region_models(&self, region: &str) -> Option<&[String]> {
        self.region(region).map(|r| r.models.as_slice())
    }

    /// Sets the models `region` serves.
    pub fn set_region_models(
        &mut self,
        region: &str,
        models: Vec<String>,
    ) -> Result<(), ModelError> {
        match self.cfg.regions.iter_mut().find(|r| r.id == region) {
            Some(r) => {
                r.models = models;
                Ok(())
            }
            None => Err(ModelError::UnknownRegion(region.to_string())),
        }
    }

    // ----- settings -----

    /// Answer exchanges with `token` instead of `session_token`.
    pub fn set_legacy_token_field(&mut self, legacy: bool) {
        self.cfg.legacy_token_field = legacy;
    }

    /// Sets the lifetimes of new JWTs, new refresh tokens and route answers, seconds.
    pub fn set_ttls(
        &mut self,
        jwt_ttl_s: Option<u64>,
        refresh_ttl_s: Option<u64>,
        route_ttl_s: Option<u64>,
    ) {
        if let Some(v) = jwt_ttl_s {
            self.cfg.jwt_ttl_s = v;
        }
        if let Some(v) = refresh_ttl_s {
            self.cfg.refresh_ttl_s = v;
        }
        if let Some(v) = route_ttl_s {
            self.cfg.route_ttl_s = v;
        }
    }

    /// Back to the startup state: same keys and URLs; faults, clock offset,
    /// sessions, revocations, model lists, settings and the log are reset.
    /// New session ids and tokens never repeat ones issued before the reset.
    pub fn reset(&mut self) {
        *self = Model::with_generation(self.initial.clone(), self.generation.wrapping_add(1));
    }

    // ----- log -----

    /// The request log.
    pub fn log(&self) -> &RequestLog {
        &self.log
    }

    /// Empties the request log.
    pub fn clear_log(&mut self) {
        self.log.clear();
    }

    // ----- serving -----

    /// Serves one request at server time `now_ms` (Unix ms, clock offset included:
    /// see [`Model::server_time`]) received by `role`.
    pub fn handle(&mut self, now_ms: u64, role: &Role, req: &Request) -> Outcome {
        if *role == Role::Trap {
            self.record(now_ms, role, req, 200);
            let resp = json_response(200, &serde_json::json!({"trap": true}));
            return Outcome::Respond(self.finish(now_ms, role, req, Answer::cors(resp)));
        }
        let Some(target) = role.target() else {
            let resp = admin::handle(self, now_ms, req);
            return Outcome::Respond(self.finish(now_ms, role, req, Answer::cors(resp)));
        };
        let mut entry = self.entry(now_ms, role, req);
        let unknown_region = matches!(&target, Target::Region(id) if self.region(id).is_none());
        if unknown_region || self.faults.is_down(&target) {
            self.log.push(entry);
            return Outcome::Refuse;
        }
        let (delay, answer) = self.serve(now_ms, role, &target, req);
        let mut resp = self.finish(now_ms, role, req, answer);
        let stamp_ms = self.faults.stamp_ms(&target, now_ms);
        if stamp_ms != now_ms {
            resp.set_header("date", http_date(stamp_ms));
        }
        if (200..300).contains(&resp.status) {
            self.faults.rewrite(&target, &mut resp);
        }
        entry.status = LogStatus::Status(resp.status);
        entry.delay_ms = delay;
        self.log.push(entry);
        match delay {
            Some(ms) if ms > 0 => Outcome::Delay(ms, resp),
            _ => Outcome::Respond(resp),
        }
    }

    /// Logs a request the HTTP layer answered itself (a wire fault: a redirect, a stalled
    /// or trickling body) with the status it sent, without serving it: no session is
    /// minted, no refresh token rotated.
    pub fn record(&mut self, now_ms: u64, role: &Role, req: &Request, status: u16) {
        let mut entry = self.entry(now_ms, role, req);
        entry.status = LogStatus::Status(status);
        self.log.push(entry);
    }

    /// A log entry for `req` (status still `refused`).
    fn entry(&self, now_ms: u64, role: &Role, req: &Request) -> LogEntry {
        let secrets = self.auth.key_secrets();
        let secret_refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let (credential, query) = log::inspect(req, &secret_refs);
        let (log_role, region) = match role {
            Role::Autorouter => (LogRole::Autorouter, None),
            Role::Auth => (LogRole::Auth, None),
            Role::Edge(id) => (LogRole::Edge, Some(id.clone())),
            Role::Admin => (LogRole::Edge, None),
            Role::Trap => (LogRole::Trap, None),
        };
        LogEntry {
            seq: 0,
            time_ms: now_ms,
            role: log_role,
            region,
            method: req.method.clone(),
            path: req.path.clone(),
            query,
            credential,
            request_id: req.header("x-request-id").map(str::to_string),
            status: LogStatus::Refused,
            delay_ms: None,
        }
    }

    /// An error answer produced outside [`Model::handle`] (e.g. the HTTP layer's
    /// `400`/`413`), with the same `Date`/CORS/region headers. Not logged.
    pub fn error_response(&self, now_ms: u64, role: &Role, status: u16, message: &str) -> Response {
        let resp = error_json(status, message, "invalid_request");
        self.finish(now_ms, role, &Request::default(), Answer::cors(resp))
    }

    fn serve(
        &mut self,
        now_ms: u64,
        role: &Role,
        target: &Target,
        req: &Request,
    ) -> (Option<u64>, Answer) {
        if req.method == "OPTIONS" {
            return (None, self.preflight(role, req));
        }
        let delay = self.faults.take_slow(target);
        let stamp_ms = self.faults.stamp_ms(target, now_ms);
        if let Some(resp) = self.faults.take_answer(target, stamp_ms) {
            return (delay, Answer::cors(resp));
        }
        let answer = match role {
            Role::Autorouter => route::handle(self, req),
            Role::Auth => Answer::cors(auth::handle(self, now_ms, req)),
            Role::Edge(id) => Answer::cors(edge::handle(self, now_ms, id, req)),
            Role::Admin | Role::Trap => Answer::cors(error_json(404, "Not found", "not_found")),
        };
        (delay, answer)
    }

    fn preflight(&mut self, role: &Role, req: &Request) -> Answer {
        if *role == Role::Autorouter && req.path != "/v1/route" {
            return Answer {
                resp: self.cdn_forbidden(),
                cors: false,
            };
        }
        let mut resp = Response {
            status: 204,
            headers: vec![("access-control-max-age".to_string(), "600".to_string())],
            body: Body::Bytes(Vec::new()),
        };
        resp.set_header("content-type", "text/plain; charset=utf-8".to_string());
        Answer::cors(resp)
    }

    /// The CDN's `403 {"Message": null}` with CloudFront headers.
    pub(crate) fn cdn_forbidden(&mut self) -> Response {
        let cf_id = format!("{}==", self.rng.alnum(54));
        Response {
            status: 403,
            headers: vec![
                ("content-type".to_string(), "application/json".to_string()),
                ("server".to_string(), "CloudFront".to_string()),
                ("x-amz-cf-id".to_string(), cf_id),
                ("x-amz-cf-pop".to_string(), "YTO50-C1".to_string()),
                (
                    "via".to_string(),
                    "1.1 abc.cloudfront.net (CloudFront)".to_string(),
                ),
                ("x-cache".to_string(), "Error from cloudfront".to_string()),
            ],
            body: Body::Bytes(br#"{"Message": null}"#.to_vec()),
        }
    }

    fn finish(&self, now_ms: u64, role: &Role, req: &Request, answer: Answer) -> Response {
        let Answer { mut resp, cors } = answer;
        resp.set_header("date", http_date(now_ms));
        if resp.header("content-type").is_none() {
            resp.headers.push((
                "content-type".to_string(),
                "text/plain; charset=utf-8".to_string(),
            ));
        }
        if cors {
            for (name, value) in CORS_HEADERS {
                resp.set_header(name, value.to_string());
            }
        }
        if let Role::Edge(id) = role {
            resp.set_header("x-polargrid-region", id.clone());
        }
        if let Some(rid) = req.header("x-request-id").filter(|v| header_safe(v)) {
            resp.set_header("x-request-id", rid.to_string());
        }
        resp
    }
}
