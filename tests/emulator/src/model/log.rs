//! The request log: what every service role received, without secrets.

use std::collections::VecDeque;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Request, Role};

/// Which kind of credential a request presented. The secret itself is never logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Credential {
    /// No credential.
    None,
    /// A `pg_` API key (in `Authorization`, `x-api-key`, the query or the body).
    Key,
    /// A bearer token that is not a `pg_` key (a session JWT, or anything else).
    Jwt,
    /// A refresh token (the `refresh_token` field of a JSON body, or an `rt_` query value).
    RefreshToken,
    /// An `Authorization` header that is not `Bearer <token>`.
    Other,
}

/// The service role that received a request, as logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogRole {
    /// The autorouter.
    Autorouter,
    /// The auth service.
    Auth,
    /// An edge region (see [`LogEntry::region`]).
    Edge,
    /// The trap a `redirect` wire fault points at (nothing should ever reach it).
    Trap,
}

/// The outcome of a logged request: an HTTP status, or `"refused"` when the
/// target was down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStatus {
    /// The status answered.
    Status(u16),
    /// The connection was refused (target down).
    Refused,
}

impl Serialize for LogStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            LogStatus::Status(code) => s.serialize_u16(*code),
            LogStatus::Refused => s.serialize_str("refused"),
        }
    }
}

impl<'de> Deserialize<'de> for LogStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<LogStatus, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Code(u16),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Code(code) => Ok(LogStatus::Status(code)),
            Raw::Text(t) if t == "refused" => Ok(LogStatus::Refused),
            Raw::Text(t) => Err(serde::de::Error::custom(format!("unknown status {t:?}"))),
        }
    }
}

/// One received request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Sequence number, from 0, in order of arrival.
    pub seq: u64,
    /// Server time (Unix ms, clock offset included) when it was handled.
    pub time_ms: u64,
    /// Which service received it.
    pub role: LogRole,
    /// The region, for [`LogRole::Edge`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// HTTP method.
    pub method: String,
    /// Path (without query).
    pub path: String,
    /// Query string, with credential-looking values replaced by `<redacted>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The credential presented.
    pub credential: Credential,
    /// The `x-request-id` header, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Status answered, or `"refused"`.
    pub status: LogStatus,
    /// Injected delay, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
}

impl LogEntry {
    /// Whether this entry was received by `role` (an exact region for `Role::Edge`).
    pub fn is_for(&self, role: &Role) -> bool {
        match role {
            Role::Autorouter => self.role == LogRole::Autorouter,
            Role::Auth => self.role == LogRole::Auth,
            Role::Edge(id) => self.role == LogRole::Edge && self.region.as_deref() == Some(id),
            Role::Trap => self.role == LogRole::Trap,
            Role::Admin => false,
        }
    }
}

/// The log: a bounded, ordered list of [`LogEntry`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLog {
    entries: VecDeque<LogEntry>,
    next_seq: u64,
    capacity: usize,
}

impl RequestLog {
    /// An empty log keeping at most `capacity` entries.
    pub fn new(capacity: usize) -> RequestLog {
        RequestLog {
            entries: VecDeque::new(),
            next_seq: 0,
            capacity: capacity.max(1),
        }
    }

