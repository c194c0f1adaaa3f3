"""The ``contamfilter`` command: stdin or files in, clean text or JSON out.

Split as trafilatura does: building the parser, checking the options once, and main.
Results go to stdout, messages to stderr as ``contamfilter: ...``; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import deque
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import IO, Any, TextIO

from .artifact import MODEL_DIR, read_card
from .batch import Tally, Task, dumps, rejected_rows
from .core import DEFAULT_MAX_BYTES, Filter
from .document import Format
from .errors import ContamFilterError
from .inputs import decode, read_limited
from .labels import LABELS, parse_labels
from .parallel import Work, default_workers, score_chunks
from .policy import DEFAULT_MIN_CONFIDENCE, Policy
from .progress import Progress
from .records import CLEAN, SCORE
from .result import Result
from .sinks import JsonlSink, ParquetSink, open_text_output
from .sources import Columns, Kind, SourceStats, records, sniff

PROG = "contamfilter"
SERVE = "serve"
RAY = "ray"
COMMANDS = (CLEAN, SCORE, SERVE, RAY)
BATCH = 64  # records scored per model call, and sent to a worker at a time

# Exit codes.
OK, FAILED, USAGE, DECODED_LOSSILY = 0, 1, 2, 3

log = logging.getLogger(PROG)

EPILOG = f"""\
examples:
  cat page.html | {PROG} > clean.txt          clean one document (clean is the default)
  {PROG} clean --keep body,transcript a.txt   keep interview turns too
  {PROG} score --stats story.txt              per-paragraph labels and probabilities as JSON
  {PROG} clean --jsonl < docs.jsonl           records {{"id", "text"|"html", ...}} in and out
  {PROG} clean --jsonl --workers 8 --progress --rejected dropped.jsonl crawl.jsonl.zst \
      -o clean.parquet                        a corpus on 8 cores, with an audit trail
  {PROG} clean crawl.warc.gz -o clean.jsonl   every HTML response of a WARC file

