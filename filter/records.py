"""JSON Lines records: what a record must hold, and the record each command answers.

Shared by the CLI and the cluster job, so that a record fails the same way everywhere.
A record that cannot be scored becomes ``{"id": ..., "error": ...}`` and never stops the
stream.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .core import check_size
from .document import Format
from .errors import InputError
from .result import Result

CLEAN = "clean"
SCORE = "score"


@dataclass(frozen=True)
class Job:
    """A record ready to score: its raw content and the format that content is in."""

    record: dict[str, Any]
    raw: str
    fmt: Format | None  # None: detect


def parse_line(line: bytes | str, number: int) -> dict[str, Any]:
    """A JSON object from one line; InputError says what is wrong with it."""
    if isinstance(line, bytes):
        line = line.decode("utf-8", errors="replace")
    if not line.strip():
        raise InputError(f"line {number}: empty line, expected a JSON object")
    try:
        record = json.loads(line)
    except ValueError as exc:
        raise InputError(f"line {number}: invalid JSON ({exc})") from None
    if not isinstance(record, dict):
        raise InputError(f"line {number}: expected a JSON object, got {type(record).__name__}")
    return record


def job_for(record: dict[str, Any], default_format: Format | None, max_bytes: int,
            text_key: str = "text", html_key: str = "html") -> Job:
    """Which content to score: the HTML field if present, else the text field."""
    if record.get(html_key) is not None:
        key, fmt = html_key, Format.HTML
    elif record.get(text_key) is not None:
        key, fmt = text_key, default_format
    else:
        raise InputError(f"record has neither a '{text_key}' nor an '{html_key}' field")
    raw = record[key]
    if not isinstance(raw, str):
        raise InputError(f"'{key}' must be a string, got {type(raw).__name__}")
    check_size(raw, max_bytes)
    return Job(record, raw, fmt)


def error_record(record: dict[str, Any] | None, message: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if record is not None and "id" in record:
        out["id"] = record["id"]
    out["error"] = message
    return out


def output_record(mode: str, record: dict[str, Any], result: Result,
                  text_key: str = "text") -> dict[str, Any]:
    """The input record with the command's fields added (``clean`` puts the clean text in
    the text field, in place of the text it was given)."""
    if mode == CLEAN:
        report = result.report(paragraphs=False)
        return {**record, text_key: report.pop("clean_text"), **report}
    return {**record, **result.report()}
