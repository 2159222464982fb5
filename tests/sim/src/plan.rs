//! What one run does, all derived from its seed: the variant (mode, URLs, lifetimes,
//! routing), the app's workload over 30 days, and the fault plan.
//!
//! Each part draws from its own stream ([`SplitMix64::for_purpose`]), so dropping
//! faults from a plan (shrinking) leaves the workload and the variant unchanged.

use std::fmt;

use polargrid_emulator::model::{RetryAfter, SplitMix64, Target};

/// One second, in milliseconds.
pub const SECOND: u64 = 1000;
/// One minute, in milliseconds.
pub const MINUTE: u64 = 60 * SECOND;
/// One hour, in milliseconds.
pub const HOUR: u64 = 60 * MINUTE;
/// One day, in milliseconds.
pub const DAY: u64 = 24 * HOUR;
/// Simulated life of the client in a random run (faults and workload), before the final window.
pub const LIFE: u64 = 30 * DAY;
/// The fault-free window at the end of every run: probe calls that must succeed.
pub const FINAL_WINDOW: u64 = 10 * MINUTE;
/// After the final window: no new calls; every open call must end within this.
pub const DRAIN: u64 = 15 * MINUTE;
/// Recovery bound: probes started this long after the faults stop must all succeed.
pub const RECOVERY_BOUND: u64 = 2 * MINUTE;
/// The regions of every run, default first.
pub const REGIONS: [&str; 3] = ["yto-01", "yul-01", "nyc-01"];

/// How the client authenticates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimMode {
    /// Key exchanged for a session at the auth service.
    Session,
    /// Key straight to the edges.
    Direct,
    /// No key on the device: a simulated backend mints sessions and hands them over.
    Handoff,
}

/// Where the services live and which URLs the client is configured with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlStyle {
    /// Every service on plain http to 127.0.0.1 (allowed: loopback), one port each.
    Loopback,
    /// Every service on https.
    Https,
    /// Autorouter and auth on loopback http, edges on https (through the endpoints config).
    HttpsEdges,
    /// The autorouter names plain-http, non-loopback edge endpoints: the client must
    /// refuse them and use its https table instead.
    PlainHttpEndpoints,
}

/// How calls are routed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteStyle {
    /// Discovery through the autorouter.
    Auto,
    /// A pinned region (index into [`REGIONS`]), with or without failover.
    Pinned {
        /// Index into [`REGIONS`].
        region: usize,
        /// Whether it may fail over when down.
        failover: bool,
    },
}

/// The fixed shape of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variant {
    /// Authentication mode.
    pub mode: SimMode,
    /// URL layout.
    pub urls: UrlStyle,
    /// Routing.
    pub route: RouteStyle,
    /// JWT lifetime at the model, seconds.
    pub jwt_ttl_s: u64,
    /// Refresh-token lifetime at the model, seconds.
    pub refresh_ttl_s: u64,
    /// `ttl` of route answers, seconds.
    pub route_ttl_s: u64,
    /// Use the admin key (room tokens allowed) instead of the read-write key.
    pub admin_key: bool,
    /// The auth service answers `token` instead of `session_token`.
    pub legacy_token_field: bool,
    /// Handoff: the backend hands over the JWT without its refresh token.
    pub handoff_without_refresh: bool,
    /// Hosts whose clock (the `Date` they stamp) is off, by this many ms.
    pub host_clocks: Vec<(Target, i64)>,
    /// The client runs where the platform hides why a request failed (a browser's
    /// `fetch`): refusals, DNS failures and breaks all reach the core as `opaque`.
    pub opaque_platform: bool,
}

/// What the app asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    /// `GET /v1/models`.
    Models,
    /// `POST /v1/chat/completions`, with an optional model routing hint.
    Chat {
        /// Routing hint and body model.
        model: ModelHint,
        /// `"stream": true`.
        stream: bool,
    },
    /// `POST /v1/completions`.
    Completion,
    /// `POST /v1/tokens` (admin only).
    Tokens,
}

/// A model name for a call's body (and, except `Body`, its routing hint).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelHint {
    /// No hint; body model `llama-3.1-8b`.
    Body,
    /// Hint `llama-3.1-8b`.
    Llama,
    /// Hint `qwen-2.5-7b`.
    Qwen,
    /// A model no region serves (discovery 404, edge 404).
    Unknown,
}

