# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The block columns of a model call's paragraphs (``features._block_matrix``) in one C loop.

The reference is ``features._block_matrix_python``, itself ``DictVectorizer.transform``
of ``features.block_dicts`` value for value (tests compare all three). Per paragraph the
reference paid Python's interpreter for a few dozen dictionary lookups and a sort; here
the same lookups run from C, and siblings, which share their token tuples (the walk hands
them down), reuse the previous paragraph's columns.
"""

import numpy as np

from cpython.dict cimport PyDict_GetItem
from cpython.object cimport PyObject
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE


cdef extern from "Python.h":
    long PyLong_AsLong(object o) except? -1


cdef inline Py_ssize_t _add_tokens(tuple tokens, Py_ssize_t first, dict columns,
                                   int[::1] out, Py_ssize_t n):
    """Appends the columns of ``tokens[first:]`` that ``columns`` has; returns the count."""
    cdef Py_ssize_t k
    cdef PyObject* col
    for k in range(first, PyTuple_GET_SIZE(tokens)):
        col = PyDict_GetItem(columns, <object>PyTuple_GET_ITEM(tokens, k))
        if col is not NULL:
            out[n] = PyLong_AsLong(<object>col)
            n += 1
    return n


cdef inline Py_ssize_t _sorted_unique(int* cols, Py_ssize_t n) noexcept:
    """Sorts ``cols[:n]`` in place (insertion sort: a block has a few dozen at most) and
    drops repeats; returns how many are left."""
    cdef Py_ssize_t i, j, kept
    cdef int c
    for i in range(1, n):
        c = cols[i]
        j = i - 1
        while j >= 0 and cols[j] > c:
            cols[j + 1] = cols[j]
            j -= 1
        cols[j + 1] = c
    if n == 0:
        return 0
    kept = 1
    for i in range(1, n):
        if cols[i] != cols[kept - 1]:
            cols[kept] = cols[i]
            kept += 1
    return kept


def block_csr(list paragraphs, dict tag_cols, dict class_cols, dict inside_cols,
              tuple text_tags, const int[::1] fact_cols, Py_ssize_t window):
    """(data, indices, indptr) of the block columns of ``paragraphs``, each row's
    columns once (a token's column first in the row's order, then the facts').

    ``fact_cols``: the columns of link density, emphasis and depth (-1 where the
    vocabulary lacks one); ``window``: how many of the innermost ancestor tokens count.
    """
    cdef Py_ssize_t n_rows = len(paragraphs), r, n_tok = 0, n_anc = 0, n_all, k, at, start
    cdef Py_ssize_t total = 0, grown
    cdef object p, tag, classes, ancestors
    cdef object last_classes = None, last_ancestors = None, last_tag = None
    cdef PyObject* col
    cdef double facts[3]
    cdef bint block = False
    # The row's token columns, and those of the last ancestor tuple seen (whose columns
    # its descendants' siblings share), each grown when a row needs more.
    tokens, inside = np.empty(64, dtype=np.int32), np.empty(64, dtype=np.int32)
    cdef int[::1] tok = tokens, anc = inside
    indptr = np.zeros(n_rows + 1, dtype=np.int32)
    indices = np.empty(max(16, 8 * n_rows), dtype=np.int32)
    data = np.empty(max(16, 8 * n_rows), dtype=np.float64)
    cdef int[::1] ptr = indptr, ind = indices
    cdef double[::1] val = data
    for r in range(n_rows):
        p = paragraphs[r]
        tag = p.tag
        classes = p.classes
        ancestors = p.ancestor_classes
        if not (tag is last_tag and classes is last_classes and ancestors is last_ancestors):
            last_tag, last_classes = tag, classes
            block = tag not in text_tags
            if block and ancestors is not last_ancestors:
                last_ancestors = ancestors
                if len(ancestors) > anc.shape[0]:
                    inside = np.empty(len(ancestors), dtype=np.int32)
                    anc = inside
                n_anc = _add_tokens(ancestors, max(0, len(ancestors) - window), inside_cols,
                                    anc, 0)
            if 1 + len(classes) + n_anc > tok.shape[0]:
                tokens = np.empty(1 + len(classes) + n_anc, dtype=np.int32)
                tok = tokens
            n_tok = 0
            col = PyDict_GetItem(tag_cols, tag)
            if col is not NULL:
                tok[n_tok] = PyLong_AsLong(<object>col)
                n_tok = 1
            if block:
                start = n_tok
                n_tok = _add_tokens(classes, 0, class_cols, tok, n_tok)
                for k in range(n_anc):
                    tok[n_tok] = anc[k]
                    n_tok += 1
                # The tag's column is no token's: the tokens' alone can repeat. The row's
                # columns are put in order after (``csr_matrix.sort_indices``).
                n_tok = start + _sorted_unique(&tok[start], n_tok - start)
        n_all = n_tok + (3 if block else 0)
        if total + n_all > ind.shape[0]:
            grown = max(2 * ind.shape[0], total + n_all)
            indices = np.resize(indices, grown)
            data = np.resize(data, grown)
            ind = indices
            val = data
        at = total
        for k in range(n_tok):
            ind[at] = tok[k]
            val[at] = 1.0
            at += 1
        if block:
            facts[0] = p.link_density
            facts[1] = p.emphasis
            facts[2] = min(<long>p.depth, 30) / 30.0
            for k in range(3):
                if fact_cols[k] >= 0:
                    ind[at] = fact_cols[k]
                    val[at] = facts[k]
                    at += 1
        total = at
        ptr[r + 1] = total
    return data[:total], indices[:total], indptr
