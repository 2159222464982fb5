//! Same seed, same trace: every run is a pure function of its seed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use polargrid_sim::{run_seed, scenarios, RunStats, Sim};

fn stats(seed: u64) -> RunStats {
    run_seed(seed, false).unwrap_or_else(|f| panic!("{f}"))
}

#[test]
fn same_seed_gives_the_same_trace_hash() {
    for seed in [7, 1234] {
        let a = stats(seed);
        // Another thread, another time: still the same.
        let b = std::thread::spawn(move || stats(seed)).join().unwrap();
        assert_eq!(a.trace_hash, b.trace_hash, "seed {seed}");
        assert_eq!(a, b, "seed {seed}");
        assert!(a.steps > 1000, "seed {seed} did little: {a:?}");
    }
}

#[test]
fn different_seeds_give_different_traces() {
    assert_ne!(stats(7).trace_hash, stats(8).trace_hash);
}

#[test]
fn a_scenario_replays_step_for_step() {
    let run = || {
        let mut sim = Sim::new(scenarios::shared_refresh_token());
        sim.keep_trace();
        sim.run().unwrap();
        sim.trace().all().to_vec()
    };
    assert_eq!(run(), run());
}
