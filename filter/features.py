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
from collections.abc import Callable, Sequence
from itertools import pairwise, repeat
from operator import itemgetter
from typing import NamedTuple, TypeVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2

from .containers import CONTAINER_NAMES, container_columns
from .document import Document, Format, Paragraph, Row
from .shape import SHAPE_NAMES, STOP, WORD, shape_table

try:
    from . import fastblocks, fastwords
except ImportError:  # not compiled: the Python references do the same
    fastblocks = fastwords = None

# --- lexical ----------------------------------------------------------------------

_DIGITS = re.compile(r"\d")


def row_texts(rows: Sequence[Row]) -> list[str]:
    return _folded([r.paragraph.text for r in rows])


def _folded(texts: Sequence[str]) -> list[str]:
    """Lower-cased text with digits folded, so dates and prices share tokens."""
    return [_DIGITS.sub("0", t.lower()) for t in texts]


# --- shape and position ------------------------------------------------------

# "log words" of a line of at most ten words: a heading's length, or a widget's.
_SHORT_LINE = math.log1p(10) / 6

# Which shape columns are carried over to neighbours (index into SHAPE_NAMES).
_NEIGHBOUR_COLS = (0, 13, 14, 18, 19, 21, 22, 4)


def _shape_tables(docs: Sequence[Document]) -> list[np.ndarray]:
    """``shape_table`` rows of every paragraph of each document, from one call over all.

    A text repeated within a document (a quarter of the paragraphs of real pages) is
    measured once.
    """
    texts: list[str] = []
    where: list[np.ndarray] = []
    for doc in docs:
        memo: dict[str, int] = {}
        start = len(texts)
        at = [memo.setdefault(p.text, start + len(memo)) for p in doc.paragraphs]
        texts += memo
        where.append(np.array(at, dtype=np.intp))
    table = shape_table(texts)
    return [table[at] for at in where]


_KEY = itemgetter(2)  # Row.key, without the attribute lookup


def _group(rows: Sequence[Row]) -> list[tuple[Document, list[int]]]:
    """[(doc, row positions)] in first-seen order."""
    keys = list(map(_KEY, rows))
    if not keys:
        return []
    if keys.count(keys[0]) == len(keys):  # one document, as scoring one page
        return [(rows[0].doc, list(range(len(rows))))]
    # Each document's rows in one run, as ``rows_of`` lays them out: no loop in Python.
    runs = np.fromiter(keys, dtype=np.int64, count=len(keys))
    cuts = [0, *(np.flatnonzero(runs[1:] != runs[:-1]) + 1).tolist(), len(keys)]
    if len(set(runs[cuts[:-1]].tolist())) == len(cuts) - 1:
        return [(rows[a].doc, list(range(a, b))) for a, b in pairwise(cuts)]
    groups: dict[int, tuple[Document, list[int]]] = {}
    for pos, row in enumerate(rows):
        groups.setdefault(row.key, (row.doc, []))[1].append(pos)
    return list(groups.values())


_INDEX = itemgetter(1)  # Row.index


