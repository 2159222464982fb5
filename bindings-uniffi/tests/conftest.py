"""Fixtures: one real emulator process for the session (reset before each test), and
helpers for its admin API. The emulator binary is built by scripts/test-python.sh."""

import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHAT = {"model": "llama-3.1-8b", "messages": [{"role": "user", "content": "hi"}]}


class Emulator:
    def __init__(self, info):
        self.info, self.admin = info, httpx.Client(base_url=info["admin"])
        self.keys = info["keys"]

    def post(self, path, body=None):
        r = self.admin.post(path, json=body or {})
        r.raise_for_status()
        return r.json()

    def log(self, **query):
        return self.admin.get("/admin/log", params=query).json()["entries"]

    def count(self, **match):
        return sum(all(e.get(k) == v for k, v in match.items()) for e in self.log())

    def advance(self, pg, ms):
        """Moves both clocks, as time passing would."""
        self.post("/admin/clock", {"advance_ms": ms})
        pg.advance_clock(ms)


@pytest.fixture(scope="session")
def _emulator_process():
    exe = os.environ.get("POLARGRID_EMULATOR", str(ROOT / "target/debug/polargrid-emulator"))
    p = subprocess.Popen([exe], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    info = json.loads(p.stdout.readline())
    yield Emulator(info)
    p.stdin.close()
    p.wait(timeout=10)


@pytest.fixture
def emu(_emulator_process):
    _emulator_process.post("/admin/reset")
    return _emulator_process
