//! Fault injection: down targets, injected statuses, slowness, rate limits.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::date::http_date;
use super::{json_response, Response};

/// What a fault applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// The autorouter (`GET /v1/route`).
    Autorouter,
    /// The auth service (`/v1/auth/*`).
    Auth,
    /// One edge region, by id.
    Region(String),
}

impl Target {
    /// Parses `autorouter`, `auth`, `region:<id>` (or `edge:<id>`).
    pub fn parse(s: &str) -> Option<Target> {
        let s = s.trim();
        match s {
            "autorouter" => Some(Target::Autorouter),
            "auth" => Some(Target::Auth),
            _ => s
                .strip_prefix("region:")
                .or_else(|| s.strip_prefix("edge:"))
                .filter(|id| !id.is_empty())
                .map(|id| Target::Region(id.to_string())),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Autorouter => f.write_str("autorouter"),
            Target::Auth => f.write_str("auth"),
            Target::Region(id) => write!(f, "region:{id}"),
        }
    }
}

/// The value of an injected `Retry-After` header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryAfter {
    /// `Retry-After: <seconds>`.
    Seconds(u64),
    /// `Retry-After: <HTTP date>` this many seconds after the response's server time.
    DateAfter(u64),
    /// `Retry-After: <text>` verbatim (for malformed-header tests).
    Raw(String),
    /// No `Retry-After` header at all.
    Absent,
}

impl RetryAfter {
    fn header_value(&self, now_ms: u64) -> Option<String> {
        match self {
            RetryAfter::Seconds(s) => Some(s.to_string()),
            RetryAfter::DateAfter(s) => {
                Some(http_date(now_ms.saturating_add(s.saturating_mul(1000))))
            }
            RetryAfter::Raw(text) => Some(text.clone()),
            RetryAfter::Absent => None,
        }
    }
}

/// A fault to inject into a [`Target`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Refuse connections until [`Fault::Up`].
    Down,
    /// Accept connections again.
    Up,
    /// Answer `status` (with a JSON error body) for the next `count` requests
    /// (`None`: until cleared).
    Status {
        /// HTTP status to answer, 100–599.
        status: u16,
        /// How many requests; `None` = until cleared.
        count: Option<u32>,
    },
    /// Delay the answer of the next `count` requests by `delay_ms`.
    Slow {
        /// Delay before answering, milliseconds.
        delay_ms: u64,
        /// How many requests; `None` = until cleared.
        count: Option<u32>,
    },
    /// Answer `429` with the given `Retry-After` for the next `count` requests.
    RateLimit {
        /// The `Retry-After` header to send.
        retry_after: RetryAfter,
        /// How many requests; `None` = until cleared.
        count: Option<u32>,
    },
    /// Answer `status` with a `Retry-After` header for the next `count` requests (a `503`
    /// asking to be retried later, for example).
    StatusWithRetryAfter {
        /// HTTP status to answer, 100–599.
        status: u16,
        /// The `Retry-After` header to send.
        retry_after: RetryAfter,
        /// How many requests; `None` = until cleared.
        count: Option<u32>,
    },
    /// Stamp the target's `Date` (and an HTTP-date `Retry-After` it sends) this far off
    /// the model's clock: a host with a wrong clock, or a proxy rewriting `Date`. Tokens
    /// and expiry checks keep the true clock. `0` restores it.
    DateOffset {
        /// Milliseconds added to the model's clock (negative: earlier).
        offset_ms: i64,
    },
    /// Rewrite one field of the next `count` 2xx JSON answers (e.g. a `session_id` with
    /// control characters, a `session_token` with CR/LF).
    Rewrite {
        /// The top-level JSON field.
        field: String,
        /// The new value, or the text appended to the field's string.
        value: String,
        /// Append `value` to the field instead of replacing it.
        append: bool,
        /// How many answers; `None` = until cleared.
        count: Option<u32>,
    },
    /// Remove every status/slow/rate-limit/rewrite fault of the target (not `Down`, not
    /// the date offset).
    Clear,
}

/// A pending rewrite of 2xx JSON answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRewrite {
    /// The top-level JSON field.
    pub field: String,
    /// The new value, or the appended text.
    pub value: String,
    /// Whether `value` is appended.
    pub append: bool,
    /// Remaining answers (`None` = until cleared).
    pub remaining: Option<u32>,
}