class Runs:
    """A call's rows document by document: ``order`` lists the row positions with each
    document's rows together, in paragraph order; ``sizes`` each document's number of
    rows, in that order. Lets a per-document step run over the whole call in a few
    array operations, where a loop over documents paid numpy's fixed cost per call
    dozens of times for each (a seed document has ~20 paragraphs). Built once per model
    call and handed to each step: on a page scored alone, the fixed cost is the cost.

    For each entry of ``order``: ``rank``, its position in its document; ``size``, its
    document's number of rows; ``sums_at``, where its document's ``cumsum`` rows begin.
    ``starts``: where each document's rows begin in ``order``.
    """

    __slots__ = ("order", "rank", "size", "sizes", "starts", "sums_at")

    def __init__(self, order: np.ndarray, sizes: np.ndarray) -> None:
        self.order, self.sizes = order, sizes
        n = len(order)
        if len(sizes) == 1:  # a page scored alone: the same arrays, fewer operations
            self.starts = np.zeros(1, dtype=np.intp)
            self.rank, self.size = np.arange(n), np.full(n, n)
            self.sums_at = np.zeros(n, dtype=np.intp)
            return
        self.starts = np.cumsum(sizes) - sizes
        self.rank = np.arange(n) - np.repeat(self.starts, sizes)
        self.size = np.repeat(sizes, sizes)
        self.sums_at = np.repeat(self.starts + np.arange(len(sizes)), sizes)

    def cumsum(self, values: np.ndarray) -> np.ndarray:
        """Each document's cumulative sums of ``values`` (in ``order``'s order), led by
        a row of zeros: ``sums_at[i] + k`` holds the sum of its document's first k
        rows. Summed document by document, so the same numbers as each alone."""
        out = np.zeros((len(values) + len(self.sizes), *values.shape[1:]))
        for d, (start, n) in enumerate(zip(self.starts.tolist(), self.sizes.tolist(),
                                           strict=True)):
            np.cumsum(values[start:start + n], axis=0, out=out[start + d + 1:start + d + 1 + n])
        return out

    def neighbour(self, values: np.ndarray, step: int) -> np.ndarray:
        """For each entry (in ``order``'s order): ``values`` of the row ``step``
        paragraphs away in its document, or zeros past the document's ends."""
        out = np.zeros_like(values)
        if step < 0:
            out[-step:] = values[:step]
        else:
            out[:-step] = values[step:]
        out[(self.rank + step < 0) | (self.rank + step >= self.size)] = 0
        return out

    def nearby(self, values: np.ndarray, sums: np.ndarray,
               reach: int = 3) -> tuple[np.ndarray, np.ndarray]:
        """For each entry: (the sum of ``values`` over the other rows of its document
        within ``reach`` paragraphs, how many rows those are); ``sums``:
        ``cumsum(values)``."""
        lo = np.maximum(self.rank - reach, 0)
        hi = np.minimum(self.rank + reach + 1, self.size)
        return sums[self.sums_at + hi] - sums[self.sums_at + lo] - values, hi - lo - 1


def document_runs(rows: Sequence[Row]) -> Runs:
    """``Runs`` of ``rows`` (documents in the order of their keys)."""
    n = len(rows)
    keys = np.fromiter(map(_KEY, rows), dtype=np.int64, count=n)
    index = np.fromiter(map(_INDEX, rows), dtype=np.int64, count=n)
    if n and keys[0] == keys[-1] and (keys == keys[0]).all():  # one page, scored alone
        in_order = (index[1:] > index[:-1]).all()
        return Runs(np.arange(n) if in_order else np.argsort(index, kind="stable"),
                    np.array([n], dtype=np.intp))
    _, doc_no = np.unique(keys, return_inverse=True)
    doc_no = doc_no.ravel()
    return Runs(np.lexsort((index, doc_no)), np.bincount(doc_no).astype(np.intp))


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
    groups = [(doc, positions) for doc, positions in _group(rows) if len(doc)]
    if not groups:
        return out, words
    docs = [doc for doc, _ in groups]
    sizes = np.array([len(doc) for doc in docs], dtype=np.intp)
    tables = _shape_tables(docs)
    table = tables[0] if len(tables) == 1 else np.vstack(tables)
    runs = Runs(np.arange(len(table)), sizes)
    shape, doc_words = _documents_shape(docs, table, runs)
    # Each row's paragraph among all the documents' paragraphs.
    at = np.fromiter(map(_INDEX, rows), dtype=np.intp, count=len(rows))
    for (_doc, positions), start in zip(groups, runs.starts.tolist(), strict=True):
        if start:
            at[positions] += start
    if len(at) == len(shape) and (at == np.arange(len(at))).all():
        return shape, doc_words  # every paragraph of the documents, in order: no copy
    return shape[at], doc_words[at]


