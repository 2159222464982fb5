//! `conformance --adapter <name> --scenarios <dir> [--jobs N] [--only NAME]`: runs every
//! scenario in `dir` through the adapter `tests/conformance/adapters/<name>`, prints one line
//! per scenario (`ok` or `FAILED: reason`) and `N passed, N failed`; exits 1 on any failure.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use polargrid_conformance::{load_dir, run_all, AdapterCommand};

const USAGE: &str =
    "usage: conformance [--adapter NAME|PATH] [--scenarios DIR] [--jobs N] [--only NAME]
  --adapter    tests/conformance/adapters/NAME (default rust), or a path to an executable
  --scenarios  a folder of scenario files (default tests/conformance/scenarios)
  --jobs       scenarios run at once, each with its own emulator and adapter (default 4)
  --only       run only the scenario NAME (repeatable)";

fn main() -> ExitCode {
    let mut adapter = "rust".to_string();
    let mut dir = PathBuf::from("tests/conformance/scenarios");
    let mut jobs = 4usize;
    let mut only: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |what: &str| args.next().ok_or(format!("{what} needs a value"));
        let parsed = match a.as_str() {
            "--adapter" => value("--adapter").map(|v| adapter = v),
            "--scenarios" => value("--scenarios").map(|v| dir = PathBuf::from(v)),
            "--jobs" => value("--jobs").and_then(|v| {
                v.parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .map(|n| jobs = n)
                    .ok_or("--jobs needs a positive number".to_string())
            }),
            "--only" => value("--only").map(|v| only.push(v)),
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => Err(format!("unknown argument {other:?}")),
        };
        if let Err(e) = parsed {
            eprintln!("conformance: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let mut scenarios = match load_dir(&dir) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("conformance: {e}");
            return ExitCode::from(2);
        }
    };
    if !only.is_empty() {
        scenarios.retain(|(name, _)| only.contains(name));
    }
    if scenarios.is_empty() {
        eprintln!("conformance: no scenarios to run in {}", dir.display());
        return ExitCode::from(2);
    }
    let cmd = AdapterCommand::named(&adapter);
    if !cmd.program.is_file() {
        eprintln!(
            "conformance: no adapter {adapter:?} (expected an executable at {})",
            cmd.program.display()
        );
        return ExitCode::from(2);
    }
    let (passed, failed) = run_all(&scenarios, &cmd, jobs, |name, r| match r {
        Ok(alt) if alt.is_empty() => println!("{name} ... ok"),
        Ok(alt) => println!("{name} ... ok, {}", alt.join("; ")),
        Err(e) => println!("{name} ... FAILED: {e}"),
    });
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
