"""Paragraph rows -> feature matrix, as scikit-learn transformers with named columns.

A row is one paragraph seen from inside its document (``Row(doc, index, key)``): the
shape, position and neighbour features need the document, and the topical-fit features
compare a paragraph with the rest of its document. Rows of one document always travel
together (training splits by document), which the per-document steps rely on.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer

from .document import Document, Paragraph
from .segment import HEADING, LIST_ITEM


class Row(NamedTuple):
    doc: Document
    index: int
    key: int  # identifies the document among the rows of one call

    @property
    def paragraph(self) -> Paragraph:
        return self.doc.paragraphs[self.index]


def rows_of(documents: Iterable[Document]) -> list[Row]:
    return [Row(doc, i, key) for key, doc in enumerate(documents) for i in range(len(doc))]


# --- lexical ----------------------------------------------------------------------

_DIGITS = re.compile(r"\d")


def row_texts(rows: Sequence[Row]) -> list[str]:
    """Lower-cased text with digits folded, so dates and prices share tokens."""
    return [_DIGITS.sub("0", r.paragraph.text.lower()) for r in rows]


# --- shape ------------------------------------------------------------------------

_WORD = re.compile(r"\w+", re.UNICODE)
_SPEAKER = re.compile(
    r"^(?:\*\*|__)?\s*(?:Q|A|[A-Z][\w.'’\-]*(?:\s+[A-Z][\w.'’\-]*){0,3})\s*(?:\*\*|__)?\s*:"
    r"\s*(?:\*\*|__)?\s*\S"
)
_BOLD_SPEAKER = re.compile(r"^(?:\*\*|__)[^*_:]{1,40}:(?:\*\*|__)")
_ELLIPSIS = re.compile(r"(?:\.\.\.|…|\[\.\.\.\]|\[…\])\s*$")
_URL = re.compile(r"https?://|www\.|\.com\b|\.org\b", re.IGNORECASE)
_DATE = re.compile(
    r"\b\d{4}-\d{1,2}-\d{1,2}\b|\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b|"
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b",
    re.IGNORECASE,
)
_TEMPLATE = re.compile(r"\{\{|\}\}|\{%|_img|\[/?caption|\bundefined\b|\bnull\b|\$\{")
_QUOTE = re.compile(r"[\"“”«»]")
_SENTENCE_END = re.compile(r"[.!?…](?:[\"'”’)\]]*)(?:\s|$)")
_STOP = ENGLISH_STOP_WORDS

SHAPE_NAMES = (
    "log chars", "log words", "one word", "up to three words", "long paragraph",
    "share of capital letters", "share of digits", "share of punctuation",
    "share of capitalised words", "share of stopwords", "mean word length",
    "log sentences", "ends with '.'", "ends with '...'", "ends with '?'", "ends with '!'",
    "ends with ':'", "no closing punctuation", "short text ending with '...'",
    "speaker tag at start", "bold speaker tag", "markdown heading", "list item",
    "contains a link address", "contains a date", "template junk", "contains quotes",
    "all capitals", "starts with a digit",
)


def shape_vector(text: str) -> list[float]:
    n = len(text) or 1
    words = _WORD.findall(text)
    nw = len(words)
    letters = sum(c.isalpha() for c in text) or 1
    upper = sum(c.isupper() for c in text)
    digits = sum(c.isdigit() for c in text)
    punct = sum((not c.isalnum()) and not c.isspace() for c in text)
    caps = sum(w[0].isupper() for w in words)
    stops = sum(w.lower() in _STOP for w in words)
    mean_len = (sum(map(len, words)) / nw) if nw else 0.0
    sentences = len(_SENTENCE_END.findall(text))
    stripped = text.rstrip()
    last = stripped[-1:] if stripped else ""
    ellipsis = bool(_ELLIPSIS.search(stripped))
    return [
        math.log1p(len(text)) / 8,
        math.log1p(nw) / 6,
        float(nw <= 1),
        float(nw <= 3),
        float(nw >= 40),
        upper / letters,
        digits / n,
        punct / n,
        caps / nw if nw else 0.0,
        stops / nw if nw else 0.0,
        min(mean_len, 15) / 15,
        math.log1p(sentences) / 3,
        float(last == "." and not ellipsis),
        float(ellipsis),
        float(last == "?"),
        float(last == "!"),
        float(last == ":"),
        float(bool(last) and last not in ".!?:…\"'”’)"),
        float(ellipsis and nw <= 30),
        float(bool(_SPEAKER.match(text))),
        float(bool(_BOLD_SPEAKER.match(text))),
        float(bool(HEADING.match(text))),
        float(bool(LIST_ITEM.match(text))),
        float(bool(_URL.search(text))),
        float(bool(_DATE.search(text))),
        float(bool(_TEMPLATE.search(text))),
        float(bool(_QUOTE.search(text))),
        float(letters > 3 and upper / letters > 0.8),
        float(text[:1].isdigit()),
    ]


# "log words" of a line of at most ten words: a heading's length, or a widget's.
_SHORT_LINE = math.log1p(10) / 6

# Which shape columns are carried over to neighbours (index into SHAPE_NAMES).
_NEIGHBOUR_COLS = (0, 13, 14, 18, 19, 21, 22, 4)


class _DocStats:
    """Shape vectors of one document's paragraphs, computed once per call."""

    def __init__(self, doc: Document) -> None:
        self.shape = np.array([shape_vector(p.text) for p in doc.paragraphs], dtype=float)
        if not len(self.shape):
            self.shape = np.zeros((0, len(SHAPE_NAMES)))
        self.speaker = self.shape[:, 19] if len(self.shape) else np.zeros(0)
        self.question = self.shape[:, 14] if len(self.shape) else np.zeros(0)
        folded = [" ".join(p.text.split()).casefold() for p in doc.paragraphs]
        first: dict[str, int] = {}
        last: dict[str, int] = {}
        for i, key in enumerate(folded):
            first.setdefault(key, i)
            last[key] = i
        self.repeats_earlier = [first[k] < i for i, k in enumerate(folded)]
        self.repeated_later = [last[k] > i for i, k in enumerate(folded)]


