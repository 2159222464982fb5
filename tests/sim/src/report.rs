//! Running a seed, and what a failing seed prints: the seed, the plan, the last steps
//! and the command that replays it, after trying to shrink the fault plan.

use std::fmt;

use crate::driver::{RunStats, Sim};
use crate::invariants::Violation;
use crate::plan::{fmt_t, generate, Plan};

/// Most shrinking runs tried for one failure.
const MAX_SHRINK_RUNS: usize = 80;

/// A failed run, ready to print.
#[derive(Clone, Debug)]
pub struct Failure {
    /// The plan that failed (after shrinking, when it helped).
    pub plan: Plan,
    /// Fault indexes of the seed's full plan kept in `plan` (`None`: all of them).
    pub kept: Option<Vec<usize>>,
    /// What broke (in `plan`).
    pub violation: Violation,
    /// The last steps before it broke.
    pub last_steps: Vec<String>,
    /// Faults in the seed's full plan.
    pub original_faults: usize,
}

impl Failure {
    /// The command that replays this failure.
    pub fn replay_command(&self) -> String {
        replay_command(self.plan.seed, self.kept.as_deref())
    }
}

/// `SIM_SEED=… [SIM_KEEP=…] cargo test -p polargrid-sim --release -- replay_seed --nocapture`.
pub fn replay_command(seed: u64, kept: Option<&[usize]>) -> String {
    let keep = match kept {
        Some(k) => format!(
            " SIM_KEEP={}",
            if k.is_empty() {
                "none".to_string()
            } else {
                k.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
            }
        ),
        None => String::new(),
    };
    format!(
        "SIM_SEED={seed}{keep} cargo test -p polargrid-sim --release -- replay_seed --nocapture"
    )
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.plan;
        writeln!(f, "=== simulation seed {} FAILED", p.seed)?;
        writeln!(f, "{}", self.violation)?;
        writeln!(f, "variant: {:?}", p.variant)?;
        writeln!(
            f,
            "workload: {} calls in {} actions; faults: {} of the seed's {}{}",
            p.call_count(),
            p.workload.len(),
            p.faults.len(),
            self.original_faults,
            if self.kept.is_some() { " (shrunk)" } else { "" }
        )?;
        for fault in &p.faults {
            writeln!(f, "  {fault}")?;
        }
        writeln!(
            f,
            "last {} steps (true time from the start, client.instance):",
            self.last_steps.len()
        )?;
        for s in &self.last_steps {
            writeln!(f, "  {s}")?;
        }
        writeln!(f, "failed at {}", fmt_t(self.violation.t))?;
        writeln!(f, "replay: {}", self.replay_command())?;
        if self.kept.is_some() {
            writeln!(f, "replay the full plan: {}", replay_command(p.seed, None))?;
        }
        Ok(())
    }
}

/// Runs `plan` once.
pub fn run_plan(plan: &Plan) -> Result<RunStats, (Violation, Vec<String>)> {
    let mut sim = Sim::new(plan.clone());
    sim.run().map_err(|v| {
        let last = sim.trace().last().map(ToString::to_string).collect();
        (v, last)
    })
}

/// The plan of `seed`, keeping only the faults in `keep` (all when `None`).
pub fn seed_plan(seed: u64, keep: Option<&[usize]>) -> Plan {
    let plan = generate(seed);
    match keep {
        Some(k) => plan.with_faults(k),
        None => plan,
    }
}

/// Runs a random seed; on failure, shrinks the fault plan (unless `shrink` is false)
/// and returns what to print.
pub fn run_seed(seed: u64, shrink: bool) -> Result<RunStats, Box<Failure>> {
    let plan = generate(seed);
    let (violation, last) = match run_plan(&plan) {
        Ok(stats) => return Ok(stats),
        Err(e) => e,
    };
    let original_faults = plan.faults.len();
    if shrink {
        if let Some((kept, v, last)) = shrink_faults(&plan, &violation) {
            return Err(Box::new(Failure {
                plan: plan.with_faults(&kept),
                kept: Some(kept),
                violation: v,
                last_steps: last,
                original_faults,
            }));
        }
    }
    Err(Box::new(Failure {
        plan,
        kept: None,
        violation,
        last_steps: last,
        original_faults,
    }))
}

/// Drops faults (halves, then quarters, … then one at a time) while the same
/// invariant still breaks. `None` when nothing could be dropped.
pub fn shrink_faults(
    plan: &Plan,
    violation: &Violation,
) -> Option<(Vec<usize>, Violation, Vec<String>)> {
    let mut kept: Vec<usize> = plan.faults.iter().map(|f| f.id).collect();
    let mut best: Option<(Violation, Vec<String>)> = None;
    let mut runs = 0;
    let mut chunk = kept.len().div_ceil(2).max(1);
    while !kept.is_empty() && runs < MAX_SHRINK_RUNS {
        let mut start = 0;
        let mut changed = false;
        while start < kept.len() && runs < MAX_SHRINK_RUNS {
            let end = (start + chunk).min(kept.len());
            let trial: Vec<usize> = kept
                .iter()
                .enumerate()
                .filter(|(i, _)| *i < start || *i >= end)
                .map(|(_, f)| *f)
                .collect();
            runs += 1;
            match run_plan(&plan.with_faults(&trial)) {
                Err((v, last)) if v.invariant == violation.invariant => {
                    kept = trial;
                    best = Some((v, last));
                    changed = true;
                }
                _ => start = end,
            }
        }
        if chunk == 1 && !changed {
            break;
        }
        chunk = (chunk / 2).max(1);
    }
    best.map(|(v, last)| (kept, v, last))
}
