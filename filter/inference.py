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

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, softmax
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

try:
    from sklearn.ensemble._hist_gradient_boosting._predictor import _predict_from_raw_data
except ImportError:  # pragma: no cover - another scikit-learn layout
    _predict_from_raw_data = None


def linear_proba(model: LogisticRegression, X: sp.spmatrix | np.ndarray) -> np.ndarray:
    """``model.predict_proba(X)``: columns in ``model.classes_`` order."""
    decision = np.asarray(X @ model.coef_.T) + model.intercept_
    if decision.shape[1] == 1:  # binary: one column of log-odds for classes_[1]
        positive = expit(decision[:, 0])
        return np.column_stack([1.0 - positive, positive])
    return softmax(decision, axis=1)


def trees_positive(model: HistGradientBoostingClassifier, X: np.ndarray) -> np.ndarray:
    """``model.predict_proba(X)[:, 1]`` of a binary model on numeric columns."""
    if _predict_from_raw_data is None or model.is_categorical_ is not None:
        return model.predict_proba(X)[:, 1]
    X = np.ascontiguousarray(X, dtype=np.float64)
    known, index_map = model._bin_mapper.make_known_categories_bitsets()
    raw = np.full(X.shape[0], float(np.ravel(model._baseline_prediction)[0]))
    out = np.empty(X.shape[0])
    for (tree,) in model._predictors:
        _predict_from_raw_data(tree.nodes, X, tree.raw_left_cat_bitsets, known, index_map,
                               1, out)
        raw += out
    return expit(raw)
