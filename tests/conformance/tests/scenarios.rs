//! Runs every scenario in tests/conformance/scenarios through the Rust adapter (the
//! `adapter-rust` binary, over the adapter protocol), each with its own emulator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use polargrid_conformance::{load_dir, run_all, AdapterCommand};

#[test]
fn every_conformance_scenario_passes_through_the_rust_adapter() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut scenarios = load_dir(&dir).unwrap();
    assert!(
        scenarios.len() >= 25,
        "at least 25 scenarios, found {}",
        scenarios.len()
    );
    if let Ok(only) = std::env::var("SCENARIO") {
        scenarios.retain(|(name, _)| *name == only);
    }
    let adapter = AdapterCommand::new(env!("CARGO_BIN_EXE_adapter-rust"));
    let (passed, failed) = run_all(&scenarios, &adapter, 4, |name, r| match r {
        Ok(alt) if alt.is_empty() => println!("scenario {name} ... ok"),
        Ok(alt) => println!("scenario {name} ... ok, {}", alt.join("; ")),
        Err(e) => println!("scenario {name} ... FAILED: {e}"),
    });
    println!("conformance: {passed} passed, {failed} failed");
    assert_eq!(failed, 0, "{failed} conformance scenario(s) failed");
}
