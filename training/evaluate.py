"""`make eval`: contamfilter and the usual main-content extractors on real pages with gold text.

    python -m training.evaluate [--corpora DIR] [--limit N] [--tools a,b] [--out reports]

Every ``*.jsonl.gz`` file in ``--corpora`` (format: ``../shared/corpora/README.md``) is one
corpus. On each page it runs:

- ``contamfilter``, HTML mode: ``Filter().clean(html, "html")`` (``score``'s
  ``clean_text``, as a user who wants the article calls it);
- ``contamfilter``, text mode: the whole page dumped first with
  ``html_text.extract_text(html, guess_layout=True)``, then ``Filter().clean(text, "text")``;
- ``trafilatura``: ``trafilatura.extract(html)`` with default settings;
- ``readability``: ``readability.Document(html).summary()``, that HTML turned into text with
  ``html_text.extract_text``;
- ``justext``: the paragraphs ``justext.justext`` does not call boilerplate, with the German
  stoplist for German pages (see ``justext_language``) and the English one otherwise;
- ``resiliparse``: ``extract_plain_text(html, main_content=True)``;
- ``page-text``: the baseline, the text-mode input itself (the whole page, unfiltered).

Scores, per page and then averaged over pages:

- token precision, recall and F1 against ``gold`` on ``full_text`` pages: lower-cased ``\\w+``
  tokens, bags with multiplicity. No tokens on either side counts 1.0; no tokens on one side
  only counts 0.0 for all three;
- snippets, on pages with ``meta.with`` / ``meta.without``: the share of ``with`` snippets
  found in the output and of ``without`` snippets not found (substring test after
  lower-casing and collapsing white space).

Speed is pages per second in this one process, timing only the extraction call (for text
mode the filter call alone; the dump's own speed is the ``page-text`` row). A tool that
raises on a page counts an error, its output is taken as empty, and the run goes on.

When the model card lists a corpus among its training data (``training_data.corpora``),
contamfilter's figures on it are out-of-fold: ``training.corpus.cross_fitted`` gives one
filter per fold (folds grouped by site) and each page is scored by the filter that did not
see it. Those rows are marked ``oof``.

Writes a table on stdout, ``<out>/eval.json`` (every figure, versions, the command),
``<out>/eval.md`` and ``<out>/eval_f1.svg``. Reports hold aggregate figures and page ids
only, never text from the pages.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import importlib
import json
import logging
import math
import platform
import re
import shlex
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from training import targets

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPORA = REPO.parent / "shared" / "corpora"
DEFAULT_OUT = Path("reports")
PER_PAGE = "eval-pages.jsonl"  # one line per tool, mode, corpus and page
PAGE_FIGURES = ("token_precision", "token_recall", "token_f1", "with_kept", "without_removed")
OOF_FOLDS = 5
INSTALL_HINT = "pip install -e '.[eval]' (make eval does it)"

# Distributions whose versions go into the report.
DISTRIBUTIONS = ("contamfilter", "trafilatura", "readability-lxml", "jusText", "resiliparse",
                 "html-text", "lxml", "beautifulsoup4", "scikit-learn", "numpy")

# Warm-up input: every tool runs once on it, uncounted, before its timed pass.
_WARMUP_HTML = ("<html><head><title>Warm-up</title></head><body><article><h1>Warm-up</h1>"
                "<p>This paragraph exists so that every tool loads what it loads lazily before "
                "the clock starts; it is not part of any corpus.</p></article></body></html>")


class EvalError(Exception):
    """A problem that stops the evaluation: printed as one line, exit status 1."""


# --- scoring ------------------------------------------------------------------------

_TOKEN = re.compile(r"\w+", re.UNICODE)


def tokens(text: str | None) -> Counter[str]:
    """Lower-cased ``\\w+`` tokens with their counts."""
    return Counter(_TOKEN.findall((text or "").lower()))


def token_prf(output: str | None, gold: str | None) -> tuple[float, float, float]:
    """(precision, recall, F1) of the output's token bag against the gold's.

    Both empty (no token): 1.0 each. One side empty: 0.0 each.
    """
    out, ref = tokens(output), tokens(gold)
    n_out, n_ref = out.total(), ref.total()
    if not n_out and not n_ref:
        return 1.0, 1.0, 1.0
    if not n_out or not n_ref:
        return 0.0, 0.0, 0.0
    common = (out & ref).total()
    if not common:
        return 0.0, 0.0, 0.0
    precision, recall = common / n_out, common / n_ref
    return precision, recall, 2 * precision * recall / (precision + recall)


def normalize(text: str | None) -> str:
    """Lower-cased, white space collapsed to single spaces, stripped."""
    return " ".join((text or "").split()).lower()


def snippet_counts(output: str | None, with_: Iterable[str] | None,
                   without: Iterable[str] | None) -> tuple[int, int, int, int]:
    """(with found, with total, without absent, without total); empty snippets are ignored."""
    text = normalize(output)
    wanted = [s for s in map(normalize, with_ or ()) if s]
    unwanted = [s for s in map(normalize, without or ()) if s]
    return (sum(s in text for s in wanted), len(wanted),
            sum(s not in text for s in unwanted), len(unwanted))


def snippet_scores(output: str | None, with_: Iterable[str] | None,
                   without: Iterable[str] | None) -> tuple[float | None, float | None]:
    """(share of ``with`` snippets found, share of ``without`` snippets not found).

    None for a side with no (non-empty) snippet.
    """
    found, n_with, absent, n_without = snippet_counts(output, with_, without)
    return (found / n_with if n_with else None, absent / n_without if n_without else None)


# --- corpora ------------------------------------------------------------------------


def corpus_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise EvalError(f"no corpora directory at {directory} (give --corpora DIR)")
    files = sorted(directory.glob("*.jsonl.gz"))
    if not files:
        raise EvalError(f"no *.jsonl.gz corpus in {directory}")
    return files


def corpus_name(path: Path) -> str:
    return path.name.removesuffix(".jsonl.gz")


def read_corpus(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """The pages of one corpus file, or its first ``limit`` pages."""
    pages: list[dict[str, Any]] = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if limit is not None and len(pages) >= limit:
                break
            if not line.strip():
                continue
            try:
                page = json.loads(line)
            except ValueError as exc:
                raise EvalError(f"{path}: line {number} is not JSON ({exc})") from None
            if not isinstance(page, dict) or "id" not in page or "html" not in page:
                raise EvalError(f"{path}: line {number} has no id or html")
            pages.append(page)
    return pages


def meta_of(page: dict[str, Any]) -> dict[str, Any]:
    meta = page.get("meta")
    return meta if isinstance(meta, dict) else {}


def has_full_text(page: dict[str, Any]) -> bool:
    return page.get("gold_type") == "full_text"


def has_snippets(page: dict[str, Any]) -> bool:
    meta = meta_of(page)
    return bool(meta.get("with") or meta.get("without"))


_GERMAN_TLDS = frozenset({"de", "at", "ch"})
_GERMAN_REGIONS = frozenset({"DE", "AT", "CH"})
_ID_TLD = re.compile(r"\.(?:de|at|ch)(?:\.|$)")
_HTML_LANG = re.compile(r"<html\b[^>]*?\blang\s*=\s*[\"']?([a-zA-Z]{2})\b", re.IGNORECASE)


def justext_language(page: dict[str, Any]) -> str:
    """"German" when the host is .de/.at/.ch (from the url, or an id like ``site.de.name``),
    ``meta.lang``/``meta.language`` or ``meta.region`` says German-speaking, or the page's
    ``<html lang>`` is ``de``; "English" otherwise."""
    url = page.get("url") or ""
    host = (urlsplit(url).hostname or "") if url else ""
    if host.rsplit(".", 1)[-1].lower() in _GERMAN_TLDS:
        return "German"
    if not host and _ID_TLD.search(str(page.get("id", "")).lower()):
        return "German"
    meta = meta_of(page)
    lang = str(meta.get("lang") or meta.get("language") or "").lower()
    if lang.startswith("de") or lang == "german":
        return "German"
    if str(meta.get("region") or "").upper() in _GERMAN_REGIONS:
        return "German"
    match = _HTML_LANG.search(page.get("html", "")[:20_000])
    if match and match.group(1).lower() == "de":
        return "German"
    return "English"


# --- tools --------------------------------------------------------------------------

TOOLS = ("contamfilter", "trafilatura", "readability", "justext", "resiliparse", "page-text")

LABELS = {  # (tool, mode) -> name in the plot's legend
    ("contamfilter", "html"): "contamfilter (html)",
    ("contamfilter", "text"): "contamfilter (text)",
    ("trafilatura", "html"): "trafilatura",
    ("readability", "html"): "readability-lxml",
    ("justext", "html"): "jusText",
    ("resiliparse", "html"): "resiliparse",
    ("page-text", "text"): "whole page text",
}


@dataclass
class Runner:
    """One row of the table for each corpus: a tool in a mode."""

    tool: str
    mode: str
    # (page, page text dump or None) -> output text
    extract: Callable[[dict[str, Any], str | None], str]
    needs_dump: bool = False
    contamfilter: bool = False


def _html_text() -> Any:
    import html_text

    return html_text


def dump_text(html: str) -> str:
    return _html_text().extract_text(html, guess_layout=True)


def build_runners(tools: Sequence[str], filter_for: Callable[[dict[str, Any]], Any]
                  ) -> tuple[list[Runner], dict[str, str]]:
    """The runners for the importable tools, and {tool or row: why it was skipped}."""
    runners: list[Runner] = []
    skipped: dict[str, str] = {}

    def importable(tool: str, module: str) -> bool:
        try:
            __import__(module)
        except ImportError as exc:
            skipped[tool] = f"{module} cannot be imported ({exc}); {INSTALL_HINT}"
            return False
        return True

    try:
        _html_text()
    except ImportError as exc:
        have_html_text, no_html_text = False, f"html_text cannot be imported ({exc})"
    else:
        have_html_text, no_html_text = True, ""

    if "contamfilter" in tools:
        runners.append(Runner(
            "contamfilter", "html", contamfilter=True,
            extract=lambda page, _dump: filter_for(page).clean(page["html"], "html")))
        if have_html_text:
            runners.append(Runner(
                "contamfilter", "text", needs_dump=True, contamfilter=True,
                extract=lambda page, dump: filter_for(page).clean(dump, "text")))
        else:
            skipped["contamfilter (text)"] = f"text mode needs it: {no_html_text}; {INSTALL_HINT}"
    if "trafilatura" in tools and importable("trafilatura", "trafilatura"):
        import trafilatura

        runners.append(Runner(
            "trafilatura", "html",
            extract=lambda page, _dump: trafilatura.extract(page["html"]) or ""))
    if "readability" in tools and importable("readability", "readability"):
        if have_html_text:
            from readability import Document

            runners.append(Runner(
                "readability", "html",
                extract=lambda page, _dump: _html_text().extract_text(
                    Document(page["html"]).summary(), guess_layout=True)))
        else:
            skipped["readability"] = (f"its summary is turned into text by html_text: "
                                      f"{no_html_text}; {INSTALL_HINT}")
    if "justext" in tools and importable("justext", "justext"):
        import justext

        stoplists: dict[str, frozenset[str]] = {}

        def run_justext(page: dict[str, Any], _dump: str | None) -> str:
            language = justext_language(page)
            if language not in stoplists:
                stoplists[language] = justext.get_stoplist(language)
            paragraphs = justext.justext(page["html"], stoplists[language])
            return "\n\n".join(p.text for p in paragraphs if not p.is_boilerplate)

        runners.append(Runner("justext", "html", extract=run_justext))
    if "resiliparse" in tools and importable("resiliparse", "resiliparse.extract.html2text"):
        from resiliparse.extract.html2text import extract_plain_text

        runners.append(Runner(
            "resiliparse", "html",
            extract=lambda page, _dump: extract_plain_text(page["html"], main_content=True)))
    if "page-text" in tools:
        if have_html_text:
            runners.append(Runner("page-text", "text", needs_dump=True,
                                  extract=lambda _page, dump: dump or ""))
        else:
            skipped["page-text"] = f"the baseline is html_text's output: {no_html_text}; " \
                                   f"{INSTALL_HINT}"
    return runners, skipped


def quiet_loggers() -> None:
    """The extractors log a warning for every odd page; the errors are counted instead."""
    for name in ("trafilatura", "htmldate", "courlan", "readability", "readability.readability",
                 "justext"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


# --- rows ---------------------------------------------------------------------------


@dataclass
class Row:
    tool: str
    mode: str
    corpus: str
    oof: bool = False
    pages: int = 0
    seconds: float = 0.0
    empty: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    error_ids: dict[str, list[str]] = field(default_factory=dict)
    snippet_totals: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    dump_seconds: float | None = None
    # One record per page (None where the page has no such figure): the row's figures
    # are their means, and training.compare pairs them between two runs.
    per_page: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return LABELS.get((self.tool, self.mode), f"{self.tool} ({self.mode})")

    def add_error(self, page_id: str, kind: str) -> None:
        self.errors[kind] += 1
        ids = self.error_ids.setdefault(kind, [])
        if len(ids) < 10:
            ids.append(str(page_id))

    def score(self, page: dict[str, Any], output: str) -> None:
        self.pages += 1
        if not tokens(output):
            self.empty += 1
        record: dict[str, Any] = {"tool": self.tool, "mode": self.mode, "corpus": self.corpus,
                                  "page": str(page["id"])} | dict.fromkeys(PAGE_FIGURES)
        if has_full_text(page):
            prf = token_prf(output, page.get("gold"))
            record.update(zip(("token_precision", "token_recall", "token_f1"), prf, strict=True))
        meta = meta_of(page)
        if has_snippets(page):
            counts = snippet_counts(output, meta.get("with"), meta.get("without"))
            for k, n in enumerate(counts):
                self.snippet_totals[k] += n
            found, n_with, absent, n_without = counts
            if n_with:
                record["with_kept"] = found / n_with
            if n_without:
                record["without_removed"] = absent / n_without
        self.per_page.append(record)

    def figure(self, name: str) -> list[float]:
        """The pages' values of one of PAGE_FIGURES, skipping pages without it."""
        return [r[name] for r in self.per_page if r[name] is not None]

    def summary(self) -> dict[str, Any]:
        def mean(values: Sequence[float]) -> float | None:
            return sum(values) / len(values) if values else None

        found, n_with, absent, n_without = self.snippet_totals
        figures = {name: self.figure(name) for name in PAGE_FIGURES}
        out: dict[str, Any] = {
            "tool": self.tool, "mode": self.mode, "corpus": self.corpus, "label": self.label,
            "out_of_fold": self.oof, "pages": self.pages,
            "token_pages": len(figures["token_f1"]),
            **{name: mean(values) for name, values in figures.items()},
            "snippet_pages_with": len(figures["with_kept"]),
            "snippet_pages_without": len(figures["without_removed"]),
            "snippets_with_found": found, "snippets_with_total": n_with,
            "snippets_without_absent": absent, "snippets_without_total": n_without,
            "seconds": self.seconds,
            "pages_per_s": self.pages / self.seconds if self.seconds > 0 else None,
            "errors": sum(self.errors.values()),
            "errors_by_type": {kind: {"count": n, "first_ids": self.error_ids[kind]}
                               for kind, n in sorted(self.errors.items())},
            "empty_outputs": self.empty,
        }
        if self.dump_seconds is not None:
            out["dump_seconds"] = self.dump_seconds
            out["dump_pages_per_s"] = (self.pages / self.dump_seconds
                                       if self.dump_seconds > 0 else None)
        return out


