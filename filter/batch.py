"""Records in, output records out: the one path the CLI (in one process or many) and the
cluster job share, so a record is scored, refused and reported the same way everywhere.

A chunk is a list of ``(number, payload)``: ``number`` is the record's 1-based position in
its source (a line of JSON Lines, a row of Parquet, a record of WARC), ``payload`` the raw
line (bytes) or an already parsed record (dict). A chunk comes back as a ``Chunk``: one
output record per input record, in order (a record that cannot be scored becomes
``{"id", "error"}``), the dropped paragraphs for ``--rejected``, and a ``Tally``.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .core import Filter
from .document import Document, Format
from .errors import ContamFilterError, InputError
from .inputs import decode
from .labels import LABELS
from .policy import Policy
from .records import error_record, job_for, output_record, parse_line
from .result import Result

Payload = bytes | dict[str, Any]


@dataclass
class Tally:
    """What a run did: the run summary, --stats, the progress line and the exit status."""

    documents: int = 0  # scored
    errors: int = 0  # records or files that could not be scored
    lossy: int = 0  # inputs decoded with replacement characters
    labels: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LABELS, 0))
    chars: int = 0
    removed: int = 0

    def add(self, result: Result) -> None:
        self.documents += 1
        for p in result.paragraphs:
            self.labels[p.label.value] += 1
            self.chars += len(p.text)
            if not p.kept:
                self.removed += len(p.text)

    def merge(self, other: Tally) -> None:
        self.documents += other.documents
        self.errors += other.errors
        self.lossy += other.lossy
        for label, n in other.labels.items():
            self.labels[label] += n
        self.chars += other.chars
        self.removed += other.removed

    @property
    def records(self) -> int:
        return self.documents + self.errors

    @property
    def removed_share(self) -> float:
        return self.removed / self.chars if self.chars else 0.0

    def summary(self) -> str:
        labels = ", ".join(f"{k} {v}" for k, v in self.labels.items())
        return (f"{self.records} documents in, {self.documents} out, {self.errors} errored; "
                f"{sum(self.labels.values())} paragraphs ({labels}); "
                f"{self.removed_share:.1%} of characters removed "
                f"({self.removed:,} of {self.chars:,})")

    def to_dict(self) -> dict[str, Any]:
        return {"documents_in": self.records, "documents_out": self.documents,
                "errors": self.errors, "paragraphs": dict(self.labels),
                "characters": self.chars, "characters_removed": self.removed}


@dataclass
class Chunk:
    records: list[Any]  # output records (dicts), or their JSON lines when encoded
    rejected: list[Any]  # dropped paragraphs (dicts), or their JSON lines when encoded
    tally: Tally
    warnings: list[str]  # for stderr (after the source's name): records decoded lossily


@dataclass(frozen=True)
class Task:
    """How every record of a run is scored; picklable, sent once to each worker."""

    command: str  # records.CLEAN or records.SCORE
    policy: Policy
    fmt: Format | None
    max_bytes: int
    unit: str = "line"  # what a number counts in messages: line, row, record
    rejected: bool = False  # collect dropped paragraphs
    text_key: str = "text"  # the record fields holding the document
    html_key: str = "html"
    drop: tuple[str, ...] = ()  # input fields left out of the output (a WARC page's HTML)
    explain: bool = False  # add each paragraph's reasons (score)
    encode: bool = False  # JSON-encode the output here (where the CPU is spare)


def rejected_rows(record: dict[str, Any], number: int, result: Result) -> list[dict[str, Any]]:
    """One row per dropped paragraph: enough to audit it without the input at hand."""
    return [
        {"id": record.get("id"), "record": number, "paragraph": index,
         "label": p.label.value, "score": p.scores[p.label.value], "text": p.text}
        for index, p in enumerate(result.paragraphs) if not p.kept
    ]


def _prepare(filt: Filter, task: Task, number: int, payload: Payload,
             chunk: Chunk) -> tuple[dict[str, Any] | None, Document | str]:
    """(the record, its segmented document) or (the record if parsed, the error message)."""
    record = None
    try:
        if isinstance(payload, dict):
            record = payload
        else:
            if b"\0" in payload:
                raise InputError("binary data (NUL bytes)")
            decoded = decode(payload)
            if decoded.replaced:
                chunk.tally.lossy += 1
                chunk.warnings.append(
                    f"{task.unit} {number}: invalid UTF-8 at byte "
                    f"{decoded.first_bad}; {decoded.replaced} bytes replaced with U+FFFD")
            record = parse_line(decoded.text, number)
        job = job_for(record, task.fmt, task.max_bytes, task.text_key, task.html_key)
        # Segmented here, so that a record that fails does so alone, not its whole chunk.
        return record, filt.segment(job.raw, job.fmt)
    except ContamFilterError as exc:
        message = str(exc)
        if not message.startswith(f"{task.unit} "):
            message = f"{task.unit} {number}: {message}"
        return record, message


def score_chunk(filt: Filter, task: Task, items: Sequence[tuple[int, Payload]]) -> Chunk:
    chunk = Chunk([], [], Tally(), [])
    prepared = [(number, *_prepare(filt, task, number, payload, chunk))
                for number, payload in items]
    docs = [doc for _n, _r, doc in prepared if isinstance(doc, Document)]
    results = iter(filt.score_documents(docs, task.policy, task.explain))
    for number, record, doc in prepared:
        if isinstance(doc, str):
            chunk.tally.errors += 1
            out = error_record(record, doc)
        else:
            result = next(results)
            chunk.tally.add(result)
            out = output_record(task.command, record, result, task.text_key)
            for key in task.drop:
                out.pop(key, None)
            if task.rejected:
                chunk.rejected += rejected_rows(record, number, result)
        chunk.records.append(out)
    if task.encode:
        chunk.records = [dumps(r) for r in chunk.records]
        chunk.rejected = [dumps(r) for r in chunk.rejected]
    return chunk


def dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, default=_plain) + "\n"


def _plain(value: Any) -> Any:
    """JSON for the non-JSON values a Parquet row can hold (timestamps, decimals, bytes)."""
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)  # Decimal, UUID and the like: their exact text
