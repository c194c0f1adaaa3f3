"""The paragraph classifier: a local model, then a context model over its neighbours.

Stage one reads each paragraph alone (words, shape, block facts, topical fit). Stage two
adds what stage one thinks of the neighbours, because furniture comes in runs: a line
after "Related" is a teaser, a turn after a "**Host:**" turn is a transcript. Stage two is
trained on out-of-fold stage-one guesses, grouped by document, so it learns how reliable
those guesses are on unseen documents rather than on memorised ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from .features import SHAPE_NAMES, ParagraphFeatures, Row, _group
from .labels import LABELS

CONTEXT_PARTS = (
    "previous paragraph", "next paragraph", "paragraph before previous",
    "paragraph after next", "paragraphs within three", "whole document",
    "rest of document after", "document before",
)


def context_names() -> list[str]:
    return [f"{part} looks like {label}" for part in CONTEXT_PARTS for label in LABELS]


def context_matrix(rows: Sequence[Row], proba: np.ndarray) -> np.ndarray:
    """Neighbourhood summaries of first-pass probabilities, one row per paragraph."""
    k = len(LABELS)
    out = np.zeros((len(rows), k * len(CONTEXT_PARTS)))
    for _doc, positions in _group(rows):
        order = sorted(positions, key=lambda p: rows[p].index)
        p = proba[order]
        n = len(order)
        csum = np.vstack([np.zeros(k), np.cumsum(p, axis=0)])
        total = csum[-1]
        for j, pos in enumerate(order):
            parts = []
            for off in (-1, 1, -2, 2):
                parts.append(p[j + off] if 0 <= j + off < n else np.zeros(k))
            lo, hi = max(0, j - 3), min(n, j + 4)
            window = (csum[hi] - csum[lo] - p[j]) / max(1, hi - lo - 1)
            parts.append(window)
            parts.append((total - p[j]) / max(1, n - 1))
            parts.append((total - csum[j + 1]) / max(1, n - j - 1))
            parts.append(csum[j] / max(1, j))
            out[pos] = np.concatenate(parts)
    return out


def _proba(model: LogisticRegression, X) -> np.ndarray:
    """Probabilities in LABELS column order, zero for a label the model never saw."""
    raw = model.predict_proba(X)
    out = np.zeros((X.shape[0], len(LABELS)))
    for col, label in enumerate(model.classes_):
        out[:, LABELS.index(label)] = raw[:, col]
    return out


class ParagraphClassifier(ClassifierMixin, BaseEstimator):
    """Rows in, probabilities over LABELS out (see the module docstring)."""

    def __init__(self, C: float = 4.0, context_C: float = 4.0, inner_folds: int = 5,
                 class_weight: str | None = "balanced"):
        self.C = C
        self.context_C = context_C
        self.inner_folds = inner_folds
        self.class_weight = class_weight

    def _linear(self, C: float) -> LogisticRegression:
        return LogisticRegression(C=C, max_iter=5000, class_weight=self.class_weight,
                                  solver="newton-cg")

    def fit(self, rows: Sequence[Row], y: Sequence[str]):
        y = np.asarray(y)
        self.classes_ = np.array(LABELS)
        self.features_ = ParagraphFeatures().fit(rows, y)
        X = self.features_.transform(rows).tocsr()
        self.local_ = self._linear(self.C).fit(X, y)
        groups = np.array([r.key for r in rows])
        folds = min(self.inner_folds, len(set(groups)))
        oof = np.zeros((len(rows), len(LABELS)))
        for train, test in GroupKFold(n_splits=folds).split(X, y, groups):
            oof[test] = _proba(self._linear(self.C).fit(X[train], y[train]), X[test])
        Z = sp.hstack([X, sp.csr_matrix(context_matrix(rows, oof))]).tocsr()
        self.context_ = self._linear(self.context_C).fit(Z, y)
        return self

    def combined_features(self, rows: Sequence[Row]) -> sp.csr_matrix:
        """The matrix stage two reads: local features plus neighbour summaries."""
        X = self.features_.transform(rows).tocsr()
        first = _proba(self.local_, X)
        return sp.hstack([X, sp.csr_matrix(context_matrix(rows, first))]).tocsr()

    def predict_proba(self, rows: Sequence[Row]) -> np.ndarray:
        if not len(rows):
            return np.zeros((0, len(LABELS)))
        # Our own matrices are finite and well-formed: skip re-checking them on every call.
        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            return _proba(self.context_, self.combined_features(rows))

    def predict(self, rows: Sequence[Row]) -> np.ndarray:
        return np.array(LABELS)[self.predict_proba(rows).argmax(axis=1)]

    def feature_names(self) -> list[str]:
        """A readable name for every column of ``combined_features``."""
        return list(self.features_.get_feature_names_out()) + context_names()


__all__ = ["SHAPE_NAMES", "ParagraphClassifier", "context_matrix"]
