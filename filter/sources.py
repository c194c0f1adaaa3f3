"""Corpus inputs -> numbered records: JSON Lines (plain, gzip, zstd), Parquet and WARC.

Every reader streams: JSON Lines line by line, Parquet a row group at a time, WARC a
record at a time, so that memory does not grow with the input. Records are numbered from
1 in their source, for error messages. JSON Lines lines are passed on as raw bytes: the
worker that scores a line also parses it, so a bad line fails alone, where its scoring
happens. The optional readers need the ``corpus`` extra; without it they say so.
"""

from __future__ import annotations

import codecs
import gzip
import io
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import IO, Any

from .batch import Payload
from .errors import InputError

EXTRA = "pip install 'contamfilter[corpus]'"

_GZIP = b"\x1f\x8b"
_ZSTD = b"\x28\xb5\x2f\xfd"
_PARQUET = b"PAR1"


class Kind(StrEnum):
    JSONL = "jsonl"
    PARQUET = "parquet"
    WARC = "warc"

    @property
    def unit(self) -> str:
        return {"jsonl": "line", "parquet": "row", "warc": "record"}[self.value]


@dataclass
class Columns:
    """Which record fields hold the document (``--text-column`` / ``--html-column``)."""

    text: str = "text"
    html: str = "html"


@dataclass
class SourceStats:
    """What readers skipped on purpose, for the run summary."""

    warc_skipped: int = 0  # WARC records that are not HTML responses
    notes: list[str] = field(default_factory=list)


def open_binary(name: str) -> IO[bytes]:
    """A file (or '-': standard input), decompressed when it starts gzip or zstd magic."""
    # The caller closes what this returns (a reader function's `with`).
    raw = sys.stdin.buffer if name == "-" else open(name, "rb")  # noqa: SIM115
    stream = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)
    head = stream.peek(4)[:4]
    if head.startswith(_GZIP):
        return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]
    if head.startswith(_ZSTD):
        try:
            import zstandard
        except ImportError:
            stream.close()
            raise InputError(f"zstd-compressed: reading it needs zstandard ({EXTRA})") from None
        reader = zstandard.ZstdDecompressor().stream_reader(stream, closefd=True)
        return io.BufferedReader(reader)  # type: ignore[arg-type]
    return stream


def sniff(name: str) -> Kind | None:
    """Parquet or WARC by their magic bytes (WARC also inside gzip/zstd); else None."""
    if name == "-":
        return None
    try:
        with open(name, "rb") as fh:
            if fh.read(4) == _PARQUET:
                return Kind.PARQUET
        with open_binary(name) as fh:
            if fh.read(5) == b"WARC/":
                return Kind.WARC
    except (OSError, EOFError, InputError):
        return None  # the reader names the problem when it opens the file
    return None


def jsonl_records(name: str) -> Iterator[tuple[int, Payload]]:
    with open_binary(name) as fh:
        for number, line in enumerate(fh, 1):
            yield number, line[:-1] if line.endswith(b"\n") else line


def parquet_records(name: str, columns: Columns,
                    batch_rows: int = 1024) -> Iterator[tuple[int, Payload]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(f"reading Parquet needs pyarrow ({EXTRA})") from None
    try:
        parquet = pq.ParquetFile(name)
    except OSError as exc:
        raise InputError(f"not a readable Parquet file ({exc})") from None
    names = parquet.schema_arrow.names
    wanted = [c for c in (columns.html, columns.text) if c in names]
    if not wanted:
        raise InputError(f"no '{columns.text}' or '{columns.html}' column "
                         f"(columns: {', '.join(names)}); choose one with --text-column "
                         "or --html-column")
    number = 0
    with parquet:
        for batch in parquet.iter_batches(batch_size=batch_rows):
            for row in batch.to_pylist():
                number += 1
                yield number, row


_HTML_TYPES = ("text/html", "application/xhtml+xml")
_HTTP_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)


def warc_records(name: str, stats: SourceStats) -> Iterator[tuple[int, Payload]]:
    """HTML response records as ``{"id": target URI, "url", "warc_date", "html"}``."""
    try:
        from fastwarc.warc import ArchiveIterator, WarcRecordType
    except ImportError:
        raise InputError(f"reading WARC needs fastwarc ({EXTRA})") from None
    number = 0
    with open_binary(name) as fh:
        for record in ArchiveIterator(fh, record_types=WarcRecordType.response,
                                      parse_http=True, stream_detect=False):
            number += 1
            headers = record.http_headers
            content_type = (headers.get("Content-Type", "") if headers else "").lower()
            if not content_type.startswith(_HTML_TYPES):
                stats.warc_skipped += 1
                continue
            uri = record.headers.get("WARC-Target-URI")
            body = record.reader.read()
            yield number, {"id": uri, "url": uri, "warc_date": record.headers.get("WARC-Date"),
                           "html": decode_html(body, content_type)}


def decode_html(body: bytes, content_type: str) -> str:
    """The page's text: the HTTP charset, else a <meta> charset, else UTF-8 (lossy)."""
    named = []
    if match := _HTTP_CHARSET.search(content_type):
        named.append(match.group(1))
    if match := _META_CHARSET.search(body[:4096]):
        named.append(match.group(1).decode("ascii"))
    for charset in named:
        try:
            return body.decode(codecs.lookup(charset).name, errors="replace")
        except LookupError:
            continue
    return body.decode("utf-8", errors="replace")


def records(name: str, kind: Kind, columns: Columns,
            stats: SourceStats) -> Iterator[tuple[int, Any]]:
    if kind is Kind.PARQUET:
        return parquet_records(name, columns)
    if kind is Kind.WARC:
        return warc_records(name, stats)
    return jsonl_records(name)
