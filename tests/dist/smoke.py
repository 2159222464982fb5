"""The installed polargrid_core against the emulator (make dist-check), as a user runs it:
python smoke.py VERSION, with POLARGRID_DIST_ENDPOINTS = the emulator's start-up JSON line.
Runs on any CPython >= 3.9 (Debian 11's). Prints one line per check; exits 1 on a failure."""

import json
import os
import sys

import polargrid_core
from polargrid_core import PolarGrid, PolarGridError

want = sys.argv[1]
info = json.loads(os.environ["POLARGRID_DIST_ENDPOINTS"])
failures = []
checks = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + (": " + detail if detail else ""))
    checks.append(name)
    if not ok:
        failures.append(name)


here = os.path.dirname(polargrid_core.__file__)
check("installed outside the checkout", "bindings-uniffi" not in here, here)
check("version", polargrid_core.__version__ == want, polargrid_core.__version__)
with PolarGrid(api_key=info["keys"]["read_write"], endpoints=info) as pg:
    models = pg.request("GET", "/v1/models").json()
    check("GET /v1/models through a session", bool(models["data"]), "%d models from %s" % (len(models["data"]), pg.region))
    chat = {"model": "llama-3.1-8b", "messages": [{"role": "user", "content": "hi"}]}
    answer = pg.request("POST", "/v1/chat/completions", json=chat).json()
    check("chat completion", bool(answer["choices"][0]["message"]["content"]))
    with pg.stream("POST", "/v1/chat/completions", json=dict(chat, stream=True)) as resp:
        events = [line for line in resp.iter_lines() if line.startswith("data: ")]
    check("streamed chat", len(events) > 1 and events[-1] == "data: [DONE]", "%d events" % len(events))
    try:
        pg.request("GET", "/v1/no-such-endpoint")
        check("a 404 raises", False)
    except PolarGridError as e:
        check("a 404 raises a classified error", e.status == 404 and bool(e.fix), "kind=%s" % e.kind)
print("smoke: %d of %d checks ok" % (len(checks) - len(failures), len(checks)))
sys.exit(1 if failures else 0)