impl ModelHint {
    /// The model name in the body.
    pub fn name(self) -> &'static str {
        match self {
            ModelHint::Body | ModelHint::Llama => "llama-3.1-8b",
            ModelHint::Qwen => "qwen-2.5-7b",
            ModelHint::Unknown => "no-such-model-1b",
        }
    }
}

/// One call the app starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallPlan {
    /// What it asks for.
    pub kind: CallKind,
    /// Cancel it this long after it starts (if still open).
    pub cancel_after: Option<u64>,
    /// Its own timeout (`CallSpec::timeout`), ms.
    pub timeout: Option<u64>,
}

/// Calls the app starts at one instant (one, or a burst of concurrent callers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppAction {
    /// Time from the start of the run, ms.
    pub at: u64,
    /// The calls.
    pub calls: Vec<CallPlan>,
}

/// A fault, or an event of the device's life the client must survive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// Window: answers from `target` are lost with this probability (the server acted).
    Drop {
        /// Where.
        target: Target,
        /// Percent of answers lost.
        percent: u8,
    },
    /// Window: the network adds this much latency to answers from `target`.
    Delay {
        /// Where.
        target: Target,
        /// Extra latency, ms.
        extra_ms: u64,
    },
    /// Window: the model's own `Slow` fault (every answer delayed).
    Slow {
        /// Where.
        target: Target,
        /// Delay, ms.
        delay_ms: u64,
    },
    /// Instant: the next `count` answers of `target` are this status.
    Status {
        /// Where.
        target: Target,
        /// 5xx status.
        status: u16,
        /// How many answers.
        count: u32,
    },
    /// Instant: the next `count` answers of `target` are `429` with this `Retry-After`.
    RateLimit {
        /// Where.
        target: Target,
        /// The header.
        retry_after: RetryAfter,
        /// How many answers.
        count: u32,
    },
    /// Window: `target` refuses connections.
    Down {
        /// Where.
        target: Target,
    },
    /// Instant: the model revokes the main client's current session family.
    RevokeSession,
    /// Instant: the model revokes every session.
    RevokeAll,
    /// Instant: someone else uses the main client's refresh token (the model rotates it).
    RotateUnderneath,
    /// Window: the device sleeps (nothing runs; time passes for everyone).
    Sleep,
    /// Instant: the client's clock steps by this much (NTP, user change).
    ClockStep {
        /// Signed step, ms.
        delta_ms: i64,
    },
    /// Instant: the server clock's offset becomes this.
    ServerSkew {
        /// Offset from true time, ms.
        offset_ms: i64,
    },
    /// Instant: the app restarts from its persisted snapshot.
    Restart,
    /// Window: a second client restored from the same snapshot runs alongside.
    SharedClone,
    /// Window: a background tab: asleep, then resumes with this many queued calls.
    BackgroundResume {
        /// Calls queued while in the background.
        calls: u16,
    },
    /// Window: a busy user — the app calls every `every_ms`.
    Busy {
        /// Time between calls, ms.
        every_ms: u64,
    },
}

impl FaultKind {
    /// Whether it lasts for a window (else it happens at one instant).
    pub fn is_window(&self) -> bool {
        matches!(
            self,
            FaultKind::Drop { .. }
                | FaultKind::Delay { .. }
                | FaultKind::Slow { .. }
                | FaultKind::Down { .. }
                | FaultKind::Sleep
                | FaultKind::SharedClone
                | FaultKind::BackgroundResume { .. }
                | FaultKind::Busy { .. }
        )
    }
}

