//! Test harness: a fake clock that jumps to the next wake-up, a scripted server, and
//! builders for PolarGrid's answers. No sleeps anywhere.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;

use base64::Engine as _;
use polargrid_core::{
    CallId, Client, Config, Endpoints, Event, HttpRequest, HttpResponse, Purpose, RegionInfo,
    RequestId, Timestamp, TransportErrorKind,
};

/// 2027-01-15T08:00:00Z, a Friday: a plausible "now".
pub const T0: u64 = 1_799_913_600_000;

/// The key every test uses.
pub const KEY: &str = "pg_test_key_0123456789";

pub const HOUR: u64 = 3_600_000;
pub const DAY: u64 = 24 * HOUR;

/// What the scripted server does with a request.
pub enum Reply {
    Respond(HttpResponse),
    Fail(TransportErrorKind),
    /// Keep it outstanding (answer later by hand, or never).
    Hold,
}

pub struct Harness {
    pub client: Client,
    pub now: u64,
    /// Every request the client emitted, in order.
    pub sent: Vec<HttpRequest>,
    /// Requests not answered yet.
    pub outstanding: VecDeque<HttpRequest>,
    /// Every event, in order.
    pub events: Vec<Event>,
    /// Server clock minus test clock.
    pub server_skew_ms: i64,
}

impl Harness {
    pub fn new(config: Config) -> Self {
        Self::seeded(config, 7)
    }

    pub fn seeded(config: Config, seed: u64) -> Self {
        Harness {
            client: Client::new(config, seed).expect("config"),
            now: T0,
            sent: Vec::new(),
            outstanding: VecDeque::new(),
            events: Vec::new(),
            server_skew_ms: 0,
        }
    }

    pub fn t(&self) -> Timestamp {
        Timestamp(self.now)
    }

    /// Server clock now.
    pub fn server_now(&self) -> u64 {
        (self.now as i64 + self.server_skew_ms) as u64
    }

    /// Moves requests and events out of the client.
    pub fn pump(&mut self) {
        while let Some(r) = self.client.poll_request(self.t()) {
            self.sent.push(r.clone());
            self.outstanding.push_back(r);
        }
        while let Some(e) = self.client.poll_event() {
            self.events.push(e);
        }
    }

    pub fn start(&mut self, spec: polargrid_core::CallSpec) -> CallId {
        let id = self.client.start_call(self.t(), spec).expect("start_call");
        self.pump();
        id
    }

    pub fn get_models(&mut self) -> CallId {
        self.start(polargrid_core::CallSpec::new(
            polargrid_core::Method::Get,
            "/v1/models",
        ))
    }

    /// Removes and returns the first outstanding request with this purpose kind.
    pub fn take(&mut self, want: fn(&Purpose) -> bool) -> HttpRequest {
        self.pump();
        let i = self
            .outstanding
            .iter()
            .position(|r| want(&r.purpose))
            .unwrap_or_else(|| {
                panic!(
                    "no outstanding request of that kind; outstanding: {:?}",
                    self.outstanding
                )
            });
        self.outstanding.remove(i).unwrap()
    }

    pub fn has(&mut self, want: fn(&Purpose) -> bool) -> bool {
        self.pump();
        self.outstanding.iter().any(|r| want(&r.purpose))
    }

    pub fn count_sent(&self, want: fn(&Purpose) -> bool) -> usize {
        self.sent.iter().filter(|r| want(&r.purpose)).count()
    }

    pub fn respond(&mut self, id: RequestId, resp: HttpResponse) {
        self.client
            .handle_response(self.t(), id, resp)
            .expect("known request");
        self.pump();
    }

    pub fn fail(&mut self, id: RequestId, kind: TransportErrorKind) {
        self.client
            .handle_transport_error(self.t(), id, kind)
            .expect("known request");
        self.pump();
    }

    /// Sets the clock (may go backwards) and lets the client see it.
    pub fn set_clock(&mut self, ms: u64) {
        self.now = ms;
        self.client.handle_timeout(self.t());
        self.pump();
    }

