# The two commands the README opens with: `make demo` and `make test`.
.PHONY: demo test bench soak fuzz fuzz-smoke conformance python bench-python

demo:
	cargo run --quiet -p polargrid-blocking --bin quickstart

test:
	scripts/test.sh

bench:
	cargo bench --quiet -p polargrid-core --bench core_bench
	$(MAKE) --no-print-directory bench-python

# The Python wheel (maturin, uniffi; release) into target/wheels/; PYTHON_PROFILE=debug for a debug one.
python:
	scripts/build-python.sh

# polargrid_core vs raw httpx vs the published polargrid-sdk 0.10.0 against a local stub, and import time.
bench-python:
	scripts/bench-python.sh

# Every fuzz target for FUZZ_SECONDS each (default 60); fuzz-smoke is CI's 10 s each.
fuzz:
	scripts/fuzz.sh $(or $(FUZZ_SECONDS),60)

fuzz-smoke:
	scripts/fuzz.sh --smoke

# 10,000 simulated 30-day lives of a client; prints seeds run, breaks and the slowest recovery.
soak:
	cargo run --quiet --release -p polargrid-sim --bin soak -- --seeds $(or $(SOAK_SEEDS),10000)

# Every scenario in SCENARIOS through the client adapter tests/conformance/adapters/$(ADAPTER);
# one line per scenario (ok / FAILED: reason), then "N passed, N failed". JOBS at once.
ADAPTER ?= rust
SCENARIOS ?= tests/conformance/scenarios
JOBS ?= 4
conformance:
	cargo build --quiet -p polargrid-conformance --bins
	cargo run --quiet -p polargrid-conformance --bin conformance -- --adapter $(ADAPTER) --scenarios $(SCENARIOS) --jobs $(JOBS) $(CONFORMANCE_ARGS)
