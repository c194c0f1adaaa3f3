"""Where output records go: JSON Lines (plain, or gzip/zstd by file suffix) or Parquet.

JSON Lines output is written as the workers encoded it. Parquet needs one schema for the
whole file, while records differ (an error record is only ``id`` and ``error``, and input
records carry whatever fields their source had); so its columns are fixed: ``id``, the
command's fields, ``error``, and ``record``, the input record's other fields as JSON.
The document's own input field is left out (it is in the input, and a page's HTML would
double the file).
"""

from __future__ import annotations

import gzip
import io
import json
import sys
from typing import IO, Any

from .errors import InputError
from .labels import LABELS
from .records import CLEAN
from .sources import EXTRA


def open_text_output(name: str | None) -> IO[str]:
    """'-' or None: standard output; a name ending .gz or .zst: compressed."""
    if name in (None, "-"):
        return sys.stdout
    if name.endswith(".gz"):
        return gzip.open(name, "wt", encoding="utf-8")
    if name.endswith(".zst"):
        try:
            import zstandard
        except ImportError:
            raise InputError(f"writing {name} needs zstandard ({EXTRA})") from None
        raw = open(name, "wb")  # noqa: SIM115 - closed through the wrapper
        return io.TextIOWrapper(zstandard.ZstdCompressor().stream_writer(raw), encoding="utf-8")
    return open(name, "w", encoding="utf-8")


class JsonlSink:
    def __init__(self, name: str | None) -> None:
        self.stream = open_text_output(name)

    def write(self, lines: list[str]) -> None:
        self.stream.write("".join(lines))
        self.stream.flush()

    def close(self) -> None:
        if self.stream is not sys.stdout:
            self.stream.close()


_REPORT = ("paragraphs", "clean_text", "counts", "contamination", "model", "error")


def _schema(command: str):
    import pyarrow as pa

    counts = pa.struct([(label, pa.int64()) for label in LABELS])
    fields = [("id", pa.string())]
    if command == CLEAN:
        fields.append(("text", pa.string()))
    else:
        scores = pa.struct([(label, pa.float64()) for label in LABELS])
        paragraph = pa.struct([("text", pa.string()), ("label", pa.string()),
                               ("scores", scores), ("kept", pa.bool_())])
        fields += [("paragraphs", pa.list_(paragraph)), ("clean_text", pa.string())]
    fields += [("counts", counts), ("contamination", pa.float64()), ("model", pa.string()),
               ("error", pa.string()), ("record", pa.string())]
    return pa.schema(fields)


class ParquetSink:
    """Output records as Parquet rows, written one chunk (a row group) at a time.

    ``text_key``/``html_key``: the input fields that held the document. Its clean text
    is the ``text`` column (clean) or is in ``paragraphs`` (score), so they are not
    repeated in ``record``.
    """

    def __init__(self, name: str, command: str, text_key: str = "text",
                 html_key: str = "html") -> None:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise InputError(f"writing Parquet needs pyarrow ({EXTRA})") from None
        if name in ("", "-"):
            raise InputError("Parquet output needs a file: --output FILE.parquet")
        self.pa, self.command = pa, command
        self.text_key, self.html_key = text_key, html_key
        self.schema = _schema(command)
        self.writer = pq.ParquetWriter(name, self.schema)

    def row(self, record: dict[str, Any]) -> dict[str, Any]:
        row = {key: record.get(key) for key in _REPORT}
        ident = record.get("id")
        row["id"] = ident if ident is None or isinstance(ident, str) else json.dumps(ident)
        if self.command == CLEAN:
            row["text"] = record.get(self.text_key)
        own = {"id", self.text_key, self.html_key, *_REPORT}
        rest = {k: v for k, v in record.items() if k not in own}
        row["record"] = json.dumps(rest, ensure_ascii=False, default=str) if rest else None
        return row

    def write(self, records: list[dict[str, Any]]) -> None:
        rows = [self.row(r) for r in records]
        self.writer.write_table(self.pa.Table.from_pylist(rows, schema=self.schema))

    def close(self) -> None:
        self.writer.close()