# --- out-of-fold --------------------------------------------------------------------


def training_corpora(card: dict[str, Any]) -> list[str]:
    """Names of the corpora the model card says the shipped model was trained on."""
    listed = (card.get("training_data") or {}).get("corpora") or []
    names = []
    for entry in listed:
        name = entry.get("name") if isinstance(entry, dict) else entry
        if name:
            names.append(str(name))
    return names


def cross_fitter(name: str) -> Callable[..., Iterable[tuple[Any, Iterable[str]]]]:
    """``training.corpus.cross_fitted``, imported only when a corpus needs it."""
    why = (f"the model card lists corpus {name!r} in its training data, so contamfilter's "
           "figures on it must be out-of-fold, but")
    try:
        corpus_module = importlib.import_module("training.corpus")
    except ModuleNotFoundError as exc:
        if exc.name not in ("training.corpus", "training"):
            raise
        raise EvalError(f"{why} training.corpus does not exist: add cross_fitted(name, pages, "
                        "folds) there, or evaluate a model whose card lists no corpora") from None
    cross_fitted = getattr(corpus_module, "cross_fitted", None)
    if not callable(cross_fitted):
        raise EvalError(f"{why} training.corpus has no cross_fitted(name, pages, folds) yet: "
                        "add it, or evaluate a model whose card lists no corpora")
    return cross_fitted


