"""The CLI's corpus job on a Ray cluster, for inputs too large for one machine's cores.

Ray Data does the scheduling, the streaming and the retries; this module only says how a
batch of records is scored (``filter.batch.score_chunk``, the CLI's own path, so that a
record is scored, refused and reported the same way here) and how the results are read
and written. Each actor loads the model once.

The reader is ours, not ``ray.data.read_text``: that one decodes a whole file strictly
(one invalid UTF-8 byte fails the job), splits lines on U+2028 and other characters JSON
allows inside a string, and forgets line numbers. Ours hands each line over as bytes with
its number, split on ``\\n`` only, exactly as the CLI reads it, and numbers Parquet rows
too, so that an error names its line or row. The writer is ours because output records
have different fields (an error record is just ``{"id", "error"}``): the JSON lines made
by the workers are written as they are.

Records are scored once: the scored dataset is materialized (in the object store,
spilled to disk when large) and both the output and the rejected paragraphs are written
from it. Output files are not in input order; every record keeps its fields, ``id``
included. Paths are read and written by the cluster's workers, so on more than one
machine they must be shared storage (or s3:// and the like), and contamfilter must be
installed on every node.
"""

from __future__ import annotations

import dataclasses
import glob
import io
import json
import logging
import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from .batch import Tally, Task, score_chunk
from .core import DEFAULT_MAX_BYTES, Filter
from .errors import InputError
from .policy import Policy
from .records import CLEAN, SCORE

log = logging.getLogger(__name__)

JSONL = "jsonl"
PARQUET = "parquet"

# Columns the reader adds to each record; unlikely to clash with a Parquet file's own.
_SOURCE = "__contamfilter_source"
_NUMBER = "__contamfilter_number"
_LINE = "__contamfilter_line"


def _ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError:
        raise InputError("the cluster path needs ray: pip install 'contamfilter[ray]'") from None
    return ray


class ScoreBatches:
    """``Dataset.map_batches`` callable: a batch of records in, one row per chunk out.

    A row holds the chunk's output records and its rejected paragraphs as JSON lines
    (``records``, ``rejected``), its ``Tally`` as JSON and its warnings.
    """

    def __init__(self, task: Task, model_dir: Path | str | None = None) -> None:
        self.task = task
        self.filt = Filter(model_dir, task.policy, task.max_bytes)

    def __call__(self, batch: Any) -> dict[str, list[str]]:
        # A batch may span files: one chunk per file, so that a warning can name its file.
        by_source: dict[str, list[tuple[int, Any]]] = {}
        for row in batch.to_pylist():  # a pyarrow.Table: plain Python values
            source, number = row.pop(_SOURCE), row.pop(_NUMBER)
            payload = row[_LINE] if self.task.unit == "line" else row
            by_source.setdefault(source, []).append((number, payload))
        out: dict[str, list[str]] = {"records": [], "rejected": [], "tally": [], "warnings": []}
        for source, items in by_source.items():
            chunk = score_chunk(self.filt, self.task, items)
            out["records"].append("".join(chunk.records))
            out["rejected"].append("".join(chunk.rejected))
            out["tally"].append(json.dumps(dataclasses.asdict(chunk.tally)))
            out["warnings"].append("".join(f"{source} {w}\n" for w in chunk.warnings))
        return out


@cache
def _io() -> tuple[type, type]:
    """The reader and writer classes; built on first use, as they subclass Ray's."""
    _ray()
    import pyarrow as pa
    import pyarrow.parquet as pq
    from ray.data.datasource import BlockBasedFileDatasink, FileBasedDatasource

    class Records(FileBasedDatasource):
        """JSON Lines lines (bytes) or Parquet rows, each with its file and number."""

        def __init__(self, paths: list[str], kind: str, rows_per_block: int) -> None:
            super().__init__(paths)
            self.kind = kind
            self.rows_per_block = rows_per_block

        def _open_input_source(self, filesystem, path, **open_args):
            if self.kind == PARQUET:  # needs random access, and is never compressed whole
                return filesystem.open_input_file(path)
            return super()._open_input_source(filesystem, path, **open_args)

        def _read_stream(self, f, path):
            number = 0
            for batch in self._batches(f):
                table = pa.Table.from_batches([batch]) if self.kind == PARQUET else batch
                numbers = pa.array(range(number + 1, number + table.num_rows + 1), pa.int64())
                number += table.num_rows
                yield (table.append_column(_SOURCE, pa.array([path] * table.num_rows))
                       .append_column(_NUMBER, numbers))

        def _batches(self, f):
            if self.kind == PARQUET:
                yield from pq.ParquetFile(f).iter_batches(batch_size=self.rows_per_block)
                return
            lines: list[bytes] = []
            for line in io.BufferedReader(f, 1 << 20):  # split on b"\n" only
                lines.append(line[:-1] if line.endswith(b"\n") else line)
                if len(lines) == self.rows_per_block:
                    yield pa.table({_LINE: pa.array(lines, pa.binary())})
                    lines = []
            if lines:
                yield pa.table({_LINE: pa.array(lines, pa.binary())})

    class JsonLinesSink(BlockBasedFileDatasink):
        """Writes one column's text, already JSON lines, as it is; no file when empty."""

        def __init__(self, path: str, column: str, min_rows_per_file: int) -> None:
            super().__init__(path, file_format=JSONL, min_rows_per_file=min_rows_per_file)
            self.column = column

        def write_block(self, block, block_index, ctx):
            if any(block.to_arrow()[self.column].to_pylist()):
                super().write_block(block, block_index, ctx)

        def write_block_to_file(self, block, file):
            for text in block.to_arrow()[self.column].to_pylist():
                file.write(text.encode("utf-8"))

    return Records, JsonLinesSink


