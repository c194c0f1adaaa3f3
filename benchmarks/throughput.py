"""Scoring throughput on one core: text mode against its target, HTML mode against trafilatura.

    python -m benchmarks.throughput [--corpora ../shared/corpora] [--out FILE.json]

Everything runs in this one process, pinned to one CPU, one document after another
(``Filter.score``; and on HTML ``Filter.clean``, the clean text alone, which is what
trafilatura's ``extract`` returns and what ``make eval`` times) and batched
(``Filter.score_many``, as the CLI's JSON Lines path and the service's micro-batches call
it). Workloads:

- the repository's seed documents: the 89 text documents (text mode) and the 24 HTML
  pages (HTML mode), so the benchmark runs on a fresh clone;
- with ``--corpora DIR``, the first ``--pages`` pages of each page-plus-reference corpus
  there (read by path, nothing copied), in HTML mode, and in text mode after the
  html-text dump that ``make eval`` uses.

The named peer, measured in the same run on the same HTML pages, is trafilatura's
``extract`` with default settings (the ``eval`` extra; skipped with a note if absent).
The tools of a workload run interleaved, a chunk of documents at a time (see
``interleaved_rates``), each with its own class-token cache that starts empty at every
pass. On HTML, "contamfilter pure Python" is the same scoring with the compiled walk, feature
scan and tree loop (filter/fast*.pyx) swapped for their Python references: what they are
worth.
Targets (issue "Beat the best extractors"): text mode at least 500 seed-sized documents
per second per core; HTML mode at least 2x trafilatura's pages per second. Exits 1 when a
target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from training import targets

ROOT = Path(__file__).resolve().parents[1]
TEXT_TARGET_DOCS_PER_S = targets.TEXT_DOCS_PER_S
HTML_TARGET_RATIO = targets.SPEED_RATIO
BATCH = 64
REPEATS = 5  # the best of several passes: the machine is shared, the minimum is the cost


def pin_one_core() -> int | None:
    """Run on one CPU so that "per core" means one core; returns the CPU or None."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu


