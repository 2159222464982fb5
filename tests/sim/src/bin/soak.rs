//! Soak: many 30-day seeds on every core.
//!
//! ```text
//! cargo run -p polargrid-sim --release --bin soak -- [--seeds 10000] [--start 0] [--threads N] [--no-shrink]
//! ```
//! Prints every failure (shrunk, with its replay command), then one summary line: seeds
//! run, invariant breaks, the slowest recovery (seed and time), simulated days, wall
//! time. Exits non-zero when an invariant broke.
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;

use polargrid_sim::plan::{fmt_dur, DAY};
use polargrid_sim::run_seed;

struct Args {
    seeds: u64,
    start: u64,
    threads: u64,
    shrink: bool,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        seeds: 10_000,
        start: 0,
        threads: thread::available_parallelism().map_or(2, |n| n.get() as u64),
        shrink: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{name} needs a number"))
        };
        match flag.as_str() {
            "--seeds" => a.seeds = number("--seeds")?,
            "--start" => a.start = number("--start")?,
            "--threads" => a.threads = number("--threads")?.max(1),
            "--no-shrink" => a.shrink = false,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

#[allow(clippy::disallowed_methods)] // wall time for the summary line
fn main() -> ExitCode {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("soak: {e}\nusage: soak [--seeds N] [--start S] [--threads T] [--no-shrink]");
            return ExitCode::from(2);
        }
    };
    let began = std::time::Instant::now();
    let next = Arc::new(AtomicU64::new(a.start));
    let end = a.start + a.seeds;
    let workers: Vec<_> = (0..a.threads)
        .map(|_| {
            let next = Arc::clone(&next);
            let shrink = a.shrink;
            thread::spawn(move || {
                let (mut ran, mut broke, mut simulated, mut slowest) =
                    (0u64, 0u64, 0u64, (0u64, 0u64));
                loop {
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed >= end {
                        break;
                    }
                    ran += 1;
                    match run_seed(seed, shrink) {
                        Ok(s) => {
                            simulated += s.simulated_ms;
                            if s.recovery_ms > slowest.1 {
                                slowest = (seed, s.recovery_ms);
                            }
                        }
                        Err(f) => {
                            broke += 1;
                            println!("{f}");
                        }
                    }
                }
                (ran, broke, simulated, slowest)
            })
        })
        .collect();
    let (mut ran, mut broke, mut simulated, mut slowest) = (0, 0, 0, (0, 0));
    for w in workers {
        let Ok((r, b, s, slow)) = w.join() else {
            eprintln!("soak: a worker panicked");
            return ExitCode::FAILURE;
        };
        ran += r;
        broke += b;
        simulated += s;
        if slow.1 > slowest.1 {
            slowest = slow;
        }
    }
    println!(
        "soak: {ran} seeds ({}..{end}) on {} threads, {broke} invariant breaks, slowest recovery {} (seed {}), {} simulated days, {:.1?} wall",
        a.start,
        a.threads,
        fmt_dur(slowest.1),
        slowest.0,
        simulated / DAY,
        began.elapsed()
    );
    if broke == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
