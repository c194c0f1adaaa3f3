"""Paragraph rows -> feature matrix, as scikit-learn transformers with named columns.

A row is one paragraph seen from inside its document (``Row(doc, index, key)``): the
shape, position and neighbour features need the document, and the topical-fit features
compare a paragraph with the rest of its document. Rows of one document always travel
together (training splits by document), which the per-document steps rely on.
"""

from __future__ import annotations

import math
import re
import weakref
from collections.abc import Iterable, Sequence
from itertools import pairwise, repeat
from operator import itemgetter
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2

from .containers import CONTAINER_NAMES, container_columns
from .document import Document, Format, Paragraph
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
    # Every match of _URL is one of the hints, so no substring test is needed first.
    return bool(_URL.search(low))


def _has_template(low: str) -> bool:
    # Every match of _TEMPLATE holds one of _TEMPLATE_HINTS, and so one of these.
    return ("{" in low or "}" in low or "_img" in low or "caption" in low or "undefined" in low
            or "null" in low) and bool(_TEMPLATE.search(low))


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
# The same classes for ASCII text, as a bytes.translate table: many times faster.
_ASCII_CLASSES = bytes(ord(_CLASSES[code]) for code in range(128)) + bytes(128)
_FIRST = itemgetter(0)


def shape_vector(text: str) -> list[float]:
    """SHAPE_NAMES of one paragraph."""
    return _shape_and_words(text)[:-1]


def _shape_and_words(text: str) -> list[float]:
    """shape_vector(text) and, last, its number of words (topical_fit needs it too).

    Each pattern runs only when a substring it cannot match without is present (a speaker
    tag needs a colon, a markdown heading a leading '#', ...): the same values, cheaper.
    """
    n = len(text) or 1
    words = _WORD.findall(text)
    nw = len(words)
    if text.isascii():
        classes = text.encode("ascii").translate(_ASCII_CLASSES)
        upper, alpha = classes.count(b"U"), classes.count(b"A")
        digits, punct = classes.count(b"D"), classes.count(b"P")
    else:
        classes = text.translate(_CLASSES)
        upper, alpha = classes.count("U"), classes.count("A")
        digits, punct = classes.count("D"), classes.count("P")
    letters = (upper + alpha) or 1
    low = text.lower()
    if nw:
        caps = sum(map(str.isupper, map(_FIRST, words))) / nw
        stops = sum(map(_STOP.__contains__, map(str.lower, words))) / nw
        mean_len = sum(map(len, words)) / nw
    else:
        caps = stops = mean_len = 0.0
    sentences = len(_SENTENCE_END.findall(text))
    stripped = text.rstrip()
    last = stripped[-1:]
    # The ellipsis pattern ends the text, which has no trailing space: in '.', '…' or ']'.
    ellipsis = last in ".…]" and bool(_ELLIPSIS.search(stripped[-8:]))
    first = text[:1]
    return [
        math.log1p(len(text)) / 8,
        math.log1p(nw) / 6,
        1.0 if nw <= 1 else 0.0,
        1.0 if nw <= 3 else 0.0,
        1.0 if nw >= 40 else 0.0,
        upper / letters,
        digits / n,
        punct / n,
        caps,
        stops,
        min(mean_len, 15) / 15,
        math.log1p(sentences) / 3,
        1.0 if last == "." and not ellipsis else 0.0,
        1.0 if ellipsis else 0.0,
        1.0 if last == "?" else 0.0,
        1.0 if last == "!" else 0.0,
        1.0 if last == ":" else 0.0,
        1.0 if last and last not in ".!?:…\"'”’)" else 0.0,
        1.0 if ellipsis and nw <= 30 else 0.0,
        1.0 if ":" in text and _SPEAKER.match(text) else 0.0,
        1.0 if first in "*_" and _BOLD_SPEAKER.match(text) else 0.0,
        1.0 if first == "#" and HEADING.match(text) else 0.0,
        1.0 if (first in "-*+•" or first.isdigit()) and LIST_ITEM.match(text) else 0.0,
        1.0 if _has_url(low) else 0.0,
        1.0 if digits > 0 and _DATE.search(low) else 0.0,
        1.0 if _has_template(low) else 0.0,
        1.0 if _QUOTE.search(text) else 0.0,
        1.0 if letters > 3 and upper / letters > 0.8 else 0.0,
        1.0 if first.isdigit() else 0.0,
        float(nw),
    ]


# "log words" of a line of at most ten words: a heading's length, or a widget's.
_SHORT_LINE = math.log1p(10) / 6

# Which shape columns are carried over to neighbours (index into SHAPE_NAMES).
_NEIGHBOUR_COLS = (0, 13, 14, 18, 19, 21, 22, 4)


