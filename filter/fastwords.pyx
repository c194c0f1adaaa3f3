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
    Py_UNICODE_ISDECIMAL,
    Py_UNICODE_ISDIGIT,
    Py_UNICODE_ISSPACE,
    Py_UNICODE_ISUPPER,
    PyUnicode_DecodeASCII,
)
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.math cimport log1p
from libc.string cimport memcpy
from libc.stdint cimport int64_t, uint32_t, uint64_t


cdef extern from "Python.h":
    Py_ssize_t PyUnicode_GET_LENGTH(object s)
    int PyUnicode_KIND(object s)
    void* PyUnicode_DATA(object s)
    Py_UCS4 PyUnicode_READ(int kind, void* data, Py_ssize_t i)
    object PyUnicode_Substring(object s, Py_ssize_t start, Py_ssize_t end)
    object PyUnicode_FromKindAndData(int kind, const void* buffer, Py_ssize_t size)
    void PyUnicode_WRITE(int kind, void* data, Py_ssize_t i, Py_UCS4 c)


# A character's class as bits: the Py_UNICODE_IS* tests, read from a table for ASCII
# (the table is filled by those same tests, once), called for anything else.
cdef enum:
    UPPER = 1
    ALPHA = 2
    DIGIT = 4
    ALNUM = 8
    SPACE = 16
    WORD = 32

cdef unsigned char _ASCII[128]


cdef inline unsigned char _classify(Py_UCS4 c):
    cdef unsigned char bits = 0
    if Py_UNICODE_ISUPPER(c):
        bits |= UPPER
    if Py_UNICODE_ISALPHA(c):
        bits |= ALPHA
    if Py_UNICODE_ISDIGIT(c):
        bits |= DIGIT
    if Py_UNICODE_ISALNUM(c):
        bits |= ALNUM
    if Py_UNICODE_ISSPACE(c):
        bits |= SPACE
    if c == 95 or bits & ALNUM:  # 95: '_'
        bits |= WORD
    return bits


for _c in range(128):
    _ASCII[_c] = _classify(_c)


cdef inline unsigned char _bits(Py_UCS4 c):
    return _ASCII[c] if c < 128 else _classify(c)


cdef inline bint _is_word(Py_UCS4 c):
    return _bits(c) & WORD


cdef inline bint _is_cjk(Py_UCS4 c):
    """Han or kana (``shape.CJK``): a word of its own, since Chinese and Japanese put no
    spaces between words."""
    return c >= 0x3040 and (c <= 0x30FF or 0x3400 <= c <= 0x4DBF or 0x4E00 <= c <= 0x9FFF
                            or 0xF900 <= c <= 0xFAFF)


cdef struct Counts:
    Py_ssize_t words, caps, stops, in_words, upper, alpha, digits, punct


cdef int _count(str text, object stop, Py_ssize_t longest_stop, Counts* out) except -1:
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text), i, start = -1
    cdef int kind = PyUnicode_KIND(text)
    cdef void* data = PyUnicode_DATA(text)
    cdef Py_UCS4 c
    cdef bint ascii_word = True
    cdef unsigned char bits
    out.words = out.caps = out.stops = out.in_words = 0
    out.upper = out.alpha = out.digits = out.punct = 0
    for i in range(n + 1):
        c = PyUnicode_READ(kind, data, i) if i < n else 0
        bits = _bits(c) if i < n else 0
        if i < n:
            if bits & UPPER:
                out.upper += 1
            elif bits & ALPHA:
                out.alpha += 1
            elif bits & DIGIT:
                out.digits += 1
            elif not bits & (ALNUM | SPACE):
                out.punct += 1
        if bits & WORD and not _is_cjk(c):
            if start < 0:
                start, ascii_word = i, True
            if c >= 128:
                ascii_word = False
            continue
        if start >= 0:
            _close_word(text, kind, data, start, i, ascii_word, stop, longest_stop, out)
            start = -1
        if bits & WORD:  # a Han or kana character: a word of one character
            _close_word(text, kind, data, i, i + 1, False, stop, longest_stop, out)
    return 0


