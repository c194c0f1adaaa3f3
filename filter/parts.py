"""Scoring from the feature matrix in its parts (``features.Parts``), never assembled.

Stacking the word, block and dense columns into one sparse matrix, and that matrix again
with the neighbours' guesses for the second stage, cost more than the logistic stages
that read it: on an 8 KB article, 1.5 of 7.4 ms. A linear stage's decision is a sum over
columns, so each part is multiplied by its own slice of the coefficients; the gate's
trees read a few hundred non-word columns, gathered straight from the parts. The numbers
are those of the assembled matrix up to the order of floating-point additions (tests
compare at atol 1e-12); the trees see exactly the same values.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from .features import Layout, Parts
from .inference import decision_proba


class SplitLinear:
    """A logistic regression fitted on ``[transform(rows) | extra]``, read part by part."""

    def __init__(self, model: LogisticRegression, layout: Layout) -> None:
        coef = np.asarray(model.coef_, dtype=np.float64)
        at = layout
        self.words = np.ascontiguousarray(coef[:, :at.shape_at].T)
        self.blocks = np.ascontiguousarray(coef[:, at.blocks_at:at.rest_at].T)
        self.dense = np.ascontiguousarray(
            np.hstack([coef[:, at.shape_at:at.blocks_at], coef[:, at.rest_at:at.end]]).T)
        self.extra = np.ascontiguousarray(coef[:, at.end:].T)
        self.intercept = np.asarray(model.intercept_, dtype=np.float64)
        self.classes = [str(c) for c in model.classes_]

    def proba(self, parts: Parts, extra: np.ndarray | None = None) -> np.ndarray:
        """``model.predict_proba``: columns in ``classes`` order."""
        decision = parts.words @ self.words
        decision += parts.blocks @ self.blocks
        decision += parts.dense @ self.dense
        if extra is not None:
            decision += extra @ self.extra
        decision += self.intercept
        return decision_proba(decision)


class GateColumns:
    """``Gate._dense`` from the parts: ``X[:, columns].toarray()`` of the assembled
    matrix, then the decision of the gate's logistic model over the word columns."""

    def __init__(self, columns: np.ndarray, layout: Layout, words: LogisticRegression) -> None:
        part, within = layout.where(columns)
        if (part == 0).any():
            raise ValueError("the gate reads only non-word columns")
        self.width = len(columns) + 1
        self.words = np.asarray(words.coef_, dtype=np.float64).ravel()
        self.words_intercept = float(np.asarray(words.intercept_).ravel()[0])
        self.dense_to = np.flatnonzero(part == 2)
        self.dense_from = within[self.dense_to]
        self.block_to = np.full(layout.blocks, -1, dtype=np.intp)
        self.block_to[within[part == 1]] = np.flatnonzero(part == 1)

    def gather(self, parts: Parts) -> np.ndarray:
        n = parts.dense.shape[0]
        out = np.zeros((n, self.width))
        out[:, self.dense_to] = parts.dense[:, self.dense_from]
        blocks = parts.blocks
        to = self.block_to[blocks.indices]
        used = to >= 0
        row = np.repeat(np.arange(n), np.diff(blocks.indptr))
        out[row[used], to[used]] = blocks.data[used]
        out[:, -1] = parts.words @ self.words + self.words_intercept
        return out
