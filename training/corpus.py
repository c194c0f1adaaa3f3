"""Real pages with reference main content (../shared/corpora): read, segment, align.

A page says which text is the article (``gold``) but not what kind of furniture the rest
is. So every paragraph gets a binary label, body or not, by aligning it with the
reference: for a long paragraph, the share of its word trigrams that the reference
contains; for a short one, the share of its words that an in-order alignment of the
whole page with the reference covers (``Reference.shares``). Pages are segmented
exactly as at inference time, in HTML mode from the page, in text mode from the
html-text dump a careless scraper would make.

Nothing read here is ever written into the repository.
"""

from __future__ import annotations

import gzip
import json
import multiprocessing
import re
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cached_property, partial
from itertools import islice
from pathlib import Path
from urllib.parse import urlparse

from filter.artifact import sha256_file
from filter.document import Document, Format
from filter.parallel import default_workers
from filter.segment import composed, segment

BODY, OTHER = "body", "other"
# A paragraph is body when at least this share of its n-grams occur in the reference,
# not body when at most NOT_BODY do; in between it is left out of training.
IS_BODY = 0.6
NOT_BODY = 0.2
# Below this many words a paragraph is labeled by the in-order alignment, not trigrams.
SHORT_WORDS = 20
# The gate's weight of each labeled paragraph of a snippet page. Such a page labels only
# the few paragraphs that hold its snippets (about five), a page with a reference nearly
# all of its paragraphs: at weight 1, trafilatura_eval's 990 mostly German pages were 3%
# of the gate's labeled rows, and German article leads were dropped. Chosen on
# out-of-fold runs (README, "The model and how it is made").
SNIPPET_WEIGHT = 5.0
_TOKEN = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Page:
    corpus: str
    id: str
    site: str
    html: str
    gold: str
    gold_type: str
    meta: dict

    @cached_property
    def titles(self) -> list[str]:
        """Parsed once per page, though both modes are labeled against it."""
        return page_titles(self.html)


def _site(record: dict) -> str:
    meta = record.get("meta") or {}
    if meta.get("domain"):
        return str(meta["domain"])
    if record.get("url"):
        host = urlparse(record["url"]).netloc.lower()
        return host.removeprefix("www.") or str(record["id"])
    return str(record["id"])


def read_pages(path: Path) -> Iterator[Page]:
    name = path.name.split(".")[0]
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            yield Page(name, str(r["id"]), _site(r), r["html"], r.get("gold") or "",
                       r.get("gold_type", "full_text"), r.get("meta") or {})


def corpus_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.jsonl.gz"))


def dump_text(html: str) -> str:
    """The page as a careless scraper dumps it (text mode's input)."""
    import html_text

    return html_text.extract_text(html, guess_layout=True)


def tokens(text: str) -> list[str]:
    # Composed as the segmenter composes a page's text, whatever form the reference is in.
    return _TOKEN.findall(composed(text).lower())


class Reference:
    """The gold text's words (in order) and trigrams, for aligning paragraphs against it."""

    def __init__(self, gold: str) -> None:
        toks = tokens(gold)
        self.tokens = toks
        self.trigrams = set(zip(toks, toks[1:], toks[2:], strict=False))

    def shares(self, texts: Sequence[str]) -> list[float | None]:
        """The share of each paragraph of a page found in the reference (None when it
        has no words): short paragraphs by alignment, long ones by trigrams.

        A menu item's words ("Home", "Stock Car calendar") occur somewhere in most long
        references: matching words alone called about 29,000 short paragraphs of the
        corpora's HTML pages body, mostly menu items, that this alignment calls other.
        The alignment (difflib, in page order) credits a word only where the page's text
        runs along the reference, so the article's short lines (headline, subheadings,
        list items) still count and the menu does not. Long paragraphs keep
        the order-free trigram share: some references put captions or pull quotes
        elsewhere than the page does, and a long paragraph's trigrams cannot match by
        chance.
        """
        page = [tokens(t) for t in texts]
        covered = [0] * len(page)
        short = [0 < len(words) < SHORT_WORDS for words in page]
        if any(short) and self.tokens:
            flat = [w for words in page for w in words]
            owner = [k for k, words in enumerate(page) for _ in words]
            matcher = SequenceMatcher(None, flat, self.tokens, autojunk=False)
            for start, _, size in matcher.get_matching_blocks():
                for k in owner[start:start + size]:
                    covered[k] += 1
        return [None if not words else covered[k] / len(words) if short[k]
                else self._trigram_share(words) for k, words in enumerate(page)]

    def _trigram_share(self, words: list[str]) -> float:
        grams = list(zip(words, words[1:], words[2:], strict=False))
        return sum(g in self.trigrams for g in grams) / len(grams)


def snippet_labels(document: Document, meta: dict) -> list[str | None]:
    """For snippet pages: body where a must-keep snippet sits, other where a must-drop one."""
    def flat(text: str) -> str:  # composed, lower-cased, white space made one space
        return " ".join(composed(text).lower().split())

    keep = [flat(s) for s in meta.get("with") or []]
    drop = [flat(s) for s in meta.get("without") or []]
    out: list[str | None] = []
    for p in document.paragraphs:
        text = flat(p.text)
        if any(s and s in text for s in keep):
            out.append(BODY)
        elif any(s and (s == text or (len(s) > 20 and s in text)) for s in drop):
            out.append(OTHER)
        else:
            out.append(None)
    return out


