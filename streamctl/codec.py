"""How an entry's field/value list is stored: one binary-safe BLOB.

Layout: a little-endian u32 count ``n``, then ``n`` u32 lengths, then the ``n`` byte
strings back to back (field, value, field, value, ...). One ``unpack_from`` reads every
length, so decoding an entry is a handful of slices — the hot path of every read.
"""

from __future__ import annotations

from struct import Struct

_HEADERS: dict[int, Struct] = {}


def _header(n: int) -> Struct:
    s = _HEADERS.get(n)
    if s is None:
        s = _HEADERS[n] = Struct(f"<{n + 1}I")
    return s


def pack(items: list[bytes]) -> bytes:
    """Pack a flat [field, value, ...] list."""
    return _header(len(items)).pack(len(items), *map(len, items)) + b"".join(items)


def unpack(blob: bytes) -> list[bytes]:
    """The flat [field, value, ...] list of bytes."""
    n = int.from_bytes(blob[:4], "little")
    header = _header(n)
    lengths = header.unpack_from(blob)
    pos = header.size
    out = []
    for length in lengths[1:]:
        end = pos + length
        out.append(blob[pos:end])
        pos = end
    return out


def unpack_str(blob: bytes) -> list[str]:
    """The flat [field, value, ...] list, decoded as UTF-8 (decode_responses=True)."""
    n = int.from_bytes(blob[:4], "little")
    header = _header(n)
    lengths = header.unpack_from(blob)
    pos = header.size
    out = []
    for length in lengths[1:]:
        end = pos + length
        out.append(blob[pos:end].decode())
        pos = end
    return out
