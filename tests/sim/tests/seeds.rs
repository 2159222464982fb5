//! Random seeds: `SIM_SEEDS` of them (default 200: about 35-45 s in a debug build on
//! 2 cores) from `SIM_SEED_START` (default 0), spread over the machine's cores. Each is
//! 30 simulated days; a failure is shrunk and printed with the command that replays it.
//! `--nocapture` shows the summary line (seeds, breaks, slowest recovery, days, time).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::thread;

use polargrid_sim::plan::{fmt_dur, DAY};
use polargrid_sim::{run_seed, Failure, RunStats};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

#[test]
#[allow(clippy::disallowed_methods)] // wall time, for the summary line only
fn seeds() {
    let count = env_u64("SIM_SEEDS", 200);
    let start = env_u64("SIM_SEED_START", 0);
    let threads = thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8) as u64;
    let began = std::time::Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|k| {
            thread::spawn(move || {
                (start + k..start + count)
                    .step_by(threads as usize)
                    .map(|seed| (seed, run_seed(seed, true)))
                    .collect::<Vec<(u64, Result<RunStats, Box<Failure>>)>>()
            })
        })
        .collect();
    let mut results: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    results.sort_by_key(|(seed, _)| *seed);
    let mut failures = Vec::new();
    let (mut slowest, mut simulated) = ((0, 0), 0);
    for (seed, r) in &results {
        match r {
            Ok(stats) => {
                simulated += stats.simulated_ms;
                if stats.recovery_ms >= slowest.1 {
                    slowest = (*seed, stats.recovery_ms);
                }
            }
            Err(f) => failures.push(f),
        }
    }
    for f in &failures {
        eprintln!("{f}");
    }
    eprintln!(
        "sim: {} seeds ({start}..{}), {} invariant breaks, slowest recovery {} (seed {}), {} simulated days, {:.1?} wall",
        results.len(),
        start + count,
        failures.len(),
        fmt_dur(slowest.1),
        slowest.0,
        simulated / DAY,
        began.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} seeds broke an invariant; replay with:\n{}",
        failures.len(),
        failures
            .iter()
            .map(|f| format!("  {}", f.replay_command()))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