/// A planned fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// Its number in the seed's full plan (kept when the plan is shrunk).
    pub id: usize,
    /// Start, ms from the start of the run.
    pub at: u64,
    /// Window length (0 for instants).
    pub dur: u64,
    /// What.
    pub kind: FaultKind,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fault {}: {}", self.id, fmt_t(self.at))?;
        if self.kind.is_window() {
            write!(f, " for {}", fmt_dur(self.dur))?;
        }
        match &self.kind {
            FaultKind::Drop { target, percent } => {
                write!(f, " {target} drops {percent}% of answers")
            }
            FaultKind::Delay { target, extra_ms } => {
                write!(f, " {target} +{} latency", fmt_dur(*extra_ms))
            }
            FaultKind::Slow { target, delay_ms } => {
                write!(f, " {target} slow {}", fmt_dur(*delay_ms))
            }
            FaultKind::Status {
                target,
                status,
                count,
            } => write!(f, " {target} answers {status} x{count}"),
            FaultKind::RateLimit {
                target,
                retry_after,
                count,
            } => write!(
                f,
                " {target} answers 429 x{count} retry-after {retry_after:?}"
            ),
            FaultKind::Down { target } => write!(f, " {target} down"),
            FaultKind::RevokeSession => write!(f, " revoke the client's session"),
            FaultKind::RevokeAll => write!(f, " revoke every session"),
            FaultKind::RotateUnderneath => {
                write!(f, " refresh token used behind the client's back")
            }
            FaultKind::Sleep => write!(f, " device asleep"),
            FaultKind::ClockStep { delta_ms } => write!(f, " client clock steps {delta_ms:+}ms"),
            FaultKind::ServerSkew { offset_ms } => {
                write!(f, " server clock offset {offset_ms:+}ms")
            }
            FaultKind::Restart => write!(f, " app restarts from its snapshot"),
            FaultKind::SharedClone => write!(f, " second client from the same snapshot"),
            FaultKind::Busy { every_ms } => {
                write!(f, " busy user, a call every {}", fmt_dur(*every_ms))
            }
            FaultKind::BackgroundResume { calls } => {
                write!(f, " background tab, resumes with {calls} queued calls")
            }
        }
    }
}

/// Everything a run does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The seed it came from.
    pub seed: u64,
    /// The run's shape.
    pub variant: Variant,
    /// App calls, in time order.
    pub workload: Vec<AppAction>,
    /// Faults, in time order.
    pub faults: Vec<Fault>,
    /// When the faults stop and the final window starts (ms from the start).
    pub life: u64,
}

impl Plan {
    /// The same plan keeping only the faults whose id is in `keep`.
    pub fn with_faults(&self, keep: &[usize]) -> Plan {
        let faults = self
            .faults
            .iter()
            .filter(|f| keep.contains(&f.id))
            .cloned()
            .collect();
        Plan {
            faults,
            ..self.clone()
        }
    }

    /// A plan with no workload and no faults: scenarios fill it in.
    pub fn empty(seed: u64, variant: Variant, life: u64) -> Plan {
        Plan {
            seed,
            variant,
            workload: Vec::new(),
            faults: Vec::new(),
            life,
        }
    }

    /// Number of calls the workload starts.
    pub fn call_count(&self) -> usize {
        self.workload.iter().map(|a| a.calls.len()).sum()
    }
}

/// `d03 04:12:05.120` (day and time of day from the start of the run).
pub fn fmt_t(ms: u64) -> String {
    let (d, rest) = (ms / DAY, ms % DAY);
    format!(
        "d{d:02} {:02}:{:02}:{:02}.{:03}",
        rest / HOUR,
        rest % HOUR / MINUTE,
        rest % MINUTE / SECOND,
        rest % SECOND
    )
}

/// `3d4h`, `12m5s`, `250ms`.
pub fn fmt_dur(ms: u64) -> String {
    if ms >= DAY {
        format!("{}d{}h", ms / DAY, ms % DAY / HOUR)
    } else if ms >= HOUR {
        format!("{}h{}m", ms / HOUR, ms % HOUR / MINUTE)
    } else if ms >= MINUTE {
        format!("{}m{}s", ms / MINUTE, ms % MINUTE / SECOND)
    } else if ms >= SECOND {
        format!("{}.{:03}s", ms / SECOND, ms % SECOND)
    } else {
        format!("{ms}ms")
    }
}

/// A small helper over [`SplitMix64`].
pub(crate) struct Dice(pub(crate) SplitMix64);

impl Dice {
    pub(crate) fn new(seed: u64, purpose: &str) -> Dice {
        Dice(SplitMix64::for_purpose(seed, purpose))
    }

