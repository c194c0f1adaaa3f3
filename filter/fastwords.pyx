# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Per-word work of the paragraph features, one pass over a string's code points.

References, which these equal value for value (tests compare them on the seeds, on odd
Unicode and on the real corpora): ``shape._word_stats_python`` for ``word_stats``, and
``features._tfidf_cells_python`` for ``GramTable.cells``. What the regular expressions
and maps of the references did per word (a string per token and per bigram, a hash of
each, a case test and a lower-casing per word) was most of the features' cost.

A word character is what ``\\w`` of Python's ``re`` matches in a str pattern:
Py_UNICODE_ISALNUM (alphabetic, decimal, digit or numeric) or '_'.
"""

import numpy as np

from cpython.unicode cimport (
    Py_UNICODE_ISALNUM,
    Py_UNICODE_ISALPHA,
    Py_UNICODE_ISDIGIT,
    Py_UNICODE_ISSPACE,
    Py_UNICODE_ISUPPER,
    PyUnicode_DecodeASCII,
)
from libc.stdint cimport int64_t, uint64_t


cdef extern from "Python.h":
    Py_ssize_t PyUnicode_GET_LENGTH(object s)
    int PyUnicode_KIND(object s)
    void* PyUnicode_DATA(object s)
    Py_UCS4 PyUnicode_READ(int kind, void* data, Py_ssize_t i)
    object PyUnicode_Substring(object s, Py_ssize_t start, Py_ssize_t end)


cdef inline bint _is_word(Py_UCS4 c):
    return c == 95 or Py_UNICODE_ISALNUM(c)  # 95: '_'


def word_stats(str text, stop, Py_ssize_t longest_stop):
    """(words, words starting with an upper-case letter, stopwords, characters in words,
    upper-case letters, other letters, digits, punctuation) of ``text``.

    Words are ``\\w+`` runs; a stopword is a word whose ``str.lower`` is in ``stop``,
    none longer than ``longest_stop`` (lower-casing never shortens a string). A
    character's class is the first of upper, alpha, digit, alnum, space that holds for
    it; anything else is punctuation (``shape.char_classes``).
    """
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text), i, start = -1, length
    cdef int kind = PyUnicode_KIND(text)
    cdef void* data = PyUnicode_DATA(text)
    cdef Py_UCS4 c
    cdef Py_ssize_t words = 0, caps = 0, stops = 0, in_words = 0
    cdef Py_ssize_t upper = 0, alpha = 0, digits = 0, punct = 0
    cdef bint ascii_word = True
    cdef char buf[64]
    cdef Py_ssize_t j
    cdef unsigned int code
    for i in range(n + 1):
        c = PyUnicode_READ(kind, data, i) if i < n else 0
        if i < n:
            if Py_UNICODE_ISUPPER(c):
                upper += 1
            elif Py_UNICODE_ISALPHA(c):
                alpha += 1
            elif Py_UNICODE_ISDIGIT(c):
                digits += 1
            elif not Py_UNICODE_ISALNUM(c) and not Py_UNICODE_ISSPACE(c):
                punct += 1
        if i < n and _is_word(c):
            if start < 0:
                start, ascii_word = i, True
            if c >= 128:
                ascii_word = False
            continue
        if start < 0:
            continue
        length = i - start
        words += 1
        in_words += length
        if Py_UNICODE_ISUPPER(PyUnicode_READ(kind, data, start)):
            caps += 1
        if length <= longest_stop:
            if ascii_word and length < 64:
                for j in range(length):
                    code = <unsigned int>PyUnicode_READ(kind, data, start + j)
                    buf[j] = <char>(code + 32 if 65 <= code <= 90 else code)  # A-Z
                if PyUnicode_DecodeASCII(buf, length, NULL) in stop:
                    stops += 1
            elif PyUnicode_Substring(text, start, i).lower() in stop:
                stops += 1
        start = -1
    return words, caps, stops, in_words, upper, alpha, digits, punct


cdef class GramTable:
    """A fitted uni- and bigram vocabulary, as word ids and a table of id pairs.

    ``ids``: every token that is a unigram of the vocabulary or half of a bigram, with
    its id. ``unigram[id]``: its column, or -1. Bigrams live in an open-addressing table
    keyed by ``first id * number of ids + second id``; a bigram one of whose tokens has
    no id is in no vocabulary, so it is never looked up.
    """

    cdef readonly dict ids
    cdef int64_t[::1] unigram
    cdef int64_t[::1] keys
    cdef int64_t[::1] columns
    cdef uint64_t mask
    cdef int64_t n_ids

    def __init__(self, dict vocabulary):
        ids: dict = {}
        pairs = []
        for gram, column in vocabulary.items():
            parts = gram.split(" ")
            if len(parts) > 2:
                raise ValueError(f"not a uni- or bigram: {gram!r}")
            for part in parts:
                ids.setdefault(part, len(ids))
            if len(parts) == 2:
                pairs.append((ids[parts[0]], ids[parts[1]], column))
        self.ids = ids
        self.n_ids = len(ids)
        unigram = np.full(max(len(ids), 1), -1, dtype=np.int64)
        for gram, column in vocabulary.items():
            if " " not in gram:
                unigram[ids[gram]] = column
        self.unigram = unigram
        size = 8
        while size < 2 * len(pairs):
            size *= 2
        self.mask = size - 1
        self.keys = np.full(size, -1, dtype=np.int64)
        self.columns = np.full(size, -1, dtype=np.int64)
        for first, second, column in pairs:
            self._put(first * self.n_ids + second, column)

    cdef inline uint64_t _slot(self, int64_t key):
        # Fibonacci hashing: consecutive ids spread over the table.
        return ((<uint64_t>key * <uint64_t>11400714819323198485ULL) >> 17) & self.mask

    cdef void _put(self, int64_t key, int64_t column):
        cdef uint64_t slot = self._slot(key)
        while self.keys[slot] != -1 and self.keys[slot] != key:
            slot = (slot + 1) & self.mask
        self.keys[slot] = key
        self.columns[slot] = column

    cdef inline int64_t _pair(self, int64_t key):
        cdef uint64_t slot = self._slot(key)
        while self.keys[slot] != -1:
            if self.keys[slot] == key:
                return self.columns[slot]
            slot = (slot + 1) & self.mask
        return -1

    def cells(self, str text, str specials, Py_UCS4 row_end, int64_t n_columns):
        """``row * n_columns + column`` of every uni- and bigram of ``text`` that has a
        column, in no particular order, rows being separated by ``row_end``.

        Tokens are ``\\w+`` runs and the single characters in ``specials``; a bigram is
        two consecutive tokens of one row.
        """
        cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text), i = 0, start
        cdef int kind = PyUnicode_KIND(text)
        cdef void* data = PyUnicode_DATA(text)
        cdef Py_UCS4 c
        cdef int64_t row = 0, previous = -1, current, column, at = 0
        cdef dict ids = self.ids
        cdef object found
        cdef Py_UCS4 special[16]
        cdef Py_ssize_t n_special = len(specials), k
        cdef bint is_special
        if n_special > 16:
            raise ValueError("at most 16 special tokens")
        for k in range(n_special):
            special[k] = specials[k]
        out_array = np.empty(2 * n + 1, dtype=np.int64)  # at most n tokens and n bigrams
        cdef int64_t[::1] out = out_array
        while i < n:
            c = PyUnicode_READ(kind, data, i)
            if _is_word(c):
                start = i
                i += 1
                while i < n and _is_word(PyUnicode_READ(kind, data, i)):
                    i += 1
            elif c == row_end:
                row += 1
                previous = -1
                i += 1
                continue
            else:
                is_special = False
                for k in range(n_special):
                    if c == special[k]:
                        is_special = True
                        break
                i += 1
                if not is_special:
                    continue
                start = i - 1
            found = ids.get(PyUnicode_Substring(text, start, i))
            if found is None:
                previous = -1
                continue
            current = found
            column = self.unigram[current]
            if column >= 0:
                out[at] = row * n_columns + column
                at += 1
            if previous >= 0:
                column = self._pair(previous * self.n_ids + current)
                if column >= 0:
                    out[at] = row * n_columns + column
                    at += 1
            previous = current
        return out_array[:at]