def _documents_shape(docs: Sequence[Document], table: np.ndarray,
                     runs: Runs) -> tuple[np.ndarray, np.ndarray]:
    """ShapeFeatures' columns for every paragraph of ``docs`` (``table``: their
    ``shape_table`` rows, one document after another, as ``runs`` lays them out), and
    their numbers of words.

    All documents at once, the same values as one document (or one row) at a time:
    windows of 0/1 columns are summed exactly from each document's own cumulative sums
    (``Runs.cumsum``), logarithms are math.log1p's.
    """
    i, n, sizes = runs.rank, runs.size, runs.sizes
    shape = table[:, :-1]
    n_shape = len(SHAPE_NAMES)
    out = np.zeros((len(table), _N_SHAPE_FEATURES))
    out[:, :n_shape] = shape
    log1p = _log1p_table(int(sizes.max()))
    first, last = i == 0, i == n - 1
    speakers = shape[:, 19]
    short = shape[:, 1] <= _SHORT_LINE
    long_ = shape[:, 4] == 1.0
    next_long, prev_long = runs.neighbour(long_, 1), runs.neighbour(long_, -1)
    speaker_cum = runs.cumsum(speakers)
    speaker_sums = speaker_cum[runs.starts + np.arange(len(sizes)) + sizes]
    position = out[:, n_shape:n_shape + 15]
    position[:, 0] = np.where(n > 1, i / np.maximum(n - 1, 1), 0.0)
    position[:, 1] = first
    position[:, 2] = last
    position[:, 3] = i < 3
    position[:, 4] = i >= n - 3
    position[:, 5] = log1p[i] / 4
    position[:, 6] = log1p[n - 1 - i] / 4
    position[:, 7] = log1p[n] / 4
    position[:, 8] = runs.nearby(speakers, speaker_cum)[0] / 6
    position[:, 9] = np.repeat([math.log1p(s) / 3 for s in speaker_sums.tolist()], sizes)
    position[:, 10] = runs.nearby(shape[:, 14], runs.cumsum(shape[:, 14]))[0] / 6
    position[:, 11], position[:, 12] = _repeats(docs)
    position[:, 13] = short & next_long
    position[:, 14] = short & next_long & prev_long
    width = 1 + len(_NEIGHBOUR_COLS)
    start = n_shape + 15
    carried = shape[:, _NEIGHBOUR_COLS]
    out[:, start] = ~first
    out[:, start + 1:start + width] = runs.neighbour(carried, -1)
    out[:, start + width] = ~last
    out[:, start + width + 1:] = runs.neighbour(carried, 1)
    return out, table[:, -1]


_LOG1P = np.zeros(1)


def _log1p_table(n: int) -> np.ndarray:
    """math.log1p(k) for k = 0..n (at least), made once and grown as pages need."""
    global _LOG1P
    if len(_LOG1P) <= n:
        _LOG1P = np.array([math.log1p(k) for k in range(max(n + 1, 2 * len(_LOG1P)))])
    return _LOG1P


def _repeats(docs: Sequence[Document]) -> tuple[np.ndarray, np.ndarray]:
    """(repeats an earlier paragraph of its document, repeated later in it) for every
    paragraph of ``docs``, one document after another (``document.repeat_key``'s sense)."""
    earlier: list[bool] = []
    later: list[bool] = []
    for doc in docs:
        folded = doc.repeat_keys
        first: dict[str, int] = {}
        last: dict[str, int] = {}
        for i, key in enumerate(folded):
            first.setdefault(key, i)
            last[key] = i
        earlier += [first[k] < i for i, k in enumerate(folded)]
        later += [last[k] > i for i, k in enumerate(folded)]
    return np.array(earlier, dtype=bool), np.array(later, dtype=bool)


# --- block facts (HTML) -----------------------------------------------------------


