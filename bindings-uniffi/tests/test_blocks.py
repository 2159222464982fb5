"""The block transport from Python: the request blocks the Rust driver writes read back
field by field (polargrid-uniffi's ``heads`` layout), byte blocks lowered as uniffi lowers
them, and a plain call crossing the FFI 7 times (14 with the record transport: a handle clone
per method, an allocation and a resize per argument, the HttpRequest record and the Reply
object in the send callback, ``wait_blocking`` after it)."""

import asyncio
import collections
import ctypes
import gc
import types

from polargrid_core import AsyncPolarGrid, PolarGrid, _ffi, _http
from polargrid_core._client import _NOT_GIVEN, _call_block
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
        d.start_block(_call_block("GET", "/v1/models", None, []), _NOT_GIVEN)
        [other] = t.sent
        assert (other.method, other.body, other.purpose) == ("GET", None, _http.CALL)
        assert other.id != req.id and other.call != call
    finally:
        d.close()


def test_a_line_break_in_a_header_value_is_still_an_invalid_call_on_the_block_path():
    d = native.Driver.with_blocks(native.Options(api_key=KEY, mode="direct", base_url="http://127.0.0.1:9"),
                                  Recorder(), None)
    try:
        d.start_inline(_call_block("GET", "/v1/models", None, [("X-Evil", "a\r\nHost: b")]), _NOT_GIVEN)
        raise AssertionError("the call was accepted")
    except native.PolarGridError as e:
        assert e.failure.kind == native.ErrorKind.INVALID_CALL
    finally:
        d.close()


class Crossings:
    """Counts every FFI function Python calls and every call Rust makes into the transport."""

    def __init__(self, monkeypatch):
        gc.collect()  # earlier tests' drivers are freed now, not inside the counted calls
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
BUDGET = 7  # start_inline and answer: a handle clone and an argument buffer each; the result's free


def test_byte_blocks_cross_as_the_very_buffers_uniffi_writes_and_reads():
    assert _http.FAST_BLOCKS, "installed against this uniffi"
    conv = native._UniffiFfiConverterBytes
    for sample in (b"", b"a", b"x" * 12, b"y" * 13, bytes(range(256)) * 300):
        ours = conv.lower(sample)
        assert ctypes.string_at(ours.data, ours.len) == len(sample).to_bytes(4, "big") + bytes(sample)
        assert conv.lift(ours) == sample
        theirs = native._UniffiConverterRustBuffer.lower.__func__(conv, sample)  # uniffi's own writer
        assert conv.lift(theirs) == sample


def test_a_generated_module_of_another_shape_is_left_as_it_is():
    assert not _ffi.install(types.SimpleNamespace())
    bytes_conv = type("C", (), {"lower": staticmethod(lambda v: native._UniffiFfiConverterString.lower("x")),
                                "lift": staticmethod(lambda b: b"")})
    g = types.SimpleNamespace(_UniffiFfiConverterBytes=bytes_conv, _UniffiRustBuffer=native._UniffiRustBuffer,
                              InternalError=native.InternalError)
    lower = bytes_conv.lower
    assert not _ffi.install(g) and bytes_conv.lower is lower


def test_a_plain_call_crosses_the_ffi_at_most_seven_times_threads_and_asyncio(emu, monkeypatch):
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
