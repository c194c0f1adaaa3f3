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
from sklearn.preprocessing import normalize

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
# These run on lower-cased text and only when a cheap substring test passes: with
# IGNORECASE and word boundaries they cost more than all other shape features together.
_URL_HINTS = ("http://", "https://", "www.", ".com", ".org")
_URL = re.compile(r"https?://|www\.|\.com\b|\.org\b")
_DATE = re.compile(
    r"\b\d{4}-\d{1,2}-\d{1,2}\b|\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b|"
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b"
)
_TEMPLATE_HINTS = ("{{", "}}", "{%", "_img", "caption", "undefined", "null", "${")
_TEMPLATE = re.compile(r"\{\{|\}\}|\{%|_img|\[/?caption|\bundefined\b|\bnull\b|\$\{")


def _has_url(low: str) -> bool:
    return any(h in low for h in _URL_HINTS) and bool(_URL.search(low))


def _has_template(low: str) -> bool:
    return any(h in low for h in _TEMPLATE_HINTS) and bool(_TEMPLATE.search(low))
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


class _CharClasses(dict):
    """str.translate table: every character -> one letter naming its class.

    Counting letters of a translated string runs in C; a Python loop over every character
    was the largest single cost of scoring.
    """

    def __missing__(self, code: int) -> str:
        c = chr(code)
        cls = ("U" if c.isupper() else "A" if c.isalpha() else "D" if c.isdigit()
               else "N" if c.isalnum() else "S" if c.isspace() else "P")
        self[code] = cls
        return cls


_CLASSES = _CharClasses()


def shape_vector(text: str) -> list[float]:
    n = len(text) or 1
    words = _WORD.findall(text)
    nw = len(words)
    classes = text.translate(_CLASSES)
    upper = classes.count("U")
    letters = (upper + classes.count("A")) or 1
    digits = classes.count("D")
    punct = classes.count("P")
    low = text.lower()
    caps = sum(map(str.isupper, (w[0] for w in words)))
    stops = sum(map(_STOP.__contains__, map(str.lower, words)))
    mean_len = (sum(map(len, words)) / nw) if nw else 0.0
    sentences = len(_SENTENCE_END.findall(text))
    stripped = text.rstrip()
    last = stripped[-1:] if stripped else ""
    ellipsis = bool(_ELLIPSIS.search(stripped[-8:]))
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
        float(_has_url(low)),
        float(digits > 0 and bool(_DATE.search(low))),
        float(_has_template(low)),
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


def topical_fit(rows: Sequence[Row], vectors: sp.csr_matrix,
                long_words: int = 40) -> np.ndarray:
    """How much each paragraph reads like the rest of its document.

    An unrelated teaser shares few content words with the story around it, whatever its
    own wording; so this compares the paragraphs' content-word vectors (L2-normalised
    rows of ``vectors``) within each document, never with labels.
    """
    out = np.zeros((len(rows), len(TOPIC_NAMES)))
    for _doc, positions in _group(rows):
        n = len(positions)
        v = vectors[positions]
        gram = (v @ v.T).toarray()
        norms_sq = gram.diagonal().copy()
        words = np.array([len(_WORD.findall(rows[p].paragraph.text)) for p in positions])
        rest = _cos_to_sum(gram, np.ones(n))
        others = gram.copy()
        np.fill_diagonal(others, 0.0)
        neighbours = np.zeros(n)
        if n > 1:
            idx = np.arange(n - 1)
            neighbours[:-1] += others[idx, idx + 1]
            neighbours[1:] += others[idx + 1, idx]
        out[positions] = np.column_stack([
            rest,
            _cos_to_sum(gram, (words >= long_words).astype(float)),
            others.max(axis=1) if n > 1 else np.zeros(n),
            neighbours / 2,
            _cos_to_sum(gram, (np.arange(n) < 3).astype(float)),
            (norms_sq <= 0).astype(float),
            np.where(words <= 20, rest, 0.0),
        ])
    return out


def _cos_to_sum(gram: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Cosine of each vector with the sum of the masked vectors other than itself.

    All from the Gram matrix (G[i, j] = v_i . v_j), so no dense document-by-vocabulary
    matrix is ever built.
    """
    diag = gram.diagonal()
    gm = gram @ mask
    dot = gm - mask * diag
    other_sq = np.maximum(mask @ gm - 2 * mask * gm + mask * mask * diag, 0.0)
    denom = np.sqrt(diag * other_sq)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom > 1e-12, dot / denom, 0.0)


# --- the whole local feature set --------------------------------------------------

_CONTENT_WORD = re.compile(r"[^\W\d_]{3,}")
WORD_PATTERN = r"(?u)\b\w+\b|[?!:…|©]"


class ParagraphFeatures(TransformerMixin, BaseEstimator):
    """Everything known about one paragraph before its neighbours' labels are guessed.

    Columns: word uni- and bigrams (tf-idf), shape and position, HTML block facts, and
    topical fit. One pass: the topical vectors are the content-word columns of the same
    tf-idf matrix, so each paragraph is tokenised once.
    """

    def __init__(self, max_features: int = 40_000, min_df: int = 2, long_words: int = 40):
        self.max_features = max_features
        self.min_df = min_df
        self.long_words = long_words

    def fit(self, rows, y=None):
        self.words_ = TfidfVectorizer(
            ngram_range=(1, 2), min_df=self.min_df, max_features=self.max_features,
            sublinear_tf=True, token_pattern=WORD_PATTERN, dtype=np.float64,
        ).fit(row_texts(rows))
        self.topic_columns_ = np.array(sorted(
            col for word, col in self.words_.vocabulary_.items()
            if _CONTENT_WORD.fullmatch(word) and word not in _STOP
        ), dtype=np.int64)
        self.shape_ = ShapeFeatures().fit(rows)
        self.blocks_ = DictVectorizer().fit(block_dicts(rows))
        return self

    def get_feature_names_out(self, input_features=None):
        return np.array(
            [f"word '{w}'" for w in self.words_.get_feature_names_out()]
            + list(self.shape_.get_feature_names_out())
            + list(self.blocks_.get_feature_names_out())
            + list(TOPIC_NAMES),
            dtype=object,
        )

    def transform(self, rows):
        words = self.words_.transform(row_texts(rows)).tocsr()
        topic = normalize(words[:, self.topic_columns_])
        return sp.hstack([
            words,
            self.shape_.transform(rows),
            self.blocks_.transform(block_dicts(rows)),
            sp.csr_matrix(topical_fit(rows, topic, self.long_words)),
        ]).tocsr()