    pub fn advance(&mut self, ms: u64) {
        self.set_clock(self.now + ms);
    }

    /// Jumps to the next wake-up (if any) and handles it. Returns false when none.
    pub fn next_wakeup(&mut self) -> bool {
        self.pump();
        match self.client.poll_timeout() {
            Some(at) => {
                self.now = self.now.max(at.as_millis());
                self.client.handle_timeout(self.t());
                self.pump();
                true
            }
            None => false,
        }
    }

    /// Answers every outstanding request (and new ones) with `server` until nothing is
    /// outstanding, jumping the clock to wake-ups when idle; at most `max_steps` steps.
    pub fn run(
        &mut self,
        max_steps: usize,
        mut server: impl FnMut(&Harness, &HttpRequest) -> Reply,
    ) {
        for _ in 0..max_steps {
            self.pump();
            if let Some(r) = self.outstanding.pop_front() {
                match server(self, &r) {
                    Reply::Respond(resp) => self.respond(r.id, resp),
                    Reply::Fail(k) => self.fail(r.id, k),
                    Reply::Hold => {
                        self.outstanding.push_back(r);
                        if !self.next_wakeup() {
                            return;
                        }
                    }
                }
                continue;
            }
            if self.client.open_calls() == 0 || !self.next_wakeup() {
                return;
            }
        }
    }

    /// Answers the outstanding exchange: a JWT of `ttl_ms` issued at server time now, with
    /// refresh token `refresh`.
    pub fn exchanged(&mut self, ttl_ms: u64, refresh: &str) {
        let ex = self.take(is_exchange);
        let now = self.server_now();
        self.respond(ex.id, session_answer(now, ttl_ms, refresh, None));
    }

    /// Answers the outstanding discovery: region yto-01 at [`YTO_01`], for `ttl_s` seconds.
    pub fn routed(&mut self, ttl_s: u64) {
        let d = self.take(is_discover);
        self.respond(d.id, route_answer("yto-01", YTO_01, ttl_s));
    }

    /// Answers the outstanding call attempt with an empty `200` and checks its call is ready.
    pub fn finish_call(&mut self) -> CallId {
        let c = self.take(is_call);
        let Purpose::Call(call) = c.purpose else {
            unreachable!()
        };
        self.respond(c.id, HttpResponse::new(200));
        assert!(self.ready(call), "the call is ready after its 200");
        call
    }

    /// The set-up most scenarios share: the outstanding discovery answered with yto-01 (for
    /// `ttl_s` seconds), then the call waiting for it answered `200` (checked ready).
    pub fn route_and_finish_call(&mut self, ttl_s: u64) -> CallId {
        self.routed(ttl_s);
        self.finish_call()
    }

    pub fn ready(&self, call: CallId) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e, Event::CallReady { call: c, .. } if *c == call))
    }

    pub fn failure(&self, call: CallId) -> Option<polargrid_core::CallError> {
        self.events.iter().find_map(|e| match e {
            Event::CallFailed { call: c, error } if *c == call => Some(error.clone()),
            _ => None,
        })
    }

    /// How many ending events a call got (must be exactly one when it is over).
    pub fn endings(&self, call: CallId) -> usize {
        self.events
            .iter()
            .filter(|e| match e {
                Event::CallReady { call: c, .. }
                | Event::CallFailed { call: c, .. }
                | Event::CallCancelled { call: c } => *c == call,
                _ => false,
            })
            .count()
    }
}

pub fn is_exchange(p: &Purpose) -> bool {
    *p == Purpose::Exchange
}
pub fn is_refresh(p: &Purpose) -> bool {
    *p == Purpose::Refresh
}
pub fn is_discover(p: &Purpose) -> bool {
    *p == Purpose::Discover
}
pub fn is_call(p: &Purpose) -> bool {
    matches!(p, Purpose::Call(_))
}

