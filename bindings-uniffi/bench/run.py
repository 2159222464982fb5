"""`make bench-python`: sequential GET /v1/models against a local stub edge, each client in its
own process, interleaved rounds, the median round kept (the machine may be shared and noisy: the
min-max spread is printed); then import times. Prints, never asserts.
Usage: run.py PGSDK_PYTHON [SECONDS] [ROUNDS]"""

import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
ME, PGSDK = sys.executable, sys.argv[1]
SECONDS, ROUNDS = (sys.argv[2] if len(sys.argv) > 2 else "2"), int(sys.argv[3] if len(sys.argv) > 3 else 3)
CLIENTS = [("httpx-sync", ME), ("ours-sync", ME), ("httpx-async", ME), ("ours-async", ME),
           ("pgsdk-async", PGSDK), ("pgsdk-sync", PGSDK)]

stub = subprocess.Popen([ME, str(HERE / "stub.py")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
url = stub.stdout.readline().strip()
# Client CPU ratios (raw httpx / ours) before the one-block crossings (issue 17 item 4, at 72704ee).
BASELINE = {"sync": 0.88, "async": 0.97}
BUDGET = 0.95
rates, cpus = {}, {}
try:
    for _ in range(ROUNDS):
        for name, py in CLIENTS:
            out = subprocess.run([py, str(HERE / "clients.py"), name, url, SECONDS], capture_output=True, text=True)
            rate, us = (float(x) for x in (out.stdout.split() or ["0", "0"]))
            if not rate:
                print(f"  {name} failed: {out.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
            if rate:
                rates.setdefault(name, []).append(rate)
                cpus.setdefault(name, []).append(us)
finally:
    stub.stdin.close()
    stub.wait()

best = {k: statistics.median(v) for k, v in rates.items()}
cpu = {k: statistics.median(v) for k, v in cpus.items()}
print(f"python: sequential GET /v1/models against a local stub, median of {ROUNDS} x {SECONDS} s")
print("  client        req/s   client CPU us/req (min-max)")
for name, _ in CLIENTS:
    if name in cpu:
        print(f"  {name:12} {best[name]:6.0f}   {cpu[name]:8.0f} ({min(cpus[name]):.0f}-{max(cpus[name]):.0f})")
for mode in ("sync", "async"):
    ours, raw = f"ours-{mode}", f"httpx-{mode}"
    if ours not in cpu or raw not in cpu:
        continue
    ratio = best[ours] / best[raw]
    cratio = cpu[raw] / cpu[ours]
    print(f"  {mode} {cratio:.2f}x raw httpx by client CPU (budget >= {BUDGET}, was {BASELINE[mode]}), "
          f"{ratio:.2f}x by req/s")
    # For make bench's closing table (scripts/bench-record.sh --run).
    print(f"bench-figure\tpython: client CPU vs raw httpx, {mode}\t{cratio:.2f}\t×\t{BASELINE[mode]}\t>={BUDGET}")
print("  FFI crossings per plain call: 7 (was 14 before the block transport; tests/test_blocks.py counts them)")
print(f"  ours-sync / pgsdk-sync = {best.get('ours-sync', 0) / max(best.get('pgsdk-sync', 0), 1):.0f}x, "
      f"ours-async / pgsdk-async = {best.get('ours-async', 0) / max(best.get('pgsdk-async', 0), 1):.0f}x")


def import_ms(py, module):
    runs = []
    for _ in range(15):
        err = subprocess.run([py, "-X", "importtime", "-c", f"import {module}"], capture_output=True,
                             text=True).stderr
        line = [ln for ln in err.splitlines() if ln.rstrip().endswith(f"| {module}")][-1]
        runs.append(int(line.split("|")[1]) / 1000)
    return statistics.median(runs)


print("python: import time, median of 15 (python -X importtime)")
imp = import_ms(ME, 'polargrid_core')
print(f"  import polargrid_core  {imp:6.1f} ms (budget <= 30 ms)")
print(f"bench-figure\tpython: import polargrid_core\t{imp:.1f}\tms\t-\t<=30")
print(f"  import polargrid       {import_ms(PGSDK, 'polargrid'):6.1f} ms (published polargrid-sdk 0.10.0)")
