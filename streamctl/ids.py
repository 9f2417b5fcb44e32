"""Stream IDs: parsing and formatting exactly as Redis does it (``t_stream.c``).

An ID is two unsigned 64-bit numbers ``ms-seq``. Inside streamctl an ID is one Python int
``ms << 64 | seq``: comparison is plain ``<``, and the "next"/"previous" ID of exclusive
ranges is ``+ 1``/``- 1`` with the carry Redis implements by hand. In SQLite an ID is the
16-byte big-endian form of that int, so byte order is numeric order and one indexed column
holds it.
"""

from __future__ import annotations

from .errors import ReplyError

U64 = (1 << 64) - 1
MIN_ID = 0
MAX_ID = (1 << 128) - 1

INVALID_ID = "ERR Invalid stream ID specified as stream command argument"

_SPACE = " \t\n\v\f\r"


def fmt(sid: int) -> str:
    """``"ms-seq"`` for an ID int."""
    return f"{sid >> 64}-{sid & U64}"


def fmt_b(sid: int) -> bytes:
    return f"{sid >> 64}-{sid & U64}".encode()


def to_db(sid: int) -> bytes:
    return sid.to_bytes(16, "big")


def from_db(blob: bytes) -> int:
    return int.from_bytes(blob, "big")


def _strtoull(s: str) -> int | None:
    """C's strtoull() as Redis's string2ull() uses it; None where Redis says invalid."""
    if not s:
        return None
    # string2ll() first: the strict form, which rejects negatives outright.
    if s.isdigit() and s.isascii() and (s == "0" or s[0] != "0"):
        v = int(s)
        return v if v <= U64 else None
    if s[0] == "-" and s[1:].isascii() and s[1:].isdigit() and s[1] != "0":
        return None  # string2ll parsed a negative number: out of range
    # strtoull(): leading blanks, an optional sign, then digits up to the end.
    i = 0
    while i < len(s) and s[i] in _SPACE:
        i += 1
    negative = False
    if i < len(s) and s[i] in "+-":
        negative = s[i] == "-"
        i += 1
    digits = s[i:]
    if not digits or not (digits.isascii() and digits.isdigit()):
        return None
    v = int(digits)
    if v > U64:
        return None  # ERANGE
    return (-v) & U64 if negative else v


def _split_parse(text: str, missing_seq: int, allow_star: bool) -> tuple[int, bool] | None:
    """Parse ``ms[-seq]``; returns (id, seq_given) or None if invalid."""
    ms_part, dash, seq_part = text.partition("-")
    ms = _strtoull(ms_part)
    if ms is None:
        return None
    if not dash:
        return (ms << 64) | missing_seq, True
    if allow_star and seq_part == "*":
        return ms << 64, False
    seq = _strtoull(seq_part)
    if seq is None:
        return None
    return (ms << 64) | seq, True


def _prepare(raw: str | bytes) -> str | None:
    if isinstance(raw, (bytes, bytearray, memoryview)):
        raw = bytes(raw).decode("latin-1")
    if len(raw) > 127:
        return None
    # Redis copies the argument into a C buffer: a NUL ends it.
    nul = raw.find("\0")
    return raw if nul < 0 else raw[:nul]


def parse(raw: str | bytes, missing_seq: int = 0, strict: bool = True) -> int:
    """Parse an ID argument. ``strict`` refuses ``-`` and ``+`` (they mean 0-0 / max-max
    only in range bounds and a few other places)."""
    text = _prepare(raw)
    if text is not None:
        if text in ("-", "+"):
            if not strict:
                return MIN_ID if text == "-" else MAX_ID
        else:
            got = _split_parse(text, missing_seq, False)
            if got is not None:
                return got[0]
    raise ReplyError(INVALID_ID)


def parse_xadd(raw: str | bytes) -> tuple[int, bool] | None:
    """Parse XADD's ID argument other than ``*``: (id, seq_given); ``ms-*`` gives
    seq_given False. Raises the invalid-ID error."""
    text = _prepare(raw)
    if text is not None and text not in ("-", "+"):
        got = _split_parse(text, 0, True)
        if got is not None:
            return got
    raise ReplyError(INVALID_ID)


def parse_interval(raw: str | bytes, missing_seq: int) -> tuple[int, bool]:
    """A range bound: ``-``/``+``, an ID, or ``(ID`` for an exclusive one.
    Returns (id, exclusive)."""
    text = raw.decode("latin-1") if isinstance(raw, (bytes, bytearray)) else raw
    if len(text) > 1 and text[0] == "(":
        return parse(text[1:], missing_seq, strict=True), True
    return parse(text, missing_seq, strict=False), False


def range_start(raw: str | bytes) -> int:
    """Inclusive start of a range (XRANGE start, XPENDING start, XAUTOCLAIM start)."""
    sid, exclusive = parse_interval(raw, 0)
    if exclusive:
        if sid == MAX_ID:
            raise ReplyError("ERR invalid start ID for the interval")
        sid += 1
    return sid


def range_end(raw: str | bytes) -> int:
    """Inclusive end of a range (XRANGE end, XPENDING end)."""
    sid, exclusive = parse_interval(raw, U64)
    if exclusive:
        if sid == MIN_ID:
            raise ReplyError("ERR invalid end ID for the interval")
        sid -= 1
    return sid
