//! The block a [`Core`](crate::Core) input leaves in wasm memory for the driver: every
//! request to send and every event, read by `npm/wasm.js` in place (one crossing per
//! input, no string per field). Numbers are little-endian `f64`, lengths `u32`, unaligned.
//!
//! A request: tag 1, method (0 GET, 1 POST, 2 PUT, 3 DELETE, 4 PATCH, 5 HEAD), flags (what
//! follows), then its id, its app call (0 for the core's own requests) and its connect
//! timeout in ms, then (a `u32`) the most bytes of a failed answer's body the core reads
//! ([`HttpRequest::body_limit`]: 4096 for a call, 64 KiB for the core's own requests; a
//! call's 2xx body is never read); then, as flagged, in this order: the purpose's name (core-owned requests
//! only: [`Purpose::as_str`]), the URL (only when it differs from the previous request's),
//! the `X-Request-ID` (always), the other headers as `name\nvalue\n…` (only when they
//! differ from the previous request's: the JWT and the User-Agent cross once, not per
//! call), the body (core-owned requests).
//!
//! An event: tag 2, kind (1 call ready in the same region as the last one, 2 call ready in
//! a new region, 3 call failed, 4 call cancelled, 5 abort a request, 6 session changed, 7
//! session ended, 8 region changed, 9 one this driver does not know), its call and request
//! ids (0 when it has none), then for kinds 2, 3, 6, 7 and 8 one text: the new region (no
//! region: length `u32::MAX`), or fields separated by U+001F as [`event_text`] says.

use polargrid_core::{
    CallError, CallId, Event, HttpRequest, Method, Purpose, RegionReason, SessionChange,
    SessionInfo, SessionSnapshot, Timestamp, TransportErrorKind,
};

/// Separates fields in the texts that cross for rare events and errors.
pub(crate) const SEP: char = '\u{1f}';

/// Flag: the purpose's name follows (core-owned requests).
const HAS_PURPOSE: u8 = 1;
/// Flag: a URL follows (it differs from the previous request's).
const HAS_URL: u8 = 2;
/// Flag: the headers but `X-Request-ID` follow (they differ from the previous request's).
const HAS_HEADERS: u8 = 4;
/// Flag: a body follows.
const HAS_BODY: u8 = 8;
/// A text's length when there is no text.
const NONE: u32 = u32::MAX;
/// The header that differs in every request, sent as it is.
const RID: &str = "x-request-id";

/// The block being written, and what the driver already holds (the last URL and headers).
#[derive(Default)]
pub(crate) struct Out {
    pub(crate) buf: Vec<u8>,
    last_url: String,
    last_headers: Vec<(String, String)>,
    /// The region last handed to JS with a ready call.
    region: Option<String>,
}