# How many of a block's innermost ancestor class tokens it reads ("inside=" columns).
_ANCESTOR_WINDOW = 24


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
            for tok in set(p.ancestor_classes[-_ANCESTOR_WINDOW:]):
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

    Many documents at once: done one document at a time, scipy's fixed cost per call
    was most of text mode's time in this step (a seed document has ~20 paragraphs), so
    documents go in batches whose Gram matrices stay small (``_GRAM_BUDGET`` entries).
    """
    out = np.zeros((len(rows), len(TOPIC_NAMES)))
    if word_counts is None:
        word_counts = np.array([len(WORD.findall(r.paragraph.text)) for r in rows])
    words = np.asarray(word_counts, dtype=float)
    vectors = vectors.tocsr()
    groups = [positions for _doc, positions in _group(rows)]
    if len(groups) == 1:  # one document (a page scored alone): its rows as they are
        return _topical_columns(vectors, np.array([len(rows)]), words, long_words)
    batch: list[list[int]] = []
    entries = 0
    for k, positions in enumerate(groups):
        if len(positions) > _WHOLE_GRAM_ROWS:  # alone, its Gram matrix by blocks of rows
            _topical_batch(out, [positions], vectors, words, long_words)
        else:
            batch.append(positions)
            entries += len(positions) ** 2
        if batch and (entries >= _GRAM_BUDGET or k == len(groups) - 1):
            _topical_batch(out, batch, vectors, words, long_words)
            batch, entries = [], 0
    return out


def _topical_batch(out: np.ndarray, batch: list[list[int]], vectors: sp.csr_matrix,
                   words: np.ndarray, long_words: int) -> None:
    """``topical_fit``'s rows of the documents of ``batch`` (their row positions) into
    ``out``."""
    order = np.concatenate([np.asarray(p, dtype=np.intp) for p in batch])
    in_order = len(order) == len(out) and (order == np.arange(len(out))).all()
    v = vectors if in_order else vectors[order]
    sizes = np.array([len(p) for p in batch], dtype=np.intp)
    out[order] = _topical_columns(v, sizes, words[order], long_words)


# Entries of the Gram matrices computed at once: a few MB, whatever the call's size.
_GRAM_BUDGET = 250_000
# A document of more paragraphs has its Gram matrix made a block of rows at a time, each
# of about _GRAM_BLOCK entries: whole, a 6,217-paragraph page's took 309 MB, and 4 s the
# first time (the memory's page faults), a third of scoring all 990 trafilatura_eval pages.
_WHOLE_GRAM_ROWS = 2_000
_GRAM_BLOCK = 1 << 20


def _topical_columns(vectors: sp.csr_matrix, sizes: np.ndarray, words: np.ndarray,
                     long_words: int) -> np.ndarray:
    """``topical_fit``'s columns for consecutive documents (``sizes`` rows each, each in
    its paragraph order), all from their Gram matrices: one dense matrix for one
    document, the block-diagonal sparse one (``_block_gram``) for several."""
    n = vectors.shape[0]
    rank = Runs(np.arange(n), sizes).rank
    masks = [np.ones(n), (words >= long_words).astype(float), (rank < 3).astype(float)]
    doc_of = None if len(sizes) == 1 else np.repeat(np.arange(len(sizes)), sizes)
    if doc_of is None:  # one document: a dense Gram matrix, nothing to tell apart
        diag, sums, neighbours, best = _dense_gram_summaries(vectors, masks)
    else:
        gram = _block_gram(vectors, doc_of)
        diag = gram.diagonal()
        sums = [gram @ mask for mask in masks]
        neighbours = np.zeros(n)
        i = np.flatnonzero(doc_of[:-1] == doc_of[1:])
        if len(i):  # scipy's fancy indexing gives no float array for an empty index
            neighbours[i] += np.asarray(gram[i, i + 1]).ravel()
            neighbours[i + 1] += np.asarray(gram[i + 1, i]).ravel()
        best = _best_other(gram)
    rest, to_long, to_opening = (_cos_to_sum(gm, diag, doc_of, mask)
                                 for gm, mask in zip(sums, masks, strict=True))
    return np.column_stack([
        rest, to_long, best, neighbours / 2, to_opening,
        (diag <= 0).astype(float), np.where(words <= 20, rest, 0.0),
    ])


def _dense_gram_summaries(vectors: sp.csr_matrix, masks: Sequence[np.ndarray]
                          ) -> tuple[np.ndarray, list[np.ndarray], np.ndarray, np.ndarray]:
    """What ``_topical_columns`` reads of one document's Gram matrix ``G = V V^T``: its
    diagonal, ``G @ mask`` for each mask, each row's entries beside the diagonal summed
    (the neighbours), each row's largest entry off the diagonal (``_best_other``).

    Whole for up to ``_WHOLE_GRAM_ROWS`` rows, else a block of rows at a time: a row of
    G is the same either way (scipy makes a product's rows one by one) and each summary
    is of one row, so the same numbers, up to the order in which BLAS adds up
    ``G @ mask`` for a block of another shape (a last bit)."""
    n = vectors.shape[0]
    step = n if n <= _WHOLE_GRAM_ROWS else max(1, _GRAM_BLOCK // n)
    diag, neighbours, best = np.empty(n), np.zeros(n), np.empty(n)
    sums = [np.empty(n) for _ in masks]
    right = vectors.T.tocsr()
    for start in range(0, n, step):
        stop = min(n, start + step)
        rows = vectors if step >= n else vectors[start:stop]  # whole: no copy of V
        block = (rows @ right).toarray()
        at = np.arange(stop - start)
        column = at + start  # each row's own column: the diagonal
        diag[start:stop] = block[at, column]
        for gm, mask in zip(sums, masks, strict=True):
            gm[start:stop] = block @ mask
        for step_to in (1, -1):  # G[i, i + 1], then G[i, i - 1]: the whole's order
            inner = (column + step_to >= 0) & (column + step_to < n)
            neighbours[start:stop][inner] += block[at[inner], column[inner] + step_to]
        best[start:stop] = _best_other(block, start)
    return diag, sums, neighbours, best


def _block_gram(vectors: sp.csr_matrix, doc_of: np.ndarray) -> sp.csr_matrix:
    """``G[i, j] = v_i . v_j`` for rows of one document, 0 across documents: block-
    diagonal and sparse, from one product, with each document's words moved to columns
    of their own so that no two documents' words ever meet."""
    entry_doc = np.repeat(doc_of, np.diff(vectors.indptr))
    # (document, word) pairs numbered densely, in the same order within a row.
    pairs, columns = np.unique(entry_doc.astype(np.int64) * vectors.shape[1]
                               + vectors.indices, return_inverse=True)
    moved = sp.csr_matrix((vectors.data, columns.ravel(), vectors.indptr),
                          shape=(len(doc_of), len(pairs)))
    gram = (moved @ moved.T).tocsr()
    gram.sort_indices()
    return gram


def _best_other(gram: np.ndarray | sp.csr_matrix, first_row: int = 0) -> np.ndarray:
    """Each row's largest entry off the diagonal; 0 when there is none (a document of one
    paragraph), and never below 0, as tf-idf is never negative. A dense ``gram`` (rows
    ``first_row`` on of the matrix) has its diagonal zeroed in place (its last use: a
    copy was a page's largest array)."""
    if not sp.issparse(gram):
        rows = np.arange(gram.shape[0])
        gram[rows, rows + first_row] = 0.0
        return gram.max(axis=1) if len(gram) else np.zeros(0)
    n = gram.shape[0]
    on_diagonal = gram.indices == np.repeat(np.arange(n), np.diff(gram.indptr))
    off = sp.csr_matrix((np.where(on_diagonal, 0.0, gram.data), gram.indices, gram.indptr),
                        shape=gram.shape)
    return off.max(axis=1).toarray().ravel()


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
            words = [len(WORD.findall(p.text)) for p in doc.paragraphs]
        out[positions] = container_columns(doc.paragraphs, words)[index]
    return out


def _cos_to_sum(gm: np.ndarray, diag: np.ndarray, doc_of: np.ndarray | None,
                mask: np.ndarray) -> np.ndarray:
    """Cosine of each vector with the sum of the masked vectors of its document other
    than itself.

    All from the documents' Gram matrix G (``gm``: ``G @ mask``; ``diag``: its diagonal;
    ``doc_of``: each row's document, None for one document), so no dense
    paragraph-by-vocabulary matrix is ever built: |sum of the others|^2 is the
    document's masked total less the row's own share.
    """
    dot = gm - mask * diag
    total = mask @ gm if doc_of is None else np.bincount(doc_of, weights=mask * gm)[doc_of]
    other_sq = np.maximum(total - 2 * mask * gm + mask * mask * diag, 0.0)
    denom = np.sqrt(diag * other_sq)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom > 1e-12, dot / denom, 0.0)