def _group(rows: Sequence[Row]) -> list[tuple[Document, list[int]]]:
    """[(doc, row positions)] in first-seen order."""
    groups: dict[int, tuple[Document, list[int]]] = {}
    for pos, row in enumerate(rows):
        groups.setdefault(row.key, (row.doc, []))[1].append(pos)
    return list(groups.values())


class ShapeFeatures(TransformerMixin, BaseEstimator):
    """Shape of the paragraph, its position, and the shape of its neighbours."""

    def fit(self, rows, y=None):
        self.n_features_in_ = 1
        return self

    def get_feature_names_out(self, input_features=None):
        names = list(SHAPE_NAMES)
        names += [
            "relative position", "first paragraph", "last paragraph", "in first three",
            "in last three", "log paragraphs before", "log paragraphs after",
            "log document paragraphs", "speaker tags nearby", "speaker tags in document",
            "questions nearby", "repeats an earlier paragraph", "repeated later in document",
            "short line before a long paragraph", "short line between long paragraphs",
        ]
        for side in ("previous", "next"):
            names.append(f"{side} paragraph exists")
            names += [f"{side}: {SHAPE_NAMES[c]}" for c in _NEIGHBOUR_COLS]
        return np.array(names, dtype=object)

    def transform(self, rows):
        out = np.zeros((len(rows), len(self.get_feature_names_out())))
        for doc, positions in _group(rows):
            stats = _DocStats(doc)
            n = len(doc)
            speakers = stats.speaker
            total_speakers = speakers.sum()
            for pos in positions:
                i = rows[pos].index
                own = stats.shape[i]
                lo, hi = max(0, i - 3), min(n, i + 4)
                near = speakers[lo:hi].sum() - speakers[i]
                short = own[1] <= _SHORT_LINE
                prev_long = i > 0 and stats.shape[i - 1][4] == 1.0
                next_long = i + 1 < n and stats.shape[i + 1][4] == 1.0
                position = [
                    i / (n - 1) if n > 1 else 0.0,
                    float(i == 0),
                    float(i == n - 1),
                    float(i < 3),
                    float(n - 1 - i < 3),
                    math.log1p(i) / 4,
                    math.log1p(n - 1 - i) / 4,
                    math.log1p(n) / 4,
                    near / 6,
                    math.log1p(total_speakers) / 3,
                    (stats.question[lo:hi].sum() - stats.question[i]) / 6,
                    float(stats.repeats_earlier[i]),
                    float(stats.repeated_later[i]),
                    float(short and next_long),
                    float(short and next_long and prev_long),
                ]
                neighbours: list[float] = []
                for j in (i - 1, i + 1):
                    if 0 <= j < n:
                        neighbours.append(1.0)
                        neighbours += [stats.shape[j][c] for c in _NEIGHBOUR_COLS]
                    else:
                        neighbours += [0.0] * (1 + len(_NEIGHBOUR_COLS))
                out[pos] = np.concatenate([own, position, neighbours])
        return sp.csr_matrix(out)