    /// `lo..=hi`.
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.0.below(hi.saturating_sub(lo) + 1)
    }

    /// True with probability `percent`/100.
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.0.below(100) < percent
    }

    /// One of `items` (must be non-empty; an empty slice panics in tests only).
    pub(crate) fn pick<T: Copy>(&mut self, items: &[T], fallback: T) -> T {
        let i = self.0.below(items.len() as u64) as usize;
        items.get(i).copied().unwrap_or(fallback)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0.next_u64()
    }
}

/// The plan of a random run.
pub fn generate(seed: u64) -> Plan {
    let mut variant = gen_variant(&mut Dice::new(seed, "variant"));
    variant.host_clocks = crate::clocks::gen_host_clocks(&mut Dice::new(seed, "host-clocks"));
    variant.opaque_platform = Dice::new(seed, "platform").chance(25);
    let workload = gen_workload(&mut Dice::new(seed, "workload"), &variant, LIFE);
    let faults = gen_faults(seed, &variant, LIFE);
    Plan {
        seed,
        variant,
        workload,
        faults,
        life: LIFE,
    }
}

fn gen_variant(d: &mut Dice) -> Variant {
    let mode = match d.range(0, 99) {
        0..=64 => SimMode::Session,
        65..=81 => SimMode::Handoff,
        _ => SimMode::Direct,
    };
    let urls = match d.range(0, 99) {
        0..=54 => UrlStyle::Loopback,
        55..=74 => UrlStyle::Https,
        75..=89 => UrlStyle::HttpsEdges,
        _ => UrlStyle::PlainHttpEndpoints,
    };
    let route = if d.chance(80) {
        RouteStyle::Auto
    } else {
        RouteStyle::Pinned {
            region: d.range(0, 2) as usize,
            failover: d.chance(60),
        }
    };
    let jwt_ttl_s = d.pick(&[30 * 60, 2 * 3600, 6 * 3600, 24 * 3600], 24 * 3600);
    let refresh_ttl_s = d.pick(&[2 * 86_400, 7 * 86_400, 30 * 86_400], 30 * 86_400);
    Variant {
        mode,
        urls,
        route,
        jwt_ttl_s,
        refresh_ttl_s,
        route_ttl_s: d.pick(&[300, 3600, 86_400], 3600),
        admin_key: d.chance(30),
        legacy_token_field: d.chance(15),
        handoff_without_refresh: mode == SimMode::Handoff && d.chance(30),
        host_clocks: Vec::new(),
        opaque_platform: false,
    }
}

/// A call of a random kind; most succeed, a few are expected to fail (tokens without
/// admin, unknown model).
pub(crate) fn gen_call(d: &mut Dice) -> CallPlan {
    let kind = match d.range(0, 99) {
        0..=29 => CallKind::Models,
        30..=49 => CallKind::Chat {
            model: ModelHint::Body,
            stream: d.chance(20),
        },
        50..=64 => CallKind::Chat {
            model: ModelHint::Llama,
            stream: d.chance(20),
        },
        65..=79 => CallKind::Chat {
            model: ModelHint::Qwen,
            stream: d.chance(20),
        },
        80..=89 => CallKind::Completion,
        90..=95 => CallKind::Tokens,
        _ => CallKind::Chat {
            model: ModelHint::Unknown,
            stream: false,
        },
    };
    CallPlan {
        kind,
        cancel_after: d.chance(3).then(|| d.range(0, 3 * SECOND)),
        timeout: d.chance(15).then(|| d.range(2, 20) * SECOND),
    }
}