# --- the whole local feature set --------------------------------------------------

_CONTENT_WORD = re.compile(r"[^\W\d_]{3,}")
# Tokens of one character besides the words (question marks, colons, pipes...).
_SPECIALS = "?!:…|©"
# The shape columns' words (shape.WORD: each Han or kana character alone) and the specials.
WORD_PATTERN = rf"(?u){WORD.pattern}|[{_SPECIALS}]"


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
            if _CONTENT_WORD.fullmatch(word) and word not in STOP
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
        words = _tfidf(self.words_, [r.paragraph.text for r in rows])
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
        and vectorizer.token_pattern == WORD_PATTERN
    )


def _tfidf(vectorizer: TfidfVectorizer, texts: Sequence[str]) -> sp.csr_matrix:
    """``vectorizer.transform(row_texts(...))`` of paragraphs whose texts are ``texts``
    (as written, not yet folded), value for value, for the settings this module fits.

    The same tokens, uni- and bigrams, counts and arithmetic in the same order, but all
    rows are folded, tokenised, looked up and counted at once: per-row work was most of
    the cost. Rows are chained with a separator that no token or n-gram of a vocabulary
    contains; lower-casing is the same joined or row by row, since the separator is
    neither cased nor case-ignorable (the only context str.lower reads, for a final
    sigma), and a second lower-casing (the vectorizer's own) changes nothing.
    """
    joined = _ROW_END.join(texts)
    if not _fast_tfidf_ok(vectorizer) or joined.count(_ROW_END) != max(len(texts) - 1, 0):
        return vectorizer.transform(_folded(texts)).tocsr()
    n_columns = len(vectorizer.vocabulary_)
    if fastwords is not None:
        folded = fastwords.fold_digits(joined.lower())
        table = _from_vocabulary(vectorizer, fastwords.GramTable)
        cells = table.cells(folded, _SPECIALS, _ROW_END, n_columns)
    else:
        folded = _DIGITS.sub("0", joined.lower())
        cells = _tfidf_cells_python(vectorizer, folded)
    cells, counts = np.unique(cells, return_counts=True)
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