def out_of_fold_filters(name: str, pages: list[dict[str, Any]], wanted: Iterable[str],
                        corpora: Path, gate_seed: int | None = None) -> dict[str, Any]:
    """{page id: the filter whose training data left that page out}.

    ``training.corpus.cross_fitted(name, pages, folds, corpora=DIR)`` yields
    ``(filter, test_page_ids)`` with folds grouped by site. It gets every page of the
    corpus, even under ``--limit``, so that a page's figure does not depend on ``--limit``.
    ``gate_seed`` is passed on only when given, so a ``cross_fitted`` without that
    keyword still serves the default run.
    """
    cross_fitted = cross_fitter(name)
    seeded = {} if gate_seed is None else {"gate_seed": gate_seed}
    assigned: dict[str, Any] = {}
    for filt, test_ids in cross_fitted(name, pages, folds=OOF_FOLDS, corpora=corpora, **seeded):
        for page_id in test_ids:
            if page_id in assigned:
                raise EvalError(f"cross_fitted({name!r}) put page {page_id} in two test folds")
            assigned[page_id] = filt
    missing = [page_id for page_id in wanted if page_id not in assigned]
    if missing:
        raise EvalError(f"cross_fitted({name!r}) left {len(missing)} page(s) out of every "
                        f"test fold (first: {missing[0]}): no out-of-fold filter for them")
    return assigned