# --- block facts (HTML) -----------------------------------------------------------


def block_dicts(rows: Sequence[Row]) -> list[dict[str, float]]:
    out = []
    for row in rows:
        p = row.paragraph
        d: dict[str, float] = {f"tag={p.tag}": 1.0}
        if p.tag not in ("text", "heading", "item"):
            d["html link density"] = p.link_density
            d["html emphasised text"] = p.emphasis
            d["html depth"] = min(p.depth, 30) / 30
            for tok in p.classes:
                d[f"class={tok}"] = 1.0
            for tok in set(p.ancestor_classes[-24:]):
                d[f"inside={tok}"] = 1.0
        out.append(d)
    return out


# --- topical fit ------------------------------------------------------------------

TOPIC_NAMES = (
    "similarity to rest of document", "similarity to long paragraphs",
    "best similarity to another paragraph", "similarity to neighbours",
    "similarity to document opening", "no content words", "short and on topic",
)


class TopicalFit(TransformerMixin, BaseEstimator):
    """How much a paragraph reads like the rest of its document.

    An unrelated teaser shares few content words with the story around it, whatever its
    own wording; so this compares tf-idf vectors within the document, not with labels.
    """

    def __init__(self, long_words: int = 40):
        self.long_words = long_words

    def fit(self, rows, y=None):
        self.vectorizer_ = TfidfVectorizer(
            stop_words="english", sublinear_tf=True, min_df=1, token_pattern=r"(?u)\b[^\W\d_]{3,}\b"
        ).fit(row_texts(rows))
        return self

    def get_feature_names_out(self, input_features=None):
        return np.array(TOPIC_NAMES, dtype=object)

    def transform(self, rows):
        vectors = self.vectorizer_.transform(row_texts(rows)).tocsr()
        out = np.zeros((len(rows), len(TOPIC_NAMES)))
        for _doc, positions in _group(rows):
            v = vectors[positions]
            sims = (v @ v.T).toarray()
            np.fill_diagonal(sims, 0.0)
            norms_sq = np.asarray(v.multiply(v).sum(axis=1)).ravel()
            has = norms_sq > 0
            total = np.asarray(v.sum(axis=0)).ravel()
            words = np.array([len(_WORD.findall(rows[p].paragraph.text)) for p in positions])
            long_mask = (words >= self.long_words).astype(float)
            long_total = np.asarray(v.T @ long_mask).ravel()
            opening = np.asarray(v[: min(3, len(positions))].sum(axis=0)).ravel()
            dense = v.toarray()
            for k, pos in enumerate(positions):
                vk = dense[k]
                rest = total - vk
                long_rest = long_total - (vk if long_mask[k] else 0.0)
                open_rest = opening - (vk if k < 3 else 0.0)
                neigh = sims[k, max(0, k - 1)] * (k > 0) + (
                    sims[k, k + 1] if k + 1 < len(positions) else 0.0
                )
                out[pos] = [
                    _cos(vk, rest),
                    _cos(vk, long_rest),
                    sims[k].max() if len(positions) > 1 else 0.0,
                    neigh / 2,
                    _cos(vk, open_rest),
                    float(not has[k]),
                    _cos(vk, rest) if words[k] <= 20 else 0.0,
                ]
        return sp.csr_matrix(out)


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    nb = float(np.linalg.norm(b))
    na = float(np.linalg.norm(a))
    return float(a @ b) / (na * nb) if na > 0 and nb > 0 else 0.0


# --- the whole local feature set --------------------------------------------------


def local_features() -> FeatureUnion:
    """Everything known about one paragraph before its neighbours' labels are guessed."""
    return FeatureUnion(
        [
            (
                "words",
                Pipeline(
                    [
                        ("text", FunctionTransformer(row_texts)),
                        (
                            "tfidf",
                            TfidfVectorizer(
                                ngram_range=(1, 2), min_df=2, max_features=40_000,
                                sublinear_tf=True, token_pattern=r"(?u)\b\w+\b|[?!:…|©]",
                            ),
                        ),
                    ]
                ),
            ),
            ("shape", ShapeFeatures()),
            (
                "block",
                Pipeline(
                    [("facts", FunctionTransformer(block_dicts)), ("dict", DictVectorizer())]
                ),
            ),
            ("topic", TopicalFit()),
        ]
    )
