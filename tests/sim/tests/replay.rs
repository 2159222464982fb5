//! Replays one seed:
//! `SIM_SEED=1234 [SIM_KEEP=0,3,7|none] [SIM_TRACE=1] cargo test -p polargrid-sim --release -- replay_seed --nocapture`.
//! `SIM_KEEP` keeps only those faults (a shrunk plan); `SIM_TRACE` prints every step.
//! Without `SIM_SEED` it does nothing (so it stays green in CI).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use polargrid_sim::{replay_command, run_plan, seed_plan, Sim};

#[test]
fn replay_seed() {
    let Some(seed) = std::env::var("SIM_SEED")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
    else {
        eprintln!(
            "replay_seed: set SIM_SEED=<seed> (and optionally SIM_KEEP=<fault indexes>|none)"
        );
        return;
    };
    let keep: Option<Vec<usize>> = std::env::var("SIM_KEEP").ok().map(|k| {
        k.split(',')
            .filter(|s| !s.trim().is_empty() && s.trim() != "none")
            .map(|s| {
                s.trim()
                    .parse()
                    .expect("SIM_KEEP: comma-separated fault indexes")
            })
            .collect()
    });
    let plan = seed_plan(seed, keep.as_deref());
    eprintln!("replaying: {}", replay_command(seed, keep.as_deref()));
    eprintln!("variant: {:?}", plan.variant);
    for f in &plan.faults {
        eprintln!("  {f}");
    }
    if std::env::var("SIM_TRACE").is_ok() {
        // Every step, not just the last ones.
        let mut sim = Sim::new(plan);
        sim.keep_trace();
        let r = sim.run();
        for s in sim.trace().all() {
            eprintln!("  {s}");
        }
        match r {
            Ok(stats) => eprintln!("seed {seed} passed: {stats:?}"),
            Err(v) => panic!("seed {seed}: {v}"),
        }
        return;
    }
    match run_plan(&plan) {
        Ok(stats) => eprintln!("seed {seed} passed: {stats:?}"),
        Err((v, last)) => {
            for s in &last {
                eprintln!("  {s}");
            }
            panic!("seed {seed}: {v}");
        }
    }
}
