//! Judging what an adapter did: its call outcomes against a scenario's expectations (with
//! the declared alternatives for platforms that cannot observe a connect or a head) and the
//! emulator's request log against the expected counts.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::scenario::{Expect, LogAlternative, LogExpect, Unobserved};

/// What an adapter's platform can observe, from its `configure` answer
/// (`"observes_connect": false`, `"observes_head": false`; absent means it can).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observes {
    /// Connection establishment: a connect timeout is its own failure.
    pub connect: bool,
    /// The raw answer head: every header, as sent.
    pub head: bool,
}

impl Observes {
    /// Reads the flags from a `configure` answer.
    pub fn from_configured(configured: &Value) -> Observes {
        let flag = |k: &str| configured.get(k) != Some(&Value::Bool(false));
        Observes {
            connect: flag("observes_connect"),
            head: flag("observes_head"),
        }
    }
}

/// The expectation a call step holds an adapter to: the step's `expect`, or the
/// alternative the scenario declares for what the adapter's platform cannot observe
/// (with a note naming it for failure messages). Only a declared alternative for a
/// declared limit replaces `expect`.
pub fn expectation<'a>(
    expect: &'a Expect,
    unobserved: Option<&'a Unobserved>,
    observes: Observes,
) -> (&'a Expect, &'static str) {
    let Some(u) = unobserved else {
        return (expect, "");
    };
    match (&u.connect, &u.head) {
        (Some(a), _) if !observes.connect => (
            &a.expect,
            " (the alternative for a platform that cannot observe connects)",
        ),
        (_, Some(a)) if !observes.head => (
            &a.expect,
            " (the alternative for a platform that cannot observe the head)",
        ),
        _ => (expect, ""),
    }
}

/// Checks one protocol outcome (`{"outcome": "ready"|"error", …}`) against `e`.
pub fn check_outcome(o: &Value, e: &Expect) -> Result<(), String> {
    check_outcome_on(o, e, &Opaque::default())
}

/// The platform-reported kinds an adapter may report as `opaque` instead.
pub const OPAQUE_ABLE: [&str; 6] = [
    "dns",
    "connect",
    "tls",
    "connect_timeout",
    "aborted",
    "protocol",
];

/// What a configured adapter said about the transport kinds its platform can tell.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Opaque {
    /// Always reported as `opaque` (`"opaque_transport": true`: a page's `fetch`).
    pub always: Vec<&'static str>,
    /// Reported as themselves or as `opaque` (`"opaque_kinds": [...]`: a platform that
    /// tells them apart only in some cases, like Swift's corelibs Foundation on Linux for a
    /// refused TLS handshake and some malformed heads). Unknown names are ignored.
    pub sometimes: Vec<&'static str>,
}

/// Reads [`Opaque`] from a `configure` answer.
pub fn opaque_kinds(configured: &Value) -> Opaque {
    if configured.get("opaque_transport") == Some(&Value::Bool(true)) {
        return Opaque {
            always: OPAQUE_ABLE.to_vec(),
            sometimes: Vec::new(),
        };
    }
    let listed = configured.get("opaque_kinds").and_then(Value::as_array);
    Opaque {
        always: Vec::new(),
        sometimes: OPAQUE_ABLE
            .into_iter()
            .filter(|k| listed.is_some_and(|l| l.iter().any(|v| v.as_str() == Some(k))))
            .collect(),
    }
}

/// Whether an adapter reporting `got` meets a scenario's `want`
/// (`TransportErrorKind::as_str`): the same kind, or `opaque` where the adapter said its
/// platform cannot (always or sometimes) tell that kind (the browser column of the core's
/// table; the core's own deadline stays `timeout`). On a platform that always says
/// `opaque`, the exact kind is a failure: it cannot know it.
pub fn transport_matches(want: &str, got: &str, opaque: &Opaque) -> bool {
    if opaque.always.contains(&want) {
        got == "opaque"
    } else {
        got == want || (got == "opaque" && opaque.sometimes.contains(&want))
    }
}