/// An answer-replacing fault with its remaining count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAnswer {
    /// `status` or `rate_limit`.
    pub kind: String,
    /// Status answered.
    pub status: u16,
    /// Retry-After for rate limits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<RetryAfter>,
    /// Remaining requests (`None` = until cleared).
    pub remaining: Option<u32>,
}

/// A pending slowness fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSlow {
    /// Delay, milliseconds.
    pub delay_ms: u64,
    /// Remaining requests (`None` = until cleared).
    pub remaining: Option<u32>,
}

/// The faults of one target, as reported by `GET /admin/faults`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetFaults {
    /// Connections refused.
    pub down: bool,
    /// Answer faults, applied front first (each consumes its count before the next applies).
    pub answers: VecDeque<PendingAnswer>,
    /// Slowness applied on top of whatever is answered.
    pub slow: Option<PendingSlow>,
    /// `Date` offset from the model's clock, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_offset_ms: Option<i64>,
    /// Rewrites of 2xx JSON answers, front first.
    #[serde(default, skip_serializing_if = "VecDeque::is_empty")]
    pub rewrites: VecDeque<PendingRewrite>,
}

impl TargetFaults {
    fn is_empty(&self) -> bool {
        !self.down
            && self.answers.is_empty()
            && self.slow.is_none()
            && self.date_offset_ms.is_none()
            && self.rewrites.is_empty()
    }
}

/// Decrements a remaining count; returns whether the fault is now exhausted.
fn consume(remaining: &mut Option<u32>) -> bool {
    match remaining {
        None => false,
        Some(n) => {
            *n = n.saturating_sub(1);
            *n == 0
        }
    }
}

/// All faults, per target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    map: BTreeMap<Target, TargetFaults>,
}

impl Faults {
    /// Applies `fault` to `target` (the target must already be validated).
    pub(crate) fn apply(&mut self, target: &Target, fault: Fault) {
        let entry = self.map.entry(target.clone()).or_default();
        match fault {
            Fault::Down => entry.down = true,
            Fault::Up => entry.down = false,
            Fault::Status { status, count } => {
                if count != Some(0) {
                    entry.answers.push_back(PendingAnswer {
                        kind: "status".to_string(),
                        status,
                        retry_after: None,
                        remaining: count,
                    });
                }
            }
            Fault::StatusWithRetryAfter {
                status,
                retry_after,
                count,
            } => {
                if count != Some(0) {
                    entry.answers.push_back(PendingAnswer {
                        kind: "status".to_string(),
                        status,
                        retry_after: Some(retry_after),
                        remaining: count,
                    });
                }
            }
            Fault::RateLimit { retry_after, count } => {
                if count != Some(0) {
                    entry.answers.push_back(PendingAnswer {
                        kind: "rate_limit".to_string(),
                        status: 429,
                        retry_after: Some(retry_after),
                        remaining: count,
                    });
                }
            }
            Fault::Slow { delay_ms, count } => {
                entry.slow = (count != Some(0)).then_some(PendingSlow {
                    delay_ms,
                    remaining: count,
                });
            }
            Fault::DateOffset { offset_ms } => {
                entry.date_offset_ms = (offset_ms != 0).then_some(offset_ms);
            }
            Fault::Rewrite {
                field,
                value,
                append,
                count,
            } => {
                if count != Some(0) {
                    entry.rewrites.push_back(PendingRewrite {
                        field,
                        value,
                        append,
                        remaining: count,
                    });
                }
            }
            Fault::Clear => {
                entry.answers.clear();
                entry.slow = None;
                entry.rewrites.clear();
            }
        }
        if entry.is_empty() {
            self.map.remove(target);
        }
    }

    /// Whether `target` refuses connections.
    pub fn is_down(&self, target: &Target) -> bool {
        self.map.get(target).is_some_and(|f| f.down)
    }

