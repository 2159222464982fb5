//! # polargrid-sim
//!
//! Deterministic simulation of `polargrid_core::Client` against the PolarGrid service
//! model (`polargrid_emulator::Model`), stepped in memory: no HTTP, no threads, no
//! sleeps. A simulated clock jumps from one thing to the next; every answer comes from
//! the model; faults come from a plan derived from the seed. Same seed, same trace.
//!
//! Each random run is 30 days of a client's life — an app calling at a varying rate
//! (bursts of concurrent callers, idle hours and nights, chat/models/completions/tokens
//! calls, model hints, cancellations, short timeouts) under a fault plan (dropped,
//! delayed and slow answers, 5xx and 429 bursts with `Retry-After` in seconds or as a
//! date, region/auth/autorouter outages, revoked and rotated-underneath refresh
//! tokens, device sleep, client clock steps both ways, skewed server clocks, hosts
//! stamping `Date` by their own (drifting or absurd) clocks, restarts
//! from the persisted snapshot, a second client sharing the snapshot, background tabs
//! resuming with queued calls), in session, handoff or direct mode, over loopback
//! http or https — then the faults stop and a final window checks recovery.
//!
//! The invariants are listed in [`invariants`]; they are checked after every step and
//! the first violation stops the run. A failure prints the seed, the (shrunk) fault
//! plan, the last steps (no secrets) and the command that replays it:
//!
//! ```text
//! SIM_SEED=1234 cargo test -p polargrid-sim --release -- replay_seed --nocapture
//! ```
//!
//! ## Use
//! ```no_run
//! let stats = polargrid_sim::run_seed(42, true).map_err(|f| f.to_string())?;
//! println!("recovered in {} ms", stats.recovery_ms);
//! # Ok::<(), String>(())
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod actions;
mod checks;
mod clocks;
pub mod driver;
pub mod invariants;
pub mod net;
pub mod plan;
pub mod report;
pub mod scenarios;
mod slot;
pub mod trace;

pub use driver::{RunStats, Sim, T0};
pub use invariants::{Invariant, Violation};
pub use plan::{generate, Plan};
pub use report::{replay_command, run_plan, run_seed, seed_plan, Failure};
pub use slot::Counts;