/// [`check_outcome`] for an adapter that said, when configured, which kinds its platform
/// reports as `opaque` ([`opaque_kinds`]).
pub fn check_outcome_on(o: &Value, e: &Expect, opaque: &Opaque) -> Result<(), String> {
    let s = |k: &str| o.get(k).and_then(Value::as_str);
    let status = o.get("status").and_then(Value::as_u64);
    match (s("outcome"), e.outcome.as_str()) {
        (Some("ready"), "ready") => {
            if let Some(want) = e.status {
                if status != Some(u64::from(want)) {
                    return Err(format!("status {status:?} (expected {want})"));
                }
            }
            let region = s("region").unwrap_or_default();
            if let Some(r) = &e.region {
                if region != r {
                    return Err(format!("answered by {region:?} (expected {r})"));
                }
            }
            if e.region_not.as_deref() == Some(region) {
                return Err(format!(
                    "answered by {region}, which should have been avoided"
                ));
            }
            if e.stream_done && o.get("stream_done") != Some(&Value::Bool(true)) {
                return Err("stream did not end with data: [DONE]".into());
            }
            Ok(())
        }
        (Some("error"), "error") => {
            let kind = s("kind").unwrap_or("?");
            let msg = s("message").unwrap_or("");
            if let Some(k) = &e.kind {
                if kind != k {
                    return Err(format!("error kind {kind} (expected {k}): {msg}"));
                }
            }
            if let Some(want) = e.status {
                if status != Some(u64::from(want)) {
                    return Err(format!("error status {status:?} (expected {want}): {msg}"));
                }
            }
            if let Some(r) = e.retryable {
                let got = o.get("retryable").and_then(Value::as_bool);
                if got != Some(r) {
                    return Err(format!("retryable {got:?} (expected {r}): {msg}"));
                }
            }
            if let Some(want) = &e.transport {
                let got = s("transport");
                if !got.is_some_and(|g| transport_matches(want, g, opaque)) {
                    let also = if opaque.always.contains(&want.as_str()) {
                        " as opaque"
                    } else {
                        ""
                    };
                    return Err(format!("transport {got:?} (expected {want}{also}): {msg}"));
                }
            }
            if let Some(want) = &e.cause_contains {
                let got = s("cause").unwrap_or("");
                if !got.contains(want.as_str()) {
                    return Err(format!("cause {got:?} does not contain {want:?}: {msg}"));
                }
            }
            if let Some(want) = e.retry_after_ms {
                let got = o.get("retry_after_ms").and_then(Value::as_u64);
                if got != Some(want) {
                    return Err(format!("retry_after_ms {got:?} (expected {want}): {msg}"));
                }
            }
            Ok(())
        }
        (Some("ready"), want) => Err(format!(
            "call was ready (HTTP {}), expected {want}",
            status.map(|s| s.to_string()).unwrap_or_else(|| "?".into())
        )),
        (Some("error"), want) => Err(format!(
            "call failed ({} {}), expected {want}",
            s("kind").unwrap_or("?"),
            s("message").unwrap_or("")
        )),
        _ => Err(format!("not an outcome: {o}")),
    }
}

/// The counts a log expectation declares for a platform that cannot observe connects, when
/// the adapter declares that limit (every other adapter is held to the step's counts).
pub fn log_alternative(e: &LogExpect, observes: Observes) -> Option<&LogAlternative> {
    e.unobserved
        .as_ref()
        .filter(|_| !observes.connect)
        .map(|u| &u.connect)
}

/// [`check_log`] with the counts the adapter is held to (see [`log_alternative`]).
pub fn check_log_on(log: &Value, e: &LogExpect, observes: Observes) -> Result<(), String> {
    match log_alternative(e, observes) {
        Some(a) => count_log(log, e, a.count, a.min, a.max),
        None => check_log(log, e),
    }
}

/// Checks one log expectation against `GET /admin/log`'s answer.
pub fn check_log(log: &Value, e: &LogExpect) -> Result<(), String> {
    count_log(log, e, e.count, e.min, e.max)
}

