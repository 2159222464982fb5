//! Runs every scenario in tests/conformance/scenarios against a fresh emulator each.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

#[test]
fn every_conformance_scenario_passes() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 25,
        "at least 25 scenarios, found {}",
        files.len()
    );
    let only = std::env::var("SCENARIO").ok();
    let results: Vec<(String, Result<(), String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .iter()
            .filter(|f| {
                only.as_ref()
                    .is_none_or(|o| f.file_stem().is_some_and(|n| n == o.as_str()))
            })
            .map(|f| {
                s.spawn(move || {
                    let text = std::fs::read_to_string(f).unwrap();
                    let name = f.file_stem().unwrap().to_string_lossy().into_owned();
                    let result =
                        match serde_json::from_str::<polargrid_conformance::Scenario>(&text) {
                            Ok(sc) if sc.name != name => {
                                Err(format!("name {:?} differs from the file name", sc.name))
                            }
                            Ok(sc) => polargrid_conformance::run(&sc),
                            Err(e) => Err(format!("unreadable scenario: {e}")),
                        };
                    (name, result)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut failed = 0;
    for (name, r) in &results {
        match r {
            Ok(()) => println!("scenario {name} ... ok"),
            Err(e) => {
                failed += 1;
                println!("scenario {name} ... FAILED: {e}");
            }
        }
    }
    println!(
        "conformance: {} passed, {failed} failed",
        results.len() - failed
    );
    assert_eq!(failed, 0, "{failed} conformance scenario(s) failed");
}