impl Out {
    fn num(&mut self, v: f64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn len(&mut self, n: usize) {
        let n = u32::try_from(n).unwrap_or(NONE - 1);
        self.buf.extend_from_slice(&n.to_le_bytes());
    }

    fn text(&mut self, s: &[u8]) {
        self.len(s.len());
        self.buf.extend_from_slice(s);
    }

    /// Writes request `r` (its body taken: it crosses here).
    pub(crate) fn request(&mut self, mut r: HttpRequest) {
        let call = match r.purpose {
            Purpose::Call(CallId(c)) => c as f64,
            _ => 0.0,
        };
        // One pass over the headers: the request id apart, the others against the last ones.
        let mut rid = "";
        let mut same_headers = true;
        let mut n = 0;
        for (k, v) in &r.headers {
            let (k, v): (&str, &str) = (k.as_ref(), v.as_ref());
            if k.len() == RID.len() && k.eq_ignore_ascii_case(RID) {
                rid = v;
                continue;
            }
            same_headers = same_headers
                && self
                    .last_headers
                    .get(n)
                    .is_some_and(|(lk, lv)| same(lk, k) && same(lv, v));
            n += 1;
        }
        same_headers = same_headers && n == self.last_headers.len();
        let same_url = same(&r.url, &self.last_url);
        let body = r.body.take();
        let mut flags = 0;
        if r.purpose.core_owned() {
            flags |= HAS_PURPOSE;
        }
        if !same_url {
            flags |= HAS_URL;
        }
        if !same_headers {
            flags |= HAS_HEADERS;
        }
        if body.is_some() {
            flags |= HAS_BODY;
        }
        self.buf
            .extend_from_slice(&[1, method_code(r.method), flags]);
        self.num(r.id.0 as f64);
        self.num(call);
        // (Not `as_millis`: its u128 costs a 128-bit multiply and conversion in wasm.)
        let t = r.connect_timeout;
        self.num(t.as_secs() as f64 * 1000.0 + f64::from(t.subsec_millis()));
        // The limit of every answer the core reads (each status but a call's 2xx).
        let limit = r.read_limit();
        self.buf
            .extend_from_slice(&u32::try_from(limit).unwrap_or(NONE - 1).to_le_bytes());
        if flags & HAS_PURPOSE != 0 {
            self.text(r.purpose.as_str().as_bytes());
        }
        if !same_url {
            self.text(r.url.as_bytes());
            self.last_url = core::mem::take(&mut r.url);
        }
        self.text(rid.as_bytes());
        if !same_headers {
            self.last_headers.clear();
            let at = self.buf.len();
            self.len(0);
            for (k, v) in &r.headers {
                let (k, v): (&str, &str) = (k.as_ref(), v.as_ref());
                if k.len() == RID.len() && k.eq_ignore_ascii_case(RID) {
                    continue;
                }
                if !self.last_headers.is_empty() {
                    self.buf.push(b'\n');
                }
                self.buf.extend_from_slice(k.as_bytes());
                self.buf.push(b'\n');
                self.buf.extend_from_slice(v.as_bytes());
                self.last_headers.push((k.to_string(), v.to_string()));
            }
            let n = u32::try_from(self.buf.len() - at - 4).unwrap_or(NONE - 1);
            self.buf[at..at + 4].copy_from_slice(&n.to_le_bytes());
        }
        if let Some(b) = body {
            self.text(&b);
        }
    }

    /// Writes event `e`.
    pub(crate) fn event(&mut self, e: &Event) {
        let (kind, call, request) = match e {
            Event::CallReady {
                call,
                request,
                region,
            } => {
                let kind = if *region == self.region { 1 } else { 2 };
                (kind, call.0, request.0)
            }
            Event::CallFailed { call, .. } => (3, call.0, 0),
            Event::CallCancelled { call } => (4, call.0, 0),
            Event::Abort { request } => (5, 0, request.0),
            Event::SessionChanged { .. } => (6, 0, 0),
            Event::SessionEnded { .. } => (7, 0, 0),
            Event::RegionChanged { .. } => (8, 0, 0),
            _ => (9, 0, 0),
        };
        self.buf.extend_from_slice(&[2, kind]);
        self.num(call as f64);
        self.num(request as f64);
        match e {
            Event::CallReady { region, .. } if kind == 2 => {
                self.region.clone_from(region);
                match region {
                    Some(r) => self.text(r.as_bytes()),
                    None => self.buf.extend_from_slice(&NONE.to_le_bytes()),
                }
            }
            Event::CallReady { .. } | Event::CallCancelled { .. } | Event::Abort { .. } => {}
            _ if kind == 9 => {}
            _ => self.text(event_text(e).as_bytes()),
        }
    }
}

/// Whether two texts are the same, eight bytes at a time (the wasm build is optimised for
/// size: its `memcmp` goes a byte at a time, and a JWT is compared per request).
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let (x, y) = (a.chunks_exact(8), b.chunks_exact(8));
    let (xr, yr) = (x.remainder(), y.remainder());
    let word = |c: &[u8]| u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
    x.zip(y).all(|(p, q)| word(p) == word(q)) && xr == yr
}

fn method_code(m: Method) -> u8 {
    match m {
        Method::Get => 0,
        Method::Post => 1,
        Method::Put => 2,
        Method::Delete => 3,
        Method::Patch => 4,
        Method::Head => 5,
    }
}

/// The text of a rare event, fields joined by U+001F:
/// - failed / session ended: the error's fields, see `error_fields`;
/// - session changed: reason, session id, expires at, refresh expires at, refresh at
///   (Unix ms), scope words (space-separated), snapshot JSON (empty: forget it), `1`
///   when other tabs are to get it ([`SessionChange::is_new`]) else `0`;
/// - region changed: region, endpoint, reason.
fn event_text(e: &Event) -> String {
    match e {
        Event::CallFailed { error, .. } | Event::SessionEnded { error } => error_fields(error),
        Event::SessionChanged {
            reason,
            info,
            snapshot,
        } => session_fields(*reason, info.as_ref(), snapshot.as_ref()),
        Event::RegionChanged {
            region,
            endpoint,
            reason,
        } => join(&[region, endpoint, region_reason(*reason)]),
        _ => String::new(),
    }
}

/// `fields` joined by U+001F.
pub(crate) fn join(fields: &[&str]) -> String {
    let mut s = String::with_capacity(fields.iter().map(|f| f.len() + 1).sum());
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            s.push(SEP);
        }
        s.push_str(f);
    }
    s
}

fn opt_num<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// kind, status, retryable (0/1), retry after ms, request id, cause, fix, server message,
/// attempts, the whole human message (the core's `Display`: never a secret), and the
/// transport failure behind a `network` error (empty otherwise).
fn error_fields(e: &CallError) -> String {
    join(&[
        e.kind.as_str(),
        &opt_num(e.status),
        if e.retryable { "1" } else { "0" },
        &opt_num(
            e.retry_after
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        ),
        e.request_id.as_deref().unwrap_or(""),
        e.cause,
        e.fix,
        e.server_message.as_deref().unwrap_or(""),
        &e.attempts.to_string(),
        &e.to_string(),
        e.kind.transport().map_or("", TransportErrorKind::as_str),
    ])
}