    /// Every target currently down.
    pub fn down_targets(&self) -> Vec<Target> {
        self.map
            .iter()
            .filter(|(_, f)| f.down)
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// A snapshot of every target's faults.
    pub fn snapshot(&self) -> BTreeMap<String, TargetFaults> {
        self.map
            .iter()
            .map(|(t, f)| (t.to_string(), f.clone()))
            .collect()
    }

    /// Consumes one slowness count of `target`, returning the delay.
    pub(crate) fn take_slow(&mut self, target: &Target) -> Option<u64> {
        let entry = self.map.get_mut(target)?;
        let slow = entry.slow.as_mut()?;
        let delay = slow.delay_ms;
        if consume(&mut slow.remaining) {
            entry.slow = None;
        }
        if entry.is_empty() {
            self.map.remove(target);
        }
        Some(delay)
    }

    /// The clock `target` stamps its `Date` with, for the model's `now_ms`.
    pub(crate) fn stamp_ms(&self, target: &Target, now_ms: u64) -> u64 {
        let offset = self
            .map
            .get(target)
            .and_then(|f| f.date_offset_ms)
            .unwrap_or(0);
        (i128::from(now_ms) + i128::from(offset)).clamp(0, i128::from(u64::MAX)) as u64
    }

    /// Applies (and consumes one count of) the first rewrite of `target` to a 2xx JSON
    /// answer.
    pub(crate) fn rewrite(&mut self, target: &Target, resp: &mut Response) {
        let Some(entry) = self.map.get_mut(target) else {
            return;
        };
        let Some(front) = entry.rewrites.front_mut() else {
            return;
        };
        let Some(serde_json::Value::Object(mut obj)) = resp.json() else {
            return;
        };
        let old = obj.get(&front.field).and_then(|v| v.as_str()).unwrap_or("");
        let new = if front.append {
            format!("{old}{}", front.value)
        } else {
            front.value.clone()
        };
        obj.insert(front.field.clone(), serde_json::Value::String(new));
        resp.body = super::Body::Bytes(serde_json::Value::Object(obj).to_string().into_bytes());
        if consume(&mut front.remaining) {
            entry.rewrites.pop_front();
        }
        if entry.is_empty() {
            self.map.remove(target);
        }
    }

    /// Consumes one answer-fault count of `target`, returning the injected response.
    pub(crate) fn take_answer(&mut self, target: &Target, now_ms: u64) -> Option<Response> {
        let entry = self.map.get_mut(target)?;
        let front = entry.answers.front_mut()?;
        let response = injected_response(front, now_ms);
        if consume(&mut front.remaining) {
            entry.answers.pop_front();
        }
        if entry.is_empty() {
            self.map.remove(target);
        }
        Some(response)
    }
}

fn injected_response(fault: &PendingAnswer, now_ms: u64) -> Response {
    if fault.status == 429 {
        let mut resp = json_response(
            429,
            &serde_json::json!({"message": "Rate limit exceeded", "code": "rate_limited"}),
        );
        if let Some(value) = fault
            .retry_after
            .as_ref()
            .and_then(|r| r.header_value(now_ms))
        {
            resp.headers.push(("retry-after".to_string(), value));
        }
        return resp;
    }
    let mut resp = json_response(
        fault.status,
        &serde_json::json!({
            "message": format!("Injected fault: HTTP {}", fault.status),
            "code": "injected_fault",
        }),
    );
    if let Some(value) = fault
        .retry_after
        .as_ref()
        .and_then(|r| r.header_value(now_ms))
    {
        resp.headers.push(("retry-after".to_string(), value));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_parse_accepts_known_forms_and_rejects_junk() {
        assert_eq!(Target::parse("auth"), Some(Target::Auth));
        assert_eq!(Target::parse("autorouter"), Some(Target::Autorouter));
        assert_eq!(
            Target::parse("region:yto-01"),
            Some(Target::Region("yto-01".to_string()))
        );
        assert_eq!(Target::parse("region:"), None);
        assert_eq!(Target::parse("edgy"), None);
    }

    #[test]
    fn status_fault_applies_count_times_then_disappears() {
        let mut f = Faults::default();
        f.apply(
            &Target::Auth,
            Fault::Status {
                status: 503,
                count: Some(2),
            },
        );
        assert_eq!(f.take_answer(&Target::Auth, 0).map(|r| r.status), Some(503));
        assert_eq!(f.take_answer(&Target::Auth, 0).map(|r| r.status), Some(503));
        assert!(f.take_answer(&Target::Auth, 0).is_none());
        assert!(f.snapshot().is_empty());
    }

    #[test]
    fn answer_faults_queue_in_order() {
        let mut f = Faults::default();
        f.apply(
            &Target::Auth,
            Fault::Status {
                status: 502,
                count: Some(1),
            },
        );
        f.apply(
            &Target::Auth,
            Fault::RateLimit {
                retry_after: RetryAfter::Seconds(3),
                count: Some(1),
            },
        );
        assert_eq!(f.take_answer(&Target::Auth, 0).map(|r| r.status), Some(502));
        let r = f.take_answer(&Target::Auth, 0);
        assert_eq!(r.as_ref().map(|r| r.status), Some(429));
        assert_eq!(r.as_ref().and_then(|r| r.header("retry-after")), Some("3"));
    }

    #[test]
    fn status_fault_with_retry_after_sends_the_header() {
        let mut f = Faults::default();
        let t = Target::Region("yto-01".to_string());
        f.apply(
            &t,
            Fault::StatusWithRetryAfter {
                status: 503,
                retry_after: RetryAfter::Seconds(2),
                count: Some(1),
            },
        );
        let r = f.take_answer(&t, 0);
        assert_eq!(r.as_ref().map(|r| r.status), Some(503));
        assert_eq!(r.as_ref().and_then(|r| r.header("retry-after")), Some("2"));
        assert!(f.take_answer(&t, 0).is_none());
    }

    #[test]
    fn retry_after_date_variant_is_an_http_date() {
        let mut f = Faults::default();
        f.apply(
            &Target::Autorouter,
            Fault::RateLimit {
                retry_after: RetryAfter::DateAfter(5),
                count: None,
            },
        );
        let r = f.take_answer(&Target::Autorouter, 0);
        assert_eq!(
            r.as_ref().and_then(|r| r.header("retry-after")),
            Some("Thu, 01 Jan 1970 00:00:05 GMT")
        );
        // count None: still there
        assert!(f.take_answer(&Target::Autorouter, 0).is_some());
    }

    #[test]
    fn date_offset_moves_the_stamp_and_zero_removes_it() {
        let mut f = Faults::default();
        f.apply(&Target::Auth, Fault::DateOffset { offset_ms: -5_000 });
        assert_eq!(f.stamp_ms(&Target::Auth, 60_000), 55_000);
        assert_eq!(f.stamp_ms(&Target::Auth, 1_000), 0, "clamped at 1970");
        assert_eq!(f.stamp_ms(&Target::Autorouter, 60_000), 60_000);
        f.apply(&Target::Auth, Fault::Clear);
        assert_eq!(f.stamp_ms(&Target::Auth, 60_000), 55_000, "clear keeps it");
        f.apply(&Target::Auth, Fault::DateOffset { offset_ms: 0 });
        assert!(f.snapshot().is_empty());
    }

    #[test]
    fn rewrite_appends_or_replaces_a_field_count_times() {
        let mut f = Faults::default();
        f.apply(
            &Target::Auth,
            Fault::Rewrite {
                field: "session_token".to_string(),
                value: "\r\nX: 1".to_string(),
                append: true,
                count: Some(1),
            },
        );
        let mut r = json_response(200, &serde_json::json!({"session_token": "abc", "n": 1}));
        f.rewrite(&Target::Auth, &mut r);
        let v = r.json().unwrap_or_default();
        assert_eq!(v["session_token"], "abc\r\nX: 1");
        assert_eq!(v["n"], 1);
        let mut again = json_response(200, &serde_json::json!({"session_token": "abc"}));
        f.rewrite(&Target::Auth, &mut again);
        assert_eq!(again.json().unwrap_or_default()["session_token"], "abc");
    }

    #[test]
    fn down_and_up_toggle_and_clear_keeps_down() {
        let mut f = Faults::default();
        let t = Target::Region("yto-01".to_string());
        f.apply(&t, Fault::Down);
        f.apply(
            &t,
            Fault::Slow {
                delay_ms: 10,
                count: Some(1),
            },
        );
        f.apply(&t, Fault::Clear);
        assert!(f.is_down(&t));
        assert!(f.take_slow(&t).is_none());
        f.apply(&t, Fault::Up);
        assert!(!f.is_down(&t));
        assert!(f.down_targets().is_empty());
    }
}