# --- the run ------------------------------------------------------------------------


def _error_kind(exc: BaseException) -> str:
    return type(exc).__name__


def warm_up(runner: Runner) -> None:
    with contextlib.suppress(Exception):  # the warm-up only loads what loads lazily
        runner.extract({"id": "warm-up", "url": None, "html": _WARMUP_HTML, "meta": {}},
                       dump_text(_WARMUP_HTML) if runner.needs_dump else None)


def run_page(runner: Runner, row: Row, page: dict[str, Any], dumps: dict[str, str | None],
             log: Callable[[str], None], seen_kinds: set[str]) -> None:
    """One tool on one page: time the call, score the output (an error scores as empty;
    the first error of each kind per row is logged)."""
    dump = dumps.get(page["id"]) if runner.needs_dump else None
    output = ""
    if runner.needs_dump and dump is None:
        row.add_error(page["id"], "html_text dump failed")
    else:
        start = time.perf_counter()
        try:
            output = runner.extract(page, dump) or ""
        except Exception as exc:
            row.seconds += time.perf_counter() - start
            kind = _error_kind(exc)
            row.add_error(page["id"], kind)
            if kind not in seen_kinds:
                seen_kinds.add(kind)
                log(f"  {row.label} on {row.corpus} page {page['id']}: {kind}: "
                    f"{str(exc)[:160]}")
            output = ""
        else:
            row.seconds += time.perf_counter() - start
    if not isinstance(output, str):
        output = str(output)
    row.score(page, output)


