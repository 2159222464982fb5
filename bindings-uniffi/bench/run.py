"""`make bench-python`: sequential GET /v1/models against a local stub edge, each client in its
own process, interleaved rounds, best round kept; then import times. Prints, never asserts.
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
best, cpu = {}, {}
try:
    for _ in range(ROUNDS):
        for name, py in CLIENTS:
            out = subprocess.run([py, str(HERE / "clients.py"), name, url, SECONDS], capture_output=True, text=True)
            rate, us = (float(x) for x in (out.stdout.split() or ["0", "0"]))
            if not rate:
                print(f"  {name} failed: {out.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
            best[name] = max(best.get(name, 0.0), rate)
            cpu[name] = min(cpu.get(name, 1e12), us)
finally:
    stub.stdin.close()
    stub.wait()

print(f"python: sequential GET /v1/models against a local stub, best of {ROUNDS} x {SECONDS} s")
print("  client        req/s   client CPU us/req")
for name, _ in CLIENTS:
    print(f"  {name:12} {best[name]:6.0f}   {cpu[name]:8.0f}")
for ours, raw in (("ours-sync", "httpx-sync"), ("ours-async", "httpx-async")):
    ratio = best[ours] / best[raw] if best[raw] else 0
    cratio = cpu[raw] / cpu[ours] if cpu[ours] else 0
    print(f"  {ours} / {raw} = {ratio:.2f}x by req/s, {cratio:.2f}x by client CPU (budget >= 0.95x)")
print(f"  ours-sync / pgsdk-sync = {best['ours-sync'] / max(best['pgsdk-sync'], 1):.0f}x, "
      f"ours-async / pgsdk-async = {best['ours-async'] / max(best['pgsdk-async'], 1):.0f}x")


def import_ms(py, module):
    runs = []
    for _ in range(15):
        err = subprocess.run([py, "-X", "importtime", "-c", f"import {module}"], capture_output=True,
                             text=True).stderr
        line = [ln for ln in err.splitlines() if ln.rstrip().endswith(f"| {module}")][-1]
        runs.append(int(line.split("|")[1]) / 1000)
    return statistics.median(runs)


print("python: import time, median of 15 (python -X importtime)")
print(f"  import polargrid_core  {import_ms(ME, 'polargrid_core'):6.1f} ms (budget <= 30 ms)")
print(f"  import polargrid       {import_ms(PGSDK, 'polargrid'):6.1f} ms (published polargrid-sdk 0.10.0)")