fn gen_workload(d: &mut Dice, v: &Variant, life: u64) -> Vec<AppAction> {
    let _ = v;
    let mut out = Vec::new();
    let mut day_start = 0;
    while day_start < life {
        // Waking hours shift a little from day to day; some days the app is barely used.
        let wake = d.range(6, 10) * HOUR;
        let sleep = d.range(21, 24) * HOUR;
        let busy_day = d.chance(80);
        let mut hour = day_start + wake;
        while hour < day_start + sleep && hour < life {
            let level = if busy_day { d.range(0, 99) } else { 0 };
            let (calls, bursts) = match level {
                0..=54 => (0, 0),
                55..=81 => (d.range(1, 3), 0),
                82..=94 => (d.range(3, 9), 0),
                _ => (d.range(2, 6), 1),
            };
            for _ in 0..calls {
                out.push(AppAction {
                    at: hour + d.range(0, HOUR - 1),
                    calls: vec![gen_call(d)],
                });
            }
            for _ in 0..bursts {
                let n = d.range(6, 25);
                out.push(AppAction {
                    at: hour + d.range(0, HOUR - 1),
                    calls: (0..n).map(|_| gen_call(d)).collect(),
                });
            }
            hour += HOUR;
        }
        day_start += DAY;
    }
    out.retain(|a| a.at < life);
    out.sort_by_key(|a| a.at);
    out
}

fn gen_target(d: &mut Dice) -> Target {
    match d.range(0, 9) {
        0..=1 => Target::Auth,
        2 => Target::Autorouter,
        _ => Target::Region(d.pick(&REGIONS, "yto-01").to_string()),
    }
}

/// One random fault starting at `at`; windows end by `life` at the latest.
fn gen_fault(d: &mut Dice, v: &Variant, at: u64, life: u64) -> Fault {
    let window = |d: &mut Dice, lo: u64, hi: u64| d.range(lo, hi).min(life.saturating_sub(at));
    let session_mode = v.mode != SimMode::Direct;
    let (dur, kind) = match d.range(0, 99) {
        0..=9 => (
            window(d, MINUTE, 2 * HOUR),
            FaultKind::Drop {
                target: gen_target(d),
                percent: d.pick(&[10, 50, 100], 50),
            },
        ),
        10..=16 => (
            window(d, MINUTE, HOUR),
            FaultKind::Delay {
                target: gen_target(d),
                extra_ms: d.range(500, 90 * SECOND),
            },
        ),
        17..=22 => (
            window(d, MINUTE, HOUR),
            FaultKind::Slow {
                target: gen_target(d),
                delay_ms: d.range(200, 30 * SECOND),
            },
        ),
        23..=34 => (
            0,
            FaultKind::Status {
                target: gen_target(d),
                status: d.pick(&[500, 502, 503, 504], 503),
                count: d.range(1, 40) as u32,
            },
        ),
        35..=43 => (
            0,
            FaultKind::RateLimit {
                target: gen_target(d),
                retry_after: match d.range(0, 3) {
                    0 => RetryAfter::Absent,
                    1 => RetryAfter::DateAfter(d.range(1, 90)),
                    _ => RetryAfter::Seconds(d.range(0, 90)),
                },
                count: d.range(1, 30) as u32,
            },
        ),
        44..=55 => (
            window(d, 10 * SECOND, 3 * HOUR),
            FaultKind::Down {
                target: gen_target(d),
            },
        ),
        56..=59 if session_mode => (0, FaultKind::RevokeSession),
        60..=61 if session_mode => (0, FaultKind::RevokeAll),
        62..=65 if session_mode => (0, FaultKind::RotateUnderneath),
        66..=71 => {
            let dur = match d.range(0, 9) {
                0..=5 => d.range(MINUTE, 2 * HOUR),
                6..=8 => d.range(2 * HOUR, DAY + 2 * HOUR),
                _ => d.range(DAY, 3 * DAY),
            };
            (window(d, dur, dur), FaultKind::Sleep)
        }
        72..=77 => (
            0,
            FaultKind::ClockStep {
                delta_ms: if d.chance(50) {
                    d.range(MINUTE, DAY) as i64
                } else {
                    -(d.range(SECOND, 2 * HOUR) as i64)
                },
            },
        ),
        78..=81 => (
            0,
            FaultKind::ServerSkew {
                offset_ms: d.range(0, 20 * MINUTE) as i64 - (10 * MINUTE) as i64,
            },
        ),
        82..=89 => (0, FaultKind::Restart),
        90..=93 if session_mode => (window(d, 10 * MINUTE, 6 * HOUR), FaultKind::SharedClone),
        94..=99 => (
            window(d, 30 * MINUTE, 10 * HOUR),
            FaultKind::BackgroundResume {
                calls: d.range(5, 40) as u16,
            },
        ),
        _ => (0, FaultKind::Restart),
    };
    Fault {
        id: 0,
        at,
        dur,
        kind,
    }
}