def _tfidf_cells_python(vectorizer: TfidfVectorizer, folded: str) -> np.ndarray:
    """``row * columns + column`` of each uni- and bigram of the folded, joined rows that
    the vocabulary has, in no set order (the reference for ``fastwords.GramTable``)."""
    lookup, n_columns = _from_vocabulary(vectorizer, _with_row_end), len(vectorizer.vocabulary_)
    tokens = _TOKEN_OR_ROW_END.findall(folded + _ROW_END)
    grams = tokens + list(map(" ".join, pairwise(tokens)))
    columns = np.fromiter(map(lookup.get, grams, repeat(-1)), dtype=np.int64, count=len(grams))
    ends = columns[:len(tokens)] == _END_COLUMN
    row_of = np.cumsum(ends) - ends  # a row's end marker is its own last token
    row_of = np.concatenate([row_of, row_of[:-1]])  # a bigram is in its first token's row
    known = columns >= 0
    return row_of[known] * n_columns + columns[known]


# Joins the rows' texts: no token of the pattern, so no n-gram with it is in a vocabulary.
_ROW_END = "\x00"
_END_COLUMN = -2
# WORD_PATTERN's matches, and the row end: findall never stops inside a run of word
# characters, so the pattern's word boundaries always hold and are left out (faster).
_TOKEN_OR_ROW_END = re.compile(rf"{WORD_PATTERN}|\x00")


def _with_row_end(vocab: dict[str, int]) -> dict[str, int]:
    """The vocabulary, plus the row end marker at ``_END_COLUMN``."""
    return {**vocab, _ROW_END: _END_COLUMN}


_DERIVED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_T = TypeVar("_T")


def _from_vocabulary(vectorizer: TfidfVectorizer | DictVectorizer,
                     build: Callable[[dict[str, int]], _T]) -> _T:
    """``build(vectorizer.vocabulary_)``, made once per fitted vocabulary: a vectorizer
    fitted again has a new vocabulary, and gets a new one."""
    vocab = vectorizer.vocabulary_
    per_build = _DERIVED.setdefault(vectorizer, {})
    cached = per_build.get(build)
    if cached is None or cached[0] is not vocab:
        cached = per_build[build] = (vocab, build(vocab))
    return cached[1]


