"""Helpers for the client scripts: the emulator's start-up JSON and its admin API (stdlib only)."""
import json
import os
import urllib.request

INFO = json.loads(os.environ["PG_EMULATOR"])
KEY = INFO["keys"]["read_write"]
EDGE = INFO["regions"][0]["url"]


def admin(path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(INFO["admin"] + path, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def log_count(**match):
    """Entries of the emulator's request log matching every given field."""
    entries = admin("/admin/log")["entries"]
    return sum(all(e.get(k) == v for k, v in match.items()) for e in entries)


def check(cond, what):
    if not cond:
        raise SystemExit(f"FAILED: {what}")
    print(f"  ok: {what}")