labels: {", ".join(LABELS)}.
exit status: 0 ok; 1 an input could not be processed (the others still were); 2 bad usage;
3 output written, but some input was not valid UTF-8 and was decoded with replacement.
"""


def _version() -> str:
    try:
        pkg = package_version("contamfilter")
    except PackageNotFoundError:
        pkg = "unknown"
    try:
        model = read_card(MODEL_DIR).get("version", "unknown")
    except ContamFilterError:
        model = "none"
    return f"{PROG} {pkg} (model {model})"


def _labels_arg(value: str):
    try:
        return parse_labels(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _confidence_arg(value: str) -> float:
    try:
        x = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 0.0 <= x <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return x


def _workers_arg(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def _bytes_arg(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of bytes: {value!r}") from None
    if n <= 0:
        raise argparse.ArgumentTypeError("must be a positive number of bytes")
    return n


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Label every paragraph of scraped text or HTML as body, boilerplate, "
        "transcript or promo, and keep only what you ask for (the article, by default).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=_version())
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log on stderr (-v info, -vv debug)")
    sub = parser.add_subparsers(dest="command", metavar="{clean,score,serve,ray}")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--version", action="version", version=_version())
    common.add_argument("-v", "--verbose", action="count", default=0, dest="sub_verbose",
                        help="log on stderr (-v info, -vv debug)")
    common.add_argument("files", nargs="*", metavar="FILE",
                        help="documents to read ('-' or none: standard input)")
    common.add_argument("--keep", type=_labels_arg, default=None, metavar="LABELS",
                        help="comma-separated labels to keep (default: body)")
    common.add_argument("--format", choices=("auto", "text", "html"), default="auto",
                        help="input format (default: auto-detect per document)")
    common.add_argument("--min-confidence", type=_confidence_arg, default=None, metavar="X",
                        help="drop a paragraph only when the labels not kept have at least "
                        f"this probability (default: {DEFAULT_MIN_CONFIDENCE})")
    common.add_argument("--jsonl", action="store_true",
                        help='input is JSON Lines, one {"id", "text"|"html", ...} per line; '
                        "output is one JSON line per input line, in order")
    common.add_argument("--stats", action="store_true",
                        help="print a run summary on stderr: documents in, out and errored, "
                        "paragraphs per label, characters removed")
    common.add_argument("--explain", action="store_true",
                        help="score: add each paragraph's reasons (the 3 features that "
                        "pushed it most towards its label, with weights in log-odds)")
    corpus = common.add_argument_group(
        "corpus runs", "JSON Lines (also gzip- or zstd-compressed), Parquet and WARC input; "
        "a Parquet or WARC file is recognised by its content, JSON Lines needs --jsonl")
    corpus.add_argument("--workers", type=_workers_arg, default=None, metavar="N",
                        help="processes scoring records, output kept in input order "
                        f"(default: all cores, here {default_workers()})")
    corpus.add_argument("--input-format", choices=("auto", *(k.value for k in Kind)),
                        default="auto", help="read every FILE as this (default: by content)")
    corpus.add_argument("--text-column", default="text", metavar="NAME",
                        help="record field or Parquet column holding text (default: text)")
    corpus.add_argument("--html-column", default="html", metavar="NAME",
                        help="record field or Parquet column holding HTML, preferred when "
                        "present (default: html)")
    corpus.add_argument("-o", "--output", default=None, metavar="FILE",
                        help="write here instead of standard output; .gz/.zst compress, "
                        ".parquet writes Parquet")
    corpus.add_argument("--output-format", choices=("auto", "jsonl", "parquet"),
                        default="auto", help="default: parquet for a .parquet --output")
    corpus.add_argument("--rejected", default=None, metavar="FILE",
                        help="write every dropped paragraph here as JSON Lines (id, record, "
                        "paragraph, label, score, text), to audit what was removed")
    corpus.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="show progress on stderr (default: when stderr is a terminal)")
    common.add_argument("--max-bytes", type=_bytes_arg, default=DEFAULT_MAX_BYTES, metavar="N",
                        help=f"largest document accepted (default: {DEFAULT_MAX_BYTES})")
    common.add_argument("--model", type=Path, default=None, metavar="DIR",
                        help="model folder with contamfilter.joblib and card.json "
                        "(default: the shipped model)")

    sub.add_parser(CLEAN, parents=[common], help="print the clean text (default command)",
                   epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
                   description="Print each document's kept paragraphs. With --jsonl, "
                   "'text' is replaced by the clean text and counts, contamination and "
                   "model are added.")
    sub.add_parser(SCORE, parents=[common], help="print per-paragraph labels as JSON",
                   epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
                   description="Print one JSON object per document: paragraphs (text, "
                   "label, scores, kept), clean_text, counts, contamination, model.")
    serve = sub.add_parser(SERVE, help="run the HTTP service (needs the 'service' extra)",
                           description="Serve /v1/score, /v1/clean, /v1/score/batch, /v1/model, "
                           "/livez, /readyz and /metrics with uvicorn. Settings also come from "
                           "CONTAMFILTER_* environment variables (see README).")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    serve.add_argument("--workers", type=int, default=None,
                       help="scorer processes behind the one HTTP process; 1 scores in it "
                       "(default: CONTAMFILTER_WORKERS or 1)")
    serve.add_argument("--model", type=Path, default=None, metavar="DIR",
                       help="model folder (default: the shipped model)")
    serve.add_argument("--log-level", default="info",
                       choices=("critical", "error", "warning", "info", "debug"))
    serve.add_argument("--allow-save", type=Path, default=None, metavar="DIR",
                       help="let the review page (GET /) save labeled documents into DIR, "
                       "never overwriting a file (default: CONTAMFILTER_ALLOW_SAVE, else off)")
    _add_ray_parser(sub)
    return parser


def _add_ray_parser(sub: Any) -> None:
    ray = sub.add_parser(
        RAY, help="clean or score a corpus on a Ray cluster (needs the 'ray' extra)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Read JSON Lines (also .gz/.zst) or Parquet files, directories or globs;\n"
        "score every record on a Ray cluster (one model per actor); write one output record\n"
        "per input record as JSON Lines files into --output, and the dropped paragraphs\n"
        "into --rejected. Output files are not in input order; records keep their fields,\n"
        "id included. See docs/scaling.md.",
        epilog=f"""examples:
  {PROG} ray 'crawl/*.jsonl.gz' --output clean/ --rejected dropped/
  RAY_ADDRESS=auto {PROG} ray s3://bucket/pages/ --input-format parquet --output s3://bucket/clean/
