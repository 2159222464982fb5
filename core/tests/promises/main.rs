//! The core's promises at their edges, one module per theme, each test named after the
//! situation it sets up: short-lived JWTs, token parsing and its caps, clock steps,
//! the session's memory (logout, JWT generations, backoff), call validation, the route
//! machine's limits, and server messages. One test binary, not seven: `make mutants`
//! links every test binary once per mutant.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../scripted/mod.rs"]
mod scripted;
#[path = "../support/mod.rs"]
mod support;

mod call_validation;
mod clock_handling;
mod config_limits;
mod http_dates;
mod route_limits;
mod server_messages;
mod session_state;
mod short_lived_jwts;
mod token_parsing;