def interleaved_rates(tools: dict[str, Callable[[list[str]], Any]], docs: Sequence[str],
                      repeats: int = REPEATS, chunk: int = BATCH,
                      between: Callable[[int, str], None] | None = None,
                      ) -> dict[str, dict[str, float]]:
    """Documents per second of each tool: the fastest of ``repeats`` passes, after one
    warm-up pass.

    A pass cuts ``docs`` into chunks of ``chunk``, and every tool runs on a chunk before
    the next chunk, the tools' order turning by one each chunk: run tool after tool, two
    tools' timings lay a minute apart, and this machine's speed drifts by tens of percent
    within minutes, so their ratio did too. ``between(pass, tool)`` runs untimed before each
    of a tool's chunks.
    """
    names = list(tools)
    chunks = [list(docs[i:i + chunk]) for i in range(0, len(docs), chunk)]
    passes: dict[str, list[float]] = {name: [] for name in names}
    for repeat in range(repeats + 1):
        spent = dict.fromkeys(names, 0.0)
        for k, part in enumerate(chunks):
            turn = (repeat * len(chunks) + k) % len(names)
            for name in names[turn:] + names[:turn]:
                if between is not None:
                    between(repeat, name)
                start = time.perf_counter()
                tools[name](part)
                spent[name] += time.perf_counter() - start
        if repeat:  # the first pass warms up
            for name in names:
                passes[name].append(spent[name])
    out = {}
    for name, times in passes.items():
        fastest = min(times)
        out[name] = {"items": len(docs), "best_s": round(fastest, 4),
                     "per_s": round(len(docs) / fastest, 1),
                     "median_s": round(sorted(times)[len(times) // 2], 4)}
    return out


def one_by_one(score: Callable[[str], Any]) -> Callable[[list[str]], None]:
    def run(docs: list[str]) -> None:
        for doc in docs:
            score(doc)
    return run


class ClassTokenCaches:
    """Gives each tool its own class-token cache (``segment._TOKENS``), empty at the start
    of every pass, as a process that sees each page once has: without it, one variant of
    contamfilter would find the cache warmed by another on the same pages."""

    def __init__(self) -> None:
        self.cache = sys.modules["filter.segment"]._TOKENS  # the module, not the function
        self.kept: dict[str, dict] = {}
        self.current: str | None = None
        self.pass_: int | None = None

    def __call__(self, pass_: int, tool: str) -> None:
        if pass_ != self.pass_:
            self.kept.clear()
            self.current, self.pass_ = None, pass_
        if self.current is not None:
            self.kept[self.current] = dict(self.cache)
        self.cache.clear()
        self.cache.update(self.kept.get(tool, {}))
        self.current = tool


@contextmanager
def pure_python() -> Iterator[bool]:
    """Score with the Python references of the compiled modules (walk, feature scan,
    tree loop); yields False when nothing was compiled (the row would be the normal one)."""
    from filter import features, inference, shape

    segment = sys.modules["filter.segment"]  # the module, not the function filter exports
    places = [(segment, "fastwalk"), (shape, "fastwords"), (features, "fastwords"),
              (features, "fastblocks"), (inference, "fasttrees")]
    saved = [getattr(module, name) for module, name in places]
    for module, name in places:
        setattr(module, name, None)
    try:
        yield any(m is not None for m in saved)
    finally:
        for (module, name), value in zip(places, saved, strict=True):
            setattr(module, name, value)


def seed_workloads() -> dict[str, list[str]]:
    from training.annotations import HTML_SUFFIX, load_seeds

    seeds = load_seeds(ROOT / "seeds")
    return {"seed text": [s.raw for s in seeds if not s.name.endswith(HTML_SUFFIX)],
            "seed html": [s.raw for s in seeds if s.name.endswith(HTML_SUFFIX)]}


def corpus_workloads(corpora: Path, pages: int) -> dict[str, list[str]]:
    from itertools import islice

    from training.corpus import read_pages

    out: dict[str, list[str]] = {}
    for name in ("scrapinghub", "wcxb_dev_articles"):
        path = corpora / f"{name}.jsonl.gz"
        if path.is_file():
            out[f"{name} html"] = [p.html for p in islice(read_pages(path), pages)]
    return out


def measure(corpora: Path | None, pages: int) -> dict[str, Any]:
    from filter import Filter

    filt = Filter()
    workloads = seed_workloads()
    if corpora is not None:
        workloads.update(corpus_workloads(corpora, pages))
    try:
        import trafilatura
    except ImportError:
        trafilatura = None
    rows: dict[str, Any] = {}
    for name, docs in workloads.items():
        html = name.endswith("html")
        fmt = "html" if html else None
        tools: dict[str, Callable[[list[str]], Any]] = {
            "contamfilter one by one": one_by_one(lambda d, fmt=fmt: filt.score(d, fmt)),
            "contamfilter batched": lambda ds, fmt=fmt: filt.score_many(ds, fmt),
        }
        if html:
            tools["contamfilter clean, one by one"] = one_by_one(
                lambda d: filt.clean(d, "html"))
            with pure_python() as compiled:
                if compiled:
                    tools["contamfilter pure Python"] = pure_python_scoring(filt)
            if trafilatura is not None:
                tools["trafilatura extract"] = one_by_one(trafilatura.extract)
        rows[name] = workload_row(tools, docs)
        if html and not name.startswith("seed"):  # a corpus's pages: also their text dump
            try:
                from training.corpus import dump_text

                dumps = [dump_text(d) for d in docs]
            except ImportError:  # html-text comes with the eval extra
                continue
            rows[name.replace(" html", " text dump")] = workload_row(
                {"contamfilter one by one": one_by_one(filt.score),
                 "contamfilter batched": filt.score_many}, dumps)
    return rows


def workload_row(tools: dict[str, Callable[[list[str]], Any]], docs: list[str]) -> dict[str, Any]:
    """The documents' count and mean size, and each tool's interleaved rate on them."""
    return {"documents": len(docs),
            "mean_bytes": round(sum(len(d.encode()) for d in docs) / len(docs)),
            **interleaved_rates(tools, docs, between=ClassTokenCaches())}


def pure_python_scoring(filt: Any) -> Callable[[list[str]], None]:
    def run(docs: list[str]) -> None:
        with pure_python():
            for doc in docs:
                filt.score(doc, "html")
    return run


def targets(rows: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    text = rows["seed text"]["contamfilter batched"]["per_s"]
    out.append({"target": f"text mode >= {TEXT_TARGET_DOCS_PER_S:g} seed-sized docs/s per core "
                "(batched)", "value": text, "pass": text >= TEXT_TARGET_DOCS_PER_S})
    for name, row in rows.items():
        if "trafilatura extract" in row:
            ratio = round(row["contamfilter clean, one by one"]["per_s"]
                          / row["trafilatura extract"]["per_s"], 3)
            out.append({"target": f"{name}: HTML pages/s >= {HTML_TARGET_RATIO:g}x trafilatura "
                        "(clean text one by one, same pages, same run)", "value": ratio,
                        "pass": ratio >= HTML_TARGET_RATIO})
    return out


def render(result: dict[str, Any]) -> str:
    lines = [f"throughput on one core (CPU {result['cpu']}), best of {REPEATS} passes, tools "
             f"interleaved every {BATCH} documents", "",
             f"{'workload':<28}{'docs':>6}{'bytes':>8}  {'tool':<32}{'docs/s':>9}"]
    lines.append("-" * len(lines[-1]))
    for name, row in result["workloads"].items():
        for tool, rate in row.items():
            if isinstance(rate, dict):
                lines.append(f"{name:<28}{row['documents']:>6}{row['mean_bytes']:>8}  "
                             f"{tool:<32}{rate['per_s']:>9.1f}")
    lines += ["", "targets"]
    for t in result["targets"]:
        lines.append(f"  {'PASS' if t['pass'] else 'FAIL'}  {t['target']}: {t['value']}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.throughput",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--corpora", type=Path, default=None,
                        help="also the real pages of this folder (e.g. ../shared/corpora)")
    parser.add_argument("--pages", type=int, default=100, help="pages per corpus (default 100)")
    parser.add_argument("--out", type=Path, default=Path("reports/bench-throughput.json"))
    args = parser.parse_args(argv)
    if args.corpora is not None and not args.corpora.is_dir():
        print(f"--corpora {args.corpora}: no such folder", file=sys.stderr)
        return 2
    cpu = pin_one_core()
    rows = measure(args.corpora, args.pages)
    result = {
        "benchmark": "benchmarks.throughput", "cpu": cpu,
        "machine": {"nproc": os.cpu_count(), "python": sys.version.split()[0],
                    "platform": platform.platform()},
        "settings": {"repeats": REPEATS, "batch": BATCH, "corpora": str(args.corpora),
                     "pages": args.pages},
        "workloads": rows, "targets": targets(rows),
    }
    print(render(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"\nJSON: {args.out}")
    return 0 if all(t["pass"] for t in result["targets"]) else 1


if __name__ == "__main__":
    sys.exit(main())