""")
    ray.add_argument("inputs", nargs="+", metavar="INPUT", help="files, directories or globs")
    ray.add_argument("-o", "--output", required=True, metavar="DIR",
                     help="directory for the output JSON Lines files")
    ray.add_argument("--rejected", default=None, metavar="DIR",
                     help="directory for the dropped paragraphs (JSON Lines)")
    ray.add_argument("--mode", choices=(CLEAN, SCORE), default=CLEAN,
                     help="what each output record holds, as the command of that name "
                     "(default: clean)")
    ray.add_argument("--input-format", choices=("auto", "jsonl", "parquet"), default="auto",
                     help="default: .parquet files as Parquet, others as JSON Lines")
    ray.add_argument("--text-column", default="text", metavar="NAME")
    ray.add_argument("--html-column", default="html", metavar="NAME")
    ray.add_argument("--keep", type=_labels_arg, default=None, metavar="LABELS",
                     help="comma-separated labels to keep (default: body)")
    ray.add_argument("--min-confidence", type=_confidence_arg, default=None, metavar="X")
    ray.add_argument("--max-bytes", type=_bytes_arg, default=DEFAULT_MAX_BYTES, metavar="N")
    ray.add_argument("--model", type=Path, default=None, metavar="DIR",
                     help="model folder, readable on every node (default: the shipped one)")
    ray.add_argument("--address", default=None,
                     help="Ray cluster to join (default: RAY_ADDRESS, else a local cluster)")
    ray.add_argument("--concurrency", type=_workers_arg, default=None, metavar="N",
                     help="scoring actors (default: as many as the cluster's CPUs allow)")


def run_ray(args: argparse.Namespace) -> int:
    from .distributed import run

    policy = Policy.build(keep=[k.value for k in args.keep] if args.keep else None,
                          min_confidence=args.min_confidence)
    try:
        tally = run(args.inputs, args.output, args.rejected, command=args.mode,
                    input_format=args.input_format, text_key=args.text_column,
                    html_key=args.html_column, policy=policy, model_dir=args.model,
                    max_bytes=args.max_bytes, concurrency=args.concurrency,
                    address=args.address)
    except ContamFilterError as exc:
        _error(str(exc))
        return FAILED
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a Ray failure: one line, not a page of remote traceback
        _error(f"the Ray job failed: {type(exc).__name__}: {str(exc).splitlines()[0]}")
        return FAILED
    _error(tally.summary())
    if tally.errors:
        return FAILED
    return DECODED_LOSSILY if tally.lossy else OK


def run_serve(args: argparse.Namespace) -> int:
    try:
        from service.server import serve
        from service.settings import get_settings
    except ImportError as exc:
        _error(f"serve needs the service extra ({exc.name} is missing): "
               "pip install 'contamfilter[service]'")
        return FAILED
    workers = args.workers or get_settings().workers
    if workers < 1:
        _error("--workers must be at least 1")
        return USAGE
    if args.allow_save is not None and not args.allow_save.is_dir():
        _error(f"--allow-save: {args.allow_save} is not a directory")
        return USAGE
    serve(args.host, args.port, workers, args.model, args.log_level, args.allow_save)
    return OK


def _with_default_command(argv: list[str]) -> list[str]:
    """``contamfilter [opts] FILE`` means ``contamfilter [opts] clean FILE``."""
    for k, arg in enumerate(argv):
        if arg in ("-h", "--help", "--version"):
            return argv
        if arg in ("-v", "--verbose") or (arg.startswith("-v") and set(arg[1:]) == {"v"}):
            continue
        return argv if arg in COMMANDS else [*argv[:k], CLEAN, *argv[k:]]
    return [*argv, CLEAN]


@dataclass
class Options:
    command: str
    files: list[str]
    policy: Policy
    fmt: Format | None
    jsonl: bool
    stats: bool
    max_bytes: int
    model: Path | None
    workers: int = 1
    input_format: Kind | None = None  # None: by content
    columns: Columns = field(default_factory=Columns)
    output: str | None = None
    parquet_out: bool = False
    rejected: str | None = None
    progress: bool = False
    explain: bool = False


def parse_args(argv: list[str]) -> Options | argparse.Namespace:
    args = build_parser().parse_args(_with_default_command(argv))
    if args.command in (SERVE, RAY):
        logging.basicConfig(level=logging.WARNING, format=f"{PROG}: %(message)s",
                            stream=sys.stderr)
        return args
    verbosity = min(args.verbose + args.sub_verbose, 2)
    logging.basicConfig(
        level=(logging.WARNING, logging.INFO, logging.DEBUG)[verbosity],
        format=f"{PROG}: %(message)s", stream=sys.stderr,
    )
    return Options(
        command=args.command,
        files=args.files or ["-"],
        policy=Policy.build(keep=[k.value for k in args.keep] if args.keep else None,
                            min_confidence=args.min_confidence),
        fmt=None if args.format == "auto" else Format(args.format),
        jsonl=args.jsonl,
        stats=args.stats,
        max_bytes=args.max_bytes,
        model=args.model,
        workers=args.workers or default_workers(),
        input_format=None if args.input_format == "auto" else Kind(args.input_format),
        columns=Columns(text=args.text_column, html=args.html_column),
        output=args.output,
        parquet_out=args.output_format == "parquet" or (
            args.output_format == "auto" and str(args.output or "").endswith(".parquet")),
        rejected=args.rejected,
        progress=sys.stderr.isatty() if args.progress is None else args.progress,
        explain=args.explain and args.command == SCORE,
    )


def _error(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr)


def _open(name: str) -> IO[bytes]:
    return sys.stdin.buffer if name == "-" else open(name, "rb")


def _label(name: str) -> str:
    return "standard input" if name == "-" else name


def _warn_lossy(what: str, replaced: int, offset: int | None, tally: Tally) -> None:
    tally.lossy += 1
    _error(f"{what}: invalid UTF-8 at byte {offset}; {replaced} bytes replaced with U+FFFD")


def _emit(out: TextIO, opts: Options, result: Result, source: str, first: bool) -> bool:
    """Write one document; True when something was written."""
    if opts.command == SCORE:
        out.write(json.dumps({"source": source, **result.report()}, ensure_ascii=False) + "\n")
        return True
    if not result.clean_text:
        return False
    out.write(("" if first else "\n") + result.clean_text + "\n")
    return True


class Outputs:
    """Where a run writes: results (stdout, a file, or Parquet) and the rejected file."""

    def __init__(self, opts: Options) -> None:
        self.results: JsonlSink | ParquetSink | None = None
        self.rejected: JsonlSink | None = None
        if opts.parquet_out:
            self.results = ParquetSink(opts.output or "", opts.command, opts.columns.text,
                                       opts.columns.html)
        self.text = None if opts.parquet_out else open_text_output(opts.output)
        if opts.rejected:
            self.rejected = JsonlSink(opts.rejected)

    def write(self, lines: list[Any]) -> None:
        if isinstance(self.results, ParquetSink):
            self.results.write(lines)
        else:
            assert self.text is not None
            self.text.write("".join(lines))
            self.text.flush()

    def reject(self, rows: list[Any]) -> None:
        if self.rejected is not None and rows:
            self.rejected.write([r if isinstance(r, str) else dumps(r) for r in rows])

    def close(self) -> None:
        for sink in (self.results, self.rejected):
            if sink is not None:
                sink.close()
        if self.text is not None and self.text is not sys.stdout:
            self.text.close()


def run_documents(filt: Filter, opts: Options, outputs: Outputs, tally: Tally,
                  progress: Progress) -> None:
    first = True
    assert outputs.text is not None
    for number, name in enumerate(opts.files, 1):
        what = _label(name)
        try:
            with _open(name) as fh:
                data = read_limited(fh, opts.max_bytes)
            decoded = decode(data)
            if decoded.replaced:
                _warn_lossy(what, decoded.replaced, decoded.first_bad, tally)
            result = filt.score(decoded.text, opts.fmt, opts.policy, opts.explain)
        except OSError as exc:
            tally.errors += 1
            _error(f"cannot read {what}: {exc.strerror or exc}")
            continue
        except ContamFilterError as exc:
            tally.errors += 1
            _error(f"{what}: {exc}")
            continue
        tally.add(result)
        source = "-" if name == "-" else name
        if _emit(outputs.text, opts, result, source, first):
            first = False
        outputs.text.flush()
        outputs.reject(rejected_rows({"id": source}, number, result))
        progress.update(tally)


def _work(opts: Options, tally: Tally, stats: SourceStats,
          sources: deque[str]) -> Iterator[Work]:
    """(task, up to BATCH records) for every file in turn; each chunk's source is
    appended to ``sources``, in the order the chunks come back."""
    for name in opts.files:
        what = _label(name)
        kind = opts.input_format or sniff(name) or Kind.JSONL
        task = Task(opts.command, opts.policy, opts.fmt, opts.max_bytes, unit=kind.unit,
                    rejected=opts.rejected is not None, encode=not opts.parquet_out,
                    text_key=opts.columns.text, html_key=opts.columns.html,
                    drop=(opts.columns.html,) if kind is Kind.WARC else (),
                    explain=opts.explain)
        items: list[tuple[int, Any]] = []
        try:
            for item in records(name, kind, opts.columns, stats):
                items.append(item)
                if len(items) >= BATCH:
                    sources.append(what)
                    yield task, items
                    items = []
        except ContamFilterError as exc:
            tally.errors += 1
            _error(f"{what}: {exc}")
        except OSError as exc:
            tally.errors += 1
            _error(f"cannot read {what}: {exc.strerror or exc}")
        except (EOFError, ValueError) as exc:  # truncated or corrupt compressed/columnar data
            tally.errors += 1
            _error(f"cannot read {what}: {type(exc).__name__}: {exc}")
        if items:
            sources.append(what)
            yield task, items


def run_records(filt: Filter, opts: Options, outputs: Outputs, tally: Tally,
                progress: Progress) -> SourceStats:
    stats = SourceStats()
    sources: deque[str] = deque()
    chunks = score_chunks(filt, _work(opts, tally, stats, sources), opts.workers, opts.model)
    with closing(chunks):
        for chunk in chunks:
            what = sources.popleft()
            for warning in chunk.warnings:
                _error(f"{what} {warning}")
            tally.merge(chunk.tally)
            outputs.write(chunk.records)
            outputs.reject(chunk.rejected)
            progress.update(tally)
    return stats


def _record_mode(opts: Options) -> bool:
    return opts.jsonl or opts.input_format is not None or any(map(sniff, opts.files))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    opts = parse_args(argv)
    if not isinstance(opts, Options):
        return run_ray(opts) if opts.command == RAY else run_serve(opts)
    tally = Tally()
    progress = Progress(sys.stderr, opts.progress)
    stats = SourceStats()
    outputs = None
    try:
        record_mode = _record_mode(opts)
        if opts.parquet_out and not record_mode:
            _error("Parquet output needs record input: --jsonl, a Parquet or a WARC file")
            return USAGE
        filt = Filter(opts.model, opts.policy, opts.max_bytes)
        log.info("model %s loaded", filt.version)
        outputs = Outputs(opts)
        if record_mode:
            stats = run_records(filt, opts, outputs, tally, progress)
        else:
            run_documents(filt, opts, outputs, tally, progress)
        outputs.close()
    except ContamFilterError as exc:
        _error(str(exc))
        return FAILED
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as cat does.
        sys.stdout = None  # type: ignore[assignment]
        return OK
    except KeyboardInterrupt:
        return 130
    progress.close(tally)
    if opts.stats or opts.progress:
        _error(tally.summary())
    if stats.warc_skipped:
        log.info("%d WARC response records were not HTML and were skipped", stats.warc_skipped)
    if tally.errors:
        return FAILED
    return DECODED_LOSSILY if tally.lossy else OK


if __name__ == "__main__":
    sys.exit(main())