class _DocStats:
    """Shape vectors (and word counts) of one document's paragraphs, computed once per call.

    A text repeated in the document (a quarter of the paragraphs of real pages) is
    measured once.
    """

    def __init__(self, doc: Document) -> None:
        memo: dict[str, list[float]] = {}
        vectors = []
        for p in doc.paragraphs:
            vector = memo.get(p.text)
            if vector is None:
                vector = memo[p.text] = _shape_and_words(p.text)
            vectors.append(vector)
        both = (np.array(vectors, dtype=float) if vectors
                else np.zeros((0, len(SHAPE_NAMES) + 1)))
        self.shape = both[:, :-1]
        self.words = both[:, -1]
        self.speaker = self.shape[:, 19]
        self.question = self.shape[:, 14]
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
        return sp.csr_matrix(_shape_rows(rows)[0])


_N_SHAPE_FEATURES = len(SHAPE_NAMES) + 15 + 2 * (1 + len(_NEIGHBOUR_COLS))


def _shape_rows(rows: Sequence[Row]) -> tuple[np.ndarray, np.ndarray]:
    """(ShapeFeatures' dense columns, number of words) for each row."""
    out = np.zeros((len(rows), _N_SHAPE_FEATURES))
    words = np.zeros(len(rows))
    for doc, positions in _group(rows):
        if len(doc):
            index = np.fromiter((rows[pos].index for pos in positions), dtype=np.intp,
                                count=len(positions))
            shape, doc_words = _document_shape(doc)
            if len(positions) == len(doc) and (index == np.arange(len(doc))).all():
                index = slice(None)  # the whole document in order: no copy by index
            out[positions] = shape[index]
            words[positions] = doc_words[index]
    return out, words


def _document_shape(doc: Document) -> tuple[np.ndarray, np.ndarray]:
    """ShapeFeatures' columns for every paragraph of ``doc``, and their numbers of words.

    Whole-document arrays, the same values as one row at a time: windows of 0/1 columns
    are summed exactly from cumulative sums, logarithms are math.log1p's, as before.
    """
    stats = _DocStats(doc)
    shape = stats.shape
    n = len(shape)
    n_shape = len(SHAPE_NAMES)
    out = np.zeros((n, _N_SHAPE_FEATURES))
    out[:, :n_shape] = shape
    i = np.arange(n)
    log1p = np.array([math.log1p(k) for k in range(n + 1)])
    lo, hi = np.maximum(i - 3, 0), np.minimum(i + 4, n)

    def nearby(col: np.ndarray) -> np.ndarray:
        cum = np.concatenate(([0.0], np.cumsum(col)))
        return (cum[hi] - cum[lo]) - col

    speakers = stats.speaker
    short = shape[:, 1] <= _SHORT_LINE
    long_ = shape[:, 4] == 1.0
    next_long = np.zeros(n, dtype=bool)
    next_long[:-1] = long_[1:]
    prev_long = np.zeros(n, dtype=bool)
    prev_long[1:] = long_[:-1]
    position = out[:, n_shape:n_shape + 15]
    if n > 1:
        position[:, 0] = i / (n - 1)
    position[:1, 1] = 1.0
    position[n - 1:, 2] = 1.0
    position[:3, 3] = 1.0
    position[max(n - 3, 0):, 4] = 1.0
    position[:, 5] = log1p[:n] / 4
    position[:, 6] = log1p[:n][::-1] / 4
    position[:, 7] = math.log1p(n) / 4
    position[:, 8] = nearby(speakers) / 6
    position[:, 9] = math.log1p(speakers.sum()) / 3
    position[:, 10] = nearby(stats.question) / 6
    position[:, 11] = stats.repeats_earlier
    position[:, 12] = stats.repeated_later
    position[:, 13] = short & next_long
    position[:, 14] = short & next_long & prev_long
    if n > 1:
        width = 1 + len(_NEIGHBOUR_COLS)
        start = n_shape + 15
        carried = shape[:, _NEIGHBOUR_COLS]
        out[1:, start] = 1.0
        out[1:, start + 1:start + width] = carried[:-1]
        out[:-1, start + width] = 1.0
        out[:-1, start + width + 1:] = carried[1:]
    return out, stats.words


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
                long_words: int = 40, word_counts: np.ndarray | None = None) -> np.ndarray:
    """How much each paragraph reads like the rest of its document.

    An unrelated teaser shares few content words with the story around it, whatever its
    own wording; so this compares the paragraphs' content-word vectors (L2-normalised
    rows of ``vectors``) within each document, never with labels. ``word_counts``: each
    row's number of words, when already known.
    """
    out = np.zeros((len(rows), len(TOPIC_NAMES)))
    groups = _group(rows)
    for _doc, positions in groups:
        n = len(positions)
        # One document in order (the usual call) needs no copy by row.
        v = vectors if len(groups) == 1 and positions[-1] == n - 1 else vectors[positions]
        gram = (v @ v.T).toarray()
        norms_sq = gram.diagonal().copy()
        words = (word_counts[positions] if word_counts is not None else
                 np.array([len(_WORD.findall(rows[p].paragraph.text)) for p in positions]))
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


