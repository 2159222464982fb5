//! Conversions between the exported records and the core's types, all in one place. No
//! rule lives here: options go through `polargrid_core::Options::build`, errors keep the
//! core's kind, cause and fix.

use core::time::Duration;

use polargrid_core as pc;

use crate::records::{
    CallRequest, DriverEvent, ErrorKind, Failure, HttpRequest, Options, PolarGridError, Purpose,
    RegionReason, SessionChange, TransportErrorKind,
};

/// The core's options (every field but the driver's `seed`).
pub(crate) fn options(o: &Options) -> pc::Options {
    pc::Options {
        api_key: o.api_key.clone(),
        mode: o.mode.clone(),
        region: o.region.clone(),
        base_url: o.base_url.clone(),
        scope: o.scope.clone(),
        endpoints_json: o.endpoints_json.clone(),
        session_json: o.session_json.clone(),
        failover_pinned: o.failover_pinned,
        max_attempts: o.max_attempts,
        backoff_base_ms: o.backoff_base_ms,
        backoff_max_ms: o.backoff_max_ms,
        request_timeout_ms: o.request_timeout_ms,
        call_deadline_ms: o.call_deadline_ms,
        connect_timeout_ms: o.connect_timeout_ms,
        auth_timeout_ms: o.auth_timeout_ms,
        user_agent: o.user_agent.clone(),
        key_visible_to_users: o.key_visible_to_users,
        allow_key_in_browser: o.allow_key_in_browser,
        // Every uniffi driver's transport reports its own connect timeouts.
        transport_observes_connect: None,
    }
}

pub(crate) fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// An error with no answer behind it (configuration, misuse, cancelled, closed).
fn local(kind: pc::ErrorKind, cause: String, fix: &str) -> PolarGridError {
    let k = error_kind(kind);
    let message = [kind.as_str(), ": ", &cause, ". Fix: ", fix].concat();
    PolarGridError::Failed {
        failure: Failure {
            kind: k,
            transport: None,
            status: None,
            retryable: false,
            retry_after_ms: None,
            request_id: None,
            cause,
            fix: fix.to_string(),
            server_message: None,
            attempts: 0,
            message,
        },
    }
}

pub(crate) fn config_error(e: &pc::ConfigError) -> PolarGridError {
    local(e.kind(), e.cause(), e.fix())
}

pub(crate) fn misuse(e: pc::MisuseError) -> PolarGridError {
    local(e.kind(), e.cause().to_string(), e.fix())
}

pub(crate) fn call_error(e: &pc::CallError) -> PolarGridError {
    PolarGridError::Failed {
        failure: failure(e),
    }
}

/// `Cancelled` or `Closed`, as the core words them.
pub(crate) fn ended(kind: pc::ErrorKind) -> PolarGridError {
    call_error(&pc::CallError::local(kind))
}

/// The core's call spec; the body stays with the driver.
pub(crate) fn call_spec(c: &CallRequest) -> Result<pc::CallSpec, PolarGridError> {
    let method = pc::Method::parse(&c.method).ok_or_else(|| {
        misuse(pc::MisuseError::BadCall(
            "the method is not GET, POST, PUT, DELETE, PATCH or HEAD",
        ))
    })?;
    let mut spec = pc::CallSpec::new(method, &c.path);
    spec.model = match &c.model {
        Some(m) => Some(m.clone()),
        None => c.body.as_deref().and_then(pc::model_hint),
    };
    spec.idempotent = c.idempotent;
    spec.timeout = c.timeout_ms.map(Duration::from_millis);
    spec.deadline = c.deadline_ms.map(Duration::from_millis);
    spec.headers = c
        .headers
        .iter()
        .map(|h| (h.name.clone(), h.value.clone()))
        .collect();
    Ok(spec)
}

/// The request record (the driver has attached a call's body already).
pub(crate) fn request(r: pc::HttpRequest) -> HttpRequest {
    let (purpose, call) = match r.purpose {
        pc::Purpose::Exchange => (Purpose::Exchange, None),
        pc::Purpose::Refresh => (Purpose::Refresh, None),
        pc::Purpose::Discover => (Purpose::Discover, None),
        pc::Purpose::Call(c) => (Purpose::Call, Some(c.0)),
    };
    let headers = header_block(&r.headers);
    let body_limit = error_body_limit(&r);
    HttpRequest {
        id: r.id.0,
        purpose,
        call,
        method: r.method.as_str().to_string(),
        url: r.url,
        headers,
        body: r.body,
        timeout_ms: ms(r.timeout),
        connect_timeout_ms: ms(r.connect_timeout),
        body_limit,
    }
}

/// The headers as one block: `Name: value` lines joined by `\r\n` (no trailing one).
pub(crate) fn header_block(headers: &[(pc::HeaderText, pc::HeaderText)]) -> String {
    let mut block = String::with_capacity(256);
    for (name, value) in headers {
        if !block.is_empty() {
            block.push_str("\r\n");
        }
        block.push_str(name);
        block.push_str(": ");
        block.push_str(value);
    }
    block
}

/// How much of a non-2xx answer's body to read: what the core reads of any answer it
/// reads (`HttpRequest::body_limit`; a 2xx answer to a call is kept unread instead).
pub(crate) fn error_body_limit(r: &pc::HttpRequest) -> u32 {
    u32::try_from(r.read_limit()).unwrap_or(u32::MAX)
}