cdef int _close_word(str text, int kind, void* data, Py_ssize_t start, Py_ssize_t end,
                     bint ascii_word, object stop, Py_ssize_t longest_stop,
                     Counts* out) except -1:
    """Counts the word ``text[start:end]`` into ``out``."""
    cdef Py_ssize_t length = end - start, j
    cdef char buf[64]
    cdef unsigned int code
    out.words += 1
    out.in_words += length
    if _bits(PyUnicode_READ(kind, data, start)) & UPPER:
        out.caps += 1
    if length <= longest_stop:
        if ascii_word and length < 64:
            for j in range(length):
                code = <unsigned int>PyUnicode_READ(kind, data, start + j)
                buf[j] = <char>(code + 32 if 65 <= code <= 90 else code)  # A-Z
            if PyUnicode_DecodeASCII(buf, length, NULL) in stop:
                out.stops += 1
        elif PyUnicode_Substring(text, start, end).lower() in stop:
            out.stops += 1
    return 0


def word_stats(str text, stop, Py_ssize_t longest_stop):
    """(words, words starting with an upper-case letter, stopwords, characters in words,
    upper-case letters, other letters, digits, punctuation) of ``text``.

    Words are ``\\w+`` runs, each Han or kana character a word alone; a stopword is a
    word whose ``str.lower`` is in ``stop``, none longer than ``longest_stop``
    (lower-casing never shortens a string). A character's class is the first of upper,
    alpha, digit, alnum, space that holds for it; anything else is punctuation
    (``shape.char_classes``).
    """
    cdef Counts k
    _count(text, stop, longest_stop, &k)
    return k.words, k.caps, k.stops, k.in_words, k.upper, k.alpha, k.digits, k.punct


# --- the whole shape row (shape._measure) -------------------------------------------

# Set once by filter.shape (configure_shape): the patterns this module leaves to re.
cdef object _stop = None
cdef Py_ssize_t _longest_stop = 0
cdef object _speaker = None, _bold_speaker = None, _heading = None, _list_item = None


def configure_shape(stop, Py_ssize_t longest_stop, speaker, bold_speaker, heading,
                    list_item):
    global _stop, _longest_stop, _speaker, _bold_speaker, _heading, _list_item
    _stop, _longest_stop = stop, longest_stop
    _speaker, _bold_speaker, _heading, _list_item = speaker, bold_speaker, heading, list_item


cdef inline bint _at(int kind, void* data, Py_ssize_t n, Py_ssize_t i, const char* word,
                     Py_ssize_t m):
    """``word`` (ASCII, length m) starts at position i."""
    cdef Py_ssize_t j
    if i + m > n:
        return False
    for j in range(m):
        if PyUnicode_READ(kind, data, i + j) != <Py_UCS4>(<unsigned char>word[j]):
            return False
    return True


cdef inline bint _word_at(int kind, void* data, Py_ssize_t n, Py_ssize_t i):
    return 0 <= i < n and _is_word(PyUnicode_READ(kind, data, i))