def run_interleaved(runners: Sequence[Runner], rows: Sequence[Row],
                    pages: list[dict[str, Any]], dumps: dict[str, str | None],
                    log: Callable[[str], None]) -> None:
    """Every tool on a page, then the next page, the tools' order turning by one each page.

    Tool after tool over a whole corpus put minutes between two tools' timings, and the
    shared machine's speed drifts over minutes: one run's wcxb ratio against trafilatura
    read 1.25 where the same pages, interleaved, read 1.56. Page by page, every tool meets
    the same drift; the turning order keeps any "runs after X" effect out of the ratios.
    """
    for runner in runners:
        warm_up(runner)
    seen: list[set[str]] = [set() for _ in runners]
    n = len(runners)
    for k, page in enumerate(pages):
        for j in range(n):
            i = (k + j) % n
            run_page(runners[i], rows[i], page, dumps, log, seen[i])


def evaluate(corpora: Path, tools: Sequence[str], limit: int | None,
             log: Callable[[str], None], gate_seed: int | None = None,
             ) -> tuple[dict[str, Any], list[Row]]:
    """The report (without its run details) and the rows that hold every page's figures.
    ``gate_seed``: the out-of-fold models' gate seed, when not the shipped model's."""
    from filter import Filter
    from filter.artifact import read_card

    quiet_loggers()
    shipped = Filter()
    card = read_card()
    trained_on = training_corpora(card)
    files = corpus_files(corpora)

    current: dict[str, Any] = {}  # page id -> out-of-fold filter, for the corpus at hand

    def filter_for(page: dict[str, Any]) -> Any:
        return current.get(page["id"], shipped) if current else shipped

    runners, skipped = build_runners(tools, filter_for)
    for what, why in skipped.items():
        log(f"skipping {what}: {why}")
    if not runners:
        raise EvalError("no tool to run: " + "; ".join(f"{k}: {v}" for k, v in skipped.items()))

    if any(r.contamfilter for r in runners):  # fail before hours of work, not after
        for path in files:
            if corpus_name(path) in trained_on:
                cross_fitter(corpus_name(path))

    rows: list[Row] = []
    corpora_info: dict[str, Any] = {}
    for path in files:
        name = corpus_name(path)
        pages = read_corpus(path, limit)
        sources = sorted({str(p.get("source")) for p in pages if p.get("source")})
        matched = next((n for n in trained_on if n == name or n in sources), None)
        current.clear()
        oof = matched is not None and any(r.contamfilter for r in runners)
        # The folds are made on the whole file, so that --limit does not change them.
        all_pages = read_corpus(path) if oof and limit is not None else pages
        if oof:
            log(f"{name}: listed in the model card's training data as {matched!r}: "
                f"contamfilter out-of-fold ({OOF_FOLDS} folds)")
            current.update(out_of_fold_filters(matched, all_pages, [p["id"] for p in pages],
                                               corpora, gate_seed))
            oof_versions = sorted({str(getattr(f, "version", "?")) for f in current.values()})
        else:
            oof_versions = []
        languages = Counter(justext_language(p) for p in pages)
        corpora_info[name] = {
            "file": str(path), "pages": len(pages),
            "full_text_pages": sum(has_full_text(p) for p in pages),
            "snippet_pages": sum(has_snippets(p) for p in pages),
            "out_of_fold": oof, "trained_on_as": matched, "out_of_fold_models": oof_versions,
            "justext_languages": dict(sorted(languages.items())),
        }
        log(f"{name}: {len(pages)} pages")

        dumps: dict[str, str | None] = {}
        dump_seconds = 0.0
        if any(r.needs_dump for r in runners):
            dump_text(_WARMUP_HTML)
            for page in pages:
                start = time.perf_counter()
                try:
                    dumps[page["id"]] = dump_text(page["html"])
                except Exception:
                    dumps[page["id"]] = None
                dump_seconds += time.perf_counter() - start

        corpus_rows = [Row(r.tool, r.mode, name, oof=oof and r.contamfilter) for r in runners]
        run_interleaved(runners, corpus_rows, pages, dumps, log)
        for runner, row in zip(runners, corpus_rows, strict=True):
            if runner.needs_dump:
                row.dump_seconds = dump_seconds
            if runner.tool == "page-text":
                row.seconds = dump_seconds  # the baseline's extraction is the dump itself
            log(f"  {row.label:<20} {row.seconds:7.1f} s")
        rows.extend(corpus_rows)

    model = {"version": shipped.version, "training_corpora": trained_on,
             "out_of_fold_folds": OOF_FOLDS if trained_on else None,
             "out_of_fold_gate_seed": gate_seed}
    return ({"rows": [r.summary() for r in rows], "corpora": corpora_info,
             "skipped": skipped, "model": model}, rows)


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in DISTRIBUTIONS:
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = None
    return out