def label_page(page: Page, fmt: Format) -> tuple[Document, list[str | None]]:
    """The page segmented as at run time, with body / other / None (unsure) per paragraph."""
    raw = page.html if fmt is Format.HTML else dump_text(page.html)
    document = segment(raw, fmt)
    if page.gold_type == "snippets":
        return document, snippet_labels(document, page.meta)
    ref = Reference(page.gold)
    titles = page.titles
    labels: list[str | None] = []
    for p, share in zip(document.paragraphs, ref.shares(document.texts), strict=True):
        if share is None:
            labels.append(None)
        elif share >= IS_BODY:
            labels.append(BODY)
        elif share <= NOT_BODY and not is_title(p.text, titles):
            labels.append(OTHER)
        else:
            labels.append(None)
    return document, labels


def page_titles(html: str) -> list[str]:
    """The page's headline as its markup gives it: <title>, og:title and <h1> texts."""
    import lxml.html
    from lxml import etree

    try:
        root = lxml.html.document_fromstring(html.encode("utf-8", "replace"))
    except (etree.ParserError, ValueError):
        return []
    found = [el.text_content() for el in root.iter("title", "h1")]
    found += [el.get("content") or "" for el in root.iter("meta")
              if el.get("property") == "og:title"]
    return [t for t in (" ".join(tokens(x)) for x in found) if t]


def is_title(text: str, titles: list[str]) -> bool:
    """A paragraph that is the page's headline, or its part of "Headline | Site".

    References disagree on whether the headline belongs to the article (LABELS.md says
    it does), so a headline missing from the reference is left unlabeled, not "other".
    """
    words = tokens(text)
    if not words or len(words) > 30:
        return False
    own = " ".join(words)
    return any(own == t or (len(words) >= 3 and f" {own} " in f" {t} ") for t in titles)


