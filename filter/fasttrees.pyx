# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Raw scores of a boosted-tree model whose trees ``inference._Trees`` packed in flat arrays.

A page's rows go through all trees of a model in one C loop: scikit-learn's routine,
called once per tree, and the numpy walk of every tree at once were a sixth of scoring a
page. The same comparisons and the same order of additions as scikit-learn (baseline,
then tree by tree), so the scores are the same floats (tests compare them).
"""

import numpy as np

from libc.math cimport isnan


def raw_scores(const double[:, ::1] X, const Py_ssize_t[::1] feature,
               const double[::1] threshold, const unsigned char[::1] missing_left,
               const Py_ssize_t[::1] left, const Py_ssize_t[::1] right,
               const double[::1] value, const Py_ssize_t[::1] roots, double baseline):
    """One raw score per row of X; a leaf is a node whose ``left`` is itself."""
    cdef Py_ssize_t n = X.shape[0], trees = roots.shape[0], i, t, node
    cdef double acc, x
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] raw = out
    with nogil:
        for i in range(n):
            acc = baseline
            for t in range(trees):
                node = roots[t]
                while left[node] != node:
                    x = X[i, feature[node]]
                    if isnan(x):
                        node = left[node] if missing_left[node] else right[node]
                    elif x <= threshold[node]:
                        node = left[node]
                    else:
                        node = right[node]
                acc += value[node]
            raw[i] = acc
    return out