def container_fit(rows: Sequence[Row], word_counts: np.ndarray | None = None) -> np.ndarray:
    """``containers.container_columns`` for every row; zeros for text documents.

    ``word_counts``: each row's number of words, when already known (the shape step
    counts them); used when a call holds the whole document, as scoring always does.
    """
    out = np.zeros((len(rows), len(CONTAINER_NAMES)))
    for doc, positions in _group(rows):
        if doc.format is not Format.HTML or not len(doc):
            continue
        index = [rows[p].index for p in positions]
        if word_counts is not None and len(positions) == len(doc):
            words = np.empty(len(doc))
            words[index] = word_counts[positions]
        else:
            words = [len(_WORD.findall(p.text)) for p in doc.paragraphs]
        out[positions] = container_columns(doc.paragraphs, words)[index]
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


class ParagraphFeatures(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
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
            + list(TOPIC_NAMES)
            + list(CONTAINER_NAMES),
            dtype=object,
        )

    def transform(self, rows):
        parts = self.transform_parts(rows)
        shape, topic, container = np.split(parts.dense, self.layout().dense_splits, axis=1)
        return sp.hstack([parts.words, sp.csr_matrix(shape), parts.blocks,
                          sp.csr_matrix(topic), sp.csr_matrix(container)]).tocsr()

    def transform_parts(self, rows: Sequence[Row]) -> Parts:
        """The columns of ``transform`` in three pieces, never assembled into one matrix:
        scoring reads each piece with its own slice of the coefficients (``parts``)."""
        words = _tfidf(self.words_, row_texts(rows))
        topic = words[:, self.topic_columns_]  # a new matrix: normalised in place
        inplace_csr_row_normalize_l2(topic)
        shape, word_counts = _shape_rows(rows)
        dense = np.hstack([shape, topical_fit(rows, topic, self.long_words, word_counts),
                           container_fit(rows, word_counts)])
        return Parts(words, _block_matrix(self.blocks_, rows), dense)

    def layout(self) -> Layout:
        nw, nb = len(self.words_.vocabulary_), len(self.blocks_.vocabulary_)
        return Layout(nw, _N_SHAPE_FEATURES, nb, len(TOPIC_NAMES), len(CONTAINER_NAMES))


class Parts(NamedTuple):
    """``ParagraphFeatures.transform`` unassembled: word columns, HTML block columns, and
    the dense rest (shape and position, topical fit, containers, in that order)."""

    words: sp.csr_matrix
    blocks: sp.csr_matrix
    dense: np.ndarray


class Layout(NamedTuple):
    """Widths of the column groups of ``transform``, in column order: words, shape,
    blocks, topic, container. The dense part (``Parts.dense``) is shape, topic and
    container; in ``transform`` the block columns sit between shape and topic."""

    words: int
    shape: int
    blocks: int
    topic: int
    container: int

    @property
    def dense_splits(self) -> list[int]:
        return [self.shape, self.shape + self.topic]

    @property
    def shape_at(self) -> int:
        return self.words

    @property
    def blocks_at(self) -> int:
        return self.words + self.shape

    @property
    def rest_at(self) -> int:
        """Where topic and container start."""
        return self.blocks_at + self.blocks

    @property
    def end(self) -> int:
        return self.rest_at + self.topic + self.container

    def where(self, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For columns of ``transform``: (which part, column within it), with part 0
        words, 1 blocks, 2 dense."""
        columns = np.asarray(columns, dtype=np.intp)
        group = np.searchsorted([self.shape_at, self.blocks_at, self.rest_at], columns,
                                side="right")  # 0 words, 1 shape, 2 blocks, 3 rest
        part = np.array([0, 2, 1, 2])[group]
        start = np.array([0, self.shape_at, self.blocks_at, self.rest_at - self.shape])
        return part, columns - start[group]


# --- the same matrices as the fitted vectorizers', built without their overheads ----------


def _fast_tfidf_ok(vectorizer: TfidfVectorizer) -> bool:
    """The fitted vectorizer's settings are the ones _tfidf reproduces."""
    return (
        vectorizer.analyzer == "word" and vectorizer.input == "content"
        and vectorizer.preprocessor is None and vectorizer.tokenizer is None
        and vectorizer.lowercase and not vectorizer.strip_accents
        and vectorizer.stop_words is None and tuple(vectorizer.ngram_range) == (1, 2)
        and not vectorizer.binary and vectorizer.dtype is np.float64
        and vectorizer.sublinear_tf and vectorizer.use_idf and vectorizer.norm == "l2"
    )


def _tfidf(vectorizer: TfidfVectorizer, texts: Sequence[str]) -> sp.csr_matrix:
    """``vectorizer.transform(texts)``, value for value, for the settings this module fits.

    The same tokens, uni- and bigrams, counts and arithmetic in the same order, but the
    n-grams of all rows are looked up and counted at once: per-row work was most of the
    cost. Rows are chained with a separator that no n-gram of the vocabulary contains.
    """
    if not _fast_tfidf_ok(vectorizer):
        return vectorizer.transform(texts).tocsr()
    vocab = vectorizer.vocabulary_
    n_columns = len(vocab)
    tokenize = re.compile(vectorizer.token_pattern).findall
    tokens: list[str] = []
    lengths = np.zeros(len(texts), dtype=np.int64)
    for i, text in enumerate(texts):
        found = tokenize(text.lower())
        tokens += found
        tokens.append(_ROW_END)
        lengths[i] = len(found) + 1
    grams = tokens + list(map(" ".join, pairwise(tokens)))
    columns = np.fromiter(map(vocab.get, grams, repeat(-1)), dtype=np.int64, count=len(grams))
    row_of = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
    row_of = np.concatenate([row_of, row_of[:-1]])
    known = columns >= 0
    cells, counts = np.unique(row_of[known] * n_columns + columns[known], return_counts=True)
    rows = cells // n_columns
    indptr = np.zeros(len(texts) + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=len(texts)), out=indptr[1:])
    data = counts.astype(np.float64)
    indices = (cells - rows * n_columns).astype(np.int32)
    np.log(data, data)
    data += 1.0
    data *= vectorizer.idf_[indices]
    X = sp.csr_matrix((data, indices, indptr), shape=(len(texts), n_columns))
    inplace_csr_row_normalize_l2(X)
    return X


