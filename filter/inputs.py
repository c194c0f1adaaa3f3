"""Bytes from files and streams -> text, with the checks every shell needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from .errors import InputError

# A NUL byte in the first bytes means a binary file, never text or HTML.
_SNIFF = 8192


@dataclass(frozen=True)
class Decoded:
    text: str
    replaced: int  # bytes that were not valid UTF-8 and became U+FFFD
    first_bad: int | None  # offset of the first such byte


def decode(data: bytes) -> Decoded:
    """UTF-8 text from ``data``; binary data is refused, bad bytes are replaced and counted."""
    if b"\0" in data[:_SNIFF]:
        raise InputError("looks like binary data (NUL bytes), not text or HTML")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return Decoded(data.decode("utf-8"), 0, None)
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8", errors="replace")
        return Decoded(text, text.count("\ufffd") - data.count("\ufffd".encode()), exc.start)


def read_limited(stream: BinaryIO, max_bytes: int) -> bytes:
    """All of ``stream``, refusing (without reading it all) anything over ``max_bytes``."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InputError(f"larger than the limit of {max_bytes} bytes (--max-bytes)")
    return data