cdef int _url_and_template(str low, bint* url, bint* template) except -1:
    """Whether shape.URL (https?://|www\.|\.com\b|\.org\b) and shape.TEMPLATE
    (\{\{|\}\}|\{%|_img|\[/?caption|\bundefined\b|\bnull\b|\$\{) match ``low``."""
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(low), i
    cdef int kind = PyUnicode_KIND(low)
    cdef void* data = PyUnicode_DATA(low)
    cdef Py_UCS4 c
    url[0] = template[0] = False
    for i in range(n):
        if url[0] and template[0]:
            break
        c = PyUnicode_READ(kind, data, i)
        if c == 104:  # h
            url[0] |= _at(kind, data, n, i, b"http://", 7) or _at(kind, data, n, i, b"https://", 8)
        elif c == 119:  # w
            url[0] |= _at(kind, data, n, i, b"www.", 4)
        elif c == 46:  # .
            url[0] |= ((_at(kind, data, n, i, b".com", 4) or _at(kind, data, n, i, b".org", 4))
                       and not _word_at(kind, data, n, i + 4))
        elif c == 123:  # {
            template[0] |= _at(kind, data, n, i, b"{{", 2) or _at(kind, data, n, i, b"{%", 2)
        elif c == 125:  # }
            template[0] |= _at(kind, data, n, i, b"}}", 2)
        elif c == 95:  # _
            template[0] |= _at(kind, data, n, i, b"_img", 4)
        elif c == 91:  # [
            template[0] |= (_at(kind, data, n, i, b"[caption", 8)
                            or _at(kind, data, n, i, b"[/caption", 9))
        elif c == 36:  # $
            template[0] |= _at(kind, data, n, i, b"${", 2)
        elif c == 117:  # u
            template[0] |= (_at(kind, data, n, i, b"undefined", 9)
                            and not _word_at(kind, data, n, i - 1)
                            and not _word_at(kind, data, n, i + 9))
        elif c == 110:  # n
            template[0] |= (_at(kind, data, n, i, b"null", 4) and not _word_at(kind, data, n, i - 1)
                            and not _word_at(kind, data, n, i + 4))
    return 0


# shape.DATE's month names, three letters each ("sept" is "sep" and a letter): 36 bytes.
cdef const char* _MONTHS = b"janfebmaraprmayjunjulaugsepoctnovdec"


cdef inline Py_ssize_t _decimals(int kind, void* data, Py_ssize_t n, Py_ssize_t i):
    """How many of re's ``\\d`` (Py_UNICODE_ISDECIMAL) start at position i."""
    cdef Py_ssize_t j = i
    while j < n and Py_UNICODE_ISDECIMAL(PyUnicode_READ(kind, data, j)):
        j += 1
    return j - i


cdef inline bint _in(int kind, void* data, Py_ssize_t n, Py_ssize_t i, Py_UCS4 a, Py_UCS4 b):
    return i < n and (PyUnicode_READ(kind, data, i) == a or PyUnicode_READ(kind, data, i) == b)


cdef bint _date_tail(int kind, void* data, Py_ssize_t n, Py_ssize_t j, Py_UCS4 a, Py_UCS4 b,
                     Py_ssize_t low, Py_ssize_t high):
    """A date's last two groups from position j: \\d{1,2}, ``a`` or ``b``, then
    \\d{low,high} and a word's end."""
    cdef Py_ssize_t k = _decimals(kind, data, n, j)
    if not (1 <= k <= 2 and _in(kind, data, n, j + k, a, b)):
        return False
    j += k + 1
    k = _decimals(kind, data, n, j)
    return low <= k <= high and not _word_at(kind, data, n, j + k)


cdef bint _date_at(int kind, void* data, Py_ssize_t n, Py_ssize_t i):
    """Whether shape.DATE matches at position i, the start of a word. Each of its
    quantifiers is followed by what the quantified class cannot hold, so the pattern
    never backtracks usefully: a run of digits, letters or spaces matches only whole,
    and the run's length decides."""
    cdef Py_ssize_t run, j, k
    cdef Py_UCS4 c = PyUnicode_READ(kind, data, i)
    run = _decimals(kind, data, n, i)
    if run:
        # \d{4}-\d{1,2}-\d{1,2}\b, then \d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b
        return ((run == 4 and _in(kind, data, n, i + 4, 45, 45)
                 and _date_tail(kind, data, n, i + 5, 45, 45, 1, 2))
                or (run <= 2 and _in(kind, data, n, i + run, 47, 46)
                    and _date_tail(kind, data, n, i + run + 1, 47, 46, 2, 4)))
    # (?:jan|feb|...)[a-z]*\.?\s+\d{1,2}\b
    if not 97 <= c <= 122:
        return False
    for k in range(12):
        if _at(kind, data, n, i, _MONTHS + 3 * k, 3):
            break
    else:
        return False
    j = i + 3
    while j < n and 97 <= PyUnicode_READ(kind, data, j) <= 122:
        j += 1
    if _in(kind, data, n, j, 46, 46):
        j += 1
    k = j
    while j < n and Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, j)):
        j += 1
    if j == k:
        return False
    k = _decimals(kind, data, n, j)
    return 1 <= k <= 2 and not _word_at(kind, data, n, j + k)