# --- output -------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _speed(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


COLUMNS = ("tool", "corpus", "mode", "oof", "pages", "tok P", "tok R", "tok F1",
           "with kept", "without rm", "pages/s", "errors", "empty")


def table_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    return [[r["tool"], r["corpus"], r["mode"], "oof" if r["out_of_fold"] else "-",
             str(r["pages"]), _fmt(r["token_precision"]), _fmt(r["token_recall"]),
             _fmt(r["token_f1"]), _fmt(r["with_kept"]), _fmt(r["without_removed"]),
             _speed(r["pages_per_s"]), str(r["errors"]), str(r["empty_outputs"])]
            for r in rows]


def text_table(rows: list[dict[str, Any]]) -> str:
    cells = [list(COLUMNS), *table_rows(rows)]
    widths = [max(len(line[k]) for line in cells) for k in range(len(COLUMNS))]
    numeric = set(range(4, len(COLUMNS)))
    lines = []
    for n, line in enumerate(cells):
        lines.append("  ".join(c.rjust(w) if k in numeric else c.ljust(w)
                               for k, (c, w) in enumerate(zip(line, widths, strict=True)))
                     .rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(rows: list[dict[str, Any]]) -> str:
    align = ["---" if k < 4 else "---:" for k in range(len(COLUMNS))]
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(line) + " |" for line in table_rows(rows)]
    return "\n".join(lines)


def dump_speeds(rows: list[dict[str, Any]]) -> dict[str, float | None]:
    return {r["corpus"]: r["dump_pages_per_s"] for r in rows if "dump_pages_per_s" in r}


_PALETTE = ("#1f4e79", "#5b9bd5", "#c55a11", "#70ad47", "#ffc000", "#7030a0", "#a5a5a5")