fn session_fields(
    reason: SessionChange,
    info: Option<&SessionInfo>,
    snapshot: Option<&SessionSnapshot>,
) -> String {
    let name = match reason {
        SessionChange::Exchanged => "exchanged",
        SessionChange::Refreshed => "refreshed",
        SessionChange::HandedOver => "handedOver",
        SessionChange::Restored => "restored",
        _ => "cleared",
    };
    let snapshot = snapshot.map(SessionSnapshot::to_json).unwrap_or_default();
    let share = if reason.is_new() { "1" } else { "0" };
    match info {
        Some(i) => join(&[
            name,
            i.session_id.as_deref().unwrap_or(""),
            &i.expires_at.as_millis().to_string(),
            &opt_num(i.refresh_expires_at.map(Timestamp::as_millis)),
            &opt_num(i.refresh_at.map(Timestamp::as_millis)),
            &i.scope.as_ref().map(|s| s.join(" ")).unwrap_or_default(),
            &snapshot,
            share,
        ]),
        None => join(&[name, "", "", "", "", "", &snapshot, share]),
    }
}

fn region_reason(r: RegionReason) -> &'static str {
    match r {
        RegionReason::Discovered => "discovered",
        RegionReason::Fallback => "fallback",
        RegionReason::Failover => "failover",
        _ => "configured",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polargrid_core::{HeaderText, RequestId};

    fn call(id: u64, url: &str, jwt: &str) -> HttpRequest {
        HttpRequest {
            id: RequestId(id),
            purpose: Purpose::Call(CallId(id)),
            method: Method::Post,
            url: url.to_string(),
            headers: vec![
                (
                    HeaderText::from("Authorization"),
                    HeaderText::from(jwt.to_string()),
                ),
                (HeaderText::from("User-Agent"), HeaderText::from("t/1")),
                (
                    HeaderText::from("X-Request-ID"),
                    HeaderText::from(format!("pgc-{id}")),
                ),
            ],
            body: None,
            timeout: core::time::Duration::from_secs(60),
            connect_timeout: core::time::Duration::from_millis(10_250),
        }
    }

    /// The request record's flags and its length in bytes.
    fn written(out: &mut Out, r: HttpRequest) -> (u8, usize) {
        out.buf.clear();
        out.request(r);
        (out.buf[2], out.buf.len())
    }

    #[test]
    fn url_and_headers_cross_only_when_they_differ_from_the_last_request() {
        let mut out = Out::default();
        let (first, _) = written(&mut out, call(1, "https://a/v1/x", "Bearer j1"));
        assert_eq!(first, HAS_URL | HAS_HEADERS);
        let (same, len) = written(&mut out, call(2, "https://a/v1/x", "Bearer j1"));
        assert_eq!(same, 0);
        // tag, method, flags, three numbers, the body limit, then only the request id's text.
        assert_eq!(len, 3 + 3 * 8 + 4 + 4 + "pgc-2".len());
        assert_eq!(&out.buf[3..11], &2.0f64.to_le_bytes());
        assert_eq!(&out.buf[19..27], &10_250.0f64.to_le_bytes());
        assert_eq!(&out.buf[27..31], &4096u32.to_le_bytes());
        assert_eq!(&out.buf[len - 5..], b"pgc-2");
        let (new_jwt, _) = written(&mut out, call(3, "https://a/v1/x", "Bearer j2"));
        assert_eq!(new_jwt, HAS_HEADERS);
        let (new_url, _) = written(&mut out, call(4, "https://b/v1/x", "Bearer j2"));
        assert_eq!(new_url, HAS_URL);
    }

    #[test]
    fn a_request_carries_the_cores_body_limit_for_its_purpose() {
        let mut out = Out::default();
        let mut r = call(1, "u", "Bearer j1");
        r.purpose = Purpose::Refresh;
        out.request(r);
        assert_eq!(&out.buf[27..31], &(64u32 * 1024).to_le_bytes());
    }

    #[test]
    fn headers_cross_as_name_value_lines_without_the_request_id() {
        let mut out = Out::default();
        out.request(call(1, "u", "Bearer j1"));
        let text = String::from_utf8_lossy(&out.buf);
        assert!(text.contains("u\u{5}\0\0\0pgc-1"), "{text:?}"); // the URL, then the id
        assert!(
            text.ends_with("Authorization\nBearer j1\nUser-Agent\nt/1"),
            "{text:?}"
        );
        assert!(!text.contains("X-Request-ID"));
    }

    #[test]
    fn texts_are_the_same_only_byte_for_byte() {
        let long = "x".repeat(203);
        assert!(same(&long, &"x".repeat(203)));
        assert!(!same(&long, &"x".repeat(202)));
        let mut other = long.clone();
        other.replace_range(200..201, "y");
        assert!(!same(&long, &other)); // in the tail past the last whole word
        other = long.clone();
        other.replace_range(9..10, "y");
        assert!(!same(&long, &other));
        assert!(same("", ""));
    }
}