cpdef bint has_date(str low):
    """``shape.DATE.search(low) is not None``."""
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(low), i
    cdef int kind = PyUnicode_KIND(low)
    cdef void* data = PyUnicode_DATA(low)
    cdef bint word, before = False
    for i in range(n):
        word = _is_word(PyUnicode_READ(kind, data, i))
        if word and not before and _date_at(kind, data, n, i):
            return True
        before = word
    return False


cdef inline bint _sentence_end(Py_UCS4 c):
    return c == 46 or c == 33 or c == 63 or c == 0x2026  # . ! ? …


cdef inline bint _closer(Py_UCS4 c):
    return c == 34 or c == 39 or c == 0x201D or c == 0x2019 or c == 41 or c == 93  # "'”’)]


cdef Py_ssize_t _sentences(int kind, void* data, Py_ssize_t n):
    # len(shape.SENTENCE_END.findall(text)): [.!?…](?:["'”’)\]]*)(?:\s|$)
    cdef Py_ssize_t i = 0, j, count = 0
    while i < n:
        if _sentence_end(PyUnicode_READ(kind, data, i)):
            j = i + 1
            while j < n and _closer(PyUnicode_READ(kind, data, j)):
                j += 1
            if j == n:
                count += 1
                break
            if _bits(PyUnicode_READ(kind, data, j)) & SPACE:
                count += 1
                i = j + 1
                continue
        i += 1
    return count


cdef inline double _flag(bint value):
    return 1.0 if value else 0.0


cdef int _measure(str text, double[::1] row) except -1:
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text), i, end, size
    cdef int kind = PyUnicode_KIND(text)
    cdef void* data = PyUnicode_DATA(text)
    cdef Counts k
    cdef Py_UCS4 first, last = 0, c
    cdef Py_ssize_t letters, nw
    cdef double caps = 0.0, stops = 0.0, mean_len = 0.0
    cdef bint ellipsis = False, has_last, quote = False, colon = False, url, template
    _count(text, _stop, _longest_stop, &k)
    nw = k.words
    size = n if n else 1
    letters = k.upper + k.alpha
    if not letters:
        letters = 1
    if nw:
        caps = <double>k.caps / nw
        stops = <double>k.stops / nw
        mean_len = <double>k.in_words / nw
    end = n
    while end > 0 and _bits(PyUnicode_READ(kind, data, end - 1)) & SPACE:
        end -= 1
    has_last = end > 0
    if has_last:
        last = PyUnicode_READ(kind, data, end - 1)
        # shape.ELLIPSIS at the end of the stripped text: ... … [...] […]
        if last == 0x2026:
            ellipsis = True
        elif last == 46:
            ellipsis = end >= 3 and _at(kind, data, end, end - 3, b"...", 3)
        elif last == 93:  # ]
            ellipsis = (end >= 5 and PyUnicode_READ(kind, data, end - 5) == 91
                        and _at(kind, data, end, end - 4, b"...", 3)) or (
                end >= 3 and PyUnicode_READ(kind, data, end - 3) == 91
                and PyUnicode_READ(kind, data, end - 2) == 0x2026)
    for i in range(n):
        c = PyUnicode_READ(kind, data, i)
        if c == 58:
            colon = True
        elif c == 34 or c == 0x201C or c == 0x201D or c == 0xAB or c == 0xBB:  # "“”«»
            quote = True
    # An empty text has no first character: 0 passes none of the tests below, as ''
    # matches none of the patterns they guard.
    first = PyUnicode_READ(kind, data, 0) if n else 0
    low = text.lower()
    _url_and_template(low, &url, &template)
    row[0] = log1p(n) / 8
    row[1] = log1p(nw) / 6
    row[2] = _flag(nw <= 1)
    row[3] = _flag(nw <= 3)
    row[4] = _flag(nw >= 40)
    row[5] = <double>k.upper / letters
    row[6] = <double>k.digits / size
    row[7] = <double>k.punct / size
    row[8] = caps
    row[9] = stops
    row[10] = (mean_len if mean_len < 15.0 else 15.0) / 15
    row[11] = log1p(_sentences(kind, data, n)) / 3
    row[12] = _flag(has_last and last == 46 and not ellipsis)
    row[13] = _flag(ellipsis)
    row[14] = _flag(has_last and last == 63)
    row[15] = _flag(has_last and last == 33)
    row[16] = _flag(has_last and last == 58)
    row[17] = _flag(has_last and not (
        last == 46 or last == 33 or last == 63 or last == 58 or last == 0x2026 or last == 34
        or last == 39 or last == 0x201D or last == 0x2019 or last == 41))
    row[18] = _flag(ellipsis and nw <= 30)
    row[19] = _flag(colon and _speaker(text) is not None)
    row[20] = _flag((first == 42 or first == 95) and _bold_speaker(text) is not None)
    row[21] = _flag(first == 35 and _heading(text) is not None)
    row[22] = _flag((first == 45 or first == 42 or first == 43 or first == 0x2022
                     or Py_UNICODE_ISDIGIT(first)) and _list_item(text) is not None)
    row[23] = _flag(url)
    row[24] = _flag(k.digits > 0 and has_date(low))
    row[25] = _flag(template)
    row[26] = _flag(quote)
    row[27] = _flag(letters > 3 and <double>k.upper / letters > 0.8)
    row[28] = _flag(Py_UNICODE_ISDIGIT(first))
    row[29] = <double>nw
    return 0


