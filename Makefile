# The two commands the README opens with: `make demo` and `make test`.
.PHONY: demo test bench wasm-size soak fuzz fuzz-smoke mutants

demo:
	cargo run --quiet -p polargrid-blocking --example quickstart

test:
	scripts/test.sh

bench:
	cargo bench --quiet -p polargrid-core --bench core_bench

# The core's wasm size (raw and gzip -9, no wasm-opt): a relative measure for changes.
wasm-size:
	scripts/wasm-size.sh

# Every fuzz target for FUZZ_SECONDS each (default 60); fuzz-smoke is CI's 10 s each.
fuzz:
	scripts/fuzz.sh $(or $(FUZZ_SECONDS),60)

fuzz-smoke:
	scripts/fuzz.sh --smoke

# 10,000 simulated 30-day lives of a client; prints seeds run, breaks and the slowest recovery.
soak:
	cargo run --quiet --release -p polargrid-sim --bin soak -- --seeds $(or $(SOAK_SEEDS),10000)

# cargo-mutants over the core's machines and parsers, judged by the core's own tests;
# prints caught/missed/score per file (long: see README). MUTANTS_FILES="session call" narrows it.
mutants:
	scripts/mutants.sh