/// A JWT (unsigned; the client never verifies) with these claims, in server seconds.
pub fn jwt(iat_ms: u64, exp_ms: u64, scope: Option<&str>) -> String {
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims = serde_json::json!({"sub": "key_1", "sid": "s1", "iat": iat_ms / 1000, "exp": exp_ms / 1000});
    if let Some(s) = scope {
        claims["scope"] = serde_json::Value::String(s.to_string());
    }
    format!(
        "{}.{}.{}",
        e.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        e.encode(claims.to_string()),
        e.encode(format!("sig{iat_ms}"))
    )
}

/// IMF-fixdate of a Unix-ms instant.
pub fn http_date(ms: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let (h, m, s) = ((secs % 86_400) / 3600, (secs % 3600) / 60, secs % 60);
    // civil_from_days (Hinnant)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if mo <= 2 { 1 } else { 0 };
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[(days.rem_euclid(7)) as usize],
        d,
        MONTHS[(mo - 1) as usize],
        y,
        h,
        m,
        s
    )
}

/// A session answer from the auth service, issued at server time `server_ms`.
pub fn session_answer(
    server_ms: u64,
    ttl_ms: u64,
    refresh: &str,
    scope: Option<&str>,
) -> HttpResponse {
    let body = serde_json::json!({
        "session_token": jwt(server_ms, server_ms + ttl_ms, scope),
        "refresh_token": refresh,
        "session_id": "sess_1",
        "expires_in": ttl_ms / 1000,
    });
    HttpResponse::new(200)
        .with_header("Date", &http_date(server_ms))
        .with_header("Content-Type", "application/json")
        .with_body(body.to_string())
}

/// The edge of region yto-01, where the scripted discoveries send calls.
pub const YTO_01: &str = "https://api.yto-01.edge.polargrid.ai";

/// A client of `config` (a session-mode one: it exchanges its key) whose first call got a
/// JWT of `ttl_ms` with refresh token `rt_1`, a route to yto-01 for an hour and its `200`:
/// the steady state most session scenarios start from.
pub fn warmed_up(config: Config, ttl_ms: u64) -> Harness {
    let mut h = Harness::new(config);
    let call = h.get_models();
    h.exchanged(ttl_ms, "rt_1");
    assert_eq!(h.route_and_finish_call(3600), call);
    h
}

pub fn route_answer(region: &str, endpoint: &str, ttl_s: u64) -> HttpResponse {
    HttpResponse::new(200).with_body(
        serde_json::json!({"region": region, "endpoint": endpoint, "name": region, "ttl": ttl_s})
            .to_string(),
    )
}

pub fn json(status: u16, body: &str) -> HttpResponse {
    HttpResponse::new(status)
        .with_header("Content-Type", "application/json")
        .with_body(body.to_string())
}

/// Endpoints on the real-looking hosts with three regions.
pub fn endpoints() -> Endpoints {
    Endpoints {
        regions: vec![
            RegionInfo::new("yto-01", "Toronto", "CA"),
            RegionInfo::new("nyc-01", "New York", "US"),
            RegionInfo::new("yul-01", "Montreal", "CA"),
        ],
        ..Endpoints::default()
    }
}

pub fn session_config() -> Config {
    Config::new(KEY).with_endpoints(endpoints())
}

/// The body of a request as JSON.
pub fn body_json(r: &HttpRequest) -> serde_json::Value {
    serde_json::from_slice(r.body.as_deref().unwrap_or(b"null")).unwrap()
}

/// A server that works: exchange/refresh mint `ttl_ms` JWTs with rotating refresh tokens,
/// discovery says yto-01, every call succeeds.
pub fn healthy(ttl_ms: u64) -> impl FnMut(&Harness, &HttpRequest) -> Reply {
    let mut n = 0u64;
    move |h, r| {
        n += 1;
        match r.purpose {
            Purpose::Exchange | Purpose::Refresh => Reply::Respond(session_answer(
                h.server_now(),
                ttl_ms,
                &format!("rt_{n}"),
                None,
            )),
            Purpose::Discover => Reply::Respond(route_answer(
                "yto-01",
                "https://api.yto-01.edge.polargrid.ai",
                3600,
            )),
            Purpose::Call(_) => Reply::Respond(HttpResponse::new(200)),
        }
    }
}
