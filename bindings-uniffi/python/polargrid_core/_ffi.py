"""Byte blocks across the FFI at the cost of one buffer allocation each.

uniffi 0.32's generated Python writes a ``bytes`` argument through a generic builder: a
16-byte allocation, then a resize (a second crossing), with a generator context manager per
write; reading one back goes through another. A call crosses with two byte blocks in and one
out (``Driver.start_inline``, ``Driver.answer``), so that glue cost more than the work it
carried. ``install`` swaps in a direct lowering and lifting for the generated module's
``bytes`` converter: the very same buffer (a big-endian i32 length, then the bytes; uniffi's
format), one allocation, one copy. It checks itself against the generated converter first and
leaves the generated one in place if the module is not shaped as expected (another uniffi).
"""

from __future__ import annotations

import ctypes
import struct
from typing import Any

_LEN = struct.Struct(">i")


def install(g: Any) -> bool:
    """Installs the direct ``bytes`` lowering and lifting into generated module ``g``; ``False``
    (nothing changed) if ``g`` lacks the pieces or they do not agree on a sample."""
    try:
        conv, buffer, error = g._UniffiFfiConverterBytes, g._UniffiRustBuffer, g.InternalError
    except AttributeError:
        return False
    pack, string_at, memmove, alloc = _LEN.pack, ctypes.string_at, ctypes.memmove, buffer.alloc

    def lower(value: Any) -> Any:
        data = pack(len(value)) + value
        size = len(data)
        buf = alloc(size)
        memmove(buf.data, data, size)
        buf.len = size
        return buf

    def lift(buf: Any) -> bytes:
        try:
            data = string_at(buf.data, buf.len) if buf.len else b""
        finally:
            buf.free()
        if len(data) < 4 or _LEN.unpack_from(data)[0] != len(data) - 4:
            raise error("a byte block's length does not match its buffer")
        return data[4:]

    for sample in (b"", b"x" * 13, bytes(range(256)) * 3):
        ours, theirs = lower(sample), conv.lower(sample)
        try:
            same = string_at(ours.data, ours.len) == string_at(theirs.data, theirs.len)
        finally:
            ours.free()
        if not same or lift(theirs) != sample:
            return False
    conv.lower, conv.lift = staticmethod(lower), staticmethod(lift)
    return True
