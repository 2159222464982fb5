"""Conformance adapter for polargrid_core (tests/conformance/PROTOCOL.md): JSON lines on
stdin/stdout, one PolarGrid client, concurrent calls on threads. It decides nothing."""

import json
import sys
from concurrent.futures import ThreadPoolExecutor, wait

from polargrid_core import ConfigError, PolarGrid, PolarGridError

KEYS = ("endpoints", "mode", "api_key", "region", "base_url", "scope", "failover_pinned",
        "max_attempts", "backoff_ms", "seed", "request_timeout_ms", "connect_timeout_ms",
        "call_deadline_ms", "auth_timeout_ms")


def seconds(ms):
    return None if ms is None else ms / 1000


class Adapter:
    def __init__(self):
        self.pg, self.cfg, self.offset = None, None, 0
        self.pool = ThreadPoolExecutor(64)

    def build(self, seed, session=None):
        c = self.cfg
        backoff = c.get("backoff_ms") or {}
        self.pg = PolarGrid(c.get("api_key"), mode=c.get("mode") or "session", region=c.get("region"),
                            scope=c.get("scope") or "country", base_url=c.get("base_url"),
                            endpoints=c["endpoints"], max_attempts=c.get("max_attempts"),
                            failover_pinned=bool(c.get("failover_pinned")), seed=seed,
                            backoff_ms=(backoff["base"], backoff["max"]) if backoff else None,
                            clock_offset_ms=self.offset, session=session,
                            timeout=seconds(c.get("request_timeout_ms")),
                            connect_timeout=seconds(c.get("connect_timeout_ms")),
                            call_deadline=seconds(c.get("call_deadline_ms")),
                            auth_timeout=seconds(c.get("auth_timeout_ms")))

    def client(self):
        if self.pg is None:
            raise ValueError("no client: send configure first")
        return self.pg

    def configure(self, m):
        if not isinstance(m.get("endpoints"), (dict, str)):
            raise ValueError("configure needs endpoints (the emulator's start-up JSON)")
        if self.pg is not None:
            self.pg.close()
        self.pg, self.cfg, self.offset = None, {k: m.get(k) for k in KEYS}, 0
        self.build(m.get("seed"))  # a ConfigError leaves the adapter unconfigured
        return {}

    def one(self, method, path, body):
        try:
            with self.client().stream(method, path, json=body) as r:
                text = r.read().decode("utf-8", "replace").rstrip()
                return {"outcome": "ready", "status": r.status_code,
                        "region": r.extensions.get("polargrid_region"),
                        "stream_done": text.endswith("data: [DONE]")}
        except PolarGridError as e:
            ra = None if e.retry_after is None else int(round(e.retry_after * 1000))
            return {"outcome": "error", "kind": e.kind.value, "transport": e.transport, "cause": e.cause,
                    "status": e.status, "retryable": e.retryable, "retry_after_ms": ra,
                    "request_id": e.request_id, "message": str(e)}

    def call(self, m):
        method, path, count = m["method"], m["path"], m.get("count", 1)
        if not isinstance(method, str) or not isinstance(path, str) or not isinstance(count, int) or count < 1:
            raise ValueError("call needs method and path (strings) and count >= 1")
        self.client()
        futures = [self.pool.submit(self.one, method, path, m.get("body")) for _ in range(count)]
        timeout = m.get("timeout_ms")
        wait(futures, timeout=None if timeout is None else timeout / 1000)
        return {"outcomes": [f.result() if f.done() else {"outcome": "error", "kind": "adapter_timeout"}
                             for f in futures]}

    def clock(self, m):
        ms = m["advance_ms"]
        if not isinstance(ms, int):
            raise ValueError("advance_ms must be an integer")
        self.offset += ms
        self.client().advance_clock(ms)
        return {}

    def hand_over(self, m):
        if not isinstance(m.get("grant"), str):
            raise ValueError("hand_over needs grant (a string)")
        self.client().hand_over(m["grant"])
        return {}

    def restart(self, m):
        snap = self.client().session
        self.pg.close()
        self.build(2, session=snap)
        return {}

    def logout(self, m):
        self.client().logout()
        return {}

    def session(self, m):
        s = self.client().session_status
        return {"status": "active" if s == "refreshing" else s}


def main():
    a = Adapter()
    for line in sys.stdin:
        if not line.strip():
            continue
        mid = None
        try:
            m = json.loads(line)
            if not isinstance(m, dict):
                raise ValueError("not a JSON object")
            mid = m.get("id")
            cmd = m.get("cmd")
            if cmd == "close":
                print(json.dumps({"id": mid, "ok": True}), flush=True)
                break
            fn = getattr(a, cmd, None) if cmd in ("configure", "call", "clock", "hand_over", "restart",
                                                   "logout", "session") else None
            if fn is None:
                raise ValueError(f"unknown cmd {json.dumps(cmd)}" if cmd is not None else "missing cmd")
            out = {"id": mid, "ok": True, **fn(m)}
        except ConfigError as e:
            out = {"id": mid, "ok": False, "error": str(e), "kind": e.kind.value}
        except PolarGridError as e:
            out = {"id": mid, "ok": False, "error": f"{type(e).__name__}: {e}"}
        except (ValueError, KeyError, TypeError) as e:
            out = {"id": mid, "ok": False, "error": f"bad request: {e}"}
        print(json.dumps(out), flush=True)
    if a.pg is not None:
        a.pg.close()
    a.pool.shutdown(wait=False, cancel_futures=True)


if __name__ == "__main__":
    main()