    /// Appends an entry, assigning its `seq`.
    pub(crate) fn push(&mut self, mut entry: LogEntry) {
        entry.seq = self.next_seq;
        self.next_seq += 1;
        if self.entries.len() >= self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    /// Entries, oldest first.
    pub fn entries(&self) -> impl Iterator<Item = &LogEntry> {
        self.entries.iter()
    }

    /// A copy of every entry, oldest first.
    pub fn to_vec(&self) -> Vec<LogEntry> {
        self.entries.iter().cloned().collect()
    }

    /// Number of entries kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Forgets every entry (sequence numbers keep counting).
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Number of non-`OPTIONS` requests `role` received on `path` (refused ones included).
    pub fn count(&self, role: &Role, path: &str) -> usize {
        self.entries
            .iter()
            .filter(|e| e.is_for(role) && e.path == path && e.method != "OPTIONS")
            .count()
    }

    /// Number of non-`OPTIONS` requests any role of kind `role` (any region for
    /// edges) received on `path`.
    pub fn count_kind(&self, role: LogRole, path: &str) -> usize {
        self.entries
            .iter()
            .filter(|e| e.role == role && e.path == path && e.method != "OPTIONS")
            .count()
    }

    /// Number of entries that presented `credential` to `role`, any path.
    pub fn count_credential(&self, role: LogRole, credential: Credential) -> usize {
        self.entries
            .iter()
            .filter(|e| e.role == role && e.credential == credential)
            .count()
    }
}

/// What a credential-looking string is.
fn classify_token(value: &str) -> Option<Credential> {
    if value.starts_with("pg_") {
        Some(Credential::Key)
    } else if value.starts_with("rt_") {
        Some(Credential::RefreshToken)
    } else if value.starts_with("eyJ") && value.split('.').count() == 3 {
        Some(Credential::Jwt)
    } else {
        None
    }
}

/// Ranking used to keep the most significant credential when several are present.
fn rank(c: Credential) -> u8 {
    match c {
        Credential::Key => 4,
        Credential::RefreshToken => 3,
        Credential::Jwt => 2,
        Credential::Other => 1,
        Credential::None => 0,
    }
}

fn strongest(a: Credential, b: Credential) -> Credential {
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

/// Detects the credential a request presents and returns it with the query
/// redacted. `known_keys` are the model's key secrets (found anywhere in a body).
pub(crate) fn inspect(req: &Request, known_keys: &[&str]) -> (Credential, Option<String>) {
    let mut found = Credential::None;
    if let Some(auth) = req.header("authorization") {
        let kind = match super::bearer_token(auth) {
            Some(token) if token.starts_with("pg_") => Credential::Key,
            Some(_) => Credential::Jwt,
            None => Credential::Other,
        };
        found = strongest(found, kind);
    }
    if let Some(v) = req.header("x-api-key") {
        found = strongest(found, classify_token(v.trim()).unwrap_or(Credential::Other));
    }
    let query = req.query.as_deref().map(|q| {
        let parts: Vec<String> = q
            .split('&')
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                let decoded = super::route::percent_decode(v);
                match classify_token(&decoded) {
                    Some(kind) => {
                        found = strongest(found, kind);
                        format!("{k}=<redacted>")
                    }
                    None => pair.to_string(),
                }
            })
            .collect();
        parts.join("&")
    });
    if !req.body.is_empty() {
        if let Ok(text) = std::str::from_utf8(&req.body) {
            if known_keys.iter().any(|k| !k.is_empty() && text.contains(k)) {
                found = strongest(found, Credential::Key);
            }
        }
        if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(&req.body) {
            if map.get("refresh_token").is_some_and(|v| v.is_string()) {
                found = strongest(found, Credential::RefreshToken);
            }
        }
    }
    (found, query)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_serializes_as_number_or_refused() {
        let json = serde_json::to_string(&[LogStatus::Status(200), LogStatus::Refused]).ok();
        assert_eq!(json.as_deref(), Some(r#"[200,"refused"]"#));
        let back: Option<Vec<LogStatus>> = json.and_then(|j| serde_json::from_str(&j).ok());
        assert_eq!(back, Some(vec![LogStatus::Status(200), LogStatus::Refused]));
    }

    #[test]
    fn query_with_key_is_redacted_and_flagged() {
        let req = Request::new("GET", "/v1/route?model=x&api_key=pg_secret");
        let (cred, query) = inspect(&req, &[]);
        assert_eq!(cred, Credential::Key);
        assert_eq!(query.as_deref(), Some("model=x&api_key=<redacted>"));
    }

    #[test]
    fn capacity_drops_oldest_and_seq_keeps_counting() {
        let mut log = RequestLog::new(2);
        for _ in 0..3 {
            log.push(LogEntry {
                seq: 0,
                time_ms: 0,
                role: LogRole::Auth,
                region: None,
                method: "GET".to_string(),
                path: "/".to_string(),
                query: None,
                credential: Credential::None,
                request_id: None,
                status: LogStatus::Status(200),
                delay_ms: None,
            });
        }
        let seqs: Vec<u64> = log.entries().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![1, 2]);
    }
}