def measure_all(list texts, out):
    """``shape._measure`` of every text, written into the rows of ``out`` (a C-ordered
    float64 array of len(texts) rows of 30)."""
    cdef double[:, ::1] rows = out
    cdef Py_ssize_t r
    if _stop is None:
        raise RuntimeError("fastwords.configure_shape was not called")
    if rows.shape[0] != len(texts) or rows.shape[1] != 30:
        raise ValueError("out must have a row of 30 per text")
    for r in range(len(texts)):
        _measure(texts[r], rows[r])
    return out


def fold_digits(str text):
    """``features._DIGITS.sub("0", text)``: every ``\\d`` (Py_UNICODE_ISDECIMAL) made "0".
    ``text`` itself when it has none."""
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text), i, first = -1
    cdef int kind = PyUnicode_KIND(text)
    cdef void* data = PyUnicode_DATA(text)
    for i in range(n):
        if Py_UNICODE_ISDECIMAL(PyUnicode_READ(kind, data, i)):
            first = i
            break
    if first < 0:
        return text
    cdef Py_ssize_t size = n * kind  # PyUnicode_KIND is the bytes per character
    cdef void* buffer = PyMem_Malloc(size)
    if buffer is NULL:
        raise MemoryError()
    try:
        memcpy(buffer, data, size)
        for i in range(first, n):
            if Py_UNICODE_ISDECIMAL(PyUnicode_READ(kind, buffer, i)):
                PyUnicode_WRITE(kind, buffer, i, 48)
        # Made from the buffer, not by editing a copy of ``text``: a digit beyond Latin-1
        # made "0" may leave a narrower string, and CPython holds each in its narrowest form.
        return PyUnicode_FromKindAndData(kind, buffer, n)
    finally:
        PyMem_Free(buffer)


cdef inline uint64_t _code_point_hash(int kind, void* data, Py_ssize_t start,
                                      Py_ssize_t stop):
    """FNV-1a over the code points of ``data[start:stop]``."""
    cdef uint64_t h = 14695981039346656037ULL
    cdef Py_ssize_t i
    for i in range(start, stop):
        h = (h ^ <uint64_t>PyUnicode_READ(kind, data, i)) * 1099511628211ULL
    return h