def _is_uri(path: str) -> bool:
    return "://" in path


def _kind(path: str) -> str:
    return PARQUET if path.lower().endswith(".parquet") else JSONL


def _files(inputs: str | Sequence[str]) -> list[str]:
    """Local globs and directories expanded (hidden and ``_`` files skipped); URIs as given."""
    files: list[str] = []
    for name in [inputs] if isinstance(inputs, str | os.PathLike) else inputs:
        name = os.fspath(name)
        if _is_uri(name):
            files.append(name)
            continue
        matches = sorted(glob.glob(name)) if glob.has_magic(name) else [name]
        if not matches or not os.path.exists(matches[0]):
            raise InputError(f"{name}: no such file or directory")
        for match in matches:
            if not os.path.isdir(match):
                files.append(match)
                continue
            files += sorted(str(p) for p in Path(match).rglob("*") if p.is_file() and not any(
                part.startswith((".", "_")) for part in p.relative_to(match).parts))
    if not files:
        raise InputError(f"no input files in {inputs}")
    return files


def _output_dir(path: str) -> None:
    """A local output directory is created, and must not hold files of an earlier run."""
    if _is_uri(path):
        return
    if os.path.isdir(path) and os.listdir(path):
        raise InputError(f"output directory {path} is not empty")
    os.makedirs(path, exist_ok=True)


def run(inputs: str | Sequence[str], output: str, rejected: str | None = None, *,
        command: str = CLEAN, input_format: str = "auto", text_key: str = "text",
        html_key: str = "html", policy: Policy | None = None,
        model_dir: Path | str | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
        concurrency: int | tuple[int, int] | None = None, batch_size: int = 64,
        records_per_file: int = 5000, address: str | None = None) -> Tally:
    """Score JSON Lines or Parquet files on a Ray cluster; returns what the run did.

    ``inputs``: files, directories or globs (JSON Lines may be .gz, .zst, .bz2);
    ``input_format`` "auto" takes ``.parquet`` files as Parquet, anything else as JSON
    Lines. ``output``: directory for one output record per input record, as the CLI's
    ``--jsonl`` writes them; ``rejected``: directory for the dropped paragraphs, one
    JSON line each (``id``, ``record``, ``paragraph``, ``label``, ``score``, ``text``).
    ``concurrency``: scoring actors (or a (min, max) range), Ray's default when None.
    ``address``: the cluster to join when Ray is not initialised yet (None: RAY_ADDRESS,
    else a new local one, stopped again at the end); an initialised Ray is used as it is.
    """
    ray = _ray()
    if command not in (CLEAN, SCORE):
        raise InputError(f"command must be '{CLEAN}' or '{SCORE}', not {command!r}")
    if input_format not in ("auto", JSONL, PARQUET):
        raise InputError(f"input_format must be auto, jsonl or parquet, not {input_format!r}")
    output = os.fspath(output)
    rejected = None if rejected is None else os.fspath(rejected)
    if rejected is not None and os.path.abspath(rejected) == os.path.abspath(output):
        raise InputError("the rejected paragraphs need a directory of their own")
    by_kind: dict[str, list[str]] = {}
    for path in _files(inputs):
        kind = _kind(path) if input_format == "auto" else input_format
        by_kind.setdefault(kind, []).append(path)
    policy = policy or Policy()
    # Loaded here once first, so that a missing or mismatched model fails with its own
    # message before any work, not as actors that die on the cluster.
    Filter(model_dir, policy, max_bytes)
    for directory in (output, rejected):
        if directory is not None:
            _output_dir(directory)

    Records, JsonLinesSink = _io()
    started = not ray.is_initialized()
    if started:
        ray.init(address=address)
    try:
        if isinstance(concurrency, int):
            pool = ray.data.ActorPoolStrategy(size=concurrency)
        elif concurrency:
            pool = ray.data.ActorPoolStrategy(min_size=concurrency[0], max_size=concurrency[1])
        else:
            pool = None  # Ray's default: as many actors as the cluster allows
        parts = []
        for kind, paths in by_kind.items():
            task = Task(command=command, policy=policy, fmt=None,
                        max_bytes=max_bytes, unit="row" if kind == PARQUET else "line",
                        rejected=rejected is not None, text_key=text_key,
                        html_key=html_key, encode=True)
            # Reading asks for no CPU: it is light next to scoring, and a pool of actors
            # as large as the cluster would leave it none and hang (ray-project/ray#44687).
            records = ray.data.read_datasource(Records(paths, kind, batch_size), num_cpus=0)
            parts.append(records.map_batches(
                ScoreBatches, batch_size=batch_size, batch_format="pyarrow", compute=pool,
                fn_constructor_kwargs={"task": task, "model_dir": model_dir}))
        scored = parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]
        scored = scored.materialize()  # scored once, written twice

        per_file = max(1, records_per_file // batch_size)
        scored.write_datasink(JsonLinesSink(output, "records", per_file))
        if rejected is not None:
            scored.write_datasink(JsonLinesSink(rejected, "rejected", per_file))
        tally = Tally()
        for row in scored.select_columns(["tally", "warnings"]).iter_rows():
            tally.merge(Tally(**json.loads(row["tally"])))
            for warning in row["warnings"].splitlines():
                log.warning(warning)
        return tally
    finally:
        if started:
            ray.shutdown()