@dataclass
class RealPages:
    """Real pages ready for training: both modes of every page, labeled body/other/None.

    ``sites`` holds "corpus:site" for each document, ``by_snippets`` whether its labels
    come from must-keep / must-drop snippets rather than a reference text.
    """

    documents: list[Document]
    labels: list[list[str | None]]
    sites: list[str]
    by_snippets: list[bool]
    corpora: list[dict]

    def weights(self) -> list[float]:
        """The gate's weight of each labeled paragraph, per document."""
        return [SNIPPET_WEIGHT if s else 1.0 for s in self.by_snippets]

    def without_fold(self, k: int, folds: int) -> RealPages:
        """These pages minus the sites of fold ``k``: a model trained on the rest can
        score those pages out of fold. The corpus entries are recounted."""
        keep = [i for i, site in enumerate(self.sites) if _fold(site, folds) != k]
        out = RealPages([self.documents[i] for i in keep], [self.labels[i] for i in keep],
                        [self.sites[i] for i in keep], [self.by_snippets[i] for i in keep], [])
        for entry in self.corpora:
            mine = [i for i in keep if self.sites[i].split(":", 1)[0] == entry["name"]]
            out.corpora.append({**entry, **self._counts(mine)})
        return out

    def _counts(self, documents: Sequence[int]) -> dict:
        """A corpus entry's counts over these documents (both modes of each page)."""
        return {"pages": len(documents) // len(MODES),
                "labeled_paragraphs": sum(label is not None for i in documents
                                          for label in self.labels[i]),
                "pages_labeled_by_snippets": sum(self.by_snippets[i]
                                                 for i in documents) // len(MODES)}


MODES = (Format.HTML, Format.TEXT)


def _fold(key: str, folds: int) -> int:
    return zlib.crc32(key.encode()) % folds


def site_fold(corpus: str, site: str, folds: int) -> int:
    """The cross-validation fold of a site: fixed by its name, so the same whatever
    pages, order or ``--limit`` a run reads."""
    return _fold(f"{corpus}:{site}", folds)


def _label_modes(page: Page) -> list[tuple[Document, list[str | None]]]:
    return [label_page(page, fmt) for fmt in MODES]


# Below this many pages a pool costs more to start than it saves.
_POOL_PAGES = 64


def load_real_pages(directory: Path, limit: int | None = None,
                    workers: int | None = None) -> RealPages:
    """Every corpus in ``directory`` (its first ``limit`` pages each), in both modes.

    Pages are labeled in ``workers`` processes (default: one per available CPU), in
    page order: the whole-page alignment makes labeling all four corpora minutes of
    work, at the start of every real-page training and of ``make eval``.
    """
    files = corpus_files(directory)
    if not files:
        raise FileNotFoundError(f"no *.jsonl.gz corpora in {directory}")
    out = RealPages([], [], [], [], [])
    workers = workers or default_workers()
    # spawn, not fork: the parent may hold OpenMP threads (scikit-learn). The executor
    # starts its processes at the first task, so a small corpus never pays for them.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for path in files:
            pages = list(islice(read_pages(path), limit or None))
            pooled = workers > 1 and len(pages) >= _POOL_PAGES
            mapper = partial(pool.map, chunksize=8) if pooled else map
            start = len(out.documents)
            for page, modes in zip(pages, mapper(_label_modes, pages), strict=True):
                for document, labels in modes:
                    out.documents.append(document)
                    out.labels.append(labels)
                    out.sites.append(f"{page.corpus}:{page.site}")
                    out.by_snippets.append(page.gold_type == "snippets")
            out.corpora.append({"name": path.name.split(".")[0], "sha256": sha256_file(path),
                                **out._counts(range(start, len(out.documents))),
                                "limit": limit})
    return out


# --- out-of-fold filters for `make eval` ---------------------------------------------

_FOLD_FILTERS: dict[tuple, list] = {}


def _training_limit(directory: Path, card: dict) -> int | None:
    """The per-corpus page limit the card was trained with, once its corpora are checked
    against the files in ``directory``."""
    listed = (card.get("training_data") or {}).get("corpora") or []
    present = {path.name.split(".")[0]: path for path in corpus_files(directory)}
    for entry in listed:
        path = present.get(entry["name"])
        if path is None:
            raise FileNotFoundError(
                f"the model was trained on corpus {entry['name']!r}, which is not in "
                f"{directory}: out-of-fold models cannot be rebuilt without it")
        if entry.get("sha256") and sha256_file(path) != entry["sha256"]:
            raise ValueError(f"{path} differs from the file the model was trained on "
                             "(sha256 mismatch): retrain, or evaluate with the same corpora")
    if set(present) != {entry["name"] for entry in listed}:
        raise ValueError(f"{directory} holds corpora {sorted(present)} but the model was "
                         f"trained on {sorted(e['name'] for e in listed)}: the out-of-fold "
                         "models would not match the shipped one")
    limits = {entry.get("limit") for entry in listed}
    return limits.pop() if len(limits) == 1 else None


def fold_filters(directory: Path, folds: int, model_dir: Path | None = None,
                 seeds: Path | None = None, log=print, gate_seed: int | None = None) -> list:
    """One Filter per fold, each trained like the shipped model minus that fold's sites.

    The folds cut every corpus at once, so ``folds`` trainings serve every corpus; each
    is saved and loaded back through the normal artifact path, so it is checked the same
    way as the shipped model. Kept for the process, as evaluation asks once per corpus.
    The model's parameters are the card's; ``gate_seed`` overrides its gate's seed.
    """
    import tempfile

    from filter import Filter
    from filter.artifact import MODEL_DIR, read_card, save_model
    from filter.classifier import ParagraphClassifier

    from .annotations import load_seeds
    from .train import SEEDS, fit

    model_dir, seeds = model_dir or MODEL_DIR, seeds or SEEDS
    key = (str(directory.resolve()), folds, str(model_dir), str(seeds), gate_seed)
    if key not in _FOLD_FILTERS:
        card = read_card(model_dir)
        params = dict(card.get("model", {}).get("params", {}))
        if gate_seed is not None:
            params["gate_seed"] = gate_seed
        try:
            recipe = ParagraphClassifier(**params)
        except TypeError as exc:
            raise ValueError(f"the model card's parameters {params} do not fit this code's "
                             f"ParagraphClassifier ({exc}): retrain with 'make train'") from None
        every = load_real_pages(directory, _training_limit(directory, card))
        documents = load_seeds(seeds)
        filters = []
        for k in range(folds):
            log(f"  out-of-fold model {k + 1}/{folds}: training without the sites of fold {k}")
            real = every.without_fold(k, folds)
            model = fit(documents, real, recipe)
            with tempfile.TemporaryDirectory() as tmp:
                fold_card = {"name": "contamfilter", "version": f"fold-{k}-of-{folds}",
                             "labels": card.get("labels"), "policy": card.get("policy"),
                             "training_data": {"left_out_fold": k, "folds": folds,
                                               "corpora": real.corpora},
                             "model": {"params": recipe.get_params()}}
                save_model(model, fold_card, Path(tmp))
                filters.append(Filter(tmp))
        _FOLD_FILTERS[key] = filters
    return _FOLD_FILTERS[key]


def cross_fitted(name: str, pages: list[dict], folds: int = 5, *, corpora: Path,
                 model_dir: Path | None = None, seeds: Path | None = None,
                 gate_seed: int | None = None) -> Iterator[tuple[object, list[str]]]:
    """(filter, ids of the pages it scores): each page goes to the one filter whose
    training left out its site. ``pages`` are corpus records (id, url, meta, ...) of
    the corpus ``name`` in the folder ``corpora``."""
    filters = fold_filters(corpora, folds, model_dir, seeds, gate_seed=gate_seed)
    by_fold: dict[int, list[str]] = {k: [] for k in range(folds)}
    for page in pages:
        by_fold[site_fold(name, _site(page), folds)].append(str(page["id"]))
    for k, ids in by_fold.items():
        if ids:
            yield filters[k], ids
