//! One path from a binding's options to a checked configuration: every binding (npm,
//! Python, Kotlin, Swift, Rust) fills an [`Options`] from its own constructor's arguments
//! and calls [`Options::build`], so the same options mean the same thing, with the same
//! errors, everywhere.
//!
//! The rules:
//! - `mode` is `session` (the default), `direct` or `handoff`; anything else is refused.
//! - A key where the people using the app can read it (`key_visible_to_users`: a web
//!   page or worker) is refused with [`ConfigError::KeyInBrowser`] unless
//!   `allow_key_in_browser`.
//! - Handoff mode keeps no key: a key there is refused, never silently dropped.
//! - Session and direct mode need a key, even with a session to restore: to run on a
//!   restored session alone, say handoff.
//! - A region and a base URL together are refused (which would win is a guess).
//! - A session to restore must be a snapshot this client wrote; direct mode keeps none.

#[allow(unused_imports)]
use crate::prelude::*;
use core::time::Duration;

use crate::config::{Config, DiscoveryScope, Endpoints, Mode, Routing};
use crate::error::ConfigError;
use crate::secret::Secret;
use crate::snapshot::SessionSnapshot;

/// A binding's options, every field optional (unset means the core's default).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// The `pg_` key.
    pub api_key: Option<String>,
    /// `session` (default), `direct` or `handoff`.
    pub mode: Option<String>,
    /// Pin a region (id like `yto-01` or alias like `toronto`).
    pub region: Option<String>,
    /// A fixed edge base URL (an autorouter URL means auto-routing).
    pub base_url: Option<String>,
    /// Discovery scope: `country` (default) or `global`.
    pub scope: Option<String>,
    /// Where PolarGrid lives, as JSON shaped like the emulator's start-up line.
    pub endpoints_json: Option<String>,
    /// A session snapshot to restore (as the client wrote it).
    pub session_json: Option<String>,
    /// Let a pinned region fail over when it is down.
    pub failover_pinned: bool,
    /// Attempts per call, the first included (1..=20).
    pub max_attempts: Option<u32>,
    /// First retry backoff, ms.
    pub backoff_base_ms: Option<u64>,
    /// Largest retry backoff, ms.
    pub backoff_max_ms: Option<u64>,
    /// Each attempt's time to the answer head, ms (default 60 000).
    pub request_timeout_ms: Option<u64>,
    /// A call as a whole, ms (default twice the request timeout).
    pub call_deadline_ms: Option<u64>,
    /// Establishing a connection, ms, for every request (default 10 000).
    pub connect_timeout_ms: Option<u64>,
    /// Each exchange or refresh request, ms (default 10 000).
    pub auth_timeout_ms: Option<u64>,
    /// `User-Agent` product token, like `polargrid-core-python/0.1.0`.
    pub user_agent: Option<String>,
    /// The app runs where its users can read it (a web page or worker).
    pub key_visible_to_users: bool,
    /// Accept a key even there (local tools only).
    pub allow_key_in_browser: bool,
    /// Whether the transport sees connection establishment (`None`: yes). Only a driver
    /// whose platform hides it says `Some(false)` (the npm browser entry: a page's
    /// `fetch`); see `Config::transport_observes_connect`.
    pub transport_observes_connect: Option<bool>,
}

impl core::fmt::Debug for Options {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The key and the session hold secrets: only say whether they are there.
        f.debug_struct("Options")
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("mode", &self.mode)
            .field("region", &self.region)
            .field("base_url", &self.base_url)
            .field(
                "session_json",
                &self.session_json.as_ref().map(|_| "[redacted]"),
            )
            .finish_non_exhaustive()
    }
}

/// What [`Options::build`] gives: the configuration, and the session to restore.
#[derive(Debug)]
pub struct Built {
    /// The configuration, ready for [`Client::new`](crate::Client::new).
    pub config: Config,
    /// The session to restore with [`Client::restore`](crate::Client::restore), if any.
    pub session: Option<SessionSnapshot>,
}