cdef class GramTable:
    """A fitted uni- and bigram vocabulary, as word ids and a table of id pairs.

    ``ids``: every token that is a unigram of the vocabulary or half of a bigram, with
    its id. ``unigram[id]``: its column, or -1. Bigrams live in an open-addressing table
    keyed by ``first id * number of ids + second id``; a bigram one of whose tokens has
    no id is in no vocabulary, so it is never looked up.

    A token of the text finds its id in a table of its own, keyed by a hash of its code
    points and checked against the token's characters: no string is made per token,
    and one probe of a compact table replaces the dictionary's hash, probe and string
    comparison (each a cache miss on a page just read). ``ids`` stays the reference.
    """

    cdef readonly dict ids
    cdef int64_t[::1] unigram
    cdef int64_t[::1] keys
    cdef int64_t[::1] columns
    cdef uint64_t mask
    cdef int64_t n_ids
    # Token table: slot -> (hash, id or -1); id -> its code points, chars[starts[id]:...].
    cdef uint64_t[::1] token_hash
    cdef int64_t[::1] token_id
    cdef uint64_t token_mask
    cdef uint32_t[::1] chars
    cdef int64_t[::1] starts

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
        self._token_table(list(ids))

    def _token_table(self, list tokens):
        """The token table of ``tokens`` (their ids are their positions)."""
        cdef Py_ssize_t size = 8, k
        cdef uint64_t slot, h
        cdef str token
        while size < 2 * len(tokens):
            size *= 2
        self.token_mask = size - 1
        self.token_hash = np.zeros(size, dtype=np.uint64)
        self.token_id = np.full(size, -1, dtype=np.int64)
        joined = "".join(tokens)
        self.chars = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).copy() \
            if joined else np.zeros(1, dtype=np.uint32)
        starts = np.zeros(len(tokens) + 1, dtype=np.int64)
        np.cumsum([len(t) for t in tokens], out=starts[1:])
        self.starts = starts
        for k, token in enumerate(tokens):
            h = _code_point_hash(PyUnicode_KIND(token), PyUnicode_DATA(token), 0, len(token))
            slot = self._token_slot(h)
            while self.token_id[slot] != -1:
                slot = (slot + 1) & self.token_mask
            self.token_hash[slot] = h
            self.token_id[slot] = k

    cdef inline uint64_t _token_slot(self, uint64_t h):
        return ((h * <uint64_t>11400714819323198485ULL) >> 17) & self.token_mask

    cdef int64_t _token(self, int kind, void* data, Py_ssize_t start, Py_ssize_t stop):
        """The id of the token ``text[start:stop]``, or -1 (``ids.get``)."""
        cdef uint64_t h = _code_point_hash(kind, data, start, stop)
        cdef uint64_t slot = self._token_slot(h)
        cdef int64_t found, at
        cdef Py_ssize_t i
        while True:
            found = self.token_id[slot]
            if found == -1:
                return -1
            if self.token_hash[slot] == h:
                at = self.starts[found]
                if self.starts[found + 1] - at == stop - start:
                    i = start
                    while (i < stop and self.chars[at + i - start]
                           == <uint32_t>PyUnicode_READ(kind, data, i)):
                        i += 1
                    if i == stop:
                        return found
            slot = (slot + 1) & self.token_mask

    def token_id_of(self, str token):
        """``ids.get(token, -1)``, found as ``cells`` finds it (for the tests)."""
        return self._token(PyUnicode_KIND(token), PyUnicode_DATA(token), 0, len(token))

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

        Tokens are ``\\w+`` runs, each Han or kana character alone (``_is_cjk``), and the
        single characters in ``specials``; a bigram is two consecutive tokens of one row.
        """
        cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text), i = 0, start
        cdef int kind = PyUnicode_KIND(text)
        cdef void* data = PyUnicode_DATA(text)
        cdef Py_UCS4 c
        cdef int64_t row = 0, previous = -1, current, column, at = 0
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
                if not _is_cjk(c):
                    while i < n:
                        c = PyUnicode_READ(kind, data, i)
                        if not _is_word(c) or _is_cjk(c):
                            break
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
            current = self._token(kind, data, start, i)
            if current < 0:
                previous = -1
                continue
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
