"""Fitted scikit-learn models evaluated without their per-call bookkeeping.

Scoring one page calls two logistic regressions and two boosted-tree models on a few
dozen rows. scikit-learn re-validates the input on every call and walks the trees from
a Python loop, which together cost more than the arithmetic: about 2 ms of a 9 ms page.
These functions give the same numbers (tests compare them with ``predict_proba``) from
the fitted attributes. The artifact pins the scikit-learn version it was trained with,
so the private tree routine they use is the one the model was built for; if it cannot
be imported, the public method is used instead.
"""

from __future__ import annotations

import weakref

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, softmax
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

try:
    from sklearn.ensemble._hist_gradient_boosting._predictor import _predict_from_raw_data
except ImportError:  # pragma: no cover - another scikit-learn layout
    _predict_from_raw_data = None

try:
    from . import fasttrees
except ImportError:  # pragma: no cover - installed without building it (no C compiler)
    fasttrees = None


def linear_proba(model: LogisticRegression, X: sp.spmatrix | np.ndarray) -> np.ndarray:
    """``model.predict_proba(X)``: columns in ``model.classes_`` order."""
    return decision_proba(np.asarray(X @ model.coef_.T) + model.intercept_)


def decision_proba(decision: np.ndarray) -> np.ndarray:
    """A logistic regression's probabilities from its decision function's values."""
    if decision.shape[1] == 1:  # binary: one column of log-odds for classes_[1]
        positive = expit(decision[:, 0])
        return np.column_stack([1.0 - positive, positive])
    return softmax(decision, axis=1)


def trees_positive(model: HistGradientBoostingClassifier, X: np.ndarray) -> np.ndarray:
    """``model.predict_proba(X)[:, 1]`` of a binary model on numeric columns."""
    if model.is_categorical_ is not None or (fasttrees is None
                                             and _predict_from_raw_data is None):
        return model.predict_proba(X)[:, 1]
    X = np.ascontiguousarray(X, dtype=np.float64)
    trees = _trees(model)
    if fasttrees is not None:
        return expit(trees.compiled_raw(X))
    # Without the compiled loop: scikit-learn's tree routine, or numpy for a few rows.
    if X.shape[0] <= _FEW_ROWS:
        return expit(trees.packed_raw(X))
    raw = np.full(X.shape[0], trees.baseline)
    out = np.empty(min(X.shape[0], _BLOCK_ROWS))
    # Every tree over a block of rows that stays in cache, then the next block: over all
    # rows at once, each tree re-read the whole matrix from memory (64 pages: 9,636 rows of
    # 506 columns, 39 MB; 273 -> 107 ms per model). Each row's additions keep their order.
    for start in range(0, X.shape[0], _BLOCK_ROWS):
        block = X[start:start + _BLOCK_ROWS]
        part, acc = out[:len(block)], raw[start:start + _BLOCK_ROWS]
        for (tree,) in model._predictors:
            _predict_from_raw_data(tree.nodes, block, tree.raw_left_cat_bitsets, trees.known,
                                   trees.index_map, 1, part)
            acc += part
    return expit(raw)


# Below this many rows, walking every tree at once in numpy beats one call of the tree
# routine per tree (a short document: 0.37 instead of 0.79 ms for 120 trees on 3 rows);
# above it, the per-row work of numpy's gathers costs more.
_FEW_ROWS = 12
_BLOCK_ROWS = 256
_TREES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class _Trees:
    """What every prediction of one binary model needs, derived once: its baseline, the
    tables the tree routine takes, and all trees in flat arrays, leaves pointing at
    themselves (for ``packed_raw``)."""

    def __init__(self, model: HistGradientBoostingClassifier) -> None:
        self.known, self.index_map = model._bin_mapper.make_known_categories_bitsets()
        nodes = [tree.nodes for (tree,) in model._predictors]
        offsets = np.cumsum([0] + [len(n) for n in nodes[:-1]]).astype(np.intp)
        flat = np.concatenate(nodes)
        leaf = flat["is_leaf"].astype(bool)
        own = np.arange(len(flat))
        self.left = np.concatenate([n["left"].astype(np.intp) + o
                                    for n, o in zip(nodes, offsets, strict=True)])
        self.right = np.concatenate([n["right"].astype(np.intp) + o
                                     for n, o in zip(nodes, offsets, strict=True)])
        self.left[leaf] = self.right[leaf] = own[leaf]
        self.feature = flat["feature_idx"].astype(np.intp)
        self.feature[leaf] = 0
        self.threshold = flat["num_threshold"].astype(np.float64)
        self.threshold[leaf] = np.inf
        self.missing_left = flat["missing_go_to_left"].astype(bool)
        self.value = flat["value"].astype(np.float64)
        self.roots = offsets
        self.depth = int(flat["depth"].max())
        self.baseline = float(np.ravel(model._baseline_prediction)[0])

    def compiled_raw(self, X: np.ndarray) -> np.ndarray:
        """``packed_raw`` in one C loop (``fasttrees``): the same floats."""
        return fasttrees.raw_scores(X, self.feature, self.threshold,
                                    self.missing_left.view(np.uint8), self.left, self.right,
                                    self.value, self.roots, self.baseline)

    def packed_raw(self, X: np.ndarray) -> np.ndarray:
        """The model's raw score: the same comparisons, the same order of additions."""
        n = X.shape[0]
        at = np.broadcast_to(self.roots, (n, len(self.roots))).copy()
        rows = np.arange(n)[:, None]
        has_nan = bool(np.isnan(X).any())
        for _ in range(self.depth):
            x = X[rows, self.feature[at]]
            left = x <= self.threshold[at]
            if has_nan:
                left = np.where(np.isnan(x), self.missing_left[at], left)
            at = np.where(left, self.left[at], self.right[at])
        raw = np.full(n, self.baseline)
        for column in self.value[at].T:  # tree by tree, as scikit-learn adds them
            raw += column
        return raw


def _trees(model: HistGradientBoostingClassifier) -> _Trees:
    trees = _TREES.get(model)
    if trees is None:
        trees = _TREES[model] = _Trees(model)
    return trees