/// Counts the entries of `GET /admin/log` that match `e` and checks the count.
fn count_log(
    log: &Value,
    e: &LogExpect,
    count: Option<usize>,
    min: Option<usize>,
    max: Option<usize>,
) -> Result<(), String> {
    let entries = log
        .get("entries")
        .and_then(Value::as_array)
        .or_else(|| log.as_array());
    let entries = entries.ok_or("admin log answer has no entries")?;
    let n = entries
        .iter()
        // CORS preflights (a browser's, before the real request) are not API requests.
        .filter(|x| x.get("method").and_then(Value::as_str) != Some("OPTIONS"))
        .filter(|x| {
            let s = |k: &str| x.get(k).and_then(Value::as_str).map(str::to_string);
            e.role
                .as_ref()
                .is_none_or(|r| s("role").as_ref() == Some(r))
                && e.path
                    .as_ref()
                    .is_none_or(|p| s("path").as_ref() == Some(p))
                && e.region
                    .as_ref()
                    .is_none_or(|r| s("region").as_ref() == Some(r))
                && e.query
                    .as_ref()
                    .is_none_or(|q| s("query").as_ref() == Some(q))
                && (!e.no_query || s("query").is_none_or(|q| q.is_empty()))
                && e.credential.as_ref().is_none_or(|c| {
                    let got = s("credential").unwrap_or_default();
                    if c == "any_secret" {
                        got != "none"
                    } else {
                        &got == c
                    }
                })
                && e.status
                    .as_ref()
                    .is_none_or(|st| x.get("status") == Some(st))
        })
        .count();
    let what = serde_json::to_string(&filter_desc(e)).unwrap_or_default();
    if let Some(c) = count {
        if n != c {
            return Err(format!("log {what}: {n} requests, expected {c}"));
        }
    }
    if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
        return Err(format!(
            "log {what}: {n} requests, expected {min:?}..={max:?}"
        ));
    }
    Ok(())
}

fn filter_desc(e: &LogExpect) -> BTreeMap<&'static str, String> {
    let mut m = BTreeMap::new();
    let mut put = |k: &'static str, v: &Option<String>| {
        if let Some(v) = v {
            m.insert(k, v.clone());
        }
    };
    put("role", &e.role);
    put("path", &e.path);
    put("region", &e.region);
    put("credential", &e.credential);
    put("query", &e.query);
    if let Some(s) = &e.status {
        m.insert("status", s.to_string());
    }
    m
}

/// The emulator's log in one line, for a failed `expect_log`: `#seq +ms role method path
/// credential status` per entry, the time counted from the first entry on the server's
/// clock (so clock jumps show). Credentials are only their kind; queries come redacted.
pub(crate) fn log_summary(log: &Value) -> String {
    let entries = log
        .get("entries")
        .and_then(Value::as_array)
        .or_else(|| log.as_array());
    let Some(entries) = entries else {
        return "no entries".into();
    };
    let t0 = entries
        .first()
        .and_then(|e| e.get("time_ms"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let field = |e: &Value, k: &str| match e.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "-".into(),
        Some(v) => v.to_string(),
    };
    let hidden = entries.len().saturating_sub(LOG_SUMMARY_ENTRIES);
    let mut lines: Vec<String> = entries
        .iter()
        .skip(hidden)
        .map(|e| {
            let t = e.get("time_ms").and_then(Value::as_u64).unwrap_or(t0);
            let region = e.get("region").and_then(Value::as_str);
            format!(
                "#{} +{}ms {}{} {} {} {} {}",
                field(e, "seq"),
                t.saturating_sub(t0),
                field(e, "role"),
                region.map(|r| format!(":{r}")).unwrap_or_default(),
                field(e, "method"),
                field(e, "path"),
                field(e, "credential"),
                field(e, "status"),
            )
        })
        .collect();
    if hidden > 0 {
        lines.insert(0, format!("({hidden} earlier entries)"));
    }
    lines.join("; ")
}

/// The most log entries a failure report shows (the last ones).
pub(crate) const LOG_SUMMARY_ENTRIES: usize = 40;
