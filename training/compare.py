"""Two `make eval` runs, page by page: is a change's gain more than noise?

    python -m training.compare BEFORE AFTER [--tool contamfilter] [--resamples 2000]
    python -m training.compare RUN --versus contamfilter:html trafilatura:html

BEFORE and AFTER are report folders (or their ``eval-pages.jsonl``); with ``--versus``,
two tools of one run are paired instead, on the pages both scored. For every tool, mode,
corpus and figure in both runs, on the pages both scored: the two means, their difference
and a 95% bootstrap interval of that difference, resampling pages with the pairs intact.
A corpus's figures swing by a point between pages of different sites, and a change
moves most pages the same way, so pairing reads a small gain that two separate means
would drown; an interval that crosses 0 is not a gain.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .evaluate import PAGE_FIGURES, PER_PAGE

# {(corpus, page): {figure: value or None}}: one tool's pages in one mode.
Pages = dict[tuple[str, str], dict[str, float | None]]
# {(tool, mode): Pages}: one run of make eval.
Run = dict[tuple[str, str], Pages]


class CompareError(Exception):
    """A run that cannot be read or compared, with the file and line at fault."""


@dataclass(frozen=True)
class Paired:
    what: str  # the tool and mode paired, or "ours vs peer"
    corpus: str
    metric: str
    pages: int
    before: float
    after: float
    low: float
    high: float

    @property
    def change(self) -> float:
        return self.after - self.before


def per_page_file(path: Path) -> Path:
    return path / PER_PAGE if path.is_dir() else path


def read_run(path: Path) -> Run:
    """One eval-pages.jsonl, grouped by tool and mode."""
    file = per_page_file(path)
    if not file.is_file():
        raise CompareError(f"{file}: no such file (make eval writes {PER_PAGE} in its "
                           "report folder)")
    run: Run = {}
    with file.open() as lines:
        for no, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                tool, mode = str(record["tool"]), str(record["mode"])
                page = (str(record["corpus"]), str(record["page"]))
                values = {m: _number(record.get(m)) for m in PAGE_FIGURES}
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise CompareError(f"{file}:{no}: not a per-page record ({exc})") from None
            pages = run.setdefault((tool, mode), {})
            if page in pages:
                raise CompareError(f"{file}:{no}: page {page[1]!r} of {tool} {mode} on "
                                   f"{page[0]} appears twice")
            pages[page] = values
    return run


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"a figure is {value!r}, not a number")
    return float(value)


def bootstrap_interval(diffs: np.ndarray, resamples: int, seed: int,
                       level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the mean of ``diffs`` over page resamples."""
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    # In chunks, so that thousands of pages times thousands of resamples stay small.
    chunk = max(1, 2_000_000 // max(1, len(diffs)))
    for start in range(0, resamples, chunk):
        n = min(chunk, resamples - start)
        picks = rng.integers(0, len(diffs), size=(n, len(diffs)))
        means[start:start + n] = diffs[picks].mean(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


def pair(what: str, before: Pages, after: Pages, resamples: int = 2000,
         seed: int = 0) -> list[Paired]:
    """Per corpus and figure, the pages both sides scored, paired."""
    groups: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for page, values in before.items():
        if page not in after:
            continue
        for metric in PAGE_FIGURES:
            a, b = values[metric], after[page][metric]
            if a is not None and b is not None:
                groups.setdefault((page[0], metric), []).append((a, b))
    out = []
    for (corpus, metric), pairs in sorted(groups.items()):
        values = np.array(pairs)
        low, high = bootstrap_interval(values[:, 1] - values[:, 0], resamples, seed)
        out.append(Paired(what, corpus, metric, len(pairs), float(values[:, 0].mean()),
                          float(values[:, 1].mean()), low, high))
    return out


def compare(before: Run, after: Run, tools: Iterable[str] | None = None,
            resamples: int = 2000, seed: int = 0) -> list[Paired]:
    """Each tool and mode of two runs against itself."""
    wanted = set(tools) if tools else None
    return [paired
            for (tool, mode) in sorted(before.keys() & after.keys())
            if wanted is None or tool in wanted
            for paired in pair(f"{tool} {mode}", before[tool, mode], after[tool, mode],
                               resamples, seed)]


def versus(run: Run, ours: tuple[str, str], peer: tuple[str, str], resamples: int = 2000,
           seed: int = 0) -> list[Paired]:
    """Two tools of one run: the peer's figures as before, ours as after."""
    for tool, mode in (ours, peer):
        if (tool, mode) not in run:
            raise CompareError(f"the run has no page scored by {tool} in {mode} mode")
    return pair(f"{' '.join(ours)} vs {' '.join(peer)}", run[peer], run[ours], resamples, seed)


def tool_and_mode(value: str) -> tuple[str, str]:
    tool, sep, mode = value.partition(":")
    if not sep or not tool or not mode:
        raise argparse.ArgumentTypeError(f"{value!r} is not TOOL:MODE (contamfilter:html)")
    return tool, mode


def table(results: Sequence[Paired], names: tuple[str, str] = ("before", "after")) -> str:
    lines = [f"| tool and mode | corpus | figure | pages | {names[0]} | {names[1]} | change | "
             "95% interval |",
             "|---|---|---|---:|---:|---:|---:|---|"]
    for r in results:
        mark = " *" if r.low > 0 or r.high < 0 else ""
        lines.append(f"| {r.what} | {r.corpus} | {r.metric} | {r.pages} | "
                     f"{r.before:.4f} | {r.after:.4f} | {r.change:+.4f}{mark} | "
                     f"[{r.low:+.4f}, {r.high:+.4f}] |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.compare",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path, help="report folder or eval-pages.jsonl")
    parser.add_argument("after", type=Path, nargs="?",
                        help="report folder or eval-pages.jsonl (not with --versus)")
    parser.add_argument("--versus", nargs=2, type=tool_and_mode, metavar=("OURS", "PEER"),
                        help="pair two tools of one run, each as TOOL:MODE")
    parser.add_argument("--tool", action="append", dest="tools",
                        help="only this tool (repeatable; default every tool in both runs)")
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.resamples < 100:
        parser.error("--resamples must be at least 100")
    if (args.after is None) == (args.versus is None):
        parser.error("give two runs, or one run and --versus OURS PEER")
    if args.versus and args.tools:
        parser.error("--tool filters two runs; with --versus, OURS and PEER name the tools")
    try:
        if args.versus:
            results = versus(read_run(args.before), *args.versus, args.resamples, args.seed)
            names = ("peer", "ours")
        else:
            results = compare(read_run(args.before), read_run(args.after), args.tools,
                              args.resamples, args.seed)
            names = ("before", "after")
    except CompareError as exc:
        print(f"compare: {exc}", file=sys.stderr)
        return 1
    if not results:
        print("compare: the two runs share no scored page of the tools asked for",
              file=sys.stderr)
        return 1
    print(table(results, names))
    print("\n* the 95% interval of the per-page change excludes 0")
    return 0


if __name__ == "__main__":
    sys.exit(main())
