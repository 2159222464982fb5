"""Requests/s one client (CLOSE=1: a new connection per request) gets from the emulator: sequential GET /v1/models on one edge with the
pg_ key, reusing the connection while the server keeps it open (reconnecting when it closes).
Prints the median of RUNS runs of N requests. Reads the start-up JSON from $PG_EMULATOR."""
import http.client
import json
import os
import statistics
import sys
import time
import urllib.parse

N = int(os.environ.get("N", "2000"))
RUNS = int(os.environ.get("RUNS", "5"))
info = json.loads(os.environ["PG_EMULATOR"])
edge = urllib.parse.urlsplit(info["regions"][0]["url"])
headers = {"Authorization": "Bearer " + info["keys"]["read_write"]}
if os.environ.get("CLOSE"):  # one connection per request (what the emulator used to force)
    headers["Connection"] = "close"


def run():
    conn, reconnects = None, 0
    start = time.perf_counter()
    for _ in range(N):
        if conn is None:
            conn = http.client.HTTPConnection(edge.hostname, edge.port, timeout=10)
            reconnects += 1
        conn.request("GET", "/v1/models", headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200 or not body:
            sys.exit(f"unexpected answer {resp.status}")
        if resp.will_close:
            conn.close()
            conn = None
    return N / (time.perf_counter() - start), reconnects


results = [run() for _ in range(RUNS)]
rates = sorted(r for r, _ in results)
mode = "new connection per request" if os.environ.get("CLOSE") else "keep-alive when offered"
print(f"emulator ({mode}): {statistics.median(rates):.0f} requests/s median of {RUNS} runs x {N} "
      f"(min {rates[0]:.0f}, max {rates[-1]:.0f}); connections per run: {results[0][1]}")