impl Options {
    /// Applies the rules (module docs) and builds the configuration. The result still
    /// goes through [`Client::new`](crate::Client::new)'s checks (key shape, URLs,
    /// ranges), which report through the same [`ConfigError`].
    pub fn build(&self) -> Result<Built, ConfigError> {
        let mode = match self.mode.as_deref().map(str::trim) {
            None | Some("") | Some("session") => Mode::Session,
            Some("direct") => Mode::Direct,
            Some("handoff") => Mode::Handoff,
            Some(_) => return Err(ConfigError::UnknownMode),
        };
        if self.api_key.is_some() && self.key_visible_to_users && !self.allow_key_in_browser {
            return Err(ConfigError::KeyInBrowser);
        }
        if mode == Mode::Handoff && self.api_key.is_some() {
            return Err(ConfigError::KeyInHandoff);
        }
        let mut cfg = match (mode, &self.api_key) {
            (Mode::Session, Some(k)) => Config::new(k.as_str()),
            (Mode::Direct, Some(k)) => Config::direct(k.as_str()),
            (Mode::Handoff, _) => Config::handoff(),
            (m, None) => {
                let mode = if m == Mode::Direct {
                    "direct"
                } else {
                    "session"
                };
                return Err(ConfigError::MissingApiKey { mode });
            }
        };
        cfg.routing = match (&self.region, &self.base_url) {
            (Some(_), Some(_)) => return Err(ConfigError::RegionAndBaseUrl),
            (Some(r), None) => Routing::Region(r.clone()),
            (None, Some(u)) => Routing::BaseUrl(u.clone()),
            (None, None) => Routing::Auto,
        };
        if let Some(s) = &self.scope {
            cfg.scope = DiscoveryScope::parse(s);
        }
        if let Some(json) = &self.endpoints_json {
            cfg.endpoints = Endpoints::from_json(json)?;
        }
        cfg.failover_pinned = self.failover_pinned;
        if let Some(n) = self.max_attempts {
            cfg.retry.max_attempts = n;
        }
        if let Some(ms) = self.backoff_base_ms {
            cfg.retry.base_backoff = Duration::from_millis(ms);
        }
        if let Some(ms) = self.backoff_max_ms {
            cfg.retry.max_backoff = Duration::from_millis(ms);
        }
        const DAY_MS: u64 = 24 * 3600 * 1000;
        let range = |field, ms: u64| match ms {
            1..=DAY_MS => Ok(Duration::from_millis(ms)),
            _ => Err(ConfigError::OutOfRange {
                field,
                problem: "must be from 1 ms to 24 h",
            }),
        };
        if let Some(ms) = self.request_timeout_ms {
            cfg.timeouts.call = range("request_timeout_ms", ms)?;
        }
        if let Some(ms) = self.call_deadline_ms {
            cfg.timeouts.call_deadline = Some(range("call_deadline_ms", ms)?);
        }
        if let Some(ms) = self.connect_timeout_ms {
            cfg.timeouts.connect = range("connect_timeout_ms", ms)?;
        }
        if let Some(ms) = self.auth_timeout_ms {
            cfg.timeouts.auth = range("auth_timeout_ms", ms)?;
        }
        if let Some(ua) = &self.user_agent {
            cfg.user_agent = ua.clone();
        }
        if let Some(observes) = self.transport_observes_connect {
            cfg.transport_observes_connect = observes;
        }
        let session = match &self.session_json {
            None => None,
            Some(_) if mode == Mode::Direct => {
                return Err(ConfigError::BadSession {
                    problem: "direct mode keeps no session",
                })
            }
            Some(json) => Some(
                SessionSnapshot::from_json(json)
                    .map_err(|e| ConfigError::BadSession { problem: e.cause() })?,
            ),
        };
        Ok(Built {
            config: cfg,
            session,
        })
    }

    /// The key, as the secret type the core keeps it in.
    pub fn api_key_secret(&self) -> Option<Secret> {
        self.api_key.clone().map(Secret::new)
    }
}