def f1_svg(rows: list[dict[str, Any]]) -> str:
    """Grouped bars: mean token F1 per corpus (groups) and tool/mode (bars), plain SVG."""
    corpora = list(dict.fromkeys(r["corpus"] for r in rows if r["token_f1"] is not None))
    series = list(dict.fromkeys(r["label"] for r in rows if r["token_f1"] is not None))
    value = {(r["corpus"], r["label"]): r["token_f1"] for r in rows}
    oof = {(r["corpus"], r["label"]) for r in rows if r["out_of_fold"]}
    bar, gap, left, top, plot_h = 22, 28, 56, 40, 260
    group_w = max(1, len(series)) * bar
    legend_h = 20 * math.ceil(max(1, len(series)) / 3)
    width = max(left + max(1, len(corpora)) * (group_w + gap) + 20, 620)
    height = top + plot_h + 40 + legend_h + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="20" font-size="14" font-weight="bold">'
        "Mean token F1 against gold, per corpus</text>",
    ]
    for k in range(6):
        y = top + plot_h - plot_h * k / 5
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" '
                     f'stroke="{"#333" if k == 0 else "#ddd"}"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{k / 5:.1f}</text>')
    for g, corpus in enumerate(corpora):
        x0 = left + gap / 2 + g * (group_w + gap)
        for s, label in enumerate(series):
            v = value.get((corpus, label))
            if v is None:
                continue
            h = plot_h * max(0.0, min(1.0, v))
            x, y = x0 + s * bar, top + plot_h - h
            mark = " (out-of-fold)" if (corpus, label) in oof else ""
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar - 3}" height="{h:.1f}" '
                f'fill="{_PALETTE[s % len(_PALETTE)]}"><title>{escape(label)} on '
                f'{escape(corpus)}: {v:.3f}{mark}</title></rect>')
            parts.append(f'<text x="{x + (bar - 3) / 2:.1f}" y="{y - 3:.1f}" font-size="8" '
                         f'text-anchor="middle">{v:.2f}{"*" if mark else ""}</text>')
        parts.append(f'<text x="{x0 + group_w / 2:.1f}" y="{top + plot_h + 16}" '
                     f'text-anchor="middle">{escape(corpus)}</text>')
    legend_y = top + plot_h + 40
    for s, label in enumerate(series):
        x = left + (s % 3) * 190
        y = legend_y + 20 * (s // 3)
        parts.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" '
                     f'fill="{_PALETTE[s % len(_PALETTE)]}"/>')
        parts.append(f'<text x="{x + 17}" y="{y}">{escape(label)}</text>')
    if oof:
        parts.append(f'<text x="{left}" y="{height - 6}">* out-of-fold</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


METHOD = """\
- Every page of every corpus file (or the first N with `--limit N`), one process, one page
  after another; on each page every tool in turn, the order turning by one tool per page,
  so that the machine's drift in speed meets all tools alike.
- contamfilter in HTML mode gets the raw page; in text mode it gets the page dumped with
  `html_text.extract_text(html, guess_layout=True)` (what the `page-text` baseline row
  scores unfiltered, and which bounds text mode's recall: the filter can only drop from
  it). Default policy (keep `body`).
- trafilatura: `trafilatura.extract(html)`, default settings. readability:
  `readability.Document(html).summary()` turned into text with `html_text.extract_text`.
  jusText: paragraphs not marked boilerplate, German stoplist when the url's host (or an id
  like `site.de.page`) is .de/.at/.ch, the record's meta names a German language or a
  DE/AT/CH region, or `<html lang="de">`; English stoplist otherwise (pages in other
  languages get the English one too). resiliparse: `extract_plain_text(html,
  main_content=True)`.
- Token P/R/F1: lower-cased `\\w+` tokens of output and gold as bags with multiplicity,
  per page, then the mean over the corpus's `full_text` pages. No token on either side:
  1.0; on one side only: 0.0.
- Snippets: per page, the share of `meta.with` snippets found in the output and of
  `meta.without` snippets not found (substring test after lower-casing and collapsing
  white space), then the mean over the pages that have such snippets.
- pages/s: pages divided by the time spent in the extraction call only (for
  contamfilter's text mode, the filter call alone; the dump's speed is the `page-text`
  row). An error counts, its output is taken as empty and the page is still scored.
- empty: pages where the output has no word token (errors included).
- `oof`: the model card lists the corpus in its training data, so contamfilter's figures
  come from filters cross-fitted by site (`training.corpus.cross_fitted`, 5 folds), each
  page scored by the filter that did not see it."""


def markdown_report(result: dict[str, Any]) -> str:
    rows = result["rows"]
    model = result["model"]
    lines = [
        "# contamfilter against main-content extractors",
        "",
        f"Run {result['finished']} in {result['runtime_s']:.0f} s: `{result['command']}`",
        "",
        f"Model {model['version']}; the card lists "
        + (", ".join(model["training_corpora"]) if model["training_corpora"] else "no corpora")
        + " in its training data, so "
        + ("the rows marked `oof` are out-of-fold." if model["training_corpora"]
           else "the shipped model is used on every corpus (no row is out-of-fold).")
        + (f" The out-of-fold models' gate seed is {model['out_of_fold_gate_seed']} "
           "(`--gate-seed`), not the shipped model's."
           if model.get("out_of_fold_gate_seed") is not None else ""),
        "",
        markdown_table(rows),
        "",
    ]
    goals = result.get("targets") or []
    if goals:
        lines += ["## Targets", "", "The issue's targets, read off the table above (text mode's "
                  "documents per second are `make bench`'s, the seeds' macro F1 the model "
                  "card's).", "", *targets.markdown(goals), ""]
    speeds = dump_speeds(rows)
    if speeds:
        lines += ["The html_text dump that feeds text mode: "
                  + ", ".join(f"{c} {_speed(v)} pages/s" for c, v in speeds.items())
                  + " (not included in contamfilter's text-mode pages/s).", ""]
    if result["skipped"]:
        lines += ["Skipped: " + "; ".join(f"**{k}**: {v}" for k, v in result["skipped"].items()),
                  ""]
    corpora = result["corpora"]
    lines += ["| corpus | pages | full-text pages | snippet pages | jusText stoplists |",
              "|---|---:|---:|---:|---|"]
    for name, info in corpora.items():
        langs = ", ".join(f"{k} {v}" for k, v in info["justext_languages"].items())
        lines.append(f"| {name} | {info['pages']} | {info['full_text_pages']} | "
                     f"{info['snippet_pages']} | {langs} |")
    lines += ["", "![](eval_f1.svg)", "",
              "(Corpora with snippets only, such as trafilatura_eval, have no token F1 "
              "and are not in the plot.)", "", "## Method", "", METHOD, "", "## Versions", ""]
    lines += [f"- {k}: {v if v is not None else 'not installed'}"
              for k, v in result["versions"].items()]
    lines += [f"- model: {model['version']}",
              f"- machine: {result['machine']}", ""]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m training.evaluate",
        description="contamfilter and other main-content extractors on real pages with gold.")
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA,
                        help=f"folder of *.jsonl.gz corpora (default {DEFAULT_CORPORA})")
    parser.add_argument("--limit", type=int, default=None,
                        help="only the first N pages of each corpus")
    parser.add_argument("--tools", default=",".join(TOOLS),
                        help=f"comma-separated subset of {','.join(TOOLS)} (default all)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="folder for eval.json, eval.md, eval_f1.svg (default reports)")
    parser.add_argument("--gate-seed", type=int, default=None, metavar="N",
                        help="train the out-of-fold models with this gate seed instead of the "
                             "shipped model's: the spread over seeds is what retraining alone "
                             "moves each figure")
    args = parser.parse_args(argv)
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = [t for t in tools if t not in TOOLS]
    if unknown or not tools:
        parser.error(f"unknown tool(s) {','.join(unknown) or '(none given)'}: "
                     f"choose from {','.join(TOOLS)}")
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    args.tools = tools
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    started = time.perf_counter()
    try:
        result, rows = evaluate(args.corpora, args.tools, args.limit, log, args.gate_seed)
    except EvalError as exc:
        print(f"evaluate: {exc}", file=sys.stderr)
        return 1
    runtime = time.perf_counter() - started
    result.update({
        "command": shlex.join(["python", "-m", "training.evaluate", *argv]),
        "argv": argv,
        "arguments": {"corpora": str(args.corpora), "limit": args.limit, "tools": args.tools,
                      "out": str(args.out), "gate_seed": args.gate_seed},
        "finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "runtime_s": runtime,
        "versions": versions(),
        "machine": f"{platform.machine()}, {platform.system()} {platform.release()}, "
                   f"python {platform.python_version()}",
        "method": METHOD,
        "targets": targets.check(result["rows"]),
    })
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "eval.json").write_text(json.dumps(result, indent=2) + "\n")
    with (args.out / PER_PAGE).open("w") as out:
        out.writelines(json.dumps(record) + "\n" for row in rows for record in row.per_page)
    (args.out / "eval_f1.svg").write_text(f1_svg(result["rows"]))
    (args.out / "eval.md").write_text(markdown_report(result))
    print(text_table(result["rows"]))
    speeds = dump_speeds(result["rows"])
    if speeds:
        print("text mode pages/s is the filter alone; the html_text dump: "
              + ", ".join(f"{c} {_speed(v)}/s" for c, v in speeds.items()))
    if result["skipped"]:
        print("skipped: " + "; ".join(f"{k}: {v}" for k, v in result["skipped"].items()))
    for line in targets.lines(result["targets"]):
        print(line)
    print(f"{runtime:.0f} s; wrote {args.out / 'eval.json'}, {args.out / 'eval.md'}, "
          f"{args.out / 'eval_f1.svg'}, {args.out / PER_PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