/// The fault plan. The base faults come from one stream; each combined ingredient from
/// its own, and ids follow generation order — so adding an ingredient later changes
/// neither the faults nor the ids of existing seeds (their `SIM_KEEP` lists stay valid).
fn gen_faults(seed: u64, v: &Variant, life: u64) -> Vec<Fault> {
    let d = &mut Dice::new(seed, "faults");
    let n = d.range(15, 60);
    let mut out: Vec<Fault> = (0..n)
        .map(|_| {
            let at = d.range(HOUR, life - HOUR);
            gen_fault(d, v, at, life)
        })
        .collect();
    // Most runs end in a storm: faults still active when they stop, so the final
    // window measures recovery from something.
    if d.chance(75) {
        for _ in 0..d.range(1, 4) {
            let at = life - d.range(SECOND, HOUR);
            let mut f = gen_fault(d, v, at, life);
            if f.kind.is_window() {
                f.dur = life - at;
            }
            out.push(f);
        }
    }
    gen_shared_token(
        &mut Dice::new(seed, "faults/shared-token"),
        v,
        life,
        &mut out,
    );
    gen_slow_auth_outage(
        &mut Dice::new(seed, "faults/slow-auth-outage"),
        v,
        life,
        &mut out,
    );
    gen_rate_limit_revoke(
        &mut Dice::new(seed, "faults/rate-limit-revoke"),
        v,
        life,
        &mut out,
    );
    for (i, f) in out.iter_mut().enumerate() {
        f.id = i;
    }
    out.sort_by_key(|f| f.at);
    out
}

/// Several clients sharing one refresh token: the app restarts from its snapshot
/// while a second tab restores the very same one.
fn gen_shared_token(d: &mut Dice, v: &Variant, life: u64, out: &mut Vec<Fault>) {
    if v.mode != SimMode::Direct && d.chance(30) {
        let at = d.range(HOUR, life - DAY);
        let dur = d.range(30 * MINUTE, 6 * HOUR);
        out.push(Fault {
            id: 0,
            at,
            dur: 0,
            kind: FaultKind::Restart,
        });
        out.push(Fault {
            id: 0,
            at,
            dur,
            kind: FaultKind::SharedClone,
        });
    }
}

/// Slow answers (stale `Date` headers) from every edge, and a busy user, while the
/// auth service is down: the JWT nears its expiry with no refresh possible.
fn gen_slow_auth_outage(d: &mut Dice, v: &Variant, life: u64, out: &mut Vec<Fault>) {
    if v.mode != SimMode::Direct && d.chance(20) {
        let at = d.range(HOUR, life - DAY);
        let dur = d.range(HOUR, 4 * HOUR);
        out.push(Fault {
            id: 0,
            at,
            dur,
            kind: FaultKind::Down {
                target: Target::Auth,
            },
        });
        let delay_ms = d.range(35, 55) * SECOND;
        out.push(Fault {
            id: 0,
            at,
            dur,
            kind: FaultKind::Busy {
                every_ms: d.range(5, 30) * SECOND,
            },
        });
        for r in REGIONS {
            out.push(Fault {
                id: 0,
                at,
                dur,
                kind: FaultKind::Slow {
                    target: Target::Region(r.to_string()),
                    delay_ms,
                },
            });
        }
    }
}

/// The auth service rate-limits while the session gets revoked: edge 401s arrive while
/// the client must wait.
fn gen_rate_limit_revoke(d: &mut Dice, v: &Variant, life: u64, out: &mut Vec<Fault>) {
    if v.mode == SimMode::Session && d.chance(20) {
        let at = d.range(HOUR, life - DAY);
        out.push(Fault {
            id: 0,
            at,
            dur: 0,
            kind: FaultKind::RateLimit {
                target: Target::Auth,
                retry_after: RetryAfter::Seconds(d.range(5, 60)),
                count: d.range(2, 15) as u32,
            },
        });
        out.push(Fault {
            id: 0,
            at: at + d.range(0, 10 * MINUTE),
            dur: 0,
            kind: FaultKind::RevokeSession,
        });
    }
}