pub(crate) fn transport_error(e: TransportErrorKind) -> pc::TransportErrorKind {
    match e {
        TransportErrorKind::Dns => pc::TransportErrorKind::Dns,
        TransportErrorKind::Connect => pc::TransportErrorKind::Connect,
        TransportErrorKind::Tls => pc::TransportErrorKind::Tls,
        TransportErrorKind::ConnectTimeout => pc::TransportErrorKind::ConnectTimeout,
        TransportErrorKind::Timeout => pc::TransportErrorKind::Timeout,
        TransportErrorKind::Aborted => pc::TransportErrorKind::Aborted,
        TransportErrorKind::Protocol => pc::TransportErrorKind::Protocol,
        TransportErrorKind::Opaque => pc::TransportErrorKind::Opaque,
    }
}

pub(crate) fn transport_kind(e: pc::TransportErrorKind) -> TransportErrorKind {
    // The core's enum is non-exhaustive: a kind added there and not here reads as opaque
    // (the test `every_transport_kind_round_trips` fails first).
    TransportErrorKind::ALL
        .into_iter()
        .find(|k| transport_error(*k) == e)
        .unwrap_or(TransportErrorKind::Opaque)
}

impl TransportErrorKind {
    /// Every kind, in the core's table order.
    pub const ALL: [TransportErrorKind; 8] = [
        TransportErrorKind::Dns,
        TransportErrorKind::Connect,
        TransportErrorKind::Tls,
        TransportErrorKind::ConnectTimeout,
        TransportErrorKind::Timeout,
        TransportErrorKind::Aborted,
        TransportErrorKind::Protocol,
        TransportErrorKind::Opaque,
    ];
}

pub(crate) fn error_kind(k: pc::ErrorKind) -> ErrorKind {
    use pc::ErrorKind as K;
    match k {
        K::InvalidApiKey => ErrorKind::InvalidApiKey,
        K::SessionExpired => ErrorKind::SessionExpired,
        K::NoSession => ErrorKind::NoSession,
        K::CdnBlocked => ErrorKind::CdnBlocked,
        K::InsufficientScope => ErrorKind::InsufficientScope,
        K::Billing => ErrorKind::Billing,
        K::Validation => ErrorKind::Validation,
        K::NotFound => ErrorKind::NotFound,
        K::RateLimited => ErrorKind::RateLimited,
        K::Server => ErrorKind::Server,
        K::Network(_) => ErrorKind::Network,
        K::MalformedResponse => ErrorKind::MalformedResponse,
        K::UnexpectedStatus => ErrorKind::UnexpectedStatus,
        K::InvalidConfig => ErrorKind::InvalidConfig,
        K::KeyInBrowser => ErrorKind::KeyInBrowser,
        K::InvalidCall => ErrorKind::InvalidCall,
        K::Cancelled => ErrorKind::Cancelled,
        K::Closed => ErrorKind::Closed,
        // Non-exhaustive upstream; `every_error_kind_has_its_core_name` keeps this unused.
        _ => ErrorKind::UnexpectedStatus,
    }
}

pub(crate) fn failure(e: &pc::CallError) -> Failure {
    Failure {
        kind: error_kind(e.kind),
        transport: e.kind.transport().map(transport_kind),
        status: e.status,
        retryable: e.retryable,
        retry_after_ms: e.retry_after.map(ms),
        request_id: e.request_id.clone(),
        cause: e.cause.to_string(),
        fix: e.fix.to_string(),
        server_message: e.server_message.clone(),
        attempts: e.attempts,
        message: e.message(),
    }
}

fn change(c: pc::SessionChange) -> SessionChange {
    match c {
        pc::SessionChange::Exchanged => SessionChange::Exchanged,
        pc::SessionChange::Refreshed => SessionChange::Refreshed,
        pc::SessionChange::HandedOver => SessionChange::HandedOver,
        pc::SessionChange::Restored => SessionChange::Restored,
        pc::SessionChange::Cleared => SessionChange::Cleared,
    }
}

fn region_reason(r: pc::RegionReason) -> RegionReason {
    match r {
        pc::RegionReason::Discovered => RegionReason::Discovered,
        pc::RegionReason::Fallback => RegionReason::Fallback,
        pc::RegionReason::Failover => RegionReason::Failover,
        pc::RegionReason::Configured => RegionReason::Configured,
    }
}

/// The app-facing events; `None` for the driver's own (call endings, aborts).
pub(crate) fn event(e: &pc::Event) -> Option<DriverEvent> {
    Some(match e {
        pc::Event::SessionChanged {
            reason,
            info,
            snapshot,
        } => DriverEvent::SessionChanged {
            reason: change(*reason),
            session_id: info.as_ref().and_then(|i| i.session_id.clone()),
            expires_at_ms: info.as_ref().map(|i| i.expires_at.as_millis()),
            snapshot_json: snapshot.as_ref().map(|s| s.to_json()),
        },
        pc::Event::SessionEnded { error } => DriverEvent::SessionEnded {
            failure: failure(error),
        },
        pc::Event::RegionChanged {
            region,
            endpoint,
            reason,
        } => DriverEvent::RegionChanged {
            region: region.clone(),
            endpoint: endpoint.clone(),
            reason: region_reason(*reason),
        },
        _ => return None,
    })
}
