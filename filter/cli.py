"""The ``contamfilter`` command: stdin or files in, clean text or JSON out.

Split as trafilatura does: building the parser, checking the options once, and main.
Results go to stdout, messages to stderr as ``contamfilter: ...``; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import IO, Any, TextIO

from .artifact import MODEL_DIR, read_card
from .core import DEFAULT_MAX_BYTES, Filter
from .document import Document, Format
from .errors import ContamFilterError, InputError
from .inputs import decode, read_limited
from .labels import LABELS, parse_labels
from .policy import DEFAULT_MIN_CONFIDENCE, Policy
from .records import CLEAN, SCORE, error_record, job_for, output_record, parse_line
from .result import Result

PROG = "contamfilter"
SERVE = "serve"
COMMANDS = (CLEAN, SCORE, SERVE)
BATCH = 64  # JSON Lines records scored per model call

# Exit codes.
OK, FAILED, USAGE, DECODED_LOSSILY = 0, 1, 2, 3

log = logging.getLogger(PROG)

EPILOG = f"""\
examples:
  cat page.html | {PROG} > clean.txt          clean one document (clean is the default)
  {PROG} clean --keep body,transcript a.txt   keep interview turns too
  {PROG} score --stats story.txt              per-paragraph labels and probabilities as JSON
  {PROG} clean --jsonl < docs.jsonl           records {{"id", "text"|"html", ...}} in and out

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
    sub = parser.add_subparsers(dest="command", metavar="{clean,score,serve}")

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
                        help="print paragraph counts per label on stderr")
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
    return parser


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
    serve(args.host, args.port, workers, args.model, args.log_level)
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


def parse_args(argv: list[str]) -> Options | argparse.Namespace:
    args = build_parser().parse_args(_with_default_command(argv))
    if args.command == SERVE:
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
    )


@dataclass
class Tally:
    """What a run did, for --stats and the exit status."""

    documents: int = 0
    errors: int = 0
    lossy: int = 0
    labels: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LABELS, 0))
    chars: int = 0
    removed: int = 0

    def add(self, result: Result) -> None:
        self.documents += 1
        for label, n in result.counts.items():
            self.labels[label] += n
        for p in result.paragraphs:
            self.chars += len(p.text)
            self.removed += 0 if p.kept else len(p.text)

    def summary(self) -> str:
        labels = ", ".join(f"{k} {v}" for k, v in self.labels.items())
        share = self.removed / self.chars if self.chars else 0.0
        return (f"{self.documents} documents, {sum(self.labels.values())} paragraphs "
                f"({labels}); {share:.1%} of characters removed; {self.errors} errors")


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


def run_documents(filt: Filter, opts: Options, out: TextIO, tally: Tally) -> None:
    first = True
    for name in opts.files:
        what = _label(name)
        try:
            with _open(name) as fh:
                data = read_limited(fh, opts.max_bytes)
            decoded = decode(data)
            if decoded.replaced:
                _warn_lossy(what, decoded.replaced, decoded.first_bad, tally)
            result = filt.score(decoded.text, opts.fmt, opts.policy)
        except OSError as exc:
            tally.errors += 1
            _error(f"cannot read {what}: {exc.strerror or exc}")
            continue
        except ContamFilterError as exc:
            tally.errors += 1
            _error(f"{what}: {exc}")
            continue
        tally.add(result)
        if _emit(out, opts, result, "-" if name == "-" else name, first):
            first = False
        out.flush()


def _jsonl_lines(opts: Options, tally: Tally) -> Iterator[tuple[str, int, bytes]]:
    """(source, line number, line without its newline) for every input line."""
    for name in opts.files:
        what = _label(name)
        try:
            with _open(name) as fh:
                for number, line in enumerate(fh, 1):
                    yield what, number, line[:-1] if line.endswith(b"\n") else line
        except OSError as exc:
            tally.errors += 1
            _error(f"cannot read {what}: {exc.strerror or exc}")


def run_jsonl(filt: Filter, opts: Options, out: TextIO, tally: Tally) -> None:
    # (record, its segmented document, or the error message for that line)
    batch: list[tuple[dict[str, Any] | None, Document | str]] = []

    def flush() -> None:
        docs = [doc for _record, doc in batch if isinstance(doc, Document)]
        results = iter(filt.score_documents(docs, opts.policy))
        for record, doc in batch:
            if isinstance(doc, str):
                tally.errors += 1
                line = error_record(record, doc)
            else:
                result = next(results)
                tally.add(result)
                line = output_record(opts.command, record, result)
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
        out.flush()
        batch.clear()

    for what, number, raw_line in _jsonl_lines(opts, tally):
        record = None
        try:
            if b"\0" in raw_line:
                raise InputError(f"line {number}: binary data (NUL bytes)")
            decoded = decode(raw_line)
            if decoded.replaced:
                _warn_lossy(f"{what} line {number}", decoded.replaced, decoded.first_bad, tally)
            record = parse_line(decoded.text, number)
            job = job_for(record, opts.fmt, opts.max_bytes)
            # Segmented here, so that a record that fails does so alone, not its batch.
            batch.append((record, filt.segment(job.raw, job.fmt)))
        except ContamFilterError as exc:
            message = str(exc)
            if not message.startswith("line "):
                message = f"line {number}: {message}"
            batch.append((record, message))
        if len(batch) >= BATCH:
            flush()
    flush()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    opts = parse_args(argv)
    if not isinstance(opts, Options):
        return run_serve(opts)
    tally = Tally()
    try:
        filt = Filter(opts.model, opts.policy, opts.max_bytes)
        log.info("model %s loaded", filt.version)
        if opts.jsonl:
            run_jsonl(filt, opts, sys.stdout, tally)
        else:
            run_documents(filt, opts, sys.stdout, tally)
    except ContamFilterError as exc:
        _error(str(exc))
        return FAILED
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as cat does.
        sys.stdout = None  # type: ignore[assignment]
        return OK
    except KeyboardInterrupt:
        return 130
    if opts.stats:
        _error(tally.summary())
    if tally.errors:
        return FAILED
    return DECODED_LOSSILY if tally.lossy else OK


if __name__ == "__main__":
    sys.exit(main())
