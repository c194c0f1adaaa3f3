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


BINARY = ("body", "other")


def context_names(labels: Sequence[str] = LABELS) -> list[str]:
    return [f"{part} looks like {label}" for part in CONTEXT_PARTS for label in labels]


def context_matrix(rows: Sequence[Row], proba: np.ndarray) -> np.ndarray:
    """Neighbourhood summaries of first-pass probabilities, one row per paragraph."""
    k = proba.shape[1]
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


def _proba(model: LogisticRegression, X, labels: Sequence[str] = LABELS) -> np.ndarray:
    """Probabilities in ``labels`` column order, zero for a label the model never saw."""
    raw = model.predict_proba(X)
    out = np.zeros((X.shape[0], len(labels)))
    for col, label in enumerate(model.classes_):
        out[:, list(labels).index(label)] = raw[:, col]
    return out


class TwoStage:
    """A local model over precomputed features, then a context model over its neighbours."""

    def __init__(self, labels: Sequence[str], C: float, context_C: float, folds: int,
                 class_weight: str | None) -> None:
        self.labels = tuple(labels)
        self.C, self.context_C, self.folds, self.class_weight = C, context_C, folds, class_weight

    def _linear(self, C: float) -> LogisticRegression:
        return LogisticRegression(C=C, max_iter=5000, class_weight=self.class_weight,
                                  solver="newton-cg")

    def fit(self, rows: Sequence[Row], X: sp.csr_matrix, y: np.ndarray,
            groups: np.ndarray) -> TwoStage:
        """Rows whose label is None still give their neighbours a context."""
        labeled = np.array([label is not None for label in y])
        self.local_ = self._linear(self.C).fit(X[labeled], y[labeled].astype(str))
        oof = np.zeros((len(rows), len(self.labels)))
        folds = min(self.folds, len(set(groups[labeled])))
        for train, test in GroupKFold(n_splits=folds).split(X, y, groups):
            keep = train[labeled[train]]
            model = self._linear(self.C).fit(X[keep], y[keep].astype(str))
            oof[test] = _proba(model, X[test], self.labels)
        Z = sp.hstack([X, sp.csr_matrix(context_matrix(rows, oof))]).tocsr()
        self.context_ = self._linear(self.context_C).fit(Z[labeled], y[labeled].astype(str))
        return self

    def combined(self, rows: Sequence[Row], X: sp.csr_matrix) -> sp.csr_matrix:
        first = _proba(self.local_, X, self.labels)
        return sp.hstack([X, sp.csr_matrix(context_matrix(rows, first))]).tocsr()

    def proba(self, rows: Sequence[Row], X: sp.csr_matrix) -> np.ndarray:
        return _proba(self.context_, self.combined(rows, X), self.labels)


class ParagraphClassifier(ClassifierMixin, BaseEstimator):
    """Rows in, probabilities over LABELS out (see the module docstring).

    ``fit`` takes the four labels for seed paragraphs and "other" for paragraphs known
    only to be not body (real pages aligned with a reference). With any such rows, a
    body-versus-rest gate is trained on everything and decides P(body); the four-way
    model, trained on the four-way rows alone, splits the rest among the other labels.
    So real pages sharpen the keep/drop decision without blurring the contamination types.
    """

    def __init__(self, C: float = 4.0, context_C: float = 4.0, inner_folds: int = 5,
                 class_weight: str | None = "balanced"):
        self.C = C
        self.context_C = context_C
        self.inner_folds = inner_folds
        self.class_weight = class_weight

    def _stage(self, labels: Sequence[str]) -> TwoStage:
        return TwoStage(labels, self.C, self.context_C, self.inner_folds, self.class_weight)

    def fit(self, rows: Sequence[Row], y: Sequence[str | None],
            groups: Sequence[int] | None = None):
        """``y``: one of LABELS, "other" (not body, type unknown) or None (unsure)."""
        y = np.asarray(y, dtype=object)
        groups = np.asarray(groups) if groups is not None else np.array([r.key for r in rows])
        self.classes_ = np.array(LABELS)
        self.features_ = ParagraphFeatures().fit(
            [r for r, label in zip(rows, y, strict=True) if label is not None])
        X = self.features_.transform(rows).tocsr()
        typed = np.array([label in LABELS for label in y])
        type_rows = [r for r, t in zip(rows, typed, strict=True) if t]
        self.types_ = self._stage(LABELS).fit(type_rows, X[typed], y[typed], groups[typed])
        self.gate_ = None
        if (y == "other").any():
            binary = np.array([None if label is None else ("body" if label == "body" else "other")
                               for label in y], dtype=object)
            self.gate_ = self._stage(BINARY).fit(rows, X, binary, groups)
        return self

    def combined_features(self, rows: Sequence[Row]) -> sp.csr_matrix:
        """The matrix the four-way stage two reads: local features plus neighbours."""
        return self.types_.combined(rows, self.features_.transform(rows).tocsr())

    def predict_proba(self, rows: Sequence[Row]) -> np.ndarray:
        if not len(rows):
            return np.zeros((0, len(LABELS)))
        # Our own matrices are finite and well-formed: skip re-checking them on every call.
        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            X = self.features_.transform(rows).tocsr()
            typed = self.types_.proba(rows, X)
            if self.gate_ is None:
                return typed
            body = self.gate_.proba(rows, X)[:, 0]
        rest = typed[:, 1:]
        total = rest.sum(axis=1, keepdims=True)
        rest = np.where(total > 0, rest / np.where(total > 0, total, 1), 1 / rest.shape[1])
        return np.column_stack([body, (1 - body)[:, None] * rest])

    def predict(self, rows: Sequence[Row]) -> np.ndarray:
        return np.array(LABELS)[self.predict_proba(rows).argmax(axis=1)]

    def feature_names(self) -> list[str]:
        """A readable name for every column of ``combined_features``."""
        return list(self.features_.get_feature_names_out()) + context_names()


__all__ = ["SHAPE_NAMES", "ParagraphClassifier", "TwoStage", "context_matrix"]
