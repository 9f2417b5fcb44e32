"""Redis's node layout of a stream, reproduced so that approximate trimming matches.

Redis keeps a stream as a radix tree of listpack "nodes". A node is closed when it holds
``stream-node-max-entries`` (100) entries, or when appending would take its listpack to
``stream-node-max-bytes`` (4096) bytes; ``XADD/XTRIM ... MAXLEN|MINID ~`` only ever
removes whole nodes. To leave the same lengths as Redis, the engine tracks, for the newest
node, its master ID, its master field names, how many entries were appended to it and the
listpack's exact size — computed here from the encodings of ``listpack.c`` and the entry
format of ``t_stream.c`` (``streamAppendItem``).
"""

from __future__ import annotations

from zlib import crc32

from . import codec

NODE_MAX_ENTRIES = 100
NODE_MAX_BYTES = 4096

_FLAG_SAMEFIELDS = 2
_LP_HEADER_AND_END = 6 + 1
_INT64 = 1 << 64


def _backlen(size: int) -> int:
    """Bytes of an element's back-length for an element of ``size`` encoded bytes."""
    if size < 128:
        return 1
    if size < 16384:
        return 2
    if size < 2097152:
        return 3
    if size < 268435456:
        return 4
    return 5


def int_size(value: int) -> int:
    """Bytes of an integer element (encoding + back-length)."""
    if 0 <= value <= 127:
        return 2
    if -4096 <= value <= 4095:
        return 3
    if -32768 <= value <= 32767:
        return 4
    if -8388608 <= value <= 8388607:
        return 5
    if -2147483648 <= value <= 2147483647:
        return 6
    return 10


def _as_int64(value: int) -> int:
    """A difference of unsigned 64-bit numbers as C stores it in an int64."""
    value %= _INT64
    return value - _INT64 if value >= 1 << 63 else value


def _int_value(item: bytes) -> int | None:
    """The integer a listpack stores ``item`` as, if it is a canonical int64 decimal."""
    if not item or len(item) > 20:
        return None
    digits = item[1:] if item[:1] == b"-" else item
    if not digits.isdigit() or (digits[:1] == b"0" and (len(digits) > 1 or item != b"0")):
        return None
    value = int(item)
    return value if -(1 << 63) <= value < 1 << 63 else None


_INT_START = frozenset(b"-0123456789")


def element_size(item: bytes) -> int:
    """Bytes of a string element, which listpack stores as an integer when it is one."""
    n = len(item)
    if n <= 20 and n and item[0] in _INT_START:
        value = _int_value(item)
        if value is not None:
            return int_size(value)
    if n < 63:  # 1-byte header, and header + data < 128: a 1-byte back-length
        return n + 2
    header = 1 if n < 64 else (2 if n < 4096 else 5)
    return header + n + _backlen(header + n)


_SIGNATURES: dict[tuple[bytes, ...], int] = {}


def fields_signature(fields: list[bytes]) -> int:
    """Identifies an entry's field names (in order): equal signatures = SAMEFIELDS."""
    names = tuple(fields[::2])
    signature = _SIGNATURES.get(names)
    if signature is None:
        if len(_SIGNATURES) > 1024:  # a bounded cache: most streams use one field set
            _SIGNATURES.clear()
        signature = _SIGNATURES[names] = crc32(codec.pack(list(names)))
    return signature


def master_size(fields: list[bytes]) -> int:
    """A new node's listpack before its first entry: header, end byte and the master
    entry (count, deleted, number of fields, the field names, a zero terminator)."""
    names = fields[::2]
    return (
        _LP_HEADER_AND_END
        + int_size(1)
        + int_size(0)
        + int_size(len(names))
        + sum(element_size(name) for name in names)
        + int_size(0)
    )


def entry_size(fields: list[bytes], same_fields: bool, ms_diff: int, seq_diff: int) -> int:
    """Bytes one entry adds to its node: flags, ID difference to the master, (number of
    fields and names unless they are the master's), the values, and the lp-count."""
    numfields = len(fields) >> 1
    size = 2  # flags: 0 or SAMEFIELDS, a 7-bit integer
    size += 2 if 0 <= ms_diff <= 127 else int_size(_as_int64(ms_diff))
    size += 2 if 0 <= seq_diff <= 127 else int_size(_as_int64(seq_diff))
    for value in fields[1::2]:
        size += element_size(value)
    lp_count = numfields + 3
    if not same_fields:
        size += int_size(numfields)
        for name in fields[::2]:
            size += element_size(name)
        lp_count += numfields + 1
    return size + int_size(lp_count)


def raw_size(fields: list[bytes]) -> int:
    """What Redis weighs against the byte limit before appending: the raw lengths."""
    return sum(map(len, fields))