# Joins the rows' tokens: no token of the pattern, so no n-gram with it is in a vocabulary.
_ROW_END = "\x00"


_TEXT_TAGS = ("text", "heading", "item")


_BLOCK_LOOKUPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _block_lookups(vectorizer: DictVectorizer) -> tuple[dict, dict[str, int], dict[str, int],
                                                        dict[str, int]]:
    """(vocabulary, tag -> column, class token -> column, ancestor token -> column)."""
    vocab = vectorizer.vocabulary_
    cached = _BLOCK_LOOKUPS.get(vectorizer)
    if cached is None or cached[0] is not vocab:
        def named(prefix: str) -> dict[str, int]:
            return {name[len(prefix):]: col for name, col in vocab.items()
                    if name.startswith(prefix)}

        cached = (vocab, named("tag="), named("class="), named("inside="))
        _BLOCK_LOOKUPS[vectorizer] = cached
    return cached


def _block_matrix(vectorizer: DictVectorizer, rows: Sequence[Row]) -> sp.csr_matrix:
    """``vectorizer.transform(block_dicts(rows))``, value for value.

    Columns straight from the fitted vocabulary; the class and ancestor-class columns of
    a paragraph are looked up once per distinct pair of token tuples (siblings share
    their ancestors' classes).
    """
    vocab, tag_cols, class_cols, inside_cols = _block_lookups(vectorizer)
    facts = [vocab.get("html link density"), vocab.get("html emphasised text"),
             vocab.get("html depth")]
    all_facts = None not in facts
    class_col, inside_col = class_cols.get, inside_cols.get
    token_cols: dict[tuple[tuple[str, ...], tuple[str, ...]], list[int]] = {}
    indices: list[int] = []
    values: list[float] = []
    indptr = [0]
    for row in rows:
        p = row.paragraph
        tag = p.tag
        col = tag_cols.get(tag)
        if col is not None:
            indices.append(col)
            values.append(1.0)
        if tag not in _TEXT_TAGS:
            facts_values = (p.link_density, p.emphasis, min(p.depth, 30) / 30)
            if all_facts:
                indices += facts
                values += map(float, facts_values)
            else:
                for col, value in zip(facts, facts_values, strict=True):
                    if col is not None:
                        indices.append(col)
                        values.append(float(value))
            key = (p.classes, p.ancestor_classes[-24:])
            cols = token_cols.get(key)
            if cols is None:
                found = set(map(class_col, key[0]))
                found.update(map(inside_col, key[1]))
                found.discard(None)
                cols = token_cols[key] = sorted(found)
            indices += cols
            values += [1.0] * len(cols)
        indptr.append(len(indices))
    X = sp.csr_matrix(
        (np.array(values, dtype=np.float64), np.array(indices, dtype=np.int32),
         np.array(indptr, dtype=np.int32)),
        shape=(len(rows), len(vocab)),
    )
    X.sort_indices()
    return X
