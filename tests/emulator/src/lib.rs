//! A local PolarGrid: autorouter, auth service and edge regions of an edge-AI
//! inference service with an OpenAI-compatible API, served over real HTTP on
//! 127.0.0.1, with fault injection and a request log. The wire facts follow
//! `PROTOCOL.md`.
//!
//! # Layers
//! - [`model`]: the whole service as a pure state machine with an injected clock
//!   ([`Model::handle`]`(now_ms, role, request) -> Outcome`). No IO, no threads, no
//!   clock of its own; randomness from a seed. A deterministic simulator can step it
//!   directly.
//! - [`server`]: one listener per role on 127.0.0.1 (port 0), a thread per
//!   keep-alive connection, `now = SystemTime::now() + clock offset`. [`Emulator`] is the
//!   in-process handle; dropping it closes every listener.
//! - the `polargrid-emulator` binary ([`cli`]): prints the startup JSON line, serves
//!   until stdin reaches EOF (`--no-stdin`: until killed).
//!
//! # Startup JSON (first stdout line; `GET /admin/info`; [`Emulator::info`])
//! ```json
//! {"autorouter":"http://127.0.0.1:P","auth":"http://127.0.0.1:P","admin":"http://127.0.0.1:P",
//!  "regions":[{"id":"yto-01","name":"Toronto","country":"CA","url":"http://127.0.0.1:P"}],
//!  "keys":{"read_write":"pg_…","read_only":"pg_…","admin":"pg_…","revoked":"pg_…","no_credits":"pg_…"},
//!  "jwt_ttl_s":86400,"refresh_ttl_s":2592000}
//! ```
//!
//! # Admin API (admin listener; JSON in and out; never faulted, never logged)
//! | request | body | answer |
//! |---|---|---|
//! | `GET /admin/info` | | the startup JSON |
//! | `GET /admin/log[?role=autorouter\|auth\|edge&region=ID&path=P]` | | `{"entries":[LogEntry…]}` |
//! | `POST /admin/log/clear` | | `{"cleared":N}` |
//! | `GET /admin/faults` | | `{"faults":{"auth":{…},"region:yto-01":{…}},"clock_offset_ms":N}` |
//! | `POST /admin/fault` | `{"target":"autorouter"\|"auth"\|"region:ID","kind":K,…}` | `{"ok":true,"faults":{…}}` |
//! | `GET /admin/clock` · `POST /admin/clock` | `{"advance_ms":N}` and/or `{"offset_ms":N}` | `{"offset_ms":N,"now_ms":T}` |
//! | `POST /admin/revoke` | `{"session_id":"ses_…"}` or `{"all":true}` or `{"key":"pg_…"}` | `{"revoked":N}` (404 if unknown) |
//! | `POST /admin/models` | `{"region":"ID","models":["…"]}` | `{"region":…,"models":[…]}` |
//! | `POST /admin/config` | any of `jwt_ttl_s`, `refresh_ttl_s`, `route_ttl_s`, `legacy_token_field` | the current values |
//! | `GET /admin/sessions` | | `{"active":["ses_…"]}` |
//! | `POST /admin/reset` | | `{"ok":true}`: startup state again (same keys, same ports) |
//!
//! Fault kinds `K`: `down` (connections refused: the listener is closed before
//! the admin answer is sent), `up` (rebinds the same port), `status` (`"status":503`;
//! with `retry_after`/`retry_after_date_s` as below it sends `Retry-After` too),
//! `slow` (`"delay_ms":2000`), `rate_limit` (`429`; `"retry_after":"2"` or `2`
//! seconds, a non-numeric string verbatim, `null` for no header, or
//! `"retry_after_date_s":5` for an HTTP date 5 s ahead), `clear` (drops
//! status/slow/rate-limit faults of the target). `count` (default 1) is how many
//! requests the fault applies to; `"forever":true` until cleared. Status and
//! rate-limit faults queue in order; `slow` adds its delay to whatever is answered.
//! Preflight `OPTIONS` requests never consume faults. Bad input: `400`, unknown
//! region: `404`, unknown path: `404`, wrong method: `405`.
//!
//! # Request log
//! Every request to the autorouter, auth service and edges, in order, as a
//! [`model::LogEntry`]: `seq`, `time_ms` (server time), `role` (+ `region`),
//! `method`, `path`, `query` (credential-looking values `<redacted>`),
//! `credential` (`none` | `key` | `jwt` | `refresh_token` | `other`: the kind, never
//! the secret), `request_id`, `status` (a number or `"refused"`), `delay_ms`.
//! Connections to a down target are refused by the kernel (no listener), so they
//! never reach the log; only a request that raced with the close is logged
//! `"refused"`. Requests too malformed to parse (`400`/`413`/`431`) are not logged.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod cli;
pub mod model;
pub mod server;

pub use model::{Model, ModelConfig, Role, StartupInfo};
pub use server::{Emulator, EmulatorConfig};
