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

from .evaluate import PER_PAGE

METRICS = ("token_f1", "with_kept", "without_removed")


class CompareError(Exception):
    """A run that cannot be read or compared, with the file and line at fault."""


@dataclass(frozen=True)
class Paired:
    tool: str
    mode: str
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


def read_run(path: Path) -> dict[tuple[str, str, str, str], dict[str, float | None]]:
    """{(tool, mode, corpus, page): {metric: value or None}} from one eval-pages.jsonl."""
    file = per_page_file(path)
    if not file.is_file():
        raise CompareError(f"{file}: no such file (make eval writes {PER_PAGE} in its "
                           "report folder)")
    run: dict[tuple[str, str, str, str], dict[str, float | None]] = {}
    with file.open() as lines:
        for no, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                key = (str(record["tool"]), str(record["mode"]), str(record["corpus"]),
                       str(record["page"]))
                values = {m: _number(record.get(m)) for m in METRICS}
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise CompareError(f"{file}:{no}: not a per-page record ({exc})") from None
            if key in run:
                raise CompareError(f"{file}:{no}: page {key[3]!r} of {key[0]} {key[1]} on "
                                   f"{key[2]} appears twice")
            run[key] = values
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


def compare(before: dict, after: dict, tools: Iterable[str] | None = None,
            resamples: int = 2000, seed: int = 0) -> list[Paired]:
    wanted = set(tools) if tools else None
    groups: dict[tuple[str, str, str, str], list[tuple[float, float]]] = {}
    for key, values in before.items():
        tool, mode, corpus, _page = key
        if (wanted is not None and tool not in wanted) or key not in after:
            continue
        for metric in METRICS:
            a, b = values[metric], after[key][metric]
            if a is not None and b is not None:
                groups.setdefault((tool, mode, corpus, metric), []).append((a, b))
    out = []
    for (tool, mode, corpus, metric), pairs in sorted(groups.items()):
        values = np.array(pairs)
        low, high = bootstrap_interval(values[:, 1] - values[:, 0], resamples, seed)
        out.append(Paired(tool, mode, corpus, metric, len(pairs), float(values[:, 0].mean()),
                          float(values[:, 1].mean()), low, high))
    return out


def versus(run: dict, ours: tuple[str, str], peer: tuple[str, str]) -> tuple[dict, dict]:
    """(peer's records, ours) of one run, keyed alike so that ``compare`` pairs them."""
    name = f"{ours[0]} {ours[1]} vs {peer[0]} {peer[1]}"

    def pick(who: tuple[str, str]) -> dict:
        found = {(name, "-", corpus, page): values
                 for (tool, mode, corpus, page), values in run.items() if (tool, mode) == who}
        if not found:
            raise CompareError(f"the run has no page scored by {who[0]} in {who[1]} mode")
        return found

    return pick(peer), pick(ours)


def tool_and_mode(value: str) -> tuple[str, str]:
    tool, sep, mode = value.partition(":")
    if not sep or not tool or not mode:
        raise argparse.ArgumentTypeError(f"{value!r} is not TOOL:MODE (contamfilter:html)")
    return tool, mode


def table(results: Sequence[Paired], names: tuple[str, str] = ("before", "after")) -> str:
    lines = [f"| tool | mode | corpus | figure | pages | {names[0]} | {names[1]} | change | "
             "95% interval |",
             "|---|---|---|---|---:|---:|---:|---:|---|"]
    for r in results:
        mark = " *" if r.low > 0 or r.high < 0 else ""
        lines.append(f"| {r.tool} | {r.mode} | {r.corpus} | {r.metric} | {r.pages} | "
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
    try:
        if args.versus:
            peer, ours = versus(read_run(args.before), *args.versus)
            results = compare(peer, ours, None, args.resamples, args.seed)
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
