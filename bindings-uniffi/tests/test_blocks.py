"""The block transport from Python: the request blocks the Rust driver writes read back
field by field (polargrid-uniffi's ``heads`` layout), and a plain call crossing the FFI
9 times (14 with the record transport: a handle clone per method, a buffer per argument, the
HttpRequest record and the Reply object in the send callback, ``wait_blocking`` after it)."""

import asyncio
import collections

from polargrid_core import AsyncPolarGrid, PolarGrid, _http
from polargrid_core._client import _call_block
from polargrid_core._native import polargrid_uniffi as native

KEY = "pg_test_key_0123456789"


class Recorder(native.BlockTransport):
    def __init__(self):
        self.sent = []

    def send(self, request_id, request):
        self.sent.append(_http.decode(request_id, request))

    def release(self, request_id):
        pass


def test_a_call_s_request_block_reads_back_as_the_call_with_the_core_s_headers_and_limits():
    t = Recorder()
    options = native.Options(api_key=KEY, mode="direct", base_url="http://127.0.0.1:9", seed=7,
                             connect_timeout_ms=1234)
    d = native.Driver.with_blocks(options, t, None)
    try:
        block = b'{"model":"m","n":1}'
        headers = [("Content-Type", "application/json"), ("X-Trace", "a: b")]
        call, [req] = _http.inline(d.start_inline(_call_block("POST", "/v1/chat/completions", block, headers), 2500))
        assert t.sent == [], "the start's request came back inline, not through send"
        assert (req.purpose, req.call, req.method) == (_http.CALL, call, "POST")
        assert req.url == "http://127.0.0.1:9/v1/chat/completions"
        assert (req.timeout_ms, req.connect_timeout_ms, req.body_limit) == (2500, 1234, 4096)
        assert req.body == block
        lines = req.headers.split(b"\r\n")
        assert b"Content-Type: application/json" in lines and b"X-Trace: a: b" in lines
        assert b"Authorization: Bearer " + KEY.encode() in lines
        # The same request sent outside start_inline crosses through send, as the same block.
        d.start_block(_call_block("GET", "/v1/models", None, []), 0)
        [other] = t.sent
        assert (other.method, other.body, other.purpose) == ("GET", None, _http.CALL)
        assert other.id != req.id and other.call != call
    finally:
        d.close()


def test_a_line_break_in_a_header_value_is_still_an_invalid_call_on_the_block_path():
    d = native.Driver.with_blocks(native.Options(api_key=KEY, mode="direct", base_url="http://127.0.0.1:9"),
                                  Recorder(), None)
    try:
        d.start_inline(_call_block("GET", "/v1/models", None, [("X-Evil", "a\r\nHost: b")]), 0)
        raise AssertionError("the call was accepted")
    except native.PolarGridError as e:
        assert e.failure.kind == native.ErrorKind.INVALID_CALL
    finally:
        d.close()


class Crossings:
    """Counts every FFI function Python calls and every call Rust makes into the transport."""

    def __init__(self, monkeypatch):
        self.counts = collections.Counter()
        lib = native._UniffiLib
        for name in dir(lib):
            if name.startswith(("uniffi_", "ffi_")) and "checksum" not in name:
                monkeypatch.setattr(lib, name, self.counted(name, getattr(lib, name)))
        for cls in (_http.SyncTransport, _http.AsyncTransport):
            for meth in ("send", "release"):
                monkeypatch.setattr(cls, meth, self.counted("callback " + meth, getattr(cls, meth)))

    def counted(self, name, fn):
        def f(*args):
            self.counts[name] += 1
            return fn(*args)
        return f


CALLS = 20
BUDGET = 9  # start_inline and answer: handle clone + buffer alloc + grow each, one result buffer


def test_a_plain_call_crosses_the_ffi_at_most_nine_times_threads_and_asyncio(emu, monkeypatch):
    with PolarGrid(emu.keys["read_write"], endpoints=emu.info) as pg:
        for _ in range(2):  # session, region and the region's name first
            pg.request("GET", "/v1/models")
        seen = Crossings(monkeypatch)
        for _ in range(CALLS):
            assert pg.request("GET", "/v1/models").extensions["polargrid_region"] == "yto-01"
        sync = dict(seen.counts)
        monkeypatch.undo()

    async def main():
        async with AsyncPolarGrid(emu.keys["read_write"], endpoints=emu.info) as pg:
            for _ in range(2):
                await pg.request("GET", "/v1/models")
            seen = Crossings(monkeypatch)
            for _ in range(CALLS):
                assert (await pg.request("GET", "/v1/models")).extensions["polargrid_region"] == "yto-01"
            monkeypatch.undo()
            return dict(seen.counts)
    for counts in (sync, asyncio.run(main())):
        assert sum(counts.values()) <= BUDGET * CALLS, counts
        assert not any(k.startswith("callback") or "wait" in k for k in counts), counts
