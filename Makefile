# The two commands the README opens with: `make demo` and `make test`.
.PHONY: demo test dist dist-check bench bench-rust bench-tabs wasm-size bench-emulator bench-npm bench-web bench-mobile bench-python count-crossings soak fuzz fuzz-smoke conformance npm python mutants

demo:
	cargo run --quiet -p polargrid-blocking --example quickstart

test:
	scripts/test.sh

# Every benchmark, then one table: each figure now, its baseline, its budget (target/bench/figures.tsv).
bench:
	scripts/bench-record.sh --reset
	scripts/bench-record.sh --run cargo bench --quiet -p polargrid-core --bench core_bench
	scripts/bench-npm.sh
	scripts/bench-web.sh
	$(MAKE) --no-print-directory bench-mobile
	$(MAKE) --no-print-directory bench-python
	$(MAKE) --no-print-directory bench-rust
	scripts/bench-summary.sh

# FFI crossings into Rust per call of the Kotlin and Swift packages (uprobes on the release library;
# needs root and perf, so not part of make test; Python counts its own in its tests).
count-crossings:
	scripts/build-mobile.sh all
	cargo build --quiet --release -p polargrid-uniffi --lib
	scripts/count-crossings.sh kotlin
	scripts/count-crossings.sh swift

# The blocking Rust client (polargrid-driver over ureq) vs bare ureq on an in-process keep-alive stub.
# Pinned to one CPU where taskset exists: unpinned on a 2-vCPU VM each request/answer round trip with the
# stub thread may pay a cross-CPU wake-up charged to the caller (ratios swung 0.3x-6x); pinned, stable.
bench-rust:
	cargo build --quiet --release -p polargrid-blocking --example bench_keepalive
	scripts/bench-record.sh --run $(shell command -v taskset >/dev/null && echo taskset -c 0) $(or $(CARGO_TARGET_DIR),target)/release/examples/bench_keepalive

# Refresh coordination across browser tabs in Chromium (printed, never asserted).
bench-tabs:
	scripts/bench-tabs.sh

# Per-call overhead of the Kotlin and Swift packages vs their bare HTTP clients (java.net.http,
# URLSession) against the emulator's edge; medians of BENCH_CALLS (default 400) sequential calls,
# on the release library (as apps ship it) after the bench's own JIT warm-up.
bench-mobile:
	scripts/build-mobile.sh all
	cargo build --quiet --release -p polargrid-uniffi --lib
	POLARGRID_MOBILE_LIB=$(CURDIR)/$(or $(CARGO_TARGET_DIR),target)/release POLARGRID_JVM_OPTS= scripts/bench-record.sh --run scripts/mobile-run.sh kotlin ai.polargrid.core.bench.BenchKt $(or $(BENCH_CALLS),400)
	POLARGRID_MOBILE_LIB=$(CURDIR)/$(or $(CARGO_TARGET_DIR),target)/release scripts/bench-record.sh --run scripts/mobile-run.sh swift Bench $(or $(BENCH_CALLS),400)

# The npm package as a frontend ships it: Vite production build minus an empty app (gzip -9)
# beside auth-js/firebase-auth/openai, and navigation -> first call in Chromium (median of 5).
bench-web:
	scripts/bench-web.sh

# Every release artifact this machine can build, into target/dist/ with SHA256SUMS: Python wheels
# (manylinux2014 + musllinux_1_2, x86_64 + aarch64), sdist, npm tarball, jar + sources jar + pom;
# DIST_ONLY="... ios" adds the iOS static library. One version: the workspace Cargo.toml's.
dist:
	scripts/dist.sh

# Each artifact of `make dist` installed the way its users install it, outside the checkout, and
# run against the emulator (fresh venv here, Debian 11 root, qemu aarch64, musl loader, fresh Node
# project, bare JVM). DIST_CHECK_SDIST=1 also builds the sdist from source in a fresh venv.
dist-check:
	scripts/dist-check.sh

# The Python wheel (maturin, uniffi; release) into target/wheels/; PYTHON_PROFILE=debug for a debug one.
python:
	scripts/build-python.sh

# polargrid_core vs raw httpx vs the published polargrid-sdk 0.10.0 against a local stub, and import time.
bench-python:
	scripts/bench-python.sh

# The core's wasm size (raw and gzip -9, no wasm-opt): a relative measure for changes.
wasm-size:
	scripts/wasm-size.sh

# Requests/s one sequential client (Python, keep-alive when offered) gets from the emulator.
bench-emulator:
	scripts/bench-emulator.sh

# Every fuzz target for FUZZ_SECONDS each (default 60); fuzz-smoke is CI's 10 s each.
fuzz:
	scripts/fuzz.sh $(or $(FUZZ_SECONDS),60)

fuzz-smoke:
	scripts/fuzz.sh --smoke

# 10,000 simulated 30-day lives of a client; prints seeds run, breaks and the slowest recovery.
soak:
	cargo run --quiet --release -p polargrid-sim --bin soak -- --seeds $(or $(SOAK_SEEDS),10000)

# The npm package polargrid-core, built in place at bindings-wasm/npm/ (wasm + glue generated).
npm:
	scripts/build-npm.sh

# The npm package's bundle size (beside auth-js, openai, firebase/auth), twiggy breakdown, pg.fetch overhead.
bench-npm:
	scripts/bench-npm.sh

# Every scenario in SCENARIOS through the client adapter tests/conformance/adapters/$(ADAPTER);
# one line per scenario (ok / FAILED: reason), then "N passed, N failed". JOBS at once;
# ONLY=<scenario name> runs just that one.
ADAPTER ?= rust
SCENARIOS ?= tests/conformance/scenarios
JOBS ?= 4
conformance:
	cargo build --quiet -p polargrid-conformance --bins
	CONFORMANCE_PREBUILT=1 $${CARGO_TARGET_DIR:-target}/debug/conformance --adapter $(ADAPTER) --scenarios $(SCENARIOS) --jobs $(JOBS) $(if $(ONLY),--only $(ONLY)) $(CONFORMANCE_ARGS)

# cargo-mutants over the core's machines and parsers, judged by the core's own tests;
# prints caught/missed/score per file (long: see README). MUTANTS_FILES="session call" narrows it.
mutants:
	scripts/mutants.sh