_TEXT_TAGS = ("text", "heading", "item")


def _fixed_block_columns(p: Paragraph, lookups: tuple[dict[str, int], ...],
                         ) -> tuple[list[int], list[float], bool]:
    """(columns, their 1.0 values, whether the fact columns apply) of a paragraph's tag
    and class tokens (``block_dicts``' entries other than the facts)."""
    tag_cols, class_cols, inside_cols = lookups
    cols = [tag_cols[p.tag]] if p.tag in tag_cols else []
    block = p.tag not in _TEXT_TAGS
    if block:
        found = set(map(class_cols.get, p.classes))
        found.update(map(inside_cols.get, p.ancestor_classes[-_ANCESTOR_WINDOW:]))
        found.discard(None)
        cols += sorted(found)
    return cols, [1.0] * len(cols), block


def _block_lookups(vocab: dict[str, int]) -> tuple[dict[str, int], dict[str, int],
                                                  dict[str, int]]:
    """(tag -> column, class token -> column, ancestor token -> column)."""
    def named(prefix: str) -> dict[str, int]:
        return {name[len(prefix):]: col for name, col in vocab.items()
                if name.startswith(prefix)}

    return named("tag="), named("class="), named("inside=")


def _block_matrix(vectorizer: DictVectorizer, rows: Sequence[Row]) -> sp.csr_matrix:
    """``vectorizer.transform(block_dicts(rows))``, value for value: ``fastblocks``'s C
    loop, or ``_block_matrix_python`` where it is not built."""
    if fastblocks is None:
        return _block_matrix_python(vectorizer, rows)
    vocab = vectorizer.vocabulary_
    tag_cols, class_cols, inside_cols = _from_vocabulary(vectorizer, _block_lookups)
    facts = np.array([vocab.get(name, -1) for name in _FACT_NAMES], dtype=np.int32)
    data, indices, indptr = fastblocks.block_csr(
        [doc.paragraphs[i] for doc, i, _key in rows], tag_cols, class_cols, inside_cols,
        _TEXT_TAGS, facts, _ANCESTOR_WINDOW)
    X = sp.csr_matrix((data, indices, indptr), shape=(len(rows), len(vocab)))
    X.sort_indices()
    return X


_FACT_NAMES = ("html link density", "html emphasised text", "html depth")


def _block_matrix_python(vectorizer: DictVectorizer, rows: Sequence[Row]) -> sp.csr_matrix:
    """``vectorizer.transform(block_dicts(rows))``, value for value (the reference for
    ``fastblocks.block_csr``).

    Columns straight from the fitted vocabulary. A paragraph's columns other than its
    three facts depend only on its tag and its two token tuples, which siblings share as
    the same objects (the walk hands them down): they are looked up once per distinct
    triple of objects in the call (by id: every paragraph of the call is alive).
    """
    vocab = vectorizer.vocabulary_
    lookups = _from_vocabulary(vectorizer, _block_lookups)
    facts = [vocab.get(name) for name in _FACT_NAMES]
    present = [k for k, col in enumerate(facts) if col is not None]
    fact_cols = [facts[k] for k in present]
    all_facts = len(present) == len(facts)
    fixed: dict[tuple[str, int, int], tuple[list[int], list[float], bool]] = {}
    indices: list[int] = []
    values: list[float] = []
    indptr = [0]
    for doc, i, _key in rows:
        p = doc.paragraphs[i]
        key = (p.tag, id(p.classes), id(p.ancestor_classes))
        entry = fixed.get(key)
        if entry is None:
            entry = fixed[key] = _fixed_block_columns(p, lookups)
        cols, ones, block = entry
        indices += cols
        values += ones
        if block:
            fact_values = (p.link_density, p.emphasis, min(p.depth, 30) / 30)
            indices += fact_cols
            values += fact_values if all_facts else [fact_values[k] for k in present]
        indptr.append(len(indices))
    X = sp.csr_matrix(
        (np.array(values, dtype=np.float64), np.array(indices, dtype=np.int32),
         np.array(indptr, dtype=np.int32)),
        shape=(len(rows), len(vocab)),
    )
    X.sort_indices()
    return X
