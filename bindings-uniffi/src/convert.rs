//! Conversions between the exported records and the core's types, all in one place.

use core::time::Duration;

use polargrid_core as pc;

use crate::{
    AuthMode, BodyRule, CallFailure, CallRequest, DriverEvent, Header, HttpRequest, Options,
    PolarGridError, TransportError,
};

pub(crate) fn config(api_key: Option<String>, o: &Options) -> Result<pc::Config, PolarGridError> {
    let mut cfg = pc::Config::handoff();
    cfg.mode = match o.mode {
        AuthMode::Session => pc::Mode::Session,
        AuthMode::Direct => pc::Mode::Direct,
        AuthMode::Handoff => pc::Mode::Handoff,
    };
    cfg.api_key = api_key.map(pc::Secret::new);
    match (&o.region, &o.base_url) {
        (Some(_), Some(_)) => {
            return Err(config_error(
                "region and base_url were both given; fix: pass one of them (or neither, to auto-route)",
            ))
        }
        (Some(r), None) => cfg.routing = pc::Routing::Region(r.clone()),
        (None, Some(u)) => cfg.routing = pc::Routing::BaseUrl(u.clone()),
        (None, None) => {}
    }
    if let Some(s) = &o.scope {
        cfg.scope = pc::DiscoveryScope::parse(s);
    }
    if let Some(json) = &o.endpoints_json {
        cfg.endpoints = pc::Endpoints::from_json(json).map_err(|e| config_error(&e.to_string()))?;
    }
    cfg.failover_pinned = o.failover_pinned;
    if let Some(n) = o.max_attempts {
        cfg.retry.max_attempts = n;
    }
    if let Some(ms) = o.backoff_base_ms {
        cfg.retry.base_backoff = Duration::from_millis(ms);
    }
    if let Some(ms) = o.backoff_max_ms {
        cfg.retry.max_backoff = Duration::from_millis(ms);
    }
    if let Some(ua) = &o.user_agent {
        cfg.user_agent = ua.clone();
    }
    Ok(cfg)
}

pub(crate) fn config_error(message: &str) -> PolarGridError {
    PolarGridError::Config {
        message: message.to_string(),
    }
}

pub(crate) fn misuse(e: pc::MisuseError) -> PolarGridError {
    PolarGridError::Misuse {
        message: e.to_string(),
    }
}

pub(crate) fn call_spec(c: &CallRequest) -> Result<pc::CallSpec, PolarGridError> {
    let method = pc::Method::parse(&c.method).ok_or_else(|| PolarGridError::Misuse {
        message: format!(
            "unsupported method {:?}; use GET, POST, PUT, DELETE, PATCH or HEAD",
            c.method.chars().take(16).collect::<String>()
        ),
    })?;
    let mut spec = pc::CallSpec::new(method, &c.path);
    spec.model = c.model.clone();
    spec.idempotent = c.idempotent;
    spec.timeout = c.timeout_ms.map(Duration::from_millis);
    Ok(spec)
}

pub(crate) fn request(r: pc::HttpRequest) -> HttpRequest {
    let call = match r.purpose {
        pc::Purpose::Call(c) => Some(c.0),
        _ => None,
    };
    HttpRequest {
        id: r.id.0,
        call,
        method: r.method.as_str().to_string(),
        url: r.url,
        headers: r
            .headers
            .into_iter()
            .map(|(name, value)| Header { name, value })
            .collect(),
        body: r.body,
        timeout_ms: u64::try_from(r.timeout.as_millis()).unwrap_or(u64::MAX),
        body_rule: if call.is_some() {
            BodyRule::KeepSuccess
        } else {
            BodyRule::Whole
        },
    }
}

pub(crate) fn transport_error(e: TransportError) -> pc::TransportErrorKind {
    match e {
        TransportError::Dns => pc::TransportErrorKind::Dns,
        TransportError::Connect => pc::TransportErrorKind::Connect,
        TransportError::Tls => pc::TransportErrorKind::Tls,
        TransportError::Timeout => pc::TransportErrorKind::Timeout,
        TransportError::Aborted => pc::TransportErrorKind::Aborted,
    }
}

pub(crate) fn failure(e: &pc::CallError) -> CallFailure {
    CallFailure {
        kind: e.kind.as_str().to_string(),
        transport: match e.kind {
            pc::ErrorKind::Network(t) => Some(t.as_str().to_string()),
            _ => None,
        },
        status: e.status,
        retryable: e.retryable,
        retry_after_ms: e
            .retry_after
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        request_id: e.request_id.clone(),
        cause: e.cause.to_string(),
        fix: e.fix.to_string(),
        server_message: e.server_message.clone(),
        attempts: e.attempts,
        message: e.to_string(),
    }
}

fn change_name(c: pc::SessionChange) -> &'static str {
    match c {
        pc::SessionChange::Exchanged => "exchanged",
        pc::SessionChange::Refreshed => "refreshed",
        pc::SessionChange::HandedOver => "handed_over",
        pc::SessionChange::Restored => "restored",
        pc::SessionChange::Cleared => "cleared",
    }
}

fn region_reason(r: pc::RegionReason) -> &'static str {
    match r {
        pc::RegionReason::Discovered => "discovered",
        pc::RegionReason::Fallback => "fallback",
        pc::RegionReason::Failover => "failover",
        pc::RegionReason::Configured => "configured",
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
            reason: change_name(*reason).to_string(),
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
            reason: region_reason(*reason).to_string(),
        },
        _ => return None,
    })
}
